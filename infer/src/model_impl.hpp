// Model::Impl: everything a loaded model holds, in the layouts the kernels use.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "autorec/cold_start.hpp"
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
  // Throws autorec::Error (BadInput) unless `token` can be added as a new id: not present, and an integer
  // when the ids are integers. `what` names the id kind in the message ("user", "item").
  void check_new(std::string_view token, const char* what) const;
  // Appends a checked new id; returns its index.
  std::uint32_t add(std::string_view token);
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

// What fold-in learned about one user or item absent from training (fold_in.cpp). A new *column* (a user of a
// user-based model, an item of an item-based one) is its code from the encoder; a new *row* is a decoder row
// and bias fitted to its ratings. Either way the network itself is unchanged.
struct Folded {
  bool column = true;
  std::vector<float> vec;  // column: the code; row: the decoder weights (code_size)
  float bias = 0;          // row only
  float base = 0;          // its bias in the model's Baseline (0 without one)
  float mean = 0;          // its cold-start mean: of the ratings it came from, or the baseline's shrunk one
  std::vector<Entry> ratings;  // sorted by index: what it was folded in from
};

// The user + item bias model blended into the network's answers (Model.baseline; ModelInfo::baseline_weight),
// in ratings and in the model's orientation; fold-in appends the biases of its newcomers. Empty without one.
struct Baseline {
  float weight = 0, mean = 0, row_reg = 0, col_reg = 0;
  std::vector<float> row, col;
  bool present() const { return !col.empty(); }
};

struct Model::Impl {
  ModelInfo info;
  Network net;
  IdIndex users, items;
  // Observations of every column in the model's orientation: the training columns from the file, then the
  // columns added by fold-in (whose entries are the ratings they were folded in from).
  SparseColumns obs;
  std::uint32_t trained_cols = 0;
  // Cold-start means over the stored observations (the baseline's shrunk means when there is one); NaN where
  // a row or column has none. Added rows and columns append theirs.
  std::vector<float> row_mean, col_mean;
  Baseline baseline;
  ColdStart cold_rule = ColdStart::EmptyInput;
  std::vector<float> empty_code;  // code of a column with no ratings (ColdStart::EmptyInput)
  // Code (input of the last layer) of every column, code_size x columns, column-major: a known (user, item)
  // prediction is then one dot product. A plain vector so that adding a column grows it amortised.
  std::vector<float> code_store;
  bool codes_from_file = false;  // code_store was read from the model file, not computed at load
  // Output rows added by fold-in, numbered after the network's own rows: fitted decoder rows (code_size each,
  // row-major), biases, and the columns each was fitted on (sorted). The network, and a GPU backend's copy of
  // it, stay as loaded; added rows are computed on the host.
  std::vector<float> added_weight, added_bias;
  std::vector<std::vector<std::uint32_t>> added_row_cols;
  // Prior of fold-in's fitted rows (fold_in.cpp): the mean decoder row of the training rows, and a factor L of
  // their covariance S = L L', computed on first use (call_once: fold-in is const and may run concurrently).
  std::vector<float> mean_row;
  mutable std::once_flag row_cov_once;
  mutable Eigen::MatrixXd row_cov_factor;
  const Eigen::MatrixXd& row_covariance_factor() const;
  // The transpose of the training observations, row -> its columns (increasing), for exclude_rated in
  // recommend(); item-based only.
  std::vector<std::uint32_t> row_start, row_cols;
  // What the ranking rule adds to each trained item's predicted rating when ranking (empty: no rule; items
  // added later get nothing).
  std::vector<float> rank_bonus;
  std::unique_ptr<Backend> backend;
  unsigned threads = 1;  // for CPU batch work

