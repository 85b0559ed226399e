// End-to-end training on synthetic data: it must clearly beat the per-item-mean baseline, in both variants.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>

#include "autorec/train/cold_start.hpp"
#include "autorec/train/optimizer.hpp"
#include "autorec/train/resources.hpp"
#include "helpers.hpp"

using namespace autorec;

namespace {

double item_mean_rmse(const test::Trained& t) {
  std::map<std::uint32_t, std::pair<double, int>> sums;
  double all = 0;
  for (const auto& r : t.fit) sums[r.item].first += r.value, sums[r.item].second++, all += r.value;
  all /= double(t.fit.size());
  double se = 0;
  for (const auto& r : t.test) {
    const auto it = sums.find(r.item);
    const double p = it == sums.end() ? all : it->second.first / it->second.second;
    se += (p - r.value) * (p - r.value);
  }
  return std::sqrt(se / double(t.test.size()));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(training)

BOOST_AUTO_TEST_CASE(item_based_beats_item_means) {
  train::TrainConfig c;
  c.hidden = 64;
  c.epochs = 60;
  c.batch_size = 32;
  c.learning_rate = 0.01;
  c.weight_decay = 1e-4;
  const test::Trained t = test::train_small(c, 400, 300, 0.1);
  const Model m = Model::load_buffer(t.file, "synth.fb");
  const EvalResult r = evaluate(m, test::refs(t.test));
  const double baseline = item_mean_rmse(t);
  BOOST_TEST_MESSAGE("I-AutoRec RMSE " << r.rmse << " vs item-mean " << baseline);
  // Spread over 10 seeds (scripts/test-spread; native / portable build): 0.735-0.747 / 0.732-0.752.
  test::check_bound("item_based_rmse_over_item_means", r.rmse / baseline, 0.93);
  // The loss went down: 0.088-0.095 / 0.087-0.095 of the first epoch's.
  test::check_bound("item_based_last_over_first_loss", t.result.history.back().loss / t.result.history.front().loss, 0.5);
}

BOOST_AUTO_TEST_CASE(user_based_beats_item_means) {
  train::TrainConfig c;
  c.variant = Variant::UserBased;
  c.hidden = 64;
  c.epochs = 60;
  c.batch_size = 32;
  c.learning_rate = 0.01;
  c.weight_decay = 1e-4;
  const test::Trained t = test::train_small(c, 400, 300, 0.1);
  const Model m = Model::load_buffer(t.file, "synth-user.fb");
  BOOST_TEST((m.info().variant == Variant::UserBased));
  BOOST_TEST(m.num_columns() == t.data.users.size());
  const EvalResult r = evaluate(m, test::refs(t.test));
  const double baseline = item_mean_rmse(t);
  BOOST_TEST_MESSAGE("U-AutoRec RMSE " << r.rmse << " vs item-mean " << baseline);
  test::check_bound("user_based_rmse_over_item_means", r.rmse / baseline, 0.97);  // 10 seeds: 0.755-0.778 / 0.749-0.779
}

BOOST_AUTO_TEST_CASE(deeper_network_trains_and_serves_what_it_learned) {
  // Two inner layers with dropout: the loss falls, the model beats item means, and the model file (read by
  // libautorec_infer's dense-layer path) scores the held-out ratings as the trainer does.
  train::TrainConfig c;
  c.hidden = 48;
  c.inner = {{24, Activation::Selu, 0.05f}, {48, Activation::Elu, 0.0f}};
  c.epochs = 60;
  c.batch_size = 32;
  c.learning_rate = 0.005;
  c.weight_decay = 1e-4;
  test::Trained t = test::train_small(c, 400, 300, 0.1);
  const Model m = Model::load_buffer(t.file, "deep.fb");
  BOOST_REQUIRE(m.info().layers.size() == 4);
  BOOST_TEST(m.info().layers[1].out_size == 24u);
  BOOST_TEST((m.info().layers[1].activation == Activation::Selu));
  BOOST_TEST((m.info().layers[2].activation == Activation::Elu));
  const EvalResult r = evaluate(m, test::refs(t.test));
  const double baseline = item_mean_rmse(t);
  BOOST_TEST_MESSAGE("deep I-AutoRec RMSE " << r.rmse << " vs item-mean " << baseline);
  // 10 seeds (native / portable): 0.748-0.789 / 0.749-0.789, and the loss 0.094-0.116 / 0.094-0.117 of its start.
  test::check_bound("deep_rmse_over_item_means", r.rmse / baseline, 0.97);
  test::check_bound("deep_last_over_first_loss", t.result.history.back().loss / t.result.history.front().loss, 0.5);
  auto backend = train::make_cpu_trainer();
  backend->init(c, t.csc);
  backend->set_weights(t.result.weights);
  std::vector<train::Cell> cells;
  for (const data::Rating& x : t.test)
    if (m.knows_user(x.user) && m.knows_item(x.item)) cells.push_back({x.user, x.item, x.value});
  std::vector<RatingRef> known;
  for (const train::Cell& x : cells) known.push_back({x.row, x.col, x.value});
  BOOST_TEST(backend->rmse(cells, t.data.scale.min, t.data.scale.max) == evaluate(m, known).rmse,
             boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(cold_start_rule_is_the_best_on_validation) {
  // With under 100 validation ratings every one of them is scored twice, once as if its item were unseen
  // and once as if its user were: the global-mean rule's RMSE is then that of the fit mean over them all.
  train::TrainConfig c;
  c.hidden = 16;
  c.epochs = 5;
  const test::Trained t = test::train_small(c);
  const Model m = Model::load_buffer(t.file, "cold.fb");
  std::vector<train::Cell> val;
  for (std::size_t i = 0; i < 60; ++i) val.push_back({t.test[i].user, t.test[i].item, t.test[i].value});
  const train::ColdStartChoice got = train::choose_cold_start(m, t.csc, val);
  BOOST_TEST(got.cells == 120u);
  double mean = 0;
  for (float v : t.csc.value) mean += v;
  mean /= double(t.csc.nnz());
  double sse = 0;
  for (const train::Cell& x : val) sse += 2 * (mean - x.value) * (mean - x.value);
  BOOST_TEST(got.rmse[1] == std::sqrt(sse / 120), boost::test_tools::tolerance(1e-5));
  for (double r : got.rmse) BOOST_TEST(got.rmse[static_cast<std::size_t>(got.rule)] <= r);
  // Nothing to measure on: AutoRec's own answer.
  BOOST_TEST((train::choose_cold_start(m, t.csc, {}).rule == ColdStart::EmptyInput));
  // The rule written into the model is the one the reader applies.
  test::Trained g = t;
  train::ModelContents contents{&g.config, &g.data, &g.csc, &g.result};
  contents.cold_start = ColdStart::GlobalMean;
  const Model gm = Model::load_buffer(train::build_model_file(contents), "global.fb");
  BOOST_TEST(gm.info().cold_start == "the global mean");
  const Prediction p = gm.predict(std::nullopt, std::optional<std::uint32_t>(0));
  BOOST_TEST((p.source == Source::GlobalMean));
}

BOOST_AUTO_TEST_CASE(validation_keeps_the_best_epoch) {
  train::TrainConfig c;
  c.hidden = 16;
  c.epochs = 12;
  c.batch_size = 16;
  c.patience = 3;
  c.val_ratio = 0.1;
  const data::Dataset data = test::synth_dataset(150, 100, 0.15, 3);
  std::vector<data::Rating> fit, val;
  data::split(data, 5, 0.1, fit, val);
  const train::Csc m = train::make_csc(fit, std::uint32_t(data.users.size()), std::uint32_t(data.items.size()), c.variant);
  std::vector<train::Cell> cells;
  for (const auto& r : val) cells.push_back({r.user, r.item, r.value});
  const train::TrainResult res = train::train(c, m, cells, 1, 5, nullptr);
  double best = 1e9;
  std::uint32_t best_epoch = 0;
  for (const auto& e : res.history)
    if (e.val_rmse < best) best = e.val_rmse, best_epoch = e.epoch;
  BOOST_TEST(res.best_epoch == best_epoch);
  BOOST_TEST(res.history.size() <= std::size_t{best_epoch} + c.patience);
}

BOOST_AUTO_TEST_CASE(cosine_schedule_runs_from_lr_to_lr_min) {
  train::TrainConfig c;
  c.learning_rate = 0.01;
  c.lr_min = 0.001;
  c.epochs = 11;
  BOOST_TEST(train::learning_rate_at(c, 1) == 0.01);  // constant by default
  BOOST_TEST(train::learning_rate_at(c, 11) == 0.01);
  c.schedule = train::TrainConfig::Schedule::Cosine;
  BOOST_TEST(train::learning_rate_at(c, 1) == 0.01, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(train::learning_rate_at(c, 6) == 0.0055, boost::test_tools::tolerance(1e-12));  // half way
  BOOST_TEST(train::learning_rate_at(c, 11) == 0.001, boost::test_tools::tolerance(1e-12));
  for (std::uint32_t e = 2; e <= 11; ++e) BOOST_TEST(train::learning_rate_at(c, e) < train::learning_rate_at(c, e - 1));
  // A refit runs fewer epochs along the same curve: epoch 11 of a 21-epoch cosine is its midpoint.
  c.schedule_epochs = 21;
  BOOST_TEST(train::learning_rate_at(c, 11) == 0.0055, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(adamw_step_matches_its_definition) {
  // PyTorch's AdamW, written out in double: p *= 1 - lr*wd; m, v updated; p -= lr/bc1 * m / (sqrt(v/bc2) + eps).
  train::TrainConfig c;
  c.learning_rate = 0.01;
  c.weight_decay = 0;
  c.decoupled_decay = 0.1;
  c.decay_biases = false;
  double p = 0.5, m = 0, v = 0;
  float pf = 0.5f, mf = 0, vf = 0;
  const double grads[] = {0.3, -0.2, 0.05};
  for (std::uint64_t t = 1; t <= 3; ++t) {
    const double g = grads[t - 1];
    p *= 1 - c.learning_rate * c.decoupled_decay;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    p -= c.learning_rate / (1 - std::pow(0.9, double(t))) * m / (std::sqrt(v / (1 - std::pow(0.999, double(t)))) + 1e-8);
    const train::AdamSteps s = train::adam_steps(c, t, 1);
    adam_update(s.weights, pf, mf, vf, float(g));
    BOOST_TEST(pf == p, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(s.biases.shrink == 1.0f);  // biases are not decayed with decay_biases off
  }
}

BOOST_AUTO_TEST_CASE(same_seed_same_model_file_weights) {
  train::TrainConfig c;
  c.hidden = 8;
  c.epochs = 2;
  c.batch_size = 16;
  const test::Trained a = test::train_small(c), b = test::train_small(c);
  BOOST_TEST(a.result.weights.W == b.result.weights.W);
  c.seed = 2;
  const test::Trained d = test::train_small(c);
  BOOST_TEST(a.result.weights.W != d.result.weights.W);
}

BOOST_AUTO_TEST_CASE(memory_estimate_covers_the_weights_and_refuses_what_does_not_fit) {
  const test::Trained& t = test::small_trained();
  train::TrainConfig c = t.config;
  const train::MemoryEstimate cpu = train::training_memory(c, t.csc, 0, true, false);
  const std::uint64_t params = std::uint64_t{t.csc.num_rows} * c.hidden * 2 + c.hidden + t.csc.num_rows;
  BOOST_TEST(cpu.parameters == params);
  BOOST_TEST(cpu.bytes >= 4 * params * 5);  // weights, two Adam moments, the best copy, the returned copy
  BOOST_TEST(train::training_memory(c, t.csc, 0, true, true).bytes > cpu.bytes);
  BOOST_TEST(train::training_memory(c, t.csc, 0, false, false).bytes < cpu.bytes);  // CUDA keeps its own
  c.inner = {{64, Activation::Elu, 0.0f}};
  BOOST_TEST(train::training_memory(c, t.csc, 0, true, false).parameters ==
             params - std::uint64_t{t.csc.num_rows} * c.hidden + std::uint64_t{c.hidden} * 64 + 64 +
                 std::uint64_t{t.csc.num_rows} * 64);
  train::check_memory(cpu, cpu.bytes);
  train::check_memory(cpu, std::nullopt);  // unknown: not refused
  try {
    train::check_memory(cpu, cpu.bytes - 1);
    BOOST_ERROR("not refused");
  } catch (const Error& e) {
    BOOST_TEST((e.status() == Status::OutOfMemory));
    BOOST_TEST(std::string(e.what()).find("training needs about") == 0, e.what());
  }
  const auto available = train::available_memory();
  BOOST_TEST_REQUIRE(available.has_value());  // Linux: /proc/meminfo
  BOOST_TEST(*available > 0u);
}

BOOST_AUTO_TEST_SUITE_END()
