// The global-mean and bias-model baselines (baseline.hpp).
#include "autorec/data/baseline.hpp"
#include "autorec/data/random.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace autorec::data {
namespace {

constexpr int kPasses = 15;       // alternating passes of a fit
constexpr int kSearchPasses = 8;  // passes of the fits that only rank pseudo-counts

// One side's biases given the other's, over the ratings not `held` (null: all): b[k] = sum (r - mean - other)
// / (reg + n_k).
void solve_side(std::span<const Rating> ratings, const std::vector<bool>* held, double mean, bool items,
                const std::vector<double>& other, double reg, std::vector<double>& bias) {
  std::vector<double> sum(bias.size(), 0.0), n(bias.size(), 0.0);
  for (std::size_t k = 0; k < ratings.size(); ++k) {
    if (held && (*held)[k]) continue;
    const Rating& r = ratings[k];
    const std::uint32_t key = items ? r.item : r.user, o = items ? r.user : r.item;
    sum[key] += r.value - mean - other[o];
    n[key] += 1;
  }
  for (std::size_t k = 0; k < bias.size(); ++k) bias[k] = n[k] > 0 ? sum[k] / (reg + n[k]) : 0.0;
}

// The fit on the ratings not `held`, in `passes` alternating passes that end with the side `last`.
BiasModel fit(std::span<const Rating> ratings, const std::vector<bool>* held, std::uint32_t num_users,
              std::uint32_t num_items, double user_reg, double item_reg, Side last, int passes) {
  BiasModel m;
  m.user_reg = user_reg;
  m.item_reg = item_reg;
  double sum = 0, count = 0;
  for (std::size_t k = 0; k < ratings.size(); ++k)
    if (!held || !(*held)[k]) sum += ratings[k].value, count += 1;
  m.mean = count > 0 ? sum / count : 0.0;
  m.user_bias.assign(num_users, 0.0);
  m.item_bias.assign(num_items, 0.0);
  const bool items_last = last == Side::Items;
  for (int pass = 0; pass < passes; ++pass) {
    for (const bool items : {!items_last, items_last}) {
      if (items) solve_side(ratings, held, m.mean, true, m.user_bias, item_reg, m.item_bias);
      else solve_side(ratings, held, m.mean, false, m.item_bias, user_reg, m.user_bias);
    }
  }
  return m;
}

}  // namespace

double BiasModel::predict(std::optional<std::uint32_t> user, std::optional<std::uint32_t> item) const {
  double p = mean;
  if (user && *user < user_bias.size()) p += user_bias[*user];
  if (item && *item < item_bias.size()) p += item_bias[*item];
  return p;
}

BiasModel fit_bias_model(std::span<const Rating> ratings, std::uint32_t num_users, std::uint32_t num_items,
                         double user_reg, double item_reg, Side last) {
  return fit(ratings, nullptr, num_users, num_items, user_reg, item_reg, last, kPasses);
}

BiasModel fit_bias_model_auto(std::span<const Rating> ratings, std::uint32_t num_users, std::uint32_t num_items,
                              Side last) {
  // The held-out tenth as flags, not a copy (100M ratings at Netflix scale).
  std::vector<bool> held(ratings.size());
  std::size_t n_held = 0;
  for (std::size_t k = 0; k < ratings.size(); ++k)
    n_held += held[k] = splitmix64(0xB1A5ull ^ (std::uint64_t{ratings[k].user} << 32 | ratings[k].item)) % 10 == 0;
  const auto held_rmse = [&](double user_reg, double item_reg) {
    const BiasModel m = fit(ratings, &held, num_users, num_items, user_reg, item_reg, last, kSearchPasses);
    double se = 0;
    for (std::size_t k = 0; k < ratings.size(); ++k)
      if (held[k]) {
        const double d = m.predict(ratings[k].user, ratings[k].item) - ratings[k].value;
        se += d * d;
      }
    return se;
  };
  double user_reg = 10, item_reg = 10;  // the middle of the grid, where the search starts
  if (n_held > 0 && n_held < ratings.size()) {
    // Coordinate search over the grid: the items' pseudo-count, the users', the items' again (21 fits, not 49).
    for (const bool items : {true, false, true}) {
      double best = INFINITY, best_reg = items ? item_reg : user_reg;
      for (const double reg : kBiasRegGrid)
        if (const double e = items ? held_rmse(user_reg, reg) : held_rmse(reg, item_reg); e < best) best = e, best_reg = reg;
      (items ? item_reg : user_reg) = best_reg;
    }
  }
  return fit_bias_model(ratings, num_users, num_items, user_reg, item_reg, last);
}

