// The whole training pipeline as one library call: ratings in, a trained model file image out. autorec-train
// is this call behind a command line; tests and hosts call it directly and serve the result in the same
// process (RunResult::load) or write it (RunResult::write).
//
// What run() does, in order: the dataset (duplicates resolved, the scale), the splits (test by ratio unless
// test ratings are given, then validation), training with early stopping and checkpoints, and, with
// validation ratings, the simple baselines beside the network, the bias model's share in the answers and the
// cold-start rule; then the refit on all training ratings (when asked, or on sparse data by the default
// recipe), the model file, and the test RMSE computed from that file exactly as autorec-verify computes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autorec/data/dataset.hpp"
#include "autorec/data/ratings.hpp"
#include "autorec/dtype.hpp"
#include "autorec/model.hpp"
#include "autorec/train/cold_start.hpp"
#include "autorec/train/collective.hpp"
#include "autorec/train/trainer.hpp"

namespace autorec::train {

// What the caller hears of a run. Every method has an empty default, so an observer overrides only what it
// shows; run() calls them from the calling thread.
class Observer {
 public:
  virtual ~Observer() = default;
  // A line of the run's account: what was read and split, what validation chose, the refit (autorec-train
  // prints these unless --quiet).
  virtual void info(const std::string& line) { (void)line; }
  // Something to say even to a quiet caller: skipped lines, duplicates, a device fallback, a test set the
  // model cannot answer.
  virtual void warning(const std::string& line) { (void)line; }
  // While read_input parses a file: `done` of its `total` bytes (decompressed) after `seconds`; about every
  // 4 MiB, and once more at the end with done == total.
  virtual void reading(std::string_view source, std::uint64_t done, std::uint64_t total, double seconds) {
    (void)source, (void)done, (void)total, (void)seconds;
  }
  // After each epoch of a stage ("train", then "refit" when there is one), of `epochs` in that stage.
  virtual void epoch(std::string_view stage, const EpochStats& stats, std::uint32_t epochs) {
    (void)stage, (void)stats, (void)epochs;
  }
};

// Everything a run is given besides the ratings.
struct RunSettings {
  TrainConfig config;  // the network, the optimiser, epochs, seed, validation share, threads, device
  // On sparse data the default recipe validates itself (needs_validation in trainer.hpp): it holds out
  // kSparseValidationRatio and refits. Off when the caller chose config.val_ratio itself.
  bool auto_validation = true;
  bool refit = false;  // after choosing the epoch count on validation, train again on all training ratings
  data::DuplicatePolicy duplicates = data::DuplicatePolicy::Last;
  data::ScaleOptions scale;      // the rating scale's ends, when not the data's
  double test_ratio = 0;   // hold out this share as the test set (only without test ratings of their own)
  CheckpointOptions checkpoint;  // path, every and resume; stage and caller_state are run()'s
  DType dtype = DType::F32;      // storage of the weight matrices in the model file
  int zstd_level = 3;
  std::string model_name = "model.fb";  // labels the model in messages
  // Where run() writes the model file itself, as it compresses it (write_model_file): the writer then holds
  // neither the file nor, while it scores the test set, the weights (the model is loaded back from the
  // file), and RunResult::file and training.weights stay empty. Empty: the file is returned in memory.
  std::string output_path;
  // A distributed run (issue 20): this process's place among the others (dist/ makes one over MPI). Every
  // process calls run() with the same input and settings; each trains its share of the rows
  // (sharding.hpp) and all end with the same model file, which the caller writes from rank 0 only (as the
  // trainer writes checkpoints). Null: this process alone.
  std::shared_ptr<Collective> collective;
};

// The ratings of a run: the training ratings and, optionally, a test set and a validation set of their own.
// Validation ratings of users or items that the training ratings lack are left out (the network cannot
// answer them; run() says how many); they take the place of --val-ratio's split (not with it).
struct Input {
  data::RawRatings train;
  std::optional<data::RawRatings> test;
  std::optional<data::RawRatings> validation;
  double read_seconds = 0;  // what reading took (read_input), counted in RunResult::read_seconds
};
// Reads the training file, and the test and validation files when their paths are not empty, before any
// training, so that a bad test file is refused before hours of work; lines skipped under
// options.skip_bad_lines are reported as warnings.
Input read_input(const std::string& train_path, const std::string& test_path, const data::ReadOptions& options,
                 Observer& observer, const std::string& validation_path = "");

struct RunResult {
  std::vector<std::byte> file;  // the model file image (empty on the processes other than 0 of a distributed run)
  std::uint64_t file_bytes = 0;  // its size, also when run() wrote it to RunSettings::output_path
  std::string written_path;     // RunSettings::output_path once run() has written the file there
  TrainResult training;         // of the stage whose weights the model holds (the refit when there is one)
  bool refitted = false;
  ColdStartChoice cold_start;
  double baseline_weight = 0;   // the bias model's share in the answers (0 without validation)
  std::optional<RankingRule> ranking;  // the rule recommend() ranks by, chosen on validation (none without)
  std::optional<EvalResult> test;  // with test ratings: from the model file, as autorec-verify computes it
  std::uint32_t users = 0, items = 0;
  std::size_t ratings = 0;  // distinct (user, item) ratings read
  std::size_t fit = 0, val = 0, test_held = 0;  // ratings the model trained on (all after a refit), validated on, held out
  double read_seconds = 0, total_seconds = 0;   // reading and preparing the data; the whole run

  // The model in memory, without a file round trip.
  Model load(const LoadOptions& options = {}) const;
  // Writes the file atomically (write_file_atomic); nothing to do when run() wrote it to `path` itself.
  void write(const std::string& path) const;
};

// Runs the pipeline. Throws autorec::Error: BadInput for data or settings that cannot train (no ratings left
// after the splits, a refit without validation, a checkpoint of other data or settings), Corrupt for a
// damaged checkpoint, Diverged when the loss or a weight stops being finite (the last good checkpoint stays),
// and whatever else train() throws.
// The input is taken by value so that a caller that moves it in lets the parsed file's memory go as soon as
// the ratings are split.
RunResult run(Input input, RunSettings settings, Observer& observer);

}  // namespace autorec::train
