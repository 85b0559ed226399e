// Synthetic ratings generator (see synth.hpp).
#include "autorec/train/synth.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "autorec/error.hpp"
#include "autorec/math.hpp"

namespace autorec::train {

std::uint64_t write_synthetic(const SynthConfig& c, std::ostream& out) {
  if (c.users == 0 || c.items == 0 || c.rank == 0 || !(c.density > 0 && c.density <= 1) || c.min_rating >= c.max_rating)
    throw Error(Status::BadInput, "synth: need users, items, rank > 0, density in (0, 1], min_rating < max_rating");
  std::uint64_t counter = 0;
  const auto normal = [&] { return double(normal_from_counter(c.seed, counter++)); };
  const auto uniform = [&] { return unit_from_bits(splitmix64(c.seed * 0x9E3779B97F4A7C15ull + counter++)); };
  const double scale = 1.0 / std::sqrt(double(c.rank));
  std::vector<double> p(std::size_t{c.users} * c.rank), q(std::size_t{c.items} * c.rank);
  for (double& x : p) x = normal() * std::sqrt(scale) * 1.5;
  for (double& x : q) x = normal() * std::sqrt(scale) * 1.5;
  std::vector<double> bu(c.users), bi(c.items), activity(c.users), popularity(c.items);
  for (double& x : bu) x = 0.4 * normal();
  for (double& x : bi) x = 0.5 * normal();
  // Log-normal activity and popularity, normalised so the expected density is c.density.
  for (double& x : activity) x = std::exp(0.8 * normal());
  for (double& x : popularity) x = std::exp(1.0 * normal());
  double ma = 0;
  for (double x : activity) ma += x;
  ma /= c.users;
  const double mid = 0.5 * (c.min_rating + c.max_rating) + 0.3;
  // Items are drawn by popularity through the cumulative distribution, so the cost is O(ratings log items)
  // and Netflix-sized sets (480k x 17.7k, 100M ratings) take seconds, not a pass over every cell.
  std::vector<double> cdf(c.items);
  double acc = 0;
  for (std::uint32_t i = 0; i < c.items; ++i) cdf[i] = (acc += popularity[i]);
  std::vector<std::uint32_t> chosen;
  std::vector<std::uint8_t> taken(c.items, 0);
  std::uint64_t written = 0;
  for (std::uint32_t u = 0; u < c.users; ++u) {
    const double expected = c.density * c.items * activity[u] / ma;
    // At least 3 ratings per user, at most every item.
    auto want = static_cast<std::uint32_t>(std::clamp(std::llround(expected + std::sqrt(expected) * normal()),
                                                      3LL, static_cast<long long>(c.items)));
    chosen.clear();
    if (want * 2 >= c.items) {  // dense user: take a random subset of all items
      for (std::uint32_t i = 0; i < c.items; ++i)
        if (uniform() * c.items < want) chosen.push_back(i);
    } else {
      for (std::uint32_t tries = 0; chosen.size() < want && tries < 20 * want; ++tries) {
        const auto i = static_cast<std::uint32_t>(std::upper_bound(cdf.begin(), cdf.end(), uniform() * acc) - cdf.begin());
        if (i < c.items && !taken[i]) taken[i] = 1, chosen.push_back(i);
      }
      for (const std::uint32_t i : chosen) taken[i] = 0;
      std::sort(chosen.begin(), chosen.end());
    }
    for (const std::uint32_t i : chosen) {
      double dot = 0;
      for (std::uint32_t k = 0; k < c.rank; ++k) dot += p[std::size_t{u} * c.rank + k] * q[std::size_t{i} * c.rank + k];
      const double score = mid + bu[u] + bi[i] + 1.5 * std::tanh(dot) + c.noise * normal();
      const long r = std::clamp(std::lround(score), long{c.min_rating}, long{c.max_rating});
      out << (u + 1) << '\t' << (i + 1) << '\t' << r << '\t' << (874965758 + written) << '\n';
      ++written;
    }
  }
  return written;
}

}  // namespace autorec::train
