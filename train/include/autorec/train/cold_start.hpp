// Choosing the cold-start rule of a model on validation ratings.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "autorec/data/baseline.hpp"
#include "autorec/cold_start.hpp"
#include "autorec/model.hpp"
#include "autorec/train/trainer.hpp"

namespace autorec::train {

const char* cold_start_name(ColdStart rule) noexcept;

struct ColdStartChoice {
  ColdStart rule = ColdStart::EmptyInput;
  std::array<double, 3> rmse{-1, -1, -1};  // by rule number; -1 = not measured
  std::size_t cells = 0;                    // validation ratings the choice was measured on
};

// The rule with the lowest RMSE on the validation ratings most like cold starts: those of the columns, and
// of the rows, with the fewest fit ratings (the rarest 5% of the validation ratings each, at least 100).
// Each is predicted as if its column (row) had never been seen: every rule's answer for an unseen column
// or row, from `model` (trained on `fit`) and the fit ratings' means, or the bias model's shrunk means when
// the model carries `bias` as its baseline (as the model then answers). Without validation ratings the choice
// is EmptyInput, AutoRec's own answer.
ColdStartChoice choose_cold_start(const Model& model, const Csc& fit, const std::vector<Cell>& val,
                                  const data::BiasModel* bias = nullptr);

}  // namespace autorec::train
