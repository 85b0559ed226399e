// Checkpoints of a distributed run in parts, one per process, with a manifest (checkpoint.hpp).
#include <algorithm>
#include <filesystem>
#include <regex>
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

std::vector<std::string> part_files_beside(const std::string& path) {
  const std::filesystem::path p(path);
  const std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  const std::string base = p.filename().string() + ".";
  static const std::regex kPart(R"([A-Za-z0-9_-]+\.e[0-9]+\.part[0-9]+of[0-9]+)");  // part_path's tail
  std::vector<std::string> files;
  std::error_code failed;
  for (const auto& e : std::filesystem::directory_iterator(dir, failed)) {
    const std::string name = e.path().filename().string();
    if (name.size() > base.size() && name.compare(0, base.size(), base) == 0 &&
        std::regex_match(name.begin() + static_cast<std::ptrdiff_t>(base.size()), name.end(), kPart))
      files.push_back(name);
  }
  return files;  // (a folder that cannot be listed has no parts to remove)
}

void remove_part_files(const std::string& path, const std::vector<std::string>& files,
                       const std::vector<std::string>& keep) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  for (const std::string& f : files) {
    if (std::find(keep.begin(), keep.end(), f) != keep.end()) continue;
    std::error_code ignored;  // one already gone is fine
    std::filesystem::remove(dir / f, ignored);
  }
}

namespace {

// The sums of the protocol below, each of 1 from every process: a result other than the number of processes
// means the processes are out of step.
void all_reach(Collective& comm, const char* point) {
  double here = 1;
  comm.sum(std::span<double>(&here, 1));
  if (here != double(comm.size()))
    throw Error(Status::Internal, std::string("checkpoint: ") + std::to_string(here) + " of " +
                                      std::to_string(comm.size()) + " processes reached " + point);
}

}  // namespace

void save_checkpoint_parts(Checkpoint& state, TrainBackend& backend, const std::string& path, Weights& best) {
  Collective& comm = *backend.collective();
  const int rank = comm.rank(), P = comm.size();
  const std::vector<RowRange> shards = backend.shards();
  state.optimizer = backend.own_optimizer_state();
  const std::uint64_t step = state.optimizer.step;
  state.part = static_cast<std::uint32_t>(rank), state.of = static_cast<std::uint32_t>(P);
  state.part_rows = shards[static_cast<std::size_t>(rank)];
  state.parts.clear();
  write_checkpoint_lending(state, best, part_path(path, state.stage, state.epoch, rank, P));
  state.weights = {}, state.optimizer = {};
  state.part = 0, state.of = 0, state.part_rows = {};
  all_reach(comm, "the end of writing their parts");  // (a process that failed to write its part is not here)
  std::vector<std::string> now;
  if (rank == 0) {
    Checkpoint manifest = state;  // the loop's state; its tensors are in the parts
    manifest.weights = {}, manifest.best_weights = {}, manifest.optimizer = {};
    manifest.optimizer.step = step;  // which every part must have
    for (int r = 0; r < P; ++r) {
      now.push_back(std::filesystem::path(part_path(path, state.stage, state.epoch, r, P)).filename().string());
      manifest.parts.push_back({static_cast<std::uint32_t>(r), shards[static_cast<std::size_t>(r)], now.back()});
    }
    write_checkpoint(manifest, path);
  }
  all_reach(comm, "the new manifest");
  // The manifest at the path names the new parts: every other part beside it can go (those of the file it
  // replaced, and any that a killed run wrote after its last manifest or before removing the ones it replaced).
  if (rank == 0) remove_part_files(path, part_files_beside(path), now);
}

bool read_checkpoint_parts(Checkpoint& c, TrainBackend& backend, const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  const auto read = [&](const CheckpointPart& p) {
    const std::string file = (dir / p.file).string();
    Checkpoint part = parse_checkpoint(read_file_bytes(file), file);
    const auto refuse = [&](const std::string& field, const std::string& value) {
      throw Error(Status::Corrupt, file + ": field " + field + " = " + value + ": not part " + std::to_string(p.rank) +
                                       " of the " + std::to_string(c.parts.size()) + " that " + path +
                                       " names (its stage " + c.stage + ", epoch " + std::to_string(c.epoch) + ")");
    };
    if (part.of != c.parts.size() || part.part != p.rank)
      refuse("part", std::to_string(part.part) + " of " + std::to_string(part.of));
    if (part.part_rows.begin != p.rows.begin || part.part_rows.end != p.rows.end)
      refuse("part rows", std::to_string(part.part_rows.begin) + " to " + std::to_string(part.part_rows.end));
    if (part.stage != c.stage) refuse("stage", part.stage);
    if (part.epoch != c.epoch) refuse("epoch", std::to_string(part.epoch));
    if (part.optimizer.step != c.optimizer.step) refuse("step", std::to_string(part.optimizer.step));
    if (part.settings != c.settings || part.data_fingerprint != c.data_fingerprint)
      refuse("settings or data_fingerprint", std::to_string(part.data_fingerprint));
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
