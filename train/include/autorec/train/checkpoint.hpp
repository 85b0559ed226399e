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

#include "autorec/train/sharding.hpp"
#include "autorec/train/trainer.hpp"

namespace autorec::train {

inline constexpr std::uint32_t kCheckpointFormat = 1;

// A distributed run (issue 20) checkpoints in parts: each process writes its rows' weights and optimiser
// state as a part file beside the checkpoint path (part_path), then process 0 writes the manifest at the path:
// the loop's state without tensors, naming the parts of that epoch. The manifest is written once every part
// is on disk and the previous epoch's parts are removed only after it, so the file at the path always names
// complete parts. Resumed on as many processes with the same rows, each reads its own part; otherwise every
// process reads all of them and takes its rows (re-sharding).
struct CheckpointPart {
  std::uint32_t rank = 0;
  RowRange rows;
  std::string file;  // the part file's name, in the manifest's folder
};

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
  // A manifest: its parts in rank order (empty in any other checkpoint).
  std::vector<CheckpointPart> parts;
  // A part: which process of how many wrote it (of == 0 in any other checkpoint), and its rows. Its weights
  // and optimiser state are those rows'; process 0's holds the best weights whole.
  std::uint32_t part = 0, of = 0;
  RowRange part_rows;
};

// The part file of process `rank` of `ranks` at `epoch` of `stage`, beside the checkpoint at `path`.
std::string part_path(const std::string& path, const std::string& stage, std::uint32_t epoch, int rank, int ranks);

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

// The same written to `path` as it is compressed, atomically (neither the content nor the file whole in
// memory).
void write_checkpoint(const Checkpoint& checkpoint, const std::string& path, int zstd_level = 1);
// write_checkpoint of `state` with `best` as its best weights, lent (moved in and back), not copied.
void write_checkpoint_lending(Checkpoint& state, Weights& best, const std::string& path);

// A distributed run's checkpoint at state.epoch, from every process of `backend`'s collective together:
// each writes its part (its own weights and optimiser state; `best`, whole on process 0, is lent to process
// 0's), process 0 then the manifest at `path`, and then removes every other part beside it.
// state.weights must hold this process's weights (checked finite by the caller).
void save_checkpoint_parts(Checkpoint& state, TrainBackend& backend, const std::string& path, Weights& best);
// The part files beside the checkpoint at `path`, named as part_path names them, whatever run wrote them, and
// their removal but for those in `keep`: what replaces the file at the path removes every part it does not
// name (so a killed run's leftovers go too) without reading the file it replaces.
std::vector<std::string> part_files_beside(const std::string& path);
void remove_part_files(const std::string& path, const std::vector<std::string>& files,
                       const std::vector<std::string>& keep = {});
// Resuming from the manifest `c` read at `path`: with as many processes on the same rows, this process's
// part goes straight into `backend` (returns true); otherwise every part is read and put together into
// c.weights and c.optimizer, whole, for set_weights and set_optimizer_state (false). c.best_weights gets
// part 0's. Error(Corrupt) names a part that is missing, damaged or of another checkpoint.
bool read_checkpoint_parts(Checkpoint& c, TrainBackend& backend, const std::string& path);

}  // namespace autorec::train
