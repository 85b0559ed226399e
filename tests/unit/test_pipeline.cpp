// Training as a library call (autorec/train/pipeline.hpp): a model trained by train::run is served in the
// same process, and the in-memory model, the file it writes and autorec-verify on that file agree; the
// refit of sparse data, the observer's account and the refusals.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autorec/train/pipeline.hpp"
#include "helpers.hpp"

namespace autorec::test {
namespace {

// Records what a run reports.
struct Recorder : train::Observer {
  std::vector<std::string> infos, warnings;
  std::vector<std::pair<std::string, std::uint32_t>> epochs;  // stage, epoch
  void info(const std::string& line) override { infos.push_back(line); }
  void warning(const std::string& line) override { warnings.push_back(line); }
  struct Read {
    std::string source;
    std::uint64_t done, total;
  };
  std::vector<Read> reads;
  void reading(std::string_view source, std::uint64_t done, std::uint64_t total, double) override {
    reads.push_back({std::string(source), done, total});
  }
  void epoch(std::string_view stage, const train::EpochStats& s, std::uint32_t) override {
    epochs.emplace_back(std::string(stage), s.epoch);
  }
  bool said(const std::string& start) const {
    for (const auto& l : infos)
      if (l.rfind(start, 0) == 0) return true;
    return false;
  }
};

train::RunSettings small_settings() {
  train::RunSettings s;
  s.config.hidden = 12;
  s.config.epochs = 3;
  s.config.batch_size = 16;
  s.config.threads = 1;
  s.config.device = Device::Cpu;
  s.config.seed += seed_offset();
  return s;
}

// Synthetic ratings split by line into a training and a test text (every 10th line is a test rating).
std::pair<std::string, std::string> synth_files_text(std::uint32_t users, std::uint32_t items, double density) {
  std::istringstream in(synth_text(users, items, density, 5));
  std::string line, train_text, test_text;
  for (std::size_t k = 0; std::getline(in, line); ++k) (k % 10 == 9 ? test_text : train_text) += line + '\n';
  return {train_text, test_text};
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// synth_files_text's two texts written to temporary files named after `name`, and their texts.
struct SplitFiles {
  std::string train_path, test_path, train_text, test_text;
};
SplitFiles write_split_files(const std::string& name, std::uint32_t users, std::uint32_t items) {
  SplitFiles f;
  std::tie(f.train_text, f.test_text) = synth_files_text(users, items, 0.15);
  f.train_path = temp_path(name + "-train.data"), f.test_path = temp_path(name + "-test.data");
  write_text(f.train_path, f.train_text);
  write_text(f.test_path, f.test_text);
  return f;
}

// autorec-verify MODEL TEST --json: its RMSE.
double verify_rmse(const std::string& model, const std::string& test) {
  const std::string cmd = std::string(AUTOREC_VERIFY_TOOL) + " '" + model + "' '" + test + "' --json";
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_TEST_REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  BOOST_TEST_REQUIRE(::pclose(p) == 0, cmd << " failed: " << out);
  return nlohmann::json::parse(out).at("rmse").get<double>();
}

// The first case's test RMSE over the global mean's. Spread over 10 seeds (AUTOREC_TEST_SEED=0..9, portable
// build at the avx512 level): 0.687-0.717.
constexpr double kLearnedBound = 0.85;

}  // namespace

BOOST_AUTO_TEST_SUITE(pipeline)

BOOST_AUTO_TEST_CASE(a_model_trained_in_process_serves_and_matches_its_file_and_autorec_verify) {
  const SplitFiles files = write_split_files("pipeline", 400, 300);
  const std::string &train_path = files.train_path, &test_path = files.test_path;
  const std::string &train_text = files.train_text, &test_text = files.test_text;
  const std::string model_path = temp_path("pipeline-model.fb");
  Recorder seen;
  const train::Input input = train::read_input(train_path, test_path, {}, seen);
  // As unit.training trains its models: enough to learn the planted structure.
  train::RunSettings s = small_settings();
  s.config.hidden = 64, s.config.epochs = 60, s.config.batch_size = 32;
  s.config.learning_rate = 0.01, s.config.weight_decay = 1e-4;
  const train::RunResult r = train::run(input, s, seen);
  BOOST_TEST_REQUIRE(r.test.has_value());
  BOOST_TEST(r.test->count == input.test->size());
  BOOST_TEST(r.training.history.size() == 60u);
  BOOST_TEST(seen.epochs.size() == 60u);
  BOOST_TEST(seen.said("data: " + train_path));
  // Each file's reading ended with a report of all its bytes.
  BOOST_TEST_REQUIRE(seen.reads.size() >= 2u);
  BOOST_TEST(seen.reads.back().source == test_path);
  BOOST_TEST(seen.reads.back().done == test_text.size());
  BOOST_TEST(seen.reads.back().total == test_text.size());
  BOOST_TEST(seen.reads.front().source == train_path);
  BOOST_TEST(seen.reads.front().total == train_text.size());

  // The model in memory answers the test set as the run measured it.
  const Model in_memory = r.load({.device = Device::Cpu});
  const EvalResult mem = evaluate(in_memory, data::map_to_model(in_memory, *input.test));
  BOOST_TEST(mem.rmse == r.test->rmse);
  // The file, loaded and by autorec-verify: the same to 1e-6 (the same library computes all three).
  r.write(model_path);
  const Model from_file = Model::load_file(model_path, {.device = Device::Cpu});
  const EvalResult file = evaluate(from_file, data::map_to_model(from_file, *input.test));
  BOOST_TEST(std::abs(file.rmse - r.test->rmse) <= 1e-6);
  const double verified = verify_rmse(model_path, test_path);
  BOOST_TEST(std::abs(verified - r.test->rmse) <= 1e-6, "autorec-verify " << verified << ", run " << r.test->rmse);
  BOOST_TEST_MESSAGE("pipeline: test RMSE " << r.test->rmse << " in memory " << mem.rmse << ", file " << file.rmse
                                            << ", autorec-verify " << verified);
  // A model that learned: below the RMSE of answering every test rating with the training mean.
  double sum = 0, sse = 0;
  for (float v : input.train.value) sum += v;
  const double mean = sum / double(input.train.size());
  for (float v : input.test->value) sse += (v - mean) * (v - mean);
  const double mean_rmse = std::sqrt(sse / double(input.test->size()));
  check_bound("pipeline test RMSE / global-mean RMSE", r.test->rmse / mean_rmse, kLearnedBound);
  for (const auto& p : {train_path, test_path, model_path}) std::remove(p.c_str());
}

BOOST_AUTO_TEST_CASE(a_run_that_writes_its_file_itself_gives_the_file_it_returns_in_memory) {
  // RunSettings::output_path: the writer streams the file, scores the test set from it and patches the
  // test RMSE in; the model, the RMSE and the file's record of it are those of a run that returns the file.
  const SplitFiles files = write_split_files("pipeline-out", 200, 150);
  const std::string model_path = temp_path("pipeline-out-model.fb");
  Recorder seen;
  const train::Input input = train::read_input(files.train_path, files.test_path, {}, seen);
  train::RunSettings s = small_settings();
  const train::RunResult in_memory = train::run(input, s, seen);
  s.output_path = model_path;
  const train::RunResult written = train::run(input, s, seen);
  BOOST_TEST_REQUIRE(in_memory.test.has_value());
  BOOST_TEST_REQUIRE(written.test.has_value());
  BOOST_TEST(written.test->rmse == in_memory.test->rmse);
  BOOST_TEST(written.file.empty());
  BOOST_TEST(written.training.weights.W.empty());  // let go before the model was loaded back
  BOOST_TEST(written.file_bytes == std::filesystem::file_size(model_path));
  const Model a = Model::load_file(model_path, {.device = Device::Cpu}), b = in_memory.load({.device = Device::Cpu});
  BOOST_TEST(a.info().test_rmse == in_memory.test->rmse);
  BOOST_TEST(b.info().test_rmse == in_memory.test->rmse);
  for (std::uint32_t l = 0; l < 2; ++l) BOOST_TEST(a.weight(l) == b.weight(l));
  BOOST_TEST(verify_rmse(model_path, files.test_path) == written.test->rmse, boost::test_tools::tolerance(1e-9));
  written.write(model_path);  // already there: nothing to do
  BOOST_CHECK_THROW(written.write(temp_path("pipeline-out-other.fb")), Error);
  for (const auto& p : {files.train_path, files.test_path, model_path}) std::remove(p.c_str());
}

BOOST_AUTO_TEST_CASE(ratings_in_memory_train_the_same_model_as_the_same_ratings_in_a_file) {
  const auto [train_text, test_text] = synth_files_text(120, 80, 0.15);
  const std::string train_path = temp_path("pipeline-memory.data");
  write_text(train_path, train_text);
  Recorder a, b;
  const train::Input from_file = train::read_input(train_path, "", {}, a);
  train::Input in_memory;
  in_memory.train = data::parse_ratings(train_text, train_path);
  train::RunSettings s = small_settings();
  s.test_ratio = 0.1;
  const train::RunResult x = train::run(from_file, s, a), y = train::run(in_memory, s, b);
  BOOST_TEST_REQUIRE(x.test.has_value());
  BOOST_TEST(x.test_held > 0u);
  BOOST_TEST(x.test->rmse == y.test->rmse);
  BOOST_TEST(x.training.weights.W == y.training.weights.W);
  std::remove(train_path.c_str());
}

BOOST_AUTO_TEST_CASE(sparse_data_under_the_default_recipe_validates_then_refits_on_all) {
  // 60 users x 400 items at density 0.05: 3 ratings per item, far below kSparseRatingsPerColumn.
  train::Input input;
  input.train = data::parse_ratings(synth_text(60, 400, 0.05, 3), "sparse");
  train::RunSettings s = small_settings();
  const train::TrainConfig preset = *train::recipe("default");
  s.config.recipe = preset.recipe;
  Recorder seen;
  const train::RunResult r = train::run(input, s, seen);
  BOOST_TEST(r.refitted);
  BOOST_TEST(seen.said("sparse data"));
  BOOST_TEST(seen.said("cold start: "));
  BOOST_TEST(r.val == 0u);  // the refit trains on every rating, validation included
  BOOST_TEST(r.fit == r.ratings);
  BOOST_TEST(r.cold_start.cells > 0u);
  // The first stage's epochs, then the refit's (unless the bias model answers alone and it is skipped).
  BOOST_TEST_REQUIRE(!seen.epochs.empty());
  BOOST_TEST(seen.epochs.front().first == "train");
  if (r.baseline_weight < 1) {
    BOOST_TEST(seen.epochs.back().first == "refit");
    BOOST_TEST(seen.epochs.back().second == r.training.best_epoch);
  } else {
    BOOST_TEST(seen.said("refit: skipped"));
  }
  const Model m = r.load({.device = Device::Cpu});
  BOOST_TEST(m.info().num_items == r.items);
}

BOOST_AUTO_TEST_CASE(a_refit_without_validation_is_refused_as_bad_input) {
  train::Input input;
  input.train = data::parse_ratings(synth_text(120, 80, 0.15, 3), "dense");
  train::RunSettings s = small_settings();
  s.refit = true;
  s.auto_validation = false;
  Recorder seen;
  try {
    train::run(input, s, seen);
    BOOST_FAIL("a refit without a validation part trained");
  } catch (const Error& e) {
    BOOST_TEST((e.status() == Status::BadInput));
    BOOST_TEST(std::string(e.what()).find("--val-ratio") != std::string::npos, e.what());
  }
  BOOST_TEST(seen.epochs.empty());
}

BOOST_AUTO_TEST_CASE(validation_ratings_of_their_own_choose_the_epoch_and_unknown_ids_are_left_out) {
  const auto [train_text, val_text] = synth_files_text(120, 80, 0.15);
  train::Input input;
  input.train = data::parse_ratings(train_text, "train");
  // Two ratings of ids the training ratings lack, and one that is a training rating: left out, and counted.
  const std::string trained_line = train_text.substr(0, train_text.find('\n') + 1);
  input.validation = data::parse_ratings(val_text + "99999 1 4\n1 99999 2\n" + trained_line, "val");
  train::RunSettings s = small_settings();
  s.auto_validation = false;
  s.refit = true;
  Recorder seen;
  const train::RunResult r = train::run(input, s, seen);
  BOOST_TEST(seen.said("validation: val: 2 of " + std::to_string(input.validation->size()) + " ratings"));
  BOOST_TEST_REQUIRE(seen.warnings.size() == 1u);
  BOOST_TEST(seen.warnings[0].find("1 of " + std::to_string(input.validation->size()) + " ratings are also training") !=
             std::string::npos, seen.warnings[0]);
  BOOST_TEST(seen.said("cold start: "));
  // The model trains on every training rating already: the refit is not run, and said so.
  BOOST_TEST(!r.refitted);
  BOOST_TEST(seen.said("refit: not needed"));
  BOOST_TEST_REQUIRE(!seen.epochs.empty());
  for (const auto& [stage, epoch] : seen.epochs) BOOST_TEST(stage == "train");

  // The same run without refit: every epoch is validated, on the known ratings only.
  s.refit = false;
  const train::RunResult v = train::run(input, s, seen);
  BOOST_TEST(v.val == input.validation->size() - 3);
  for (const train::EpochStats& e : v.training.history) BOOST_TEST(e.val_rmse > 0);

  // With --val-ratio too: refused, as is a validation set that shares no id with the training ratings.
  s.config.val_ratio = 0.1;
  check_error(Status::BadInput, {"validation ratings of their own (val)", "--val-ratio 0.1"}, [&] { train::run(input, s, seen); });
  s.config.val_ratio = 0;
  input.validation = data::parse_ratings("99999 1 4\n", "strangers");
  check_error(Status::BadInput, {"strangers: none of the 1 validation ratings"}, [&] { train::run(input, s, seen); });
}

BOOST_AUTO_TEST_CASE(run_options_out_of_range_are_refused_from_any_caller) {
  train::Input input;
  input.train = data::parse_ratings(synth_text(40, 30, 0.2, 3), "dense");
  Recorder seen;
  train::RunSettings s = small_settings();
  s.zstd_level = 25;
  check_error(Status::BadInput, {"setting zstd_level (--zstd-level): 25 is not an integer in [1, 19]"},
              [&] { train::run(input, s, seen); });
  s = small_settings();
  s.test_ratio = std::nan("");
  check_error(Status::BadInput, {"setting test_ratio (--test-ratio): nan is not a number in [0, 0.9]"},
              [&] { train::run(input, s, seen); });
  s = small_settings();
  s.checkpoint.every = 0;
  check_error(Status::BadInput, {"setting checkpoint_every"}, [&] { train::run(input, s, seen); });
  BOOST_TEST(seen.epochs.empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace autorec::test
