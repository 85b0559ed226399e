// Learning-rate schedules and Adam's step constants (optimizer.hpp).
#include "autorec/train/optimizer.hpp"

#include <algorithm>
#include <cmath>

namespace autorec::train {

double learning_rate_at(const TrainConfig& c, std::uint32_t epoch) {
  const std::uint32_t length = c.schedule_epochs ? c.schedule_epochs : c.epochs;
  if (c.schedule == TrainConfig::Schedule::Constant || length <= 1) return c.learning_rate;
  const double progress = double(std::min(epoch, length) - 1) / double(length - 1);  // 0 first, 1 at the end
  return c.lr_min + (c.learning_rate - c.lr_min) * 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
}

AdamSteps adam_steps(const TrainConfig& c, std::uint64_t t, std::uint32_t epoch) {
  const auto bc1 = float(1.0 - std::pow(c.beta1, double(t))), bc2 = float(1.0 - std::pow(c.beta2, double(t)));
  const double lr = learning_rate_at(c, epoch);
  AdamSteps s;
  s.weights = {float(lr) / bc1, 1.0f / std::sqrt(bc2), float(c.beta1), float(c.beta2), float(c.eps),
               float(c.weight_decay), float(1.0 - lr * c.decoupled_decay)};
  s.biases = s.weights;
  if (!c.decay_biases) s.biases.weight_decay = 0, s.biases.shrink = 1.0f;
  return s;
}

}  // namespace autorec::train
