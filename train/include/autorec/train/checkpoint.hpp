// Training checkpoints: everything a run needs to continue exactly where it stopped (weights, optimiser
// state, step count, the training loop's own state), in the model file's container under its own magic: one
// zstd frame with a checksum, written atomically like a model.
//
// Content: an 8-byte little-endian length, a JSON header of that length (settings, fingerprint, loop state
// and a directory of tensors), then the tensors as raw little-endian float32, each at a 64-byte boundary
// counted from the first 64-byte boundary after the JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autorec/train/trainer.hpp"

namespace autorec::train {

inline constexpr std::uint32_t kCheckpointFormat = 1;

struct Checkpoint {
  std::string stage;                   // CheckpointOptions::stage of the run that wrote it
  std::uint32_t epoch = 0;             // epochs completed
  std::string backend;                 // cpu or cuda: their optimiser states and numerics are their own
  std::string settings;                // settings_json() of the run
  std::uint64_t data_fingerprint = 0;  // of the fit and validation ratings
  Weights weights;
  OptimizerState optimizer;
  // The training loop: the epochs so far, and with validation the best epoch, its weights, and the count of
  // epochs since it (early stopping).
  std::vector<EpochStats> history;
  std::uint32_t best_epoch = 0;
  double best_val_rmse = 0;
  std::uint32_t since_best = 0;
  Weights best_weights;
  std::string caller_state;  // CheckpointOptions::caller_state
};

// The settings that shape a run's trajectory, as a JSON object. Threads and the device are left out: the CPU
// result does not depend on the thread count, and the backend is recorded on its own.
// `units`: what the run trains in (rating_units of its scale); part of the identity unless the identity map.
std::string settings_json(const TrainConfig& config, const RatingUnits& units = {});
// The first setting that differs between two settings_json() texts, as "lr: 0.002 in the checkpoint, 0.001
// in this run"; empty when they are the same.
std::string settings_difference(const std::string& checkpoint, const std::string& run);

// A hash of the ratings a run trains and validates on (their order included: it fixes the trajectory).
std::uint64_t data_fingerprint(const Csc& fit, const std::vector<Cell>& val);

// The complete file image (train() checks the weights are finite before it saves them).
std::vector<std::byte> build_checkpoint(const Checkpoint& checkpoint, int zstd_level = 1);
// Checks and reads a checkpoint file image; Error(Corrupt) names `name` and the field that fails.
Checkpoint parse_checkpoint(std::span<const std::byte> file, std::string_view name);

}  // namespace autorec::train
