// Per-element math shared by every backend (CPU trainer, CPU inference, CUDA kernels), written once so the
// CPU tests cover what the GPU runs. No dependencies; every function is usable in host and device code.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#if defined(__CUDACC__)
#define AUTOREC_HD __host__ __device__ inline
#else
#define AUTOREC_HD inline
#endif

namespace autorec {

// Numbers match the schema's Activation enum.
enum class Activation : std::uint8_t { Identity = 0, Sigmoid = 1, Tanh = 2, Relu = 3, Elu = 4, Selu = 5 };

inline constexpr float kSeluAlpha = 1.6732632423543772f;
inline constexpr float kSeluScale = 1.0507009873554805f;

AUTOREC_HD float activate(Activation a, float x) {
  switch (a) {
    case Activation::Identity: return x;
    case Activation::Sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Activation::Tanh: return std::tanh(x);
    case Activation::Relu: return x > 0.0f ? x : 0.0f;
    case Activation::Elu: return x > 0.0f ? x : std::expm1(x);
    case Activation::Selu: return kSeluScale * (x > 0.0f ? x : kSeluAlpha * std::expm1(x));
  }
  return x;
}

// Derivative of the activation, written in terms of its output y = activate(a, x) so the backward pass needs
// only the stored outputs.
AUTOREC_HD float activate_grad_from_output(Activation a, float y) {
  switch (a) {
    case Activation::Identity: return 1.0f;
    case Activation::Sigmoid: return y * (1.0f - y);
    case Activation::Tanh: return 1.0f - y * y;
    case Activation::Relu: return y > 0.0f ? 1.0f : 0.0f;
    case Activation::Elu: return y > 0.0f ? 1.0f : y + 1.0f;
    case Activation::Selu: return y > 0.0f ? kSeluScale : y + kSeluScale * kSeluAlpha;
  }
  return 1.0f;
}

// splitmix64: the project's one hash / counter-based random generator (also used by bench/make_split.py).
AUTOREC_HD std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

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

namespace autorec {

// Uniform in (0, 1] from a 64-bit hash: 53 random bits.
AUTOREC_HD double unit_from_bits(std::uint64_t bits) { return static_cast<double>((bits >> 11) + 1) * 0x1.0p-53; }

// Standard normal sample number `counter` of stream `seed` (Box-Muller on two splitmix64 draws), so weight
// initialisation is the same on every device and thread count.
AUTOREC_HD float normal_from_counter(std::uint64_t seed, std::uint64_t counter) {
  const std::uint64_t k = splitmix64(seed ^ splitmix64(counter));
  const double u1 = unit_from_bits(splitmix64(k)), u2 = unit_from_bits(splitmix64(k + 1));
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

// Dropout keeps a unit when its 16-bit lane of a hash is at or above this threshold (p in steps of 1/65536).
AUTOREC_HD std::uint32_t dropout_threshold(float p) { return static_cast<std::uint32_t>(p * 65536.0f + 0.5f); }

// 64 random bits for dropout units 4g..4g+3 of batch position j at optimiser step `step`.
AUTOREC_HD std::uint64_t dropout_bits(std::uint64_t seed, std::uint64_t step, std::uint32_t j, std::uint32_t g) {
  return splitmix64(splitmix64(seed ^ 0xD1B54A32D192ED03ull) + (step << 40) + (std::uint64_t{j} << 20) + g);
}

// The affine map between ratings and the units a network computes in: value = (rating - origin) / unit, so
// origin is the rating that reads 0 and unit the rating difference of one model unit. The trainer chooses it
// from the rating scale (train::rating_units: the scale's ends become 1 and 5, the identity on 1-5 stars), so
// that every recipe setting means the same on any scale. Ratings go in through it and predictions come out
// through its inverse.
struct RatingUnits {
  float origin = 0;
  float unit = 1;
  bool identity() const { return origin == 0 && unit == 1; }
  AUTOREC_HD float to_model(float rating) const { return (rating - origin) / unit; }
  AUTOREC_HD float to_rating(float value) const { return origin + unit * value; }
};

// What the first layer reads for a stored rating of a column that holds n ratings: the rating in model units
// plus offset, times the column's scale (norm_count / n)^norm_power; 0 where nothing is stored. The offset
// tells "rated" apart from "not rated" (with raw stars a 1 is close to the 0 of a missing entry); the scale
// keeps the encoder's input from growing with the column's length, as SVD++ scales its implicit term by
// |N(u)|^-1/2. The trainer and both inference backends apply it through this one definition (host code;
// kernels get the results). The trainer's ratings are already in model units, so its own rule has identity
// units; a model's rule carries the units it was trained in.
struct InputTransform {
  RatingUnits units;
  float offset = 0;      // in model units
  float norm_power = 0;  // 0: every column's scale is 1
  float norm_count = 1;  // a column of this many ratings keeps scale 1: the training columns' mean length
  bool identity() const { return units.identity() && offset == 0 && norm_power == 0; }
  float column_scale(std::size_t n) const {
    return norm_power == 0 || n == 0 ? 1.0f : std::pow(norm_count / static_cast<float>(n), norm_power);
  }
  float read(float rating, float column_scale) const { return (units.to_model(rating) + offset) * column_scale; }
};

}  // namespace autorec
