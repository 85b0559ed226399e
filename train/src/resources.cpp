// Host memory: the estimate of a training run and what the machine has left (see resources.hpp).
#include "autorec/train/resources.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "autorec/error.hpp"

namespace autorec::train {
namespace {

std::string mib(std::uint64_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

std::optional<std::uint64_t> read_number(const char* path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text) || text == "max") return std::nullopt;
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

MemoryEstimate training_memory(const TrainConfig& c, const Csc& fit, std::size_t val_cells, bool on_cpu,
                               bool checkpoints, bool rescaled) {
  const std::uint64_t rows = fit.num_rows;
  std::uint64_t p = rows * c.hidden + c.hidden + rows * c.code_size() + rows;
  std::uint64_t widest = c.hidden;
  for (std::size_t l = 0; l < c.inner.size(); ++l) {
    const std::uint64_t in = l == 0 ? c.hidden : c.inner[l - 1].size;
    p += in * c.inner[l].size + c.inner[l].size;
    widest = std::max<std::uint64_t>(widest, c.inner[l].size);
  }
  MemoryEstimate e;
  e.parameters = p;
  // On the CPU: the weights, the optimiser's state (Adam's two moments, or Rprop's gradient sums, previous
  // gradients and step sizes), the best epoch's copy and the copy weights() returns: six at most. With CUDA
  // the host holds the last two only.
  const std::uint64_t weight_copies = on_cpu ? 6 : 2;
  // A checkpoint copies the weights and the optimiser state out of the backend (four), and its compressed
  // image can be as large as everything it holds (six).
  const std::uint64_t checkpoint_copies = checkpoints ? 10 : 0;
  // The fit matrix (start, row, value) and the validation cells, once more in model units when the scale is
  // not 1-5 stars, and, unless the input rule is the plain rating, what the encoder reads per rating
  // (encoder_inputs).
  const std::uint64_t input_copy = input_transform(c, fit).identity() ? 0 : fit.nnz();
  const std::uint64_t copies = rescaled ? 2 : 1;
  const std::uint64_t data = (copies * (fit.start.size() + 2 * fit.nnz() + 3 * std::uint64_t{val_cells}) + input_copy) * 4;
  // Per batch: activations, dropout masks and gradients for every layer, and the batch's entries by row.
  const std::uint64_t scratch = 8 * std::uint64_t{c.batch_size} * widest * 4 + fit.nnz() * 16;
  e.bytes = 4 * p * (weight_copies + checkpoint_copies) + data + scratch;
  std::ostringstream b;
  b << p << " parameters x " << weight_copies << " copies (weights, optimiser state, best epoch)";
  if (checkpoints) b << " + " << checkpoint_copies << " for checkpoints";
  b << ", the training matrix " << mib(data) << ", batch scratch " << mib(scratch);
  e.breakdown = b.str();
  return e;
}

std::optional<std::uint64_t> available_memory() {
  std::optional<std::uint64_t> avail;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    std::uint64_t kib = 0;
    meminfo >> kib;
    if (key == "MemAvailable:") {
      avail = kib * 1024;
      break;
    }
    meminfo.ignore(256, '\n');
  }
  // Containers: the cgroup's limit less its usage, when that is lower.
  const auto limit = read_number("/sys/fs/cgroup/memory.max");
  const auto used = read_number("/sys/fs/cgroup/memory.current");
  const auto limit_v1 = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  const auto used_v1 = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  for (const auto& [l, u] : {std::pair{limit, used}, std::pair{limit_v1, used_v1}})
    if (l && u && *l > *u) avail = avail ? std::min(*avail, *l - *u) : *l - *u;
  return avail;
}

void check_memory(const MemoryEstimate& need, std::optional<std::uint64_t> available) {
  if (!available || need.bytes <= *available) return;
  throw Error(Status::OutOfMemory, "training needs about " + mib(need.bytes) + " of memory (" + need.breakdown +
                                       "), more than the " + mib(*available) +
                                       " available; use a smaller --hidden or --layers, or a machine with more memory");
}

void return_freed_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace autorec::train
