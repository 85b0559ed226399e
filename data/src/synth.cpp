// Synthetic ratings generator (see synth.hpp).
#include "autorec/data/synth.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include "autorec/data/dataset.hpp"
#include "autorec/data/random.hpp"
#include "autorec/error.hpp"
#include "autorec/math.hpp"

namespace autorec::data {

namespace {

// Buffers u.data lines and writes them in large blocks (iostream formatting is the cost at 100M lines).
class LineWriter {
 public:
  explicit LineWriter(std::ostream& out) : out_(out) {}
  ~LineWriter() { flush(); }
  void line(std::uint64_t user, std::uint64_t item, double rating, std::uint64_t time) {
    char* p = buf_ + used_;
    for (const std::uint64_t v : {user, item}) {
      p = std::to_chars(p, buf_ + sizeof buf_, v).ptr;
      *p++ = '\t';
    }
    p = std::to_chars(p, buf_ + sizeof buf_, rating).ptr;  // shortest form: "4", "3.5", "-7.25"
    *p++ = '\t';
    p = std::to_chars(p, buf_ + sizeof buf_, time).ptr;
    *p++ = '\n';
    used_ = static_cast<std::size_t>(p - buf_);
    if (used_ > sizeof buf_ - 128) flush();
  }
  void flush() {
    out_.write(buf_, static_cast<std::streamsize>(used_));
    used_ = 0;
  }

 private:
  std::ostream& out_;
  char buf_[1 << 16];
  std::size_t used_ = 0;
};

// MovieLens 100K's share of ratings at or below 1, 2, 3, 4 stars (6,110, 11,370, 27,145, 34,174 and 21,201 of
// 100,000), for SynthConfig::Shape::MovieLens.
constexpr double kMovieLensCdf[] = {0.0, 0.06110, 0.17480, 0.44625, 0.78799, 1.0};

// A score on the star scale with MovieLens 100K's distribution, from a quantile u in [0, 1]: star k takes the
// quantiles of its share and spreads them evenly over [k - 0.5, k + 0.5), so rounding gives back the star.
double movielens_stars(double u) {
  int k = 1;
  while (k < 5 && u >= kMovieLensCdf[k]) ++k;
  return k - 0.5 + (u - kMovieLensCdf[k - 1]) / (kMovieLensCdf[k] - kMovieLensCdf[k - 1]);
}

// upper_bound over a cumulative distribution, with a guide table of 4 buckets per entry that narrows each
// search to a few entries: the same index as std::upper_bound on the whole array (the answer for x lies
// between the answers for its bucket's neighbours' ends), at a fraction of the cost for 100M draws.
class CdfIndex {
 public:
  explicit CdfIndex(const std::vector<double>& cdf) : cdf_(cdf), buckets_(4 * cdf.size() + 1) {
    scale_ = cdf.empty() || !(cdf.back() > 0) ? 0.0 : double(buckets_) / cdf.back();
    first_.resize(buckets_ + 1);
    for (std::size_t b = 0; b <= buckets_; ++b)
      first_[b] = search(0, cdf.size(), cdf.empty() ? 0.0 : cdf.back() * double(b) / double(buckets_));
  }
  std::uint32_t operator()(double x) const {
    const double pos = x * scale_;
    const std::size_t b = pos <= 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(pos), buckets_ - 1);
    const std::size_t lo = first_[b == 0 ? 0 : b - 1];
    const std::size_t hi = b + 2 <= buckets_ ? first_[b + 2] : cdf_.size();
    // Outside the bucket's neighbourhood (x beyond the last entry, or rounding far off): the whole array.
    if ((lo > 0 && !(cdf_[lo - 1] <= x)) || (hi < cdf_.size() && !(cdf_[hi] > x))) return search(0, cdf_.size(), x);
    return search(lo, hi, x);
  }

