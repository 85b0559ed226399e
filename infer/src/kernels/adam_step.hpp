// The per-element Adam/AdamW step, shared by the CPU kernels (compiled at every level: kernels.hpp's adam) and
// the CUDA training kernels. Training math, so it is not installed; it sits with the kernels because the
// library's dispatched objects compile it. The trainer's optimiser settings and schedules (train/) produce
// the AdamStep constants.
#pragma once

#include <cmath>

#include "autorec/math.hpp"  // AUTOREC_HD

namespace autorec {

// Adam with L2 weight decay folded into the gradient (PyTorch's Adam(weight_decay=...)) and, for AdamW,
// decoupled decay applied to the parameter first (PyTorch's AdamW: p *= 1 - lr*wd):
// p *= shrink; g += wd*p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps).
struct AdamStep {
  float lr_over_bc1;     // learning rate / (1 - beta1^t)
  float inv_sqrt_bc2;    // 1 / sqrt(1 - beta2^t)
  float beta1, beta2, eps, weight_decay;
  float shrink = 1.0f;   // 1 - lr * decoupled decay (AdamW); 1 = none
};

AUTOREC_HD void adam_update(const AdamStep& s, float& p, float& m, float& v, float g) {
  p *= s.shrink;
  g += s.weight_decay * p;
  m = s.beta1 * m + (1.0f - s.beta1) * g;
  v = s.beta2 * v + (1.0f - s.beta2) * g * g;
  p -= s.lr_over_bc1 * m / (std::sqrt(v) * s.inv_sqrt_bc2 + s.eps);
}

}  // namespace autorec
