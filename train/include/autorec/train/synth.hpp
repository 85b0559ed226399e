// Synthetic MovieLens-format ratings with planted non-linear structure, for tests and the offline demo.
#pragma once

#include <cstdint>
#include <ostream>

namespace autorec::train {

struct SynthConfig {
  std::uint32_t users = 600, items = 400;
  double density = 0.05;    // expected share of (user, item) cells rated
  std::uint32_t rank = 8;   // latent dimensions
  double noise = 0.3;       // std of the Gaussian noise added before rounding
  std::uint64_t seed = 1;
  int min_rating = 1, max_rating = 5;
};

// Writes `user<TAB>item<TAB>rating<TAB>timestamp` lines (u.data format); ids start at 1. The true score of a
// cell is mean + user bias + item bias + 1.5*tanh(p_u . q_i): a non-linear low-rank signal a linear baseline
// cannot fully capture. Popular items and active users get more ratings (skewed sampling), as in real data.
// Returns the number of ratings written.
std::uint64_t write_synthetic(const SynthConfig& config, std::ostream& out);

}  // namespace autorec::train