 private:
  std::uint32_t search(std::size_t lo, std::size_t hi, double x) const {
    return static_cast<std::uint32_t>(std::upper_bound(cdf_.begin() + std::ptrdiff_t(lo), cdf_.begin() + std::ptrdiff_t(hi), x) -
                                      cdf_.begin());
  }
  const std::vector<double>& cdf_;
  std::size_t buckets_;
  double scale_ = 0;
  std::vector<std::size_t> first_;  // first_[b]: the first index whose cdf exceeds bucket b's start
};

// Generates the ratings and hands each one to sink(user, item, rating, index); ids start at 1.
template <class Sink>
std::uint64_t generate(const SynthConfig& c, Sink&& sink) {
  if (c.users == 0 || c.items == 0 || c.rank == 0 || !(c.density > 0 && c.density <= 1) ||
      !(c.min_rating < c.max_rating) || !(c.rating_step > 0) || !std::isfinite(c.max_rating - c.min_rating))
    throw Error(Status::BadInput, "synth: need users, items, rank > 0, density in (0, 1], min_rating < max_rating, "
                                  "rating_step > 0");
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
  const double mid = 3.3;  // on 1-5 stars, mapped onto the scale below
  const double steps = std::floor((c.max_rating - c.min_rating) / c.rating_step + 1e-9);  // the top grid point
  const auto latent = [&](std::uint32_t u, std::uint32_t i) {
    double dot = 0;
    for (std::uint32_t k = 0; k < c.rank; ++k) dot += p[std::size_t{u} * c.rank + k] * q[std::size_t{i} * c.rank + k];
    return bu[u] + bi[i] + 1.5 * std::tanh(dot);
  };
  // MovieLens shape: a score's quantile among the noisy latent scores of a fixed sample of cells (with noise
  // from a stream of its own, so the ratings' draws do not move), and the quantile as stars.
  std::vector<double> sample;
  if (c.shape == SynthConfig::Shape::MovieLens) {
    for (std::uint32_t k = 0; k < 4096; ++k)
      sample.push_back(latent(k % c.users, static_cast<std::uint32_t>((std::uint64_t{k} * 7919) % c.items)) +
                       c.noise * double(normal_from_counter(c.seed ^ 0x5A3D1E, k)));
    std::sort(sample.begin(), sample.end());
  }
  const auto quantile = [&](double z) {
    return (double(std::lower_bound(sample.begin(), sample.end(), z) - sample.begin()) + 0.5) / double(sample.size() + 1);
  };
  // Items are drawn by popularity through the cumulative distribution, so the cost is O(ratings log items)
  // and Netflix-sized sets (480k x 17.7k, 100M ratings) take seconds, not a pass over every cell.
  std::vector<double> cdf(c.items);
  double acc = 0;
  for (std::uint32_t i = 0; i < c.items; ++i) cdf[i] = (acc += popularity[i]);
  const CdfIndex draw_item(cdf);
  // Users go in blocks. Which items a user rates is drawn in order on one thread: each draw takes the next
  // counter value, and how many draws a user takes depends on collisions. Each chosen cell's rating then
  // needs only its own counter value (its noise draw), so those run on every core. The ratings and their
  // order are those of a single pass, whatever the number of threads (a Netflix-sized set: 100M ratings).
  constexpr std::uint32_t kBlockUsers = 8192;
  std::vector<std::uint32_t> chosen, cell_item, user_start;
  std::vector<std::uint64_t> cell_counter;
  std::vector<double> cell_rating;
  std::vector<std::uint8_t> taken(c.items, 0);
  std::uint64_t written = 0;
  for (std::uint32_t u0 = 0; u0 < c.users; u0 += kBlockUsers) {
    const std::uint32_t u1 = std::min(c.users, u0 + kBlockUsers);
    cell_item.clear();
    cell_counter.clear();
    user_start.assign(1, 0);
    for (std::uint32_t u = u0; u < u1; ++u) {
      const double expected = c.density * c.items * activity[u] / ma;
      // At least min_user_ratings per user, at most every item.
      auto want = static_cast<std::uint32_t>(
          std::clamp(std::llround(expected + std::sqrt(expected) * normal()),
                     std::min<long long>(c.min_user_ratings, c.items), static_cast<long long>(c.items)));
      chosen.clear();
      if (want * 2 >= c.items) {  // dense user: take a random subset of all items
        for (std::uint32_t i = 0; i < c.items; ++i)
          if (uniform() * c.items < want) chosen.push_back(i);
      } else {
        for (std::uint32_t tries = 0; chosen.size() < want && tries < 20 * want; ++tries) {
          const std::uint32_t i = draw_item(uniform() * acc);
          if (i < c.items && !taken[i]) taken[i] = 1, chosen.push_back(i);
        }
        for (const std::uint32_t i : chosen) taken[i] = 0;
        std::sort(chosen.begin(), chosen.end());
      }
      for (const std::uint32_t i : chosen) cell_item.push_back(i), cell_counter.push_back(counter++);  // the noise draws
      user_start.push_back(static_cast<std::uint32_t>(cell_item.size()));
    }
    cell_rating.resize(cell_item.size());
#pragma omp parallel for schedule(dynamic, 64)
    for (std::uint32_t b = 0; b < u1 - u0; ++b)
      for (std::uint32_t k = user_start[b]; k < user_start[b + 1]; ++k) {
        const double z = latent(u0 + b, cell_item[k]) + c.noise * double(normal_from_counter(c.seed, cell_counter[k]));
        const double score = c.shape == SynthConfig::Shape::MovieLens ? movielens_stars(quantile(z)) : mid + z;
        // 1 and 5 stars land on the scale's ends; the nearest grid step, within the scale.
        const double grid = std::clamp(double(std::lround((score - 1) / 4 * (c.max_rating - c.min_rating) / c.rating_step)), 0.0, steps);
        cell_rating[k] = c.min_rating + grid * c.rating_step;
      }
    for (std::uint32_t b = 0; b < u1 - u0; ++b)
      for (std::uint32_t k = user_start[b]; k < user_start[b + 1]; ++k) {
        sink(std::uint64_t{u0 + b} + 1, std::uint64_t{cell_item[k]} + 1, cell_rating[k], written);
        ++written;
      }
  }
  return written;
}

}  // namespace

