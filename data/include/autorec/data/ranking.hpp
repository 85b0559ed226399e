// Ranking evaluation (autorec-verify --top-k): how good a model's top-K lists are on held-out ratings, with
// the popularity and random rankings beside it under the same protocol, so that every figure has a baseline.
//
// Protocol. A test rating is relevant when it is at least `relevant_at`. A user counts when the model stores
// training ratings of it and at least one of its relevant test ratings is of an item the model has and the
// user did not rate in training (the others cannot be recommended: counted, and left out). The candidates of
// a user are every item it did not rate in training; each ranker orders them and its first K are the list:
//   autorec     the model's ranking rule, as Model::recommend ranks (ties to the lower item index): the
//               unclamped predicted rating plus the rule's popularity term (ModelInfo::ranking)
//   autorec_rating  the unclamped predicted rating alone (the same as autorec without a rule)
//   popularity  the number of stored training ratings of the item (ties to the lower item index)
//   random      a seeded hash of (seed, user, item), the same on every machine and thread count
// Binary relevance; with hits h_i in 1..K (h_i = 1 when the i-th item is relevant) and R relevant items:
//   Precision@K = sum h_i / K                 Recall@K = sum h_i / R
//   NDCG@K = DCG / IDCG, DCG = sum h_i / log2(i + 1), IDCG = sum over i = 1..min(R, K) of 1 / log2(i + 1)
//   MAP@K = sum over hits of (hits among the first i / i), divided by min(R, K)
//   HitRate@K = 1 when any h_i = 1           MRR@K = 1 / the rank of the first hit (0 without one)
// each averaged over the counted users; coverage@K is the share of the model's items in any counted list.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "autorec/model.hpp"

namespace autorec::data {

enum class Ranker : std::uint8_t { Model = 0, Rating = 1, Popularity = 2, Random = 3 };
inline constexpr std::size_t kRankers = 4;
// "autorec", "autorec_rating", "popularity", "random".
const char* ranker_name(Ranker r);

struct RankingOptions {
  std::vector<std::uint32_t> ks{10};  // the list lengths to score (each >= 1)
  std::optional<float> relevant_at;   // default: default_relevant_at(model.info())
  std::uint64_t seed = 1;             // of the random ranking
  int threads = 0;                    // 0 = every core
};

struct RankingMetrics {
  std::uint32_t k = 0;
  double precision = 0, recall = 0, ndcg = 0, map = 0, hit_rate = 0, mrr = 0, coverage = 0;
};

struct RankingReport {
  float relevant_at = 0;
  std::size_t users = 0;                   // counted
  std::size_t users_without_relevant = 0;  // test users known to the model without a relevant rating left: skipped
  std::size_t unseen_user_ratings = 0;     // test ratings of users without stored training ratings: skipped
  std::size_t relevant = 0;                // relevant test ratings of the counted users
  std::size_t relevant_left_out = 0;       // relevant ratings of items the model lacks or the user rated in training
  // metrics[ranker][j] is options.ks[j]'s.
  std::array<std::vector<RankingMetrics>, kRankers> metrics;
  double seconds = 0;  // what the evaluation took (ranking and scoring every counted user)
};

// NDCG at options.ks[0] on `val` of the model ranking by predicted rating + w * ln(1 + n) for each w of
// `weights` (n the item's stored ratings; w = 0 the rating alone), and of popularity: what the trainer
// chooses the ranking rule with. The model's own rule is not used.
struct PopularitySweep {
  std::vector<double> ndcg;  // by weight
  double popularity_ndcg = 0;
  std::size_t users = 0;     // counted
};
PopularitySweep popularity_sweep(const Model& model, std::span<const RatingRef> val, std::span<const float> weights,
                                 const RankingOptions& options = {});

// The report as autorec-verify --json's "ranking" object (and autorec.evaluate's "ranking" dict):
// {"relevant_at", "users", ..., "seconds", "at": {"10": {"autorec": {"precision", ...}, "popularity": ...}}}.
std::string ranking_json(const RankingReport& report);

// One list's metrics at k against one user's relevant items (distinct): the per-user values that
// evaluate_ranking averages (coverage stays 0). Throws Error(BadInput) for k = 0 or no relevant item.
RankingMetrics list_metrics(std::span<const std::uint32_t> list, std::span<const std::uint32_t> relevant, std::uint32_t k);

// The point at 75% of the model's rating scale: 4 on 1-5 stars.
float default_relevant_at(const ModelInfo& info);

// Scores every counted user's lists on `threads` threads, streamed over users (memory: a few item-length
// buffers per thread, the stored ratings' index and the test ratings). Throws Error(BadInput) for an empty
// or zero k, or a relevance threshold that is not finite.
RankingReport evaluate_ranking(const Model& model, std::span<const RatingRef> test, const RankingOptions& options = {});

}  // namespace autorec::data
