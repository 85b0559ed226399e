// Counter-based random numbers: the same value for the same (seed, counter) on every device, thread count and
// machine, so splits, synthetic data, initial weights and dropout masks never depend on how work is divided.
#pragma once

#include <cmath>
#include <cstdint>

#include "autorec/math.hpp"  // AUTOREC_HD

namespace autorec {

// splitmix64: the project's one hash / counter-based random generator (also used by bench/make_split.py).
AUTOREC_HD std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in (0, 1] from a 64-bit hash: 53 random bits.
AUTOREC_HD double unit_from_bits(std::uint64_t bits) { return static_cast<double>((bits >> 11) + 1) * 0x1.0p-53; }

// Standard normal sample number `counter` of stream `seed` (Box-Muller on two splitmix64 draws), so weight
// initialisation is the same on every device and thread count.
AUTOREC_HD float normal_from_counter(std::uint64_t seed, std::uint64_t counter) {
  const std::uint64_t k = splitmix64(seed ^ splitmix64(counter));
  const double u1 = unit_from_bits(splitmix64(k)), u2 = unit_from_bits(splitmix64(k + 1));
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

}  // namespace autorec