std::vector<Rating> stored_ratings(const Model& model) {
  const bool item_based = model.info().variant == Variant::ItemBased;
  std::vector<Rating> out;
  out.reserve(model.info().num_observations);
  for (std::uint32_t c = 0; c < model.num_columns(); ++c)
    for (const Entry& e : model.observations(c))
      out.push_back(item_based ? Rating{e.index, c, e.value} : Rating{c, e.index, e.value});
  return out;
}

BlendChoice choose_blend(const Model& network, const BiasModel& bias, std::span<const RatingRef> val) {
  const ModelInfo& info = network.info();
  std::vector<std::array<double, 3>> cells;  // network, bias model, truth
  for (const RatingRef& r : val) {
    const Prediction p = network.predict(r.user, r.item, false);
    if (p.source == Source::Model) cells.push_back({p.value, bias.predict(r.user, r.item), r.value});
  }
  BlendChoice best;
  best.cells = cells.size();
  if (cells.empty()) return best;
  const auto answer = [&](double w, double network_value, double bias_value) {
    return std::clamp((1 - w) * network_value + w * bias_value, double(info.rating_min), double(info.rating_max));
  };
  const auto rmse_at = [&](double w) {
    double se = 0;
    for (const auto& [n, b, t] : cells) {
      const double d = answer(w, n, b) - t;
      se += d * d;
    }
    return std::sqrt(se / double(cells.size()));
  };
  for (int step = 0; step <= 20; ++step)
    if (const double e = rmse_at(step / 20.0); step == 0 || e < best.blend_rmse) best.weight = step / 20.0, best.blend_rmse = e;
  best.best_weight = best.weight;
  best.network_rmse = rmse_at(0);
  best.bias_rmse = rmse_at(1);
  // The evidence: mean and standard error of (bias model's squared error - the blend's) over the cells.
  double sum = 0, sum2 = 0;
  for (const auto& [n, b, t] : cells) {
    const double eb = answer(1, n, b) - t, ew = answer(best.weight, n, b) - t;
    const double d = eb * eb - ew * ew;
    sum += d, sum2 += d * d;
  }
  const double count = double(cells.size()), mean = sum / count;
  const double se = std::sqrt(std::max(0.0, sum2 / count - mean * mean) / std::max(1.0, count - 1));
  best.evidence = se > 0 ? mean / se : (mean > 0 ? INFINITY : 0.0);
  if (best.weight < 1 && !(best.evidence > kBlendEvidence)) best.weight = 1;
  return best;
}

BaselineResult evaluate_baselines(const BiasModel& bias, std::span<const RatingRef> ratings, float lo, float hi) {
  BaselineResult out;
  double se[2] = {0, 0}, ae[2] = {0, 0};
  for (const RatingRef& r : ratings) {
    const double p[2] = {bias.predict(r.user, r.item), bias.mean};
    for (int k = 0; k < 2; ++k) {
      const double d = std::clamp(p[k], double(lo), double(hi)) - r.value;
      se[k] += d * d;
      ae[k] += std::abs(d);
    }
  }
  EvalResult* results[2] = {&out.bias, &out.global_mean};
  for (int k = 0; k < 2; ++k) {
    results[k]->count = ratings.size();
    if (!ratings.empty()) {
      results[k]->rmse = std::sqrt(se[k] / double(ratings.size()));
      results[k]->mae = ae[k] / double(ratings.size());
    }
  }
  return out;
}

}  // namespace autorec::data
