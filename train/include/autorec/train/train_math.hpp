// Per-element training math shared by the CPU trainer and the CUDA kernels (host and device code): the
// activations' derivatives and the dropout masks' bits.
#pragma once

#include <cstdint>

#include "autorec/data/random.hpp"
#include "autorec/math.hpp"

namespace autorec {

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

// Dropout keeps a unit when its 16-bit lane of a hash is at or above this threshold (p in steps of 1/65536).
AUTOREC_HD std::uint32_t dropout_threshold(float p) { return static_cast<std::uint32_t>(p * 65536.0f + 0.5f); }

// 64 random bits for dropout units 4g..4g+3 of batch position j at optimiser step `step`.
AUTOREC_HD std::uint64_t dropout_bits(std::uint64_t seed, std::uint64_t step, std::uint32_t j, std::uint32_t g) {
  return splitmix64(splitmix64(seed ^ 0xD1B54A32D192ED03ull) + (step << 40) + (std::uint64_t{j} << 20) + g);
}

}  // namespace autorec
