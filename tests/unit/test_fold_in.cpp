// Fold-in: users and items absent from training, served from their ratings without retraining; predict_batch.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "autorec/data/random.hpp"
#include "autorec/data/ratings.hpp"
#include "autorec/error.hpp"
#include "helpers.hpp"

using namespace autorec;

namespace {

// Synthetic models trained well enough for fold-in to mean something (the shared small model has 3 epochs):
// the textbook recipe with a higher learning rate and small batches reaches test RMSE 0.98 on 800 x 400
// synthetic ratings in under a second, where the default recipe needs hidden 500 and 100 epochs.
train::TrainConfig fold_config(Variant v) {
  train::TrainConfig c = *train::recipe("textbook");
  c.variant = v;
  c.hidden = 64;
  c.epochs = 60;
  c.learning_rate = 0.01;
  c.batch_size = 16;
  c.threads = 2;
  return c;
}
// (train_small adds the tests' seed offset; hold_out does the same.)

const test::Trained& trained(Variant v) {
  if (v == Variant::ItemBased) {
    static const test::Trained item = test::train_small(fold_config(Variant::ItemBased), 400, 300);
    return item;
  }
  static const test::Trained user = test::train_small(fold_config(Variant::UserBased), 400, 300);
  return user;
}

// The training ratings of one user (Entry: item index, rating) or of one item (Entry: user index, rating).
std::vector<Entry> ratings_of_user(const test::Trained& t, std::uint32_t user) {
  std::vector<Entry> out;
  for (const data::Rating& r : t.fit)
    if (r.user == user) out.push_back({r.item, r.value});
  return out;
}
std::vector<Entry> ratings_of_item(const test::Trained& t, std::uint32_t item) {
  std::vector<Entry> out;
  for (const data::Rating& r : t.fit)
    if (r.item == item) out.push_back({r.user, r.value});
  return out;
}

// The message of the autorec::Error that f throws with `status` ("" when it throws nothing).
template <class F>
std::string error_of(F&& f, Status status = Status::BadInput) {
  try {
    f();
  } catch (const Error& e) {
    BOOST_TEST((e.status() == status), e.what());
    return e.what();
  }
  return "";
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- held-out users: removed from training, folded in from half of their ratings, scored on the rest ----

struct HeldUser {
  std::string id;
  std::vector<std::pair<std::string, float>> fold, score;  // (item id, rating)
};

struct HoldOut {
  std::vector<std::byte> file;           // trained without the held-out users
  std::vector<RatingRef> seen_test;      // the seen users' held-out ratings (split seed 1, 10%)
  std::vector<HeldUser> held;
};

// Holds out `count` users with at least 10 ratings (chosen by `seed`), trains on everybody else.
HoldOut hold_out(const data::RawRatings& raw, train::TrainConfig config, std::size_t count, std::uint64_t seed) {
  std::vector<std::uint32_t> per_user(raw.user_ids.size(), 0);
  for (const std::uint32_t u : raw.user) ++per_user[u];
  std::vector<std::uint32_t> order;
  for (std::uint32_t u = 0; u < per_user.size(); ++u)
    if (per_user[u] >= 10) order.push_back(u);
  const auto rank = [&](std::uint32_t x) { return splitmix64(seed ^ splitmix64(x)); };
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return rank(a) < rank(b); });
  order.resize(std::min(count, order.size()));
  std::vector<int> slot(raw.user_ids.size(), -1);
  HoldOut h;
  for (const std::uint32_t u : order) {
    slot[u] = static_cast<int>(h.held.size());
    h.held.push_back({raw.user_ids[u], {}, {}});
  }
  std::ostringstream kept;
  std::vector<std::vector<std::size_t>> held_ratings(h.held.size());
  for (std::size_t k = 0; k < raw.size(); ++k) {
    if (slot[raw.user[k]] < 0)
      kept << raw.user_ids[raw.user[k]] << '\t' << raw.item_ids[raw.item[k]] << '\t' << raw.value[k] << '\n';
    else
      held_ratings[static_cast<std::size_t>(slot[raw.user[k]])].push_back(k);
  }
  // Half of each held-out user's ratings (in an order hashed from the item) to fold in, the rest to score.
  for (std::size_t s = 0; s < h.held.size(); ++s) {
    std::vector<std::size_t>& ks = held_ratings[s];
    std::sort(ks.begin(), ks.end(), [&](auto a, auto b) { return rank(raw.item[a] + (1u << 30)) < rank(raw.item[b] + (1u << 30)); });
    for (std::size_t j = 0; j < ks.size(); ++j)
      (j < (ks.size() + 1) / 2 ? h.held[s].fold : h.held[s].score).push_back({raw.item_ids[raw.item[ks[j]]], raw.value[ks[j]]});
  }
  const data::Dataset data = data::make_dataset(data::parse_ratings(kept.str(), "kept"), data::DuplicatePolicy::Last);
  std::vector<data::Rating> fit, test;
  data::split(data, 1, 0.1, fit, test);
  const train::Csc csc = train::make_csc(fit, std::uint32_t(data.users.size()), std::uint32_t(data.items.size()), config.variant);
  config.seed += test::seed_offset();
  const train::TrainResult result = train::train(config, csc, {}, data.scale.min, data.scale.max, nullptr);
  train::ModelContents contents{&config, &data, &csc, &result};
  h.file = train::build_model_file(contents);
  h.seen_test = test::refs(test);
  return h;
}

