// The simple baselines a model must beat, fitted from ratings alone: the global mean, and a regularised user +
// item bias model (Koren's baseline predictor), r = mean + b_user + b_item.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "autorec/model.hpp"
#include "autorec/train/dataset.hpp"

namespace autorec::train {

struct BiasModel {
  double mean = 0;
  std::vector<double> user_bias, item_bias;  // 0 for a user or item without ratings
  // The regularisation as pseudo-counts: b_item = sum over its ratings of (r - mean - b_user) / (item_reg + n),
  // and alike for users. A count has no unit, so the same values suit every rating scale.
  double user_reg = 0, item_reg = 0;
  // Unknown (nullopt or out of range) users and items have bias 0. Not clamped.
  double predict(std::optional<std::uint32_t> user, std::optional<std::uint32_t> item) const;
};

// The bias model with these pseudo-counts, by alternating least squares (each pass solves the item biases
// exactly given the user biases, then the reverse) from all biases at 0.
BiasModel fit_bias_model(std::span<const Rating> ratings, std::uint32_t num_users, std::uint32_t num_items,
                         double user_reg, double item_reg);

// The pseudo-counts chosen on the ratings themselves, never on a test set: the rule is to hold out a tenth of
// them (by a hash of the dense user and item indices), fit every pair of the grid kBiasRegGrid on the rest,
// keep the pair with the lowest RMSE on the held-out tenth, and fit it again on all the ratings.
inline constexpr double kBiasRegGrid[] = {1, 2, 5, 10, 20, 50, 100};
BiasModel fit_bias_model_auto(std::span<const Rating> ratings, std::uint32_t num_users, std::uint32_t num_items);

// The ratings a model file stores (its training observations), as (user, item) ratings.
std::vector<Rating> stored_ratings(const Model& model);

// Accuracy of the bias model and of the global mean alone on held-out ratings, predictions clamped to [lo, hi]
// (rmse, mae and count; the cold-start counts are the model's business and stay 0).
struct BaselineResult {
  EvalResult bias, global_mean;
};
BaselineResult evaluate_baselines(const BiasModel& bias, std::span<const RatingRef> ratings, float lo, float hi);

}  // namespace autorec::train