std::uint64_t write_synthetic(const SynthConfig& c, std::ostream& out) {
  LineWriter w(out);
  return generate(c, [&](std::uint64_t u, std::uint64_t i, double r, std::uint64_t n) { w.line(u, i, r, 874965758 + n); });
}

std::pair<std::uint64_t, std::uint64_t> write_synthetic_split(const SynthConfig& c, std::ostream& kept,
                                                              std::ostream& held, std::uint64_t split_seed,
                                                              double held_ratio) {
  LineWriter wk(kept), wh(held);
  std::uint64_t n_held = 0;
  const std::uint64_t n = generate(c, [&](std::uint64_t u, std::uint64_t i, double r, std::uint64_t k) {
    const bool h = in_split_ints(std::int64_t(u), std::int64_t(i), split_seed, held_ratio);
    (h ? wh : wk).line(u, i, r, 874965758 + k);
    n_held += h;
  });
  return {n - n_held, n_held};
}

std::vector<Rating> synthetic_training_ratings(const SynthConfig& c, std::uint64_t split_seed, double held_ratio,
                                               std::uint64_t& held) {
  std::vector<Rating> out;
  out.reserve(static_cast<std::size_t>(c.density * double(c.users) * double(c.items) * (1 - held_ratio) * 1.02) + 16);
  held = 0;
  generate(c, [&](std::uint64_t u, std::uint64_t i, double r, std::uint64_t) {
    if (in_split_ints(std::int64_t(u), std::int64_t(i), split_seed, held_ratio))
      ++held;
    else
      out.push_back({std::uint32_t(u - 1), std::uint32_t(i - 1), float(r)});
  });
  return out;
}

}  // namespace autorec::data
