// The simple baselines a model must beat, fitted from ratings alone: the global mean, and a regularised user +
// item bias model (Koren's baseline predictor), r = mean + b_user + b_item.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "autorec/data/dataset.hpp"
#include "autorec/model.hpp"

namespace autorec::data {

struct BiasModel {
  double mean = 0;
  std::vector<double> user_bias, item_bias;  // 0 for a user or item without ratings
  // The regularisation as pseudo-counts: b_item = sum over its ratings of (r - mean - b_user) / (item_reg + n),
  // and alike for users. A count has no unit, so the same values suit every rating scale.
  double user_reg = 0, item_reg = 0;
  // Unknown (nullopt or out of range) users and items have bias 0. Not clamped.
  double predict(std::optional<std::uint32_t> user, std::optional<std::uint32_t> item) const;
};

// The bias model with these pseudo-counts, by alternating least squares from all biases at 0: each pass
// solves one side's biases exactly given the other's. The side solved last (`last`: the items unless it says
// users) satisfies its equation exactly, so a model's newcomer on that side (fold-in of a new column) gets
// by the same one step the bias a trained one has.
enum class Side : std::uint8_t { Items, Users };
// The side of a model's columns (network inputs): items for item-based models. A model's baseline is fitted
// with it last, and autorec-verify --baseline fits the same way, so the two agree.
inline Side columns_side(Variant v) { return v == Variant::ItemBased ? Side::Items : Side::Users; }
BiasModel fit_bias_model(std::span<const Rating> ratings, std::uint32_t num_users, std::uint32_t num_items,
                         double user_reg, double item_reg, Side last = Side::Items);

// The pseudo-counts chosen on the ratings themselves, never on a test set: the rule is to hold out a tenth of
// them (by a hash of the dense user and item indices), search the grid kBiasRegGrid on the rest one side at a
// time (the items' pseudo-count with the users' at 10, then the users', then the items' again), keeping what
// scores best on the held-out tenth, and fit the result again on all the ratings.
inline constexpr double kBiasRegGrid[] = {1, 2, 5, 10, 20, 50, 100};
BiasModel fit_bias_model_auto(std::span<const Rating> ratings, std::uint32_t num_users, std::uint32_t num_items,
                              Side last = Side::Items);

// The bias model's share in a network's answers (Model.baseline.weight) that scores best on validation
// ratings, from 0 (the network alone) to 1 (the bias model alone) in steps of 0.05, measured on the ratings
// the network answers for a known user and item (the share also blends the network's answer for an unseen
// column, the empty-input rule, but that rule is chosen afterwards on the cold-start cells), with the answers
// clamped to the scale as the model clamps them; ties go to the smaller share. The network keeps a
// share only when that blend beats the bias model alone by more than kBlendEvidence standard errors of the
// mean difference of their squared errors: a gain the validation ratings cannot tell from noise is not
// trusted to hold on other ratings, and the bias model alone then answers (share 1).
inline constexpr double kBlendEvidence = 2.0;
struct BlendChoice {
  double weight = 0;
  double network_rmse = -1, bias_rmse = -1, blend_rmse = -1;  // on those ratings; blend_rmse at best_weight
  double best_weight = 0;  // the share with the lowest RMSE, before the evidence rule
  double evidence = 0;     // its gain over the bias model alone, in standard errors
  std::size_t cells = 0;
};
BlendChoice choose_blend(const Model& network, const BiasModel& bias, std::span<const RatingRef> val);

// The ratings a model file stores (its training observations), as (user, item) ratings.
std::vector<Rating> stored_ratings(const Model& model);

// Accuracy of the bias model and of the global mean alone on held-out ratings, predictions clamped to [lo, hi]
// (rmse, mae and count; the cold-start counts are the model's business and stay 0).
struct BaselineResult {
  EvalResult bias, global_mean;
};
BaselineResult evaluate_baselines(const BiasModel& bias, std::span<const RatingRef> ratings, float lo, float hi);

}  // namespace autorec::data
