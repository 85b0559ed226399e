// Per-element math of a network shared by every backend (CPU and CUDA, inference and training), written once
// so the CPU tests cover what the GPU runs: the activations, the units a network computes in and the rule for
// what its first layer reads. No dependencies; the functions marked AUTOREC_HD are usable in device code.
// Training-only math is not here (this header is installed): the activation gradients and dropout bits are in
// autorec/train/train_math.hpp, the Adam step in infer/src/kernels/adam_step.hpp, and the counter-based random
// numbers (splits, synthetic data, initial weights) in autorec/data/random.hpp.
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