  std::uint32_t net_rows() const { return net.output_size(); }
  std::uint32_t num_rows() const { return net_rows() + static_cast<std::uint32_t>(added_bias.size()); }
  const float* code(std::uint32_t c) const { return code_store.data() + std::size_t{c} * net.code_size(); }
  // Decoder weights (code_size) and bias of row r, the network's or an added one.
  const float* row_weight(std::uint32_t r) const {
    return r < net_rows() ? net.layers.back().weight.row(r).data()
                          : added_weight.data() + std::size_t{r - net_rows()} * net.code_size();
  }
  float row_bias(std::uint32_t r) const { return r < net_rows() ? net.layers.back().bias[r] : added_bias[r - net_rows()]; }
  // A network output as a rating: the network computes in model units (InputTransform::units).
  float to_rating(float y) const { return net.input.units.to_rating(y); }
  // The baseline's biases of a row and of a column (0 without a baseline).
  float row_base(std::uint32_t r) const { return r < baseline.row.size() ? baseline.row[r] : 0.0f; }
  float col_base(std::uint32_t c) const { return c < baseline.col.size() ? baseline.col[c] : 0.0f; }
  // The model's answer from the network's (in ratings) for a row and a column with these baseline biases.
  float blend(float network, float row_b, float col_b) const {
    const float w = baseline.weight;
    return w == 0 ? network : (1 - w) * network + w * (baseline.mean + row_b + col_b);
  }
  // The baseline bias of a newcomer column (ratings index rows) or row (ratings index columns), 0 without one.
  float newcomer_base(bool column, std::span<const Entry> ratings) const;
  // The decoder's outputs of one column (net_rows() values, in model units) made the model's answers in place.
  void finish_column(float* y, float col_b, bool clamp) const {
    for (std::uint32_t r = 0; r < net_rows(); ++r) y[r] = finish(blend(to_rating(y[r]), row_base(r), col_b), clamp);
  }
  // The unclamped rating f(w . code + b), in rating units, of a decoder row for one code; of row r of the model.
  float output(const float* weight, float bias, const float* code) const;
  float row_output(std::uint32_t r, const float* code) const { return output(row_weight(r), row_bias(r), code); }
  // predict() unclamped, in the model's orientation.
  Prediction predict(std::optional<std::uint32_t> row, std::optional<std::uint32_t> col) const;
  // predict()'s cold-start rule for a pair whose sides are not both known: the means are read only for a
  // known side; empty_output() is the known row's output for an empty column (ColdStart::EmptyInput).
  template <class F>
  Prediction cold_pair(bool col_known, float col_avg, bool row_known, float row_avg, F&& empty_output) const {
    const bool item_based = info.variant == Variant::ItemBased;
    if (cold_rule != ColdStart::GlobalMean && col_known) return {col_avg, item_based ? Source::ItemMean : Source::UserMean};
    if (cold_rule == ColdStart::EmptyInput && row_known) return {empty_output(), Source::EmptyInput};
    if (cold_rule == ColdStart::MeanHierarchy && row_known)
      return {row_avg, item_based ? Source::UserMean : Source::ItemMean};
    return {info.global_mean, Source::GlobalMean};
  }

  // A row or column is known when it has at least one stored observation (or was added by fold-in).
  bool known_column(std::optional<std::uint32_t> c) const;
  bool known_row(std::optional<std::uint32_t> r) const;

  float finish(float y, bool clamp) const {
    if (!clamp) return y;
    return y < info.rating_min ? info.rating_min : (y > info.rating_max ? info.rating_max : y);
  }

  // Unclamped scores of one column against every row (size num_rows()), and of one row against every column
  // (size obs.num_cols()), each by predict()'s rule: the model where the other side is known, the cold-start
  // rule where it is not. `base` is the column's or row's baseline bias, `mean` its cold-start mean.
  void score_column(const float* code, float base, float mean, std::span<float> score, std::span<Source> source) const;
  void score_row(const float* weight, float bias, float base, float mean, std::span<float> score,
                 std::span<Source> source) const;
  // Unclamped scores of every item for a user (size info.num_items), by predict()'s rule.
  void score_user(std::uint32_t user, std::span<float> score, std::span<Source> source) const;
  void score_folded(const Folded& f, std::span<float> score, std::span<Source> source) const;
  // The items a known user rated (the stored ratings and those an addition came with), as flags by item.
  std::vector<std::uint8_t> rated_items(std::uint32_t user) const;
  // The k best of `score` (plus the rule's term, by Rule) whose `excluded` flag is 0, best first, ties to the
  // lower index, with their clamped ratings.
  std::vector<Recommendation> top_k(std::span<const float> score, std::span<const Source> source,
                                    std::span<const std::uint8_t> excluded, std::size_t k, RankBy by) const;

  // Fold-in (fold_in.cpp): a new column from its ratings (Entry::index = a network row), or a new row fitted
  // by ridge regression with strength lambda on the codes of the columns it rated. `what` names the argument.
  Folded fold(bool column, std::span<const Entry> ratings, float lambda, const char* what) const;
  // Keeps a fold-in under a new external user (or item) id, checked beforehand; returns its index.
  std::uint32_t add(Folded f, bool user, std::string_view id);
};

class ContentStream;
// Reads the content front to back into `impl`, verifying the FlatBuffer, then checking every field, decoding
// each tensor straight into its place and, last, the frame's checksum (format/model_reader.cpp).
void read_model(ContentStream& content, std::string_view name, Model::Impl& impl);

// A caller's sparse entries sorted by index, and the first index that appears twice among them: each row of a
// reconstructed column and each index of a fold-in is given at most once, by one rule (model.cpp).
std::vector<Entry> sorted_by_index(std::span<const Entry> entries);
std::optional<std::uint32_t> repeated_index(std::span<const Entry> sorted);

}  // namespace autorec
