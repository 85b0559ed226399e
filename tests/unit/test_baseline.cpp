// The user + item bias model: its fit, its place in a model file (Model.baseline) and the share chosen for it.
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "autorec/data/baseline.hpp"
#include "autorec/train/cold_start.hpp"
#include "edited_file.hpp"
#include "helpers.hpp"

using namespace autorec;

namespace {

// The small trained model of the shared fixture, written again with its fit ratings' bias model at `weight`.
struct WithBaseline {
  const test::Trained& t;
  data::BiasModel bias;
  std::vector<std::byte> file;
};
WithBaseline with_baseline(const test::Trained& t, double weight) {
  WithBaseline w{t, data::fit_bias_model_auto(t.fit, std::uint32_t(t.data.users.size()),
                                               std::uint32_t(t.data.items.size()), data::columns_side(t.config.variant)),
                 {}};
  train::ModelContents contents{&t.config, &t.data, &t.csc, &t.result};
  contents.baseline = &w.bias;
  contents.baseline_weight = weight;
  w.file = train::build_model_file(contents);
  return w;
}

float clamp_to(const Model& m, double x) {
  return std::clamp(static_cast<float>(x), m.info().rating_min, m.info().rating_max);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(baseline)

BOOST_AUTO_TEST_CASE(alternating_least_squares_solves_the_regularised_biases) {
  // Two users, two items, three ratings: the fixed point of the fit satisfies both sides' equations,
  // b_item = sum (r - mean - b_user) / (reg + n) and the same for users.
  const std::vector<data::Rating> r = {{0, 0, 5}, {0, 1, 3}, {1, 0, 4}};
  const data::BiasModel m = data::fit_bias_model(r, 2, 3, 2.0, 1.0);
  BOOST_TEST(m.mean == 4.0);
  BOOST_TEST(m.item_bias[2] == 0.0);  // no ratings: no bias
  BOOST_TEST(m.item_bias[0] == ((5 - 4 - m.user_bias[0]) + (4 - 4 - m.user_bias[1])) / (1.0 + 2), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(m.item_bias[1] == (3 - 4 - m.user_bias[0]) / (1.0 + 1), boost::test_tools::tolerance(1e-9));
  // Users were solved first, items last: the users' equations hold to the fit's convergence.
  BOOST_TEST(m.user_bias[0] == ((5 - 4 - m.item_bias[0]) + (3 - 4 - m.item_bias[1])) / (2.0 + 2), boost::test_tools::tolerance(1e-6));
  BOOST_TEST(m.predict(std::nullopt, 1u) == m.mean + m.item_bias[1]);
  BOOST_TEST(m.predict(7u, 9u) == m.mean);  // unknown indices: the mean
  // The automatic choice is the plain fit, on all the ratings, with the pseudo-counts it chose.
  const test::Trained& t = test::small_trained();
  const auto nu = std::uint32_t(t.data.users.size()), ni = std::uint32_t(t.data.items.size());
  const data::BiasModel a = data::fit_bias_model_auto(t.fit, nu, ni);
  const data::BiasModel b = data::fit_bias_model(t.fit, nu, ni, a.user_reg, a.item_reg);
  BOOST_TEST(a.user_bias == b.user_bias);
  BOOST_TEST(a.item_bias == b.item_bias);
}

BOOST_AUTO_TEST_CASE(the_share_blends_network_and_bias_model) {
  // At share 1 every answer is the bias model's (known cells, and every cold-start rule's means); at 0.3 a
  // known cell is 0.7 x the network + 0.3 x the bias model.
  const test::Trained& t = test::small_trained();
  const Model plain = Model::load_buffer(t.file, "plain.fb");
  const WithBaseline all = with_baseline(t, 1.0), some = with_baseline(t, 0.3);
  const Model m1 = Model::load_buffer(all.file, "bias.fb"), m3 = Model::load_buffer(some.file, "blend.fb");
  BOOST_TEST(m1.info().schema_version == 4u);
  BOOST_TEST(m1.info().has_baseline);
  BOOST_TEST(m3.info().baseline_weight == 0.3f);
  std::size_t known = 0;
  for (std::uint32_t u = 0; u < m1.info().num_users; ++u)
    for (std::uint32_t i = 0; i < m1.info().num_items; i += 3) {
      const Prediction p = m1.predict(u, i);
      if (p.source == Source::Model) {
        ++known;
        BOOST_REQUIRE_MESSAGE(std::abs(p.value - clamp_to(m1, all.bias.predict(u, i))) <= 1e-5f, "user " << u << " item " << i);
        const float blended = 0.7f * plain.predict(u, i, false).value + 0.3f * float(all.bias.predict(u, i));
        BOOST_REQUIRE_MESSAGE(std::abs(m3.predict(u, i, false).value - blended) <= 1e-4f, "user " << u << " item " << i);
      }
    }
  BOOST_TEST(known > 1000u);
  // Cold starts: an unseen item (the empty column at share 1 is the user's bias), an unseen user (the item's
  // shrunk mean), both unseen (the mean).
  BOOST_TEST(m1.predict(0u, std::nullopt).value == clamp_to(m1, all.bias.predict(0u, std::nullopt)), boost::test_tools::tolerance(1e-5f));
  BOOST_TEST(m1.predict(std::nullopt, 2u).value == clamp_to(m1, all.bias.predict(std::nullopt, 2u)), boost::test_tools::tolerance(1e-5f));
  BOOST_TEST(m1.predict(std::nullopt, std::nullopt).value == clamp_to(m1, all.bias.mean), boost::test_tools::tolerance(1e-5f));
  // recommend() ranks by the same answers.
  const std::vector<Recommendation> top = m1.recommend(0, 5, false);
  BOOST_REQUIRE(top.size() == 5u);
  for (const Recommendation& r : top) BOOST_TEST(r.rating == m1.predict(0u, r.item).value, boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(newcomers_get_the_bias_a_trained_column_has) {
  // Folding in a training column from its stored ratings gives its reconstruction, baseline included: the
  // newcomer's bias is the one step of the fit that the trained column's bias satisfies. Both variants.
  train::TrainConfig c;
  c.hidden = 12;
  c.epochs = 3;
  c.batch_size = 16;
  for (const Variant v : {Variant::ItemBased, Variant::UserBased}) {
    c.variant = v;
    const test::Trained t = test::train_small(c);
    const WithBaseline w = with_baseline(t, 0.4);
    const Model m = Model::load_buffer(w.file, "blend.fb");
    std::vector<float> want(m.column_length()), got(m.column_length());
    for (std::uint32_t col = 0; col < m.num_columns(); col += 7) {
      const std::vector<Entry> obs = m.observations(col);
      if (obs.empty()) continue;
      m.reconstruct_column(col, want);
      m.reconstruct(obs, got);
      const std::vector<float> folded = v == Variant::ItemBased ? m.fold_in_item(obs) : m.fold_in_user(obs);
      for (std::size_t r = 0; r < want.size(); ++r) {
        BOOST_REQUIRE_MESSAGE(std::abs(got[r] - want[r]) <= 1e-4f, variant_name(v) << " column " << col << " row " << r);
        BOOST_REQUIRE_MESSAGE(std::abs(folded[r] - want[r]) <= 1e-4f, variant_name(v) << " column " << col << " row " << r);
      }
    }
    // An added user keeps the bias it was folded in with: its predictions are those of fold_in_user.
    Model added = Model::load_buffer(w.file, "blend.fb");
    const std::vector<Entry> ratings = {{1, 5.0f}, {4, 2.0f}, {9, 4.0f}};  // (item index, rating)
    const std::vector<float> expected = added.fold_in_user(ratings);
    const std::uint32_t u = added.add_user("100000", ratings);
    for (std::uint32_t i = 0; i < added.info().num_items; ++i)
      BOOST_REQUIRE_MESSAGE(std::abs(added.predict(u, i).value - expected[i]) <= 1e-5f, variant_name(v) << " item " << i);
  }
}

BOOST_AUTO_TEST_CASE(damaged_baselines_are_refused) {
  const WithBaseline w = with_baseline(test::small_trained(), 0.5);
  using test::edited_model_file, test::expect_refused;
  expect_refused(edited_model_file(w.file, [](fb::ModelT&) {}, 3), "baseline");
  expect_refused(edited_model_file(w.file, [](fb::ModelT& m) { m.baseline->weight = 1.5f; }, 4), "baseline.weight");
  expect_refused(edited_model_file(w.file, [](fb::ModelT& m) { m.baseline->weight = std::nanf(""); }, 4), "baseline.weight");
  expect_refused(edited_model_file(w.file, [](fb::ModelT& m) { m.baseline->mean = INFINITY; }, 4), "baseline.mean");
  expect_refused(edited_model_file(w.file, [](fb::ModelT& m) { m.baseline->row_bias.pop_back(); }, 4), "baseline.row_bias size");
  expect_refused(edited_model_file(w.file, [](fb::ModelT& m) { m.baseline->col_bias[3] = std::nanf(""); }, 4), "baseline.col_bias[3]");
  expect_refused(edited_model_file(w.file, [](fb::ModelT& m) { m.baseline->col_reg = -1; }, 4), "baseline.col_reg");
}

BOOST_AUTO_TEST_CASE(the_chosen_share_is_the_best_of_its_grid) {
  // choose_blend's share scores at least as well as the network alone and the bias model alone on the same
  // ratings, and its figures are the RMSE of those answers.
  const test::Trained& t = test::small_trained();
  const Model network = Model::load_buffer(t.file, "plain.fb");
  const data::BiasModel bias = data::fit_bias_model_auto(t.fit, std::uint32_t(t.data.users.size()), std::uint32_t(t.data.items.size()));
  const std::vector<RatingRef> val = test::refs(t.test);
  const data::BlendChoice b = data::choose_blend(network, bias, val);
  BOOST_TEST(b.cells > 50u);
  // Its figures are the RMSEs of those answers on the ratings the network answers, recomputed here.
  double se_net = 0, se_bias = 0, se_blend = 0;
  std::size_t n = 0;
  for (const RatingRef& r : val)
    if (network.predict(r.user, r.item).source == Source::Model) {
      const double net = network.predict(r.user, r.item, false).value, bm = bias.predict(r.user, r.item);
      se_net += std::pow(clamp_to(network, net) - r.value, 2);
      se_bias += std::pow(clamp_to(network, bm) - r.value, 2);
      se_blend += std::pow(clamp_to(network, (1 - b.best_weight) * net + b.best_weight * bm) - r.value, 2);
      ++n;
    }
  BOOST_TEST(n == b.cells);
  BOOST_TEST(b.network_rmse == std::sqrt(se_net / double(n)), boost::test_tools::tolerance(1e-6));
  BOOST_TEST(b.bias_rmse == std::sqrt(se_bias / double(n)), boost::test_tools::tolerance(1e-6));
  BOOST_TEST(b.blend_rmse == std::sqrt(se_blend / double(n)), boost::test_tools::tolerance(1e-6));
  // The baselines' evaluation scores the same ratings the same way.
  const data::BaselineResult base = data::evaluate_baselines(bias, val, network.info().rating_min, network.info().rating_max);
  BOOST_TEST(base.bias.count == val.size());
  BOOST_TEST(base.global_mean.rmse > base.bias.rmse);
}

BOOST_AUTO_TEST_SUITE_END()
