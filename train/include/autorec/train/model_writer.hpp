// Serialising a trained network into model.fb (FlatBuffer, zstd container) and writing it atomically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autorec/train/dataset.hpp"
#include "autorec/train/trainer.hpp"

namespace autorec::train {

struct ModelContents {
  const TrainConfig* config;
  const Dataset* data;
  const Csc* observations;  // the ratings the model reconstructs from (the fit part)
  const TrainResult* result;
  DuplicatePolicy duplicates = DuplicatePolicy::Last;
  std::uint64_t num_val = 0;
  double test_rmse = -1;
  int zstd_level = 3;
  // Tensors whose bytes add up to more than this go to the container's data section instead of inside the
  // FlatBuffer, which cannot address more than 2 GiB (0 = always, as the tests use to cover that path).
  std::uint64_t inline_tensor_limit = std::uint64_t{1} << 30;
};

inline constexpr const char* kTrainerVersion = "autorec-train 0.1.0";

// The complete file image (container header + compressed FlatBuffer).
std::vector<std::byte> build_model_file(const ModelContents& contents);

// Writes bytes to path atomically: a temporary file in the same folder, fsync, rename, fsync of the folder.
// On any failure the temporary file is removed, the previous file at `path` is untouched, and an
// autorec::Error(Io) names the path and the system's reason.
void write_file_atomic(const std::string& path, std::span<const std::byte> bytes);

}  // namespace autorec::train