struct Figures {
  EvalResult seen, folded;
  double user_mean_rmse = 0;  // the held-out users' scored ratings predicted by the mean of their fold half
};

// Adds every held-out user to the model from their fold half and scores both groups through predict().
Figures score_hold_out(const HoldOut& h, float lambda) {
  Model m = Model::load_buffer(h.file, "held-out.fb");
  Figures f;
  f.seen = evaluate(m, h.seen_test);
  std::vector<RatingRef> refs;
  double mean_se = 0;
  for (const HeldUser& u : h.held) {
    std::vector<Entry> ratings;
    for (const auto& [item, value] : u.fold)
      if (const auto i = m.item_index(item)) ratings.push_back({*i, value});
    if (ratings.empty()) continue;
    const std::uint32_t user = m.add_user(u.id, ratings, {.lambda = lambda});
    double mean = 0;
    for (const Entry& e : ratings) mean += e.value / static_cast<double>(ratings.size());
    for (const auto& [item, value] : u.score) {
      refs.push_back({user, m.item_index(item), value});
      mean_se += (mean - value) * (mean - value);
    }
  }
  f.folded = evaluate(m, refs);
  f.user_mean_rmse = std::sqrt(mean_se / static_cast<double>(std::max<std::size_t>(refs.size(), 1)));
  return f;
}

void report(const char* what, const Figures& f) {
  BOOST_TEST_MESSAGE(what << ": seen users RMSE " << f.seen.rmse << " (" << f.seen.count << " ratings), folded-in users RMSE "
                          << f.folded.rmse << " (" << f.folded.count << " ratings; their fold-half mean: "
                          << f.user_mean_rmse << ")");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fold_in)

