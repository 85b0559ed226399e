// The cold-start rule chosen on validation ratings (cold_start.hpp).
#include "autorec/train/cold_start.hpp"

#include <algorithm>
#include <cmath>

namespace autorec::train {

const char* cold_start_name(ColdStart rule) noexcept {
  switch (rule) {
    case ColdStart::MeanHierarchy: return "means";
    case ColdStart::GlobalMean: return "global mean";
    case ColdStart::EmptyInput: return "empty input";
  }
  return "unknown";
}

namespace {

// Validation cells whose key (column or row) has the fewest fit ratings: the rarest share of them.
std::vector<Cell> rarest(const std::vector<Cell>& val, const std::vector<std::uint32_t>& count, bool by_column) {
  std::vector<Cell> cells = val;
  const auto key = [&](const Cell& c) { return count[by_column ? c.col : c.row]; };
  std::stable_sort(cells.begin(), cells.end(), [&](const Cell& a, const Cell& b) { return key(a) < key(b); });
  const std::size_t take = std::min(cells.size(), std::max<std::size_t>(100, cells.size() / 20));
  cells.resize(take);
  return cells;
}

}  // namespace

ColdStartChoice choose_cold_start(const Model& model, const Csc& fit, const std::vector<Cell>& val, const data::BiasModel* bias) {
  ColdStartChoice choice;
  if (val.empty()) return choice;
  const ModelInfo& info = model.info();
  const auto clamp = [&](double x) { return std::clamp(float(x), info.rating_min, info.rating_max); };
  // Means of the fit ratings by row and by column.
  std::vector<double> row_sum(fit.num_rows, 0), col_sum(fit.num_cols(), 0);
  std::vector<std::uint32_t> row_n(fit.num_rows, 0), col_n(fit.num_cols(), 0);
  double total = 0;
  for (std::uint32_t c = 0; c < fit.num_cols(); ++c)
    for (std::uint32_t k = fit.start[c]; k < fit.start[c + 1]; ++k) {
      row_sum[fit.row[k]] += fit.value[k], ++row_n[fit.row[k]];
      col_sum[c] += fit.value[k], ++col_n[c];
      total += fit.value[k];
    }
  const float global = clamp(total / double(std::max<std::size_t>(1, fit.nnz())));
  // A row's or column's mean as the model answers it: the bias model's shrunk one when it has a baseline.
  const bool item_based = info.variant == Variant::ItemBased;
  const auto row_mean = [&](std::uint32_t r) {
    if (!row_n[r]) return global;
    if (!bias) return clamp(row_sum[r] / row_n[r]);
    return clamp(item_based ? bias->predict(r, std::nullopt) : bias->predict(std::nullopt, r));
  };
  const auto col_mean = [&](std::uint32_t c) {
    if (!col_n[c]) return global;
    if (!bias) return clamp(col_sum[c] / col_n[c]);
    return clamp(item_based ? bias->predict(std::nullopt, c) : bias->predict(c, std::nullopt));
  };
  // What AutoRec answers for a column with nothing known: the reconstruction of an empty input.
  std::vector<float> empty(model.column_length());
  model.reconstruct({}, empty);

  std::array<double, 3> sse{0, 0, 0};
  const auto add = [&](ColdStart rule, float prediction, float truth) {
    sse[static_cast<std::size_t>(rule)] += double(prediction - truth) * double(prediction - truth);
  };
  // Unseen column, known row.
  const std::vector<Cell> cold_cols = rarest(val, col_n, true);
  for (const Cell& c : cold_cols) {
    add(ColdStart::EmptyInput, empty[c.row], c.value);
    add(ColdStart::MeanHierarchy, row_mean(c.row), c.value);
    add(ColdStart::GlobalMean, global, c.value);
  }
  // Unseen row, known column: both mean-based rules answer the column's mean.
  const std::vector<Cell> cold_rows = rarest(val, row_n, false);
  for (const Cell& c : cold_rows) {
    const float mean = col_mean(c.col);
    add(ColdStart::EmptyInput, mean, c.value);
    add(ColdStart::MeanHierarchy, mean, c.value);
    add(ColdStart::GlobalMean, global, c.value);
  }
  choice.cells = cold_cols.size() + cold_rows.size();
  for (std::size_t r = 0; r < 3; ++r) choice.rmse[r] = std::sqrt(sse[r] / double(choice.cells));
  const auto best = std::min_element(choice.rmse.begin(), choice.rmse.end()) - choice.rmse.begin();
  choice.rule = static_cast<ColdStart>(best);
  return choice;
}

}  // namespace autorec::train
