// Serialising a trained network into model.fb (FlatBuffer, zstd container) and writing it atomically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autorec/data/baseline.hpp"
#include "autorec/train/atomic_file.hpp"
#include "autorec/data/dataset.hpp"
#include "autorec/dtype.hpp"
#include "autorec/train/cold_start.hpp"
#include "autorec/train/trainer.hpp"

namespace autorec::train {

struct ModelContents {
  const TrainConfig* config;
  const data::Dataset* data;
  const Csc* observations;  // the ratings the model reconstructs from (the fit part)
  const TrainResult* result;
  data::DuplicatePolicy duplicates = data::DuplicatePolicy::Last;
  std::uint64_t num_val = 0;
  double test_rmse = -1;
  int zstd_level = 3;
  // Storage type of the weight matrices (biases stay fp32): fp16/bf16 halve them, int8 with per-row scales
  // quarters them; the reader converts to float once at load.
  DType dtype = DType::F32;
  // Tensors whose bytes add up to more than this go to the container's data section instead of inside the
  // FlatBuffer, which cannot address more than 2 GiB (0 = always, as the tests use to cover that path). The
  // data section is streamed from the weights themselves, where the FlatBuffer would hold a copy of them
  // while the file is built: above 16 MiB that copy is what a writer saves.
  std::uint64_t inline_tensor_limit = std::uint64_t{16} << 20;
  ColdStart cold_start = ColdStart::EmptyInput;  // what predict() answers for unseen ids
  // The user + item bias model blended into the network's answers with this share (Model.baseline, in
  // ratings), which also gives the cold-start rules its shrunk means; null = the network alone.
  const data::BiasModel* baseline = nullptr;
  double baseline_weight = 0;
  // The rule recommend() ranks by (Model.ranking); none = the predicted rating.
  std::optional<RankingRule> ranking = std::nullopt;
  // The codes of the stored columns are written when they take at most this many bytes (loading then skips
  // computing them); 0 = never.
  std::uint64_t codes_limit = std::uint64_t{256} << 20;
  // Ratings in the training file after duplicate handling (TrainingInfo.num_train_ratings); 0 = those of
  // `data`, for a caller that keeps them.
  std::uint64_t num_train_ratings = 0;
};

inline constexpr const char* kTrainerVersion = "autorec-train 0.1.0";

// Whether tensors of `tensor_bytes` go to the data section, next to `other_bytes` of FlatBuffer content
// (observations, ids): above the limit, or when together they would not fit in a FlatBuffer.
bool tensors_go_external(double tensor_bytes, double other_bytes, std::uint64_t inline_tensor_limit);

// The complete file image (container header + compressed FlatBuffer).
std::vector<std::byte> build_model_file(const ModelContents& contents);

// The same file written to `path` as it is compressed, atomically: neither its content nor its compressed
// bytes are ever whole in memory (the tensors stream from the weights). Returns where the file keeps its
// test RMSE, for set_test_rmse.
struct WrittenModel {
  std::uint64_t test_rmse_offset = 0;  // of TrainingInfo.test_rmse in the content
};
WrittenModel write_model_file(const ModelContents& contents, const std::string& path);

// The model file at `path`, which write_model_file wrote, rewritten (atomically, streaming) with its test
// RMSE set to `rmse`; every other byte of its content stays.
void set_test_rmse(const std::string& path, const WrittenModel& written, double rmse, int zstd_level);

// The model file `file` with its weight matrices stored as `dtype` (autorec-convert). The file is fully
// validated first; every other field is kept. Throws autorec::Error naming `name`.
std::vector<std::byte> convert_model_file(std::span<const std::byte> file, std::string_view name, DType dtype,
                                          int zstd_level = 3, std::uint64_t inline_tensor_limit = std::uint64_t{1} << 30);

}  // namespace autorec::train