BOOST_AUTO_TEST_CASE(held_out_users_are_predicted_like_seen_users_synthetic) {
  const data::RawRatings raw = data::parse_ratings(test::synth_text(600, 400, 0.3, 11), "synth");
  for (const Variant v : {Variant::ItemBased, Variant::UserBased}) {
    const Figures f = score_hold_out(hold_out(raw, fold_config(v), 50, 5), FoldInOptions{}.lambda);
    report(v == Variant::ItemBased ? "synthetic, item-based" : "synthetic, user-based", f);
    BOOST_TEST(f.folded.count > 500u);
    if (v == Variant::ItemBased) {
      // Folded-in users lose a little to seen users here: over 10 seeds (scripts/test-spread) 0.038-0.080 in
      // the native build and 0.048-0.099 in the portable one, mean 0.066 / 0.068 (a bound of 0.05, set on one
      // seed of one machine, failed on another). The bound leaves room above that spread; that they are far
      // better than their own mean rating is checked beside it: 0.700-0.815 native, 0.693-0.838 portable.
      test::check_bound("fold_in_synthetic_item_folded_minus_seen", f.folded.rmse - f.seen.rmse, 0.15);
      test::check_bound("fold_in_synthetic_item_folded_over_user_mean", f.folded.rmse / f.user_mean_rmse, 0.95);
    } else {
      // A user-based newcomer goes through the encoder with half the ratings a trained user had as input, and
      // AutoRec's encoder (an unnormalised sum) does not carry that well: measured 1.19 against 0.86 for seen
      // users (input dropout in training did not close it). What holds is that it beats the user's mean.
      // 10 seeds: 0.855-0.909 native, 0.852-0.927 portable.
      test::check_bound("fold_in_synthetic_user_folded_over_user_mean", f.folded.rmse / f.user_mean_rmse, 1.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_new_column_is_the_reconstruction_of_its_ratings) {
  // Item-based: a new item goes through the encoder, so folding in a training item from its stored ratings
  // gives that item's reconstruction; user-based: the same for a user. Also with an input rule (offset and
  // norm), where the new column's encoding and the trainer's stored codes must apply it alike.
  train::TrainConfig ruled = fold_config(Variant::ItemBased);
  ruled.epochs = 10;
  ruled.input_offset = 3;
  ruled.input_norm = 0.5f;
  const test::Trained with_rule = test::train_small(ruled, 400, 300);
  for (const auto& [v, t] : {std::pair{Variant::ItemBased, &trained(Variant::ItemBased)},
                             std::pair{Variant::UserBased, &trained(Variant::UserBased)},
                             std::pair{Variant::ItemBased, &with_rule}}) {
    const Model m = Model::load_buffer(t->file, "model.fb");
    std::vector<float> want(m.column_length());
    for (std::uint32_t c = 0; c < m.num_columns(); c += 23) {
      const std::vector<Entry> obs = m.observations(c);
      if (obs.empty()) continue;
      m.reconstruct_column(c, want);
      const std::vector<float> got = v == Variant::ItemBased ? m.fold_in_item(obs) : m.fold_in_user(obs);
      BOOST_REQUIRE(got.size() == want.size());
      for (std::size_t r = 0; r < want.size(); ++r)
        BOOST_REQUIRE_MESSAGE(std::abs(got[r] - want[r]) <= 1e-5f, "column " << c << " row " << r);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_fitted_row_reproduces_a_trained_row) {
  // Item-based users and user-based items are decoder rows: refitting one from its training ratings should
  // land close to the row training made. "Close" is measured against the simplest answer, the row's mean
  // rating: the refit must explain most of how the trained predictions vary around it.
  for (const Variant v : {Variant::ItemBased, Variant::UserBased}) {
    const test::Trained& t = trained(v);
    const Model m = Model::load_buffer(t.file, "model.fb");
    const bool item_based = v == Variant::ItemBased;
    const std::uint32_t rows = item_based ? m.info().num_users : m.info().num_items;
    double fit_se = 0, mean_se = 0;
    for (std::uint32_t r = 0; r < rows; r += 7) {
      const std::vector<Entry> ratings = item_based ? ratings_of_user(t, r) : ratings_of_item(t, r);
      if (ratings.size() < 5) continue;
      const std::vector<float> folded = item_based ? m.fold_in_user(ratings, {.clamp = false}) : m.fold_in_item(ratings, {.clamp = false});
      double mean = 0;
      for (const Entry& e : ratings) mean += e.value;
      mean /= static_cast<double>(ratings.size());
      for (std::uint32_t c = 0; c < folded.size(); ++c) {
        const float trained_value = item_based ? m.predict(r, c, false).value : m.predict(c, r, false).value;
        fit_se += std::pow(folded[c] - trained_value, 2);
        mean_se += std::pow(mean - trained_value, 2);
      }
    }
    BOOST_TEST_MESSAGE(variant_name(v) << "-based: RMS distance to the trained predictions, refit "
                                        << std::sqrt(fit_se) << " vs the row mean " << std::sqrt(mean_se) << " (unnormalised)");
    BOOST_TEST(mean_se > 0);
    // 10 seeds (native / portable): item-based 0.110-0.146 / 0.113-0.134, user-based 0.105-0.138 / 0.098-0.125.
    test::check_bound(std::string("fold_in_refit_row_") + variant_name(v) + "_se_over_mean_se", fit_se / mean_se, 0.25);
  }
}

BOOST_AUTO_TEST_CASE(added_users_and_items_are_served) {
  for (const Variant v : {Variant::ItemBased, Variant::UserBased}) {
    const test::Trained& t = trained(v);
    Model m = Model::load_buffer(t.file, "model.fb");
    const std::uint32_t users = m.info().num_users, items = m.info().num_items;
    const std::uint32_t first = 0;
    const float before = m.predict(first, first).value;
    // A new user from part of a training user's ratings; a new item from part of a training item's.
    std::vector<Entry> user_ratings = ratings_of_user(t, 5), item_ratings = ratings_of_item(t, 5);
    user_ratings.resize(user_ratings.size() / 2);
    item_ratings.resize(item_ratings.size() / 2);
    const std::vector<float> user_want = m.fold_in_user(user_ratings);
    const std::vector<Recommendation> recs_want = m.recommend_for_ratings(user_ratings, 10);
    const std::uint32_t u = m.add_user("100001", user_ratings);
    BOOST_TEST(u == users);
    BOOST_TEST(m.info().num_users == users + 1);
    BOOST_TEST((m.user_index("100001") == std::optional<std::uint32_t>(u)));
    BOOST_TEST(m.user_id(u) == "100001");
    BOOST_TEST(m.knows_user(u));
    for (std::uint32_t i = 0; i < items; ++i) BOOST_REQUIRE(std::abs(m.predict(u, i).value - user_want[i]) <= 1e-5f);
    const std::vector<Recommendation> recs = m.recommend(u, 10);
    BOOST_REQUIRE(recs.size() == recs_want.size());
    for (std::size_t r = 0; r < recs.size(); ++r) {
      BOOST_TEST(std::abs(recs[r].rating - recs_want[r].rating) <= 1e-5f);
      for (const Entry& e : user_ratings) BOOST_TEST(recs[r].item != e.index);
    }
    // A new item; the added user's row (or column) sees it too.
    const std::vector<float> item_want = m.fold_in_item(item_ratings);
    BOOST_TEST(item_want.size() == users + 1u);
    const std::uint32_t i = m.add_item("200001", item_ratings);
    BOOST_TEST(i == items);
    BOOST_TEST((m.item_index("200001") == std::optional<std::uint32_t>(i)));
    BOOST_TEST(m.knows_item(i));
    for (std::uint32_t x = 0; x < users; ++x) BOOST_REQUIRE(std::abs(m.predict(x, i).value - item_want[x]) <= 1e-5f);
    BOOST_TEST((m.predict(u, i).source == Source::Model));
    // Users who rated the new item do not get it recommended; the others can.
    const std::uint32_t rater = item_ratings.front().index;
    for (const Recommendation& r : m.recommend(rater, items + 1)) BOOST_TEST(r.item != i);
    const std::vector<Recommendation> all = m.recommend(rater, items + 1, false);
    BOOST_TEST(std::any_of(all.begin(), all.end(), [&](const Recommendation& r) { return r.item == i; }));
    BOOST_TEST(m.predict(first, first).value == before);  // the others' predictions are untouched
    // Ids are checked: taken, or not an integer where the ids are integers.
    BOOST_TEST(contains(error_of([&] { m.add_user("100001", user_ratings); }), "user id '100001' is already in the model"));
    BOOST_TEST(contains(error_of([&] { m.add_item("1", item_ratings); }), "item id '1' is already in the model"));
    BOOST_TEST(contains(error_of([&] { m.add_user("alice", user_ratings); }), "user id 'alice' is not an integer"));
    BOOST_TEST(m.info().num_users == users + 1);
  }
}

BOOST_AUTO_TEST_CASE(bad_fold_in_input_is_refused_with_its_value) {
  Model m = Model::load_buffer(trained(Variant::ItemBased).file, "model.fb");
  const std::uint32_t items = m.info().num_items, users = m.info().num_users;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<Entry> empty;
  const std::vector<Entry> out_of_range = {{items, 4.0f}}, not_finite = {{3, nan}}, twice = {{3, 4.0f}, {3, 5.0f}};
  BOOST_TEST(contains(error_of([&] { m.fold_in_user(empty); }), "fold_in_user ratings: no ratings"));
  BOOST_TEST(contains(error_of([&] { m.fold_in_user(out_of_range); }),
                      "fold_in_user ratings: item index " + std::to_string(items) + " is not below"));
  BOOST_TEST(contains(error_of([&] { m.fold_in_user(not_finite); }), "item index 3 has rating nan"));
  BOOST_TEST(contains(error_of([&] { m.add_user("100002", twice); }), "add_user ratings: item index 3 appears twice"));
  BOOST_TEST(contains(error_of([&] { m.fold_in_user(twice, {.lambda = 0}); }), "lambda 0 is not a positive"));
  BOOST_TEST(contains(error_of([&] { m.recommend_for_ratings(out_of_range, 5); }), "recommend_for_ratings ratings: item index"));
  BOOST_TEST(m.info().num_users == users);  // nothing was added by the failed calls
  // A user added by fold-in is a decoder row with no encoder input: a new item cannot be rated by it.
  const std::vector<Entry> by_added = {{m.add_user("100003", std::vector<Entry>{{1, 4.0f}}), 4.0f}};
  BOOST_TEST(contains(error_of([&] { m.fold_in_item(by_added); }), "was added by fold-in and is not an input"));
}

BOOST_AUTO_TEST_CASE(a_row_needs_an_identity_decoder) {
  train::TrainConfig c;
  c.hidden = 8;
  c.epochs = 1;
  c.decoder = Activation::Sigmoid;
  const test::Trained t = test::train_small(c);
  const Model m = Model::load_buffer(t.file, "sigmoid.fb");
  const std::vector<Entry> ratings = {{0, 3.0f}, {1, 4.0f}};
  BOOST_TEST(contains(error_of([&] { m.fold_in_user(ratings); }, Status::Unsupported), "decoder is sigmoid"));
  BOOST_TEST(m.fold_in_item(ratings).size() == m.info().num_users);  // a column is encoded whatever the decoder
}

BOOST_AUTO_TEST_CASE(predict_batch_is_predict) {
  const Model m = Model::load_buffer(trained(Variant::ItemBased).file, "model.fb");
  std::vector<UserItem> pairs = {{0u, 0u}, {3u, std::nullopt}, {std::nullopt, 2u}, {std::nullopt, std::nullopt}};
  for (std::uint32_t k = 0; k < 50; ++k) pairs.push_back({(k * 37) % m.info().num_users, (k * 11) % m.info().num_items});
  std::vector<Prediction> out(pairs.size());
  m.predict_batch(pairs, out);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    const Prediction p = m.predict(pairs[k].user, pairs[k].item);
    BOOST_TEST(out[k].value == p.value);
    BOOST_TEST((out[k].source == p.source));
  }
  std::vector<Prediction> short_out(2);
  BOOST_TEST(contains(error_of([&] { m.predict_batch(pairs, short_out); }), "out has 2 entries for 54 pairs"));
}

BOOST_AUTO_TEST_SUITE_END()

// Real data, its own suite so that CTest reports it as skipped without AUTOREC_ML100K_DIR.
BOOST_AUTO_TEST_SUITE(fold_in_ml100k)

BOOST_AUTO_TEST_CASE(held_out_users_are_predicted_like_seen_users_ml100k, *boost::unit_test::precondition(test::has_ml100k)) {
  const data::RawRatings raw = data::read_ratings(test::ml100k_file());
  train::TrainConfig c = *train::recipe("default");
  c.threads = 2;
  const Figures f = score_hold_out(hold_out(raw, c, 50, 5), FoldInOptions{}.lambda);
  report("ML-100K, item-based default recipe, 50 held-out users", f);
  BOOST_TEST(f.folded.count > 2000u);
  // 10 seeds, both builds alike: -0.0023 to -0.0001 (folded-in users did as well as seen ones).
  test::check_bound("fold_in_ml100k_folded_minus_seen", f.folded.rmse - f.seen.rmse, 0.05);
}

BOOST_AUTO_TEST_SUITE_END()

// Not run by default (selecting its suite by name runs it): how the default lambda was chosen.
BOOST_AUTO_TEST_SUITE(fold_in_lambda_sweep, *boost::unit_test::disabled())

// On held-out users other than the tests' (seed 9), ML-100K when present else synthetic.
// Run: autorec-tests --run_test=fold_in_lambda_sweep --log_level=message
BOOST_AUTO_TEST_CASE(lambda_sweep) {
  const bool ml = !test::ml100k_file().empty();
  const data::RawRatings raw =
      ml ? data::read_ratings(test::ml100k_file()) : data::parse_ratings(test::synth_text(600, 400, 0.3, 11), "synth");
  train::TrainConfig c = ml ? *train::recipe("default") : fold_config(Variant::ItemBased);
  c.threads = 2;
  const HoldOut h = hold_out(raw, c, 100, 9);
  for (const float lambda : {0.03f, 0.1f, 0.3f, 0.5f, 1.0f, 2.0f, 3.0f, 10.0f, 30.0f}) {
    const Figures f = score_hold_out(h, lambda);
    BOOST_TEST_MESSAGE((ml ? "ML-100K" : "synthetic") << " lambda " << lambda << ": folded-in RMSE " << f.folded.rmse
                                                     << ", seen " << f.seen.rmse);
  }
}

BOOST_AUTO_TEST_SUITE_END()
