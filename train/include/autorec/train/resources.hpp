// What a training run will need in host memory, and what the machine can give it: checked before the large
// allocations, so a run too big for the machine stops at once with a clear message instead of being killed
// by the kernel (or swapping) hours later.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "autorec/train/trainer.hpp"

namespace autorec::train {

struct MemoryEstimate {
  std::uint64_t parameters = 0;  // floats in the network
  std::uint64_t bytes = 0;       // the run's peak in host memory, beyond the data already read
  std::string breakdown;         // for the message: what the bytes are made of
};

// The run's peak: the weights and the optimiser's state (on the CPU backend), the best epoch's copy, the
// copies a checkpoint makes, the training matrix (twice when `rescaled`: its copy in model units) and the
// per-batch scratch. An estimate, a little above the real peak rather than below.
MemoryEstimate training_memory(const TrainConfig& config, const Csc& fit, std::size_t val_cells, bool on_cpu,
                               bool checkpoints, bool rescaled = false);

// Memory this process may still allocate: the kernel's MemAvailable, lowered by a cgroup limit (v2
// memory.max, v1 limit_in_bytes) when one applies. nullopt where neither can be read.
std::optional<std::uint64_t> available_memory();

// Hands the pages of what a finished stage freed back to the system. glibc keeps freed blocks below its mmap
// threshold (which rises past the size of the largest block freed, 10 MB once a parsed file goes) in its
// heap, resident, so without this the next stage's peak comes on top of the last one's. Elsewhere a no-op.
void return_freed_memory();

// Throws Error(OutOfMemory) naming the estimate, its parts and what is available when the run does not fit.
void check_memory(const MemoryEstimate& need, std::optional<std::uint64_t> available);

}  // namespace autorec::train
