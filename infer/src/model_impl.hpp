// Model::Impl: everything a loaded model holds, in the layouts the kernels use.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "autorec/container.hpp"
#include "autorec/model.hpp"
#include "network.hpp"

namespace autorec {

// External ids <-> dense indices. Integer ids are looked up by value (so "7" and "+7" agree), others by text.
class IdIndex {
 public:
  void assign_ints(std::vector<std::int64_t> ids);
  void assign_strings(std::vector<std::string> ids);
  std::optional<std::uint32_t> find(std::string_view token) const;
  std::string id(std::uint32_t index) const;
  std::size_t size() const { return is_int_ ? ints_.size() : strs_.size(); }
  bool is_int() const { return is_int_; }

 private:
  bool is_int_ = true;
  std::vector<std::int64_t> ints_;
  std::vector<std::string> strs_;
  std::unordered_map<std::int64_t, std::uint32_t> int_lookup_;
  std::unordered_map<std::string, std::uint32_t> str_lookup_;
};

// Compressed sparse columns in the model's orientation.
struct SparseColumns {
  std::uint32_t num_rows = 0;
  std::vector<std::uint32_t> start;  // num_cols + 1
  std::vector<Entry> entries;
  std::uint32_t num_cols() const { return static_cast<std::uint32_t>(start.size() - 1); }
  std::span<const Entry> column(std::uint32_t c) const {
    return {entries.data() + start[c], entries.data() + start[c + 1]};
  }
};

struct Model::Impl {
  ModelInfo info;
  Network net;
  IdIndex users, items;
  SparseColumns obs;
  // Cold-start means over the stored observations; NaN where a row or column has none.
  std::vector<float> row_mean, col_mean;
  enum class ColdRule { MeanHierarchy = 0, GlobalMean = 1, EmptyInput = 2 } cold_rule = ColdRule::EmptyInput;
  std::vector<float> empty_code;  // code of a column with no ratings (ColdRule::EmptyInput)
  // Code (input of the last layer) of every training column, code_size x num_cols, column-major: a known
  // (user, item) prediction is then one dot product.
  ColMatrix codes;
  // The transpose of obs, row -> its columns (increasing), for exclude_rated in recommend(); item-based only.
  std::vector<std::uint32_t> row_start, row_cols;
  std::unique_ptr<Backend> backend;
  unsigned threads = 1;  // for CPU batch work

  // A row or column is known when it has at least one stored observation.
  bool known_column(std::optional<std::uint32_t> c) const;
  bool known_row(std::optional<std::uint32_t> r) const;

  float finish(float y, bool clamp) const {
    if (!clamp) return y;
    return y < info.rating_min ? info.rating_min : (y > info.rating_max ? info.rating_max : y);
  }
};

// Parses, verifies and checks a decompressed FlatBuffer into `impl` (format/model_reader.cpp).
void read_model(const AlignedBytes& content, std::string_view name, Model::Impl& impl);

}  // namespace autorec
