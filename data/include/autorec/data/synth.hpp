// Synthetic MovieLens-format ratings with planted non-linear structure, for tests and the offline demo.
#pragma once

#include <cstdint>
#include <ostream>
#include <utility>
#include <vector>

#include "autorec/data/dataset.hpp"

namespace autorec::data {

struct SynthConfig {
  std::uint32_t users = 600, items = 400;
  double density = 0.05;    // expected share of (user, item) cells rated
  std::uint32_t rank = 8;   // latent dimensions
  double noise = 0.3;       // std of the Gaussian noise added before rounding
  std::uint64_t seed = 1;
  // The scale: ratings are min_rating + k * rating_step up to max_rating. The true scores are drawn on 1-5
  // stars and mapped linearly onto it, so every scale gets the same (MovieLens-like) shape of distribution.
  double min_rating = 1, max_rating = 5, rating_step = 1;
  std::uint32_t min_user_ratings = 3;  // every user rates at least this many items (0 allows users with none)
  // Wide: score = 3.3 + the latent score, spread over the whole scale (the tests' data). MovieLens: the latent
  // score's quantile mapped onto MovieLens 100K's distribution of stars (6/11/27/34/21% for 1-5).
  enum class Shape : std::uint8_t { Wide, MovieLens } shape = Shape::Wide;
};

// Writes `user<TAB>item<TAB>rating<TAB>timestamp` lines (u.data format); ids start at 1. The true score of a
// cell is mean + user bias + item bias + 1.5*tanh(p_u . q_i) + noise on 1-5 stars (mean about 3.3, spread
// about 1.2), then rounded onto the scale: a non-linear low-rank signal a linear baseline cannot fully
// capture. Popular items and active users get more ratings (skewed sampling), as in real data. Returns the
// number of ratings written.
std::uint64_t write_synthetic(const SynthConfig& config, std::ostream& out);

// The same ratings, each written to `held` when it falls in the reference split (in_split_ints with
// split_seed and held_ratio) and to `kept` otherwise: the files autorec-split would make from the full set,
// without writing and re-reading it (a Netflix-sized set is 1.4 GB of text). Returns {kept, held} counts.
std::pair<std::uint64_t, std::uint64_t> write_synthetic_split(const SynthConfig& config, std::ostream& kept,
                                                              std::ostream& held, std::uint64_t split_seed,
                                                              double held_ratio);

// The training side of write_synthetic_split in memory, for timing an epoch without writing and parsing a
// file: the ratings that are not held out, with 0-based indices (user id - 1, item id - 1). `held` receives
// the number held out.
std::vector<Rating> synthetic_training_ratings(const SynthConfig& config, std::uint64_t split_seed, double held_ratio,
                                               std::uint64_t& held);

}  // namespace autorec::data
