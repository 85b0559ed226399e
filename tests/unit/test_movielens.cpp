// Real-data accuracy: MovieLens 100K with the default and the textbook recipes. Runs when AUTOREC_ML100K_DIR names
// a folder holding u.data; otherwise the case is skipped (and CTest reports it as skipped).
#include <boost/test/unit_test.hpp>

#include "autorec/data/ratings.hpp"
#include "autorec/train/model_writer.hpp"
#include "helpers.hpp"

using namespace autorec;
using test::has_ml100k;
using test::ml100k_file;

BOOST_AUTO_TEST_SUITE(movielens)

namespace {

// Trains on the reference split of bench/make_split.py, seed 1, and scores the model file's test RMSE.
EvalResult ml100k_seed1(train::TrainConfig c) {
  const data::Dataset data = data::make_dataset(data::read_ratings(ml100k_file()), data::DuplicatePolicy::Last);
  std::vector<data::Rating> fit, test;
  data::split(data, 1, 0.1, fit, test);
  c.threads = 2;
  c.seed += test::seed_offset();
  const train::Csc m = train::make_csc(fit, std::uint32_t(data.users.size()), std::uint32_t(data.items.size()), c.variant);
  const train::TrainResult res = train::train(c, m, {}, data.scale.min, data.scale.max, nullptr);
  train::ModelContents contents{&c, &data, &m, &res};
  const Model model = Model::load_buffer(train::build_model_file(contents), "ml100k.fb");
  const EvalResult r = evaluate(model, test::refs(test));
  BOOST_TEST(r.count == test.size());
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ml100k_default_recipe, *boost::unit_test::precondition(has_ml100k)) {
  const EvalResult r = ml100k_seed1(*train::recipe("default"));
  BOOST_TEST_MESSAGE("ML-100K seed 1, default recipe: test RMSE " << r.rmse);
  // Training seeds 1-10 on this split (scripts/test-spread, Intel Xeon AVX-512): 0.8756-0.8771 in the native
  // build and the same in the portable one; the textbook recipe 0.9018-0.9077. The bound is well above the
  // spread and below the textbook recipe, so it catches a default that lost its gain.
  test::check_bound("ml100k_default_rmse", r.rmse, 0.90);
}

BOOST_AUTO_TEST_CASE(ml100k_textbook_recipe, *boost::unit_test::precondition(has_ml100k)) {
  const EvalResult r = ml100k_seed1(*train::recipe("textbook"));
  BOOST_TEST_MESSAGE("ML-100K seed 1, textbook recipe: test RMSE " << r.rmse);
  // Training seeds 1-10: 0.9018-0.9077 in both builds (scripts/test-spread); the bound leaves room for noise,
  // not for a broken model.
  test::check_bound("ml100k_textbook_rmse", r.rmse, 0.93);
}

BOOST_AUTO_TEST_SUITE_END()
