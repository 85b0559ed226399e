// Checkpoints of a distributed run in parts, one per process, with a manifest (checkpoint.hpp).
#include <filesystem>
#include <system_error>

#include "autorec/container.hpp"
#include "autorec/error.hpp"
#include "autorec/train/atomic_file.hpp"
#include "autorec/train/checkpoint.hpp"
#include "autorec/train/collective.hpp"

namespace autorec::train {

void write_checkpoint_lending(Checkpoint& state, Weights& best, const std::string& path) {
  state.best_weights = std::move(best);  // lent to the checkpoint, not copied
  try {
    write_checkpoint(state, path);
  } catch (...) {
    best = std::move(state.best_weights);
    state.best_weights = {};  // (a moved-from Weights keeps its shape)
    throw;
  }
  best = std::move(state.best_weights);
  state.best_weights = {};
}

void save_checkpoint_parts(Checkpoint& state, TrainBackend& backend, const std::string& path,
                           std::uint32_t previous_epoch, Weights& best) {
  Collective& comm = *backend.collective();
  const int rank = comm.rank(), P = comm.size();
  const std::vector<RowRange> shards = backend.shards();
  state.optimizer = backend.own_optimizer_state();
  state.part = static_cast<std::uint32_t>(rank), state.of = static_cast<std::uint32_t>(P);
  state.part_rows = shards[static_cast<std::size_t>(rank)];
  state.parts.clear();
  write_checkpoint_lending(state, best, part_path(path, state.epoch, rank, P));
  state.weights = {}, state.optimizer = {};
  // Once every process is past this sum every part is on disk (a process that failed to write is not).
  double parts_written = 1;
  comm.sum(std::span<double>(&parts_written, 1));
  if (rank == 0) {
    Checkpoint manifest = state;  // the loop's state; its tensors are in the parts
    manifest.weights = {}, manifest.best_weights = {}, manifest.optimizer = {};
    manifest.part = 0, manifest.of = 0, manifest.part_rows = {};
    for (int r = 0; r < P; ++r)
      manifest.parts.push_back({static_cast<std::uint32_t>(r), shards[static_cast<std::size_t>(r)],
                                std::filesystem::path(part_path(path, state.epoch, r, P)).filename().string()});
    write_checkpoint(manifest, path);
  }
  state.part = 0, state.of = 0, state.part_rows = {};
  // The manifest names the new parts once every process is past this one: the last checkpoint's can go.
  double manifest_written = 1;
  comm.sum(std::span<double>(&manifest_written, 1));
  if (previous_epoch && previous_epoch != state.epoch) {
    std::error_code ignored;  // a part that is not there (a checkpoint of another number of processes) is fine
    std::filesystem::remove(part_path(path, previous_epoch, rank, P), ignored);
  }
}

bool read_checkpoint_parts(Checkpoint& c, TrainBackend& backend, const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  const auto read = [&](const CheckpointPart& p) {
    const std::string file = (dir / p.file).string();
    Checkpoint part = parse_checkpoint(read_file_bytes(file), file);
    if (part.of != c.parts.size() || part.part != p.rank || part.epoch != c.epoch ||
        part.part_rows.begin != p.rows.begin || part.part_rows.end != p.rows.end)
      throw Error(Status::Corrupt, file + ": field part: not part " + std::to_string(p.rank) + " of the " +
                                       std::to_string(c.parts.size()) + " that " + path + " names at epoch " +
                                       std::to_string(c.epoch));
    return part;
  };
  Collective* comm = backend.collective();
  const std::vector<RowRange> shards = backend.shards();
  bool same = comm && shards.size() == c.parts.size();
  for (std::size_t r = 0; same && r < shards.size(); ++r)
    same = shards[r].begin == c.parts[r].rows.begin && shards[r].end == c.parts[r].rows.end;
  if (same) {
    const auto rank = static_cast<std::size_t>(comm->rank());
    Checkpoint own = read(c.parts[rank]);
    backend.set_own_state(own.weights, own.optimizer);
    if (rank == 0) c.best_weights = std::move(own.best_weights);
    return true;
  }
  std::vector<Weights> weights;
  std::vector<OptimizerState> states;
  for (const CheckpointPart& p : c.parts) {
    Checkpoint part = read(p);
    if (p.rank == 0) c.best_weights = std::move(part.best_weights);
    weights.push_back(std::move(part.weights));
    states.push_back(std::move(part.optimizer));
  }
  c.weights = join_rows(weights, path);
  c.optimizer = join_rows(states, path);
  return false;
}

}  // namespace autorec::train
