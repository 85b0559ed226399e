// Ranking evaluation (autorec/data/ranking.hpp): the metrics of one list against a hand-computed case, the
// averages against a reference built from Model::recommend and the stored ratings, the exclusion of training
// items, and the users and ratings that are skipped and counted.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "autorec/data/baseline.hpp"
#include "autorec/data/ranking.hpp"
#include "autorec/data/ratings.hpp"
#include "autorec/train/pipeline.hpp"
#include "edited_file.hpp"
#include "helpers.hpp"

namespace autorec::test {
namespace {

using data::RankingMetrics;
using data::Ranker;

// A test set with every user's ratings of both kinds: the small model's held-out ratings.
const std::vector<RatingRef>& test_refs() {
  static const std::vector<RatingRef> r = refs(small_trained().test);
  return r;
}

const Model& small_model() {
  static const Model m = Model::load_buffer(small_trained().file, "small", {.device = Device::Cpu});
  return m;
}

// The per-user averages of list_metrics over the lists `list_of` gives, the users and relevance as
// evaluate_ranking defines them, computed directly from the test ratings.
template <typename ListOf>
RankingMetrics reference(const Model& m, float relevant_at, std::uint32_t k, ListOf list_of) {
  std::set<std::pair<std::uint32_t, std::uint32_t>> stored;
  for (const data::Rating& r : data::stored_ratings(m)) stored.emplace(r.user, r.item);
  std::map<std::uint32_t, std::set<std::uint32_t>> relevant;
  for (const RatingRef& r : test_refs())
    if (r.user && r.item && r.value >= relevant_at && !stored.count({*r.user, *r.item})) relevant[*r.user].insert(*r.item);
  RankingMetrics sum;
  for (const auto& [u, items] : relevant) {
    const std::vector<std::uint32_t> rel(items.begin(), items.end());
    const RankingMetrics x = data::list_metrics(list_of(u), rel, k);
    sum.precision += x.precision, sum.recall += x.recall, sum.ndcg += x.ndcg, sum.map += x.map;
    sum.hit_rate += x.hit_rate, sum.mrr += x.mrr;
  }
  const double n = double(relevant.size());
  sum.precision /= n, sum.recall /= n, sum.ndcg /= n, sum.map /= n, sum.hit_rate /= n, sum.mrr /= n;
  return sum;
}

void check_equal(const RankingMetrics& a, const RankingMetrics& b) {
  BOOST_TEST(a.precision == b.precision, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(a.recall == b.recall, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(a.ndcg == b.ndcg, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(a.map == b.map, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(a.hit_rate == b.hit_rate, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(a.mrr == b.mrr, boost::test_tools::tolerance(1e-12));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ranking)

BOOST_AUTO_TEST_CASE(one_list_against_a_hand_computed_case) {
  // List 7 3 9 1 5, relevant {3, 5, 8}: hits at ranks 2 and 5.
  const std::vector<std::uint32_t> list = {7, 3, 9, 1, 5}, relevant = {3, 5, 8};
  const RankingMetrics at5 = data::list_metrics(list, relevant, 5);
  BOOST_TEST(at5.precision == 2.0 / 5);
  BOOST_TEST(at5.recall == 2.0 / 3);
  const double dcg = 1 / std::log2(3.0) + 1 / std::log2(6.0), idcg = 1 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  BOOST_TEST(at5.ndcg == dcg / idcg, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(at5.map == (1.0 / 2 + 2.0 / 5) / 3, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(at5.hit_rate == 1.0);
  BOOST_TEST(at5.mrr == 0.5);
  // At 1 nothing is hit; at 2 the ideal list holds 2 relevant items and MAP divides by min(R, k) = 2.
  const RankingMetrics at1 = data::list_metrics(list, relevant, 1), at2 = data::list_metrics(list, relevant, 2);
  BOOST_TEST(at1.precision == 0.0);
  BOOST_TEST(at1.ndcg == 0.0);
  BOOST_TEST(at1.mrr == 0.0);
  BOOST_TEST(at2.ndcg == (1 / std::log2(3.0)) / (1 + 1 / std::log2(3.0)), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(at2.map == 0.5 / 2, boost::test_tools::tolerance(1e-15));
  // A list shorter than k: precision still divides by k.
  BOOST_TEST(data::list_metrics(std::vector<std::uint32_t>{3}, relevant, 4).precision == 0.25);
}

BOOST_AUTO_TEST_CASE(the_model_and_popularity_rankings_equal_a_reference_from_recommend_and_the_counts) {
  const Model& m = small_model();
  const float at = data::default_relevant_at(m.info());
  BOOST_TEST(at == m.info().rating_min + 0.75f * (m.info().rating_max - m.info().rating_min));
  data::RankingOptions o;
  o.ks = {3, 10};
  o.threads = 2;
  const data::RankingReport r = data::evaluate_ranking(m, test_refs(), o);
  BOOST_TEST_REQUIRE(r.users > 10u);
  std::vector<std::size_t> count(m.info().num_items, 0);
  for (const data::Rating& x : data::stored_ratings(m)) ++count[x.item];
  for (std::size_t j = 0; j < o.ks.size(); ++j) {
    const std::uint32_t k = o.ks[j];
    const auto by_model = [&](std::uint32_t u) {
      std::vector<std::uint32_t> list;
      for (const Recommendation& x : m.recommend(u, k)) list.push_back(x.item);
      return list;
    };
    const auto by_popularity = [&](std::uint32_t u) {
      std::vector<std::uint32_t> candidates(m.info().num_items);
      for (std::uint32_t i = 0; i < m.info().num_items; ++i) candidates[i] = i;
      std::set<std::uint32_t> own;
      for (const data::Rating& x : data::stored_ratings(m))
        if (x.user == u) own.insert(x.item);
      std::erase_if(candidates, [&](std::uint32_t i) { return own.count(i) > 0; });
      std::stable_sort(candidates.begin(), candidates.end(), [&](auto a, auto b) { return count[a] > count[b]; });
      candidates.resize(std::min<std::size_t>(k, candidates.size()));
      return candidates;
    };
    check_equal(r.metrics[std::size_t(Ranker::Model)][j], reference(m, at, k, by_model));
    check_equal(r.metrics[std::size_t(Ranker::Popularity)][j], reference(m, at, k, by_popularity));
    BOOST_TEST(r.metrics[0][j].k == k);
    for (std::size_t x = 0; x < data::kRankers; ++x) {
      BOOST_TEST(r.metrics[x][j].coverage > 0.0);
      BOOST_TEST(r.metrics[x][j].coverage <= 1.0);
    }
  }
  // Popularity shows every user nearly the same items; random spreads over the catalogue.
  BOOST_TEST(r.metrics[std::size_t(Ranker::Popularity)][1].coverage < r.metrics[std::size_t(Ranker::Random)][1].coverage);
}

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_threads_and_the_random_ranking_on_its_seed_only) {
  const Model& m = small_model();
  data::RankingOptions o;
  o.threads = 1;
  const data::RankingReport one = data::evaluate_ranking(m, test_refs(), o);
  o.threads = 2;
  const data::RankingReport two = data::evaluate_ranking(m, test_refs(), o);
  for (std::size_t x = 0; x < data::kRankers; ++x) check_equal(one.metrics[x][0], two.metrics[x][0]);
  o.seed = 2;
  const data::RankingReport other = data::evaluate_ranking(m, test_refs(), o);
  BOOST_TEST(other.metrics[std::size_t(Ranker::Random)][0].coverage != two.metrics[std::size_t(Ranker::Random)][0].coverage);
  check_equal(other.metrics[0][0], two.metrics[0][0]);
}

BOOST_AUTO_TEST_CASE(training_items_unseen_users_and_users_without_relevant_ratings_are_left_out_and_counted) {
  const Model& m = small_model();
  const data::Rating trained = small_trained().fit.front();
  std::vector<RatingRef> test = test_refs();
  const data::RankingReport base = data::evaluate_ranking(m, test, {});
  test.push_back({trained.user, trained.item, m.info().rating_max});  // rated in training: cannot be recommended
  test.push_back({std::nullopt, 0, m.info().rating_max});              // a user the model never saw
  test.push_back({std::nullopt, 1, m.info().rating_max});
  const data::RankingReport r = data::evaluate_ranking(m, test, {});
  BOOST_TEST(r.relevant_left_out == base.relevant_left_out + 1);
  BOOST_TEST(r.unseen_user_ratings == base.unseen_user_ratings + 2);
  BOOST_TEST(r.relevant == base.relevant);
  BOOST_TEST(r.users == base.users);
  check_equal(r.metrics[0][0], base.metrics[0][0]);
  // A threshold above the scale leaves no relevant rating: every test user is skipped, and said so.
  data::RankingOptions o;
  o.relevant_at = m.info().rating_max + 1;
  const data::RankingReport none = data::evaluate_ranking(m, test_refs(), o);
  BOOST_TEST(none.users == 0u);
  std::set<std::uint32_t> users;
  for (const RatingRef& x : test_refs()) users.insert(*x.user);
  BOOST_TEST(none.users_without_relevant == users.size());
  BOOST_TEST(none.metrics[0][0].ndcg == 0.0);
}

BOOST_AUTO_TEST_CASE(a_stored_rule_orders_recommend_and_rank_by_rating_keeps_the_plain_order) {
  const Trained& t = small_trained();
  train::ModelContents contents{&t.config, &t.data, &t.csc, &t.result};
  contents.ranking = RankingRule{0.4f, 10, 0.2f, 0.1f, 0.15f};
  const std::vector<std::byte> file = train::build_model_file(contents);
  const Model ruled = Model::load_buffer(file, "ruled", {.device = Device::Cpu});
  const Model& plain = small_model();
  BOOST_TEST(ruled.info().ranking.popularity_weight == 0.4f);
  BOOST_TEST(ruled.info().ranking.validation_k == 10u);
  BOOST_TEST(ruled.info().ranking.popularity_ndcg == 0.15f);
  contents.ranking.reset();
  const Model same_without = Model::load_buffer(train::build_model_file(contents), "plain", {.device = Device::Cpu});
  BOOST_TEST(ruled.info().schema_version == same_without.info().schema_version);  // old readers rank by rating
  BOOST_TEST(plain.ranking_bonus().empty());
  std::vector<std::size_t> count(ruled.info().num_items, 0);
  for (const data::Rating& r : data::stored_ratings(ruled)) ++count[r.item];
  BOOST_TEST_REQUIRE(ruled.ranking_bonus().size() == count.size());
  for (std::size_t i = 0; i < count.size(); ++i)
    BOOST_TEST(ruled.ranking_bonus()[i] == 0.4f * std::log1p(float(count[i])), boost::test_tools::tolerance(1e-6f));
  std::vector<float> score(ruled.info().num_items);
  std::vector<Source> source(ruled.info().num_items);
  std::size_t differ = 0;
  for (std::uint32_t u = 0; u < ruled.info().num_users; ++u) {
    ruled.score_items(u, score, source);
    const auto by_rule = ruled.recommend(u, 5), by_rating = ruled.recommend(u, 5, true, RankBy::Rating);
    const auto as_plain = plain.recommend(u, 5);
    BOOST_TEST_REQUIRE(by_rule.size() == 5u);
    for (std::size_t r = 0; r < 5; ++r) {
      BOOST_TEST(by_rating[r].item == as_plain[r].item);  // the rule changes nothing else
      BOOST_TEST(by_rule[r].rating == ruled.predict(u, by_rule[r].item).value);  // ratings stay predictions
      if (r > 0) {
        const auto key = [&](std::uint32_t i) { return score[i] + ruled.ranking_bonus()[i]; };
        BOOST_TEST(key(by_rule[r - 1].item) >= key(by_rule[r].item));
      }
    }
    differ += by_rule[0].item != by_rating[0].item;
  }
  BOOST_TEST(differ > 0u);  // a weight of 0.4 stars per ln(count) moves some lists
  // A weight that is negative or not finite is a damaged file.
  using test::edited_model_file, test::expect_refused;
  const std::uint32_t v = ruled.info().schema_version;
  expect_refused(edited_model_file(file, [](fb::ModelT& m) { m.ranking->popularity_weight = -1; }, v), "ranking.popularity_weight");
  expect_refused(edited_model_file(file, [](fb::ModelT& m) { m.ranking->popularity_weight = std::nanf(""); }, v),
                 "ranking.popularity_weight");
}

BOOST_AUTO_TEST_CASE(the_trainer_chooses_the_rule_on_validation_as_the_report_measures_it) {
  // Validation ratings of their own, so that the report below can score the same ones.
  std::istringstream in(synth_text(150, 90, 0.2, 11));
  std::string line, fit_text, val_text;
  for (std::size_t k = 0; std::getline(in, line); ++k) (k % 8 == 7 ? val_text : fit_text) += line + '\n';
  train::Input input;
  input.train = data::parse_ratings(fit_text, "fit");
  input.validation = data::parse_ratings(val_text, "val");
  train::RunSettings s;
  s.config.hidden = 16, s.config.epochs = 6, s.config.batch_size = 16, s.config.threads = 1, s.config.device = Device::Cpu;
  s.config.seed += seed_offset();
  s.auto_validation = false;
  struct Quiet : train::Observer {
    std::vector<std::string> infos;
    void info(const std::string& l) override { infos.push_back(l); }
  } seen;
  const train::RunResult r = train::run(input, s, seen);
  BOOST_TEST_REQUIRE(r.ranking.has_value());
  BOOST_TEST(std::any_of(seen.infos.begin(), seen.infos.end(), [](const std::string& l) { return l.rfind("ranking rule: ", 0) == 0; }));
  const Model m = r.load({.device = Device::Cpu});
  BOOST_TEST(m.info().ranking.popularity_weight == r.ranking->popularity_weight);
  data::RankingOptions o;
  o.ks = {10};
  const data::RankingReport report = data::evaluate_ranking(m, data::map_to_model(m, *input.validation), o);
  const auto ndcg = [&](Ranker x) { return report.metrics[std::size_t(x)][0].ndcg; };
  BOOST_TEST(ndcg(Ranker::Model) == double(r.ranking->validation_ndcg), boost::test_tools::tolerance(1e-5));
  BOOST_TEST(ndcg(Ranker::Rating) == double(r.ranking->rating_ndcg), boost::test_tools::tolerance(1e-5));
  BOOST_TEST(ndcg(Ranker::Popularity) == double(r.ranking->popularity_ndcg), boost::test_tools::tolerance(1e-5));
  BOOST_TEST(r.ranking->validation_ndcg >= r.ranking->rating_ndcg);  // weight 0 is on the grid
}

BOOST_AUTO_TEST_CASE(bad_options_are_refused) {
  const Model& m = small_model();
  data::RankingOptions o;
  o.ks = {};
  BOOST_CHECK_THROW(data::evaluate_ranking(m, test_refs(), o), Error);
  o.ks = {10, 0};
  BOOST_CHECK_THROW(data::evaluate_ranking(m, test_refs(), o), Error);
  o.ks = {10};
  o.relevant_at = std::nanf("");
  BOOST_CHECK_THROW(data::evaluate_ranking(m, test_refs(), o), Error);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace autorec::test
