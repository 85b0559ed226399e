// Ranking evaluation (ranking.hpp): the four rankers' top-K lists of every counted user, scored on the
// user's relevant test items, on threads that each keep a few item-length buffers.
#include "autorec/data/ranking.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <string>

#include "autorec/data/baseline.hpp"
#include "autorec/data/random.hpp"
#include "autorec/error.hpp"

namespace autorec::data {
namespace {

// Item lists by user (compressed rows): of(u) is user u's items, sorted.
struct ByUser {
  std::vector<std::size_t> start;
  std::vector<std::uint32_t> items;
  std::span<const std::uint32_t> of(std::uint32_t u) const { return {items.data() + start[u], start[u + 1] - start[u]}; }
};

ByUser index_by_user(std::uint32_t users, std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs) {
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  ByUser b;
  b.start.assign(std::size_t(users) + 1, 0);
  b.items.reserve(pairs.size());
  for (const auto& [u, i] : pairs) ++b.start[u + 1], b.items.push_back(i);
  std::partial_sum(b.start.begin(), b.start.end(), b.start.begin());
  return b;
}

// The items each user rated in the model's stored ratings, built column by column in two passes (counts,
// then fill) so that only the index itself is held: 4 bytes a rating, nothing per rating besides.
ByUser stored_by_user(const Model& model) {
  const ModelInfo& info = model.info();
  const bool item_based = info.variant == Variant::ItemBased;
  ByUser b;
  b.start.assign(std::size_t(info.num_users) + 1, 0);
  for (std::uint32_t c = 0; c < model.num_columns(); ++c)
    for (const Entry& e : model.observations(c)) ++b.start[std::size_t(item_based ? e.index : c) + 1];
  std::partial_sum(b.start.begin(), b.start.end(), b.start.begin());
  b.items.resize(b.start.back());
  std::vector<std::size_t> fill(b.start.begin(), b.start.end() - 1);
  for (std::uint32_t c = 0; c < model.num_columns(); ++c)
    for (const Entry& e : model.observations(c)) {
      const std::uint32_t user = item_based ? e.index : c, item = item_based ? c : e.index;
      b.items[fill[user]++] = item;
    }
  // Item-based columns come in item order, so each user's items are sorted already; user-based rows may not be.
  if (!item_based)
    for (std::uint32_t u = 0; u < info.num_users; ++u)
      std::sort(b.items.begin() + std::ptrdiff_t(b.start[u]), b.items.begin() + std::ptrdiff_t(b.start[u + 1]));
  return b;
}

// One ranker's per-user metric sums at one k.
struct Sums {
  double precision = 0, recall = 0, ndcg = 0, map = 0, hit = 0, mrr = 0;
};

// What one thread keeps: item-length buffers reused for every user, its sums and its covered items.
struct Scratch {
  std::vector<float> score;
  std::vector<Source> source;
  std::vector<std::uint8_t> excluded, relevant;
  std::vector<std::uint32_t> candidates, list;
  std::vector<std::uint64_t> keys;
  std::array<std::vector<Sums>, kRankers> sums;                          // [ranker][k]
  std::array<std::vector<std::vector<std::uint8_t>>, kRankers> covered;  // [ranker][k][item]
  std::vector<double> sweep;                                             // NDCG sums by popularity weight

  Scratch(std::size_t items, std::size_t ks, std::size_t weights)
      : score(items), source(items), excluded(items), relevant(items), keys(items), sweep(weights, 0.0) {
    candidates.reserve(items);
    for (std::size_t r = 0; r < kRankers; ++r) sums[r].resize(ks), covered[r].assign(ks, std::vector<std::uint8_t>(items));
  }
  void add(const Scratch& t) {
    for (std::size_t r = 0; r < kRankers; ++r)
      for (std::size_t j = 0; j < sums[r].size(); ++j) {
        Sums& s = sums[r][j];
        const Sums& x = t.sums[r][j];
        s.precision += x.precision, s.recall += x.recall, s.ndcg += x.ndcg, s.map += x.map, s.hit += x.hit, s.mrr += x.mrr;
        for (std::size_t i = 0; i < covered[r][j].size(); ++i) covered[r][j][i] |= t.covered[r][j][i];
      }
    for (std::size_t w = 0; w < sweep.size(); ++w) sweep[w] += t.sweep[w];
  }
};

// The first `kmax` candidates by `better` (a strict order), best first, into list.
template <typename Better>
void top(std::vector<std::uint32_t>& candidates, std::size_t kmax, Better better, std::vector<std::uint32_t>& list) {
  const auto end = candidates.begin() + static_cast<std::ptrdiff_t>(std::min(kmax, candidates.size()));
  std::partial_sort(candidates.begin(), end, candidates.end(), better);
  list.assign(candidates.begin(), end);
}

// One list's metrics at k (before averaging), with `is_relevant` telling the relevant items, R of them.
template <typename IsRelevant>
RankingMetrics list_metrics_at(std::span<const std::uint32_t> list, IsRelevant is_relevant, std::size_t R, std::size_t k) {
  const std::size_t n = std::min(k, list.size());
  double hits = 0, dcg = 0, ap = 0, rr = 0, ideal = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!is_relevant(list[i])) continue;
    hits += 1;
    dcg += 1.0 / std::log2(double(i) + 2.0);
    ap += hits / double(i + 1);
    if (rr == 0) rr = 1.0 / double(i + 1);
  }
  for (std::size_t i = 0; i < std::min(R, k); ++i) ideal += 1.0 / std::log2(double(i) + 2.0);
  RankingMetrics m;
  m.k = static_cast<std::uint32_t>(k);
  m.precision = hits / double(k), m.recall = hits / double(R), m.ndcg = dcg / ideal;
  m.map = ap / double(std::min(R, k)), m.hit_rate = hits > 0 ? 1 : 0, m.mrr = rr;
  return m;
}

// Adds one list's metrics at every k to the sums, and its items to the covered sets.
void score_list(std::span<const std::uint32_t> list, const std::vector<std::uint8_t>& relevant, std::size_t R,
                std::span<const std::uint32_t> ks, std::vector<Sums>& sums, std::vector<std::vector<std::uint8_t>>& covered) {
  for (std::size_t j = 0; j < ks.size(); ++j) {
    for (std::size_t i = 0; i < std::min<std::size_t>(ks[j], list.size()); ++i) covered[j][list[i]] = 1;
    const RankingMetrics m = list_metrics_at(list, [&](std::uint32_t i) { return relevant[i] != 0; }, R, ks[j]);
    Sums& s = sums[j];
    s.precision += m.precision, s.recall += m.recall, s.ndcg += m.ndcg, s.map += m.map, s.hit += m.hit_rate, s.mrr += m.mrr;
  }
}

// The inputs every thread reads.
struct Shared {
  const Model& model;
  const ByUser& rated;      // stored training ratings
  const ByUser& relevant;   // relevant test items, rated-in-training ones left out
  const std::vector<std::uint32_t>& by_popularity;  // every item, most rated first
  const std::vector<float>& log_count;              // ln(1 + stored ratings) of every item
  std::span<const std::uint32_t> ks;
  std::size_t kmax;
  std::uint64_t seed;
  std::span<const float> sweep;  // popularity weights to score the model with (popularity_sweep), else empty
};

// The first kmax candidates by predicted rating + weight * ln(1 + n) (weight 0: the rating alone).
void top_by_rule(const Shared& in, Scratch& t, std::span<const float> bonus, float weight) {
  const auto key = [&](std::uint32_t i) {
    return t.score[i] + (weight != 0 ? weight * in.log_count[i] : i < bonus.size() ? bonus[i] : 0.0f);
  };
  top(t.candidates, in.kmax, [&](std::uint32_t a, std::uint32_t b) {
    const float ka = key(a), kb = key(b);
    return ka > kb || (ka == kb && a < b);
  }, t.list);
}

void rank_user(const Shared& in, std::uint32_t u, Scratch& t) {
  const std::span<const std::uint32_t> rated = in.rated.of(u), relevant = in.relevant.of(u);
  for (const std::uint32_t i : rated) t.excluded[i] = 1;
  for (const std::uint32_t i : relevant) t.relevant[i] = 1;
  const auto candidates = [&] {
    t.candidates.clear();
    for (std::uint32_t i = 0; i < t.excluded.size(); ++i)
      if (!t.excluded[i]) t.candidates.push_back(i);
  };
  const auto score = [&](Ranker r) {
    const std::size_t ri = static_cast<std::size_t>(r);
    score_list(t.list, t.relevant, relevant.size(), in.ks, t.sums[ri], t.covered[ri]);
  };
  in.model.score_items(u, t.score, t.source);
  candidates();
  if (!in.sweep.empty()) {  // the model under each weight, at the first k
    for (std::size_t w = 0; w < in.sweep.size(); ++w) {
      top_by_rule(in, t, {}, in.sweep[w]);
      t.sweep[w] += list_metrics_at(t.list, [&](std::uint32_t i) { return t.relevant[i] != 0; }, relevant.size(), in.ks[0]).ndcg;
    }
  } else {
    // The model's rule (as recommend() ranks), and the predicted rating alone.
    top_by_rule(in, t, in.model.ranking_bonus(), 0.0f);
    score(Ranker::Model);
    top_by_rule(in, t, {}, 0.0f);
    score(Ranker::Rating);
  }
  // Popularity: the global order, the user's rated items skipped.
  t.list.clear();
  for (std::size_t p = 0; p < in.by_popularity.size() && t.list.size() < in.kmax; ++p)
    if (!t.excluded[in.by_popularity[p]]) t.list.push_back(in.by_popularity[p]);
  score(Ranker::Popularity);
  // Random: the candidates by a hash of (seed, user, item).
  if (in.sweep.empty()) {
    for (const std::uint32_t i : t.candidates) t.keys[i] = splitmix64(in.seed ^ splitmix64((std::uint64_t(u) << 32) | i));
    top(t.candidates, in.kmax, [&](std::uint32_t a, std::uint32_t b) { return t.keys[a] < t.keys[b]; }, t.list);
    score(Ranker::Random);
  }
  for (const std::uint32_t i : rated) t.excluded[i] = 0;
  for (const std::uint32_t i : relevant) t.relevant[i] = 0;
}

}  // namespace

RankingMetrics list_metrics(std::span<const std::uint32_t> list, std::span<const std::uint32_t> relevant, std::uint32_t k) {
  if (k == 0 || relevant.empty()) throw Error(Status::BadInput, "list_metrics: k and the relevant items must not be empty");
  const auto is_relevant = [&](std::uint32_t i) { return std::find(relevant.begin(), relevant.end(), i) != relevant.end(); };
  return list_metrics_at(list, is_relevant, relevant.size(), k);
}

const char* ranker_name(Ranker r) {
  switch (r) {
    case Ranker::Model: return "autorec";
    case Ranker::Rating: return "autorec_rating";
    case Ranker::Popularity: return "popularity";
    case Ranker::Random: return "random";
  }
  return "?";
}

float default_relevant_at(const ModelInfo& info) { return info.rating_min + 0.75f * (info.rating_max - info.rating_min); }

namespace {

// What both passes need: the stored ratings by user, popularity, and each counted user's relevant items.
struct Prepared {
  ByUser rated, relevant;
  std::vector<std::uint32_t> by_popularity, counted;
  std::vector<float> log_count;
};

Prepared prepare(const Model& model, std::span<const RatingRef> test, const RankingOptions& options, RankingReport& report) {
  const ModelInfo& info = model.info();
  if (options.ks.empty()) throw Error(Status::BadInput, "ranking: no list length (--top-k) given");
  for (const std::uint32_t k : options.ks)
    if (k == 0) throw Error(Status::BadInput, "ranking: --top-k 0: a list has at least one item");
  report.relevant_at = options.relevant_at.value_or(default_relevant_at(info));
  if (!std::isfinite(report.relevant_at))
    throw Error(Status::BadInput, "ranking: --relevant-at " + std::to_string(report.relevant_at) + " is not finite");
  Prepared p;
  p.rated = stored_by_user(model);
  std::vector<std::size_t> count(info.num_items, 0);
  for (const std::uint32_t i : p.rated.items) ++count[i];
  p.by_popularity.resize(info.num_items);
  std::iota(p.by_popularity.begin(), p.by_popularity.end(), 0u);
  std::stable_sort(p.by_popularity.begin(), p.by_popularity.end(), [&](auto a, auto b) { return count[a] > count[b]; });
  for (const std::size_t n : count) p.log_count.push_back(std::log1p(float(n)));
  // The relevant test items of each user the model knows; the rest counted.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> relevant_pairs;
  std::vector<std::uint8_t> in_test(info.num_users, 0);
  for (const RatingRef& r : test) {
    if (!r.user || *r.user >= info.num_users || p.rated.of(*r.user).empty()) {
      ++report.unseen_user_ratings;
      continue;
    }
    in_test[*r.user] = 1;
    if (r.value < report.relevant_at) continue;
    const std::span<const std::uint32_t> own = p.rated.of(*r.user);
    if (!r.item || *r.item >= info.num_items || std::binary_search(own.begin(), own.end(), *r.item)) ++report.relevant_left_out;
    else relevant_pairs.emplace_back(*r.user, *r.item);
  }
  p.relevant = index_by_user(info.num_users, std::move(relevant_pairs));
  for (std::uint32_t u = 0; u < info.num_users; ++u) {
    if (!p.relevant.of(u).empty()) p.counted.push_back(u), report.relevant += p.relevant.of(u).size();
    else if (in_test[u]) ++report.users_without_relevant;
  }
  report.users = p.counted.size();
  return p;
}

// Every counted user's lists on the threads; the threads' sums (in `total`) added together.
void rank_all(const Shared& in, const Prepared& p, int threads, Scratch& total) {
  std::exception_ptr failure;
  const std::size_t items = in.log_count.size(), nk = in.ks.size();
  // No more threads than users or than a machine has; an exception (bad_alloc included) must not leave the region.
  const int wanted = threads > 0 ? std::min(threads, 1024) : omp_get_max_threads();
  const int n_threads = std::max(1, std::min<int>(wanted, int(std::min<std::size_t>(p.counted.size(), 1024))));
#pragma omp parallel num_threads(n_threads)
  {
    std::optional<Scratch> t;
    try {
      t.emplace(items, nk, in.sweep.size());
    } catch (...) {
#pragma omp critical(ranking_failure)
      if (!failure) failure = std::current_exception();
    }
#pragma omp for schedule(dynamic, 64)
    for (std::size_t n = 0; n < p.counted.size(); ++n) {
      if (!t) continue;
      try {
        rank_user(in, p.counted[n], *t);
      } catch (...) {
#pragma omp critical(ranking_failure)
        if (!failure) failure = std::current_exception();
      }
    }
#pragma omp critical(ranking_reduce)
    if (t) total.add(*t);
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

RankingReport evaluate_ranking(const Model& model, std::span<const RatingRef> test, const RankingOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  RankingReport report;
  const Prepared p = prepare(model, test, options, report);
  const Shared in{model, p.rated, p.relevant, p.by_popularity, p.log_count, options.ks,
                  *std::max_element(options.ks.begin(), options.ks.end()), options.seed, {}};
  const std::size_t items = model.info().num_items, nk = options.ks.size();
  Scratch total(items, nk, 0);
  rank_all(in, p, options.threads, total);
  const double users = std::max<double>(1, double(p.counted.size()));
  for (std::size_t r = 0; r < kRankers; ++r)
    for (std::size_t j = 0; j < nk; ++j) {
      const Sums& s = total.sums[r][j];
      const auto covered = std::count(total.covered[r][j].begin(), total.covered[r][j].end(), std::uint8_t{1});
      report.metrics[r].push_back({options.ks[j], s.precision / users, s.recall / users, s.ndcg / users, s.map / users,
                                   s.hit / users, s.mrr / users, double(covered) / std::max(1.0, double(items))});
    }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

PopularitySweep popularity_sweep(const Model& model, std::span<const RatingRef> val, std::span<const float> weights,
                                 const RankingOptions& options) {
  PopularitySweep out;
  RankingReport report;
  const Prepared p = prepare(model, val, options, report);
  out.users = report.users;
  if (weights.empty() || p.counted.empty()) return out;
  const std::span<const std::uint32_t> first_k(options.ks.data(), 1);
  const Shared in{model, p.rated, p.relevant, p.by_popularity, p.log_count, first_k, first_k[0], options.seed, weights};
  Scratch total(model.info().num_items, 1, weights.size());
  rank_all(in, p, options.threads, total);
  const double users = double(p.counted.size());
  for (const double sum : total.sweep) out.ndcg.push_back(sum / users);
  out.popularity_ndcg = total.sums[std::size_t(Ranker::Popularity)][0].ndcg / users;
  return out;
}

std::string ranking_json(const RankingReport& r) {
  nlohmann::json by_k = nlohmann::json::object();
  for (std::size_t j = 0; j < r.metrics[0].size(); ++j) {
    nlohmann::json at_k;
    for (std::size_t x = 0; x < kRankers; ++x) {
      const RankingMetrics& m = r.metrics[x][j];
      at_k[ranker_name(static_cast<Ranker>(x))] = {{"precision", m.precision}, {"recall", m.recall}, {"ndcg", m.ndcg},
                                                   {"map", m.map}, {"hit_rate", m.hit_rate}, {"mrr", m.mrr},
                                                   {"coverage", m.coverage}};
    }
    by_k[std::to_string(r.metrics[0][j].k)] = at_k;
  }
  return nlohmann::json{{"relevant_at", r.relevant_at}, {"users", r.users},
                        {"users_without_relevant", r.users_without_relevant},
                        {"unseen_user_ratings", r.unseen_user_ratings}, {"relevant", r.relevant},
                        {"relevant_left_out", r.relevant_left_out}, {"seconds", r.seconds}, {"at", by_k}}
      .dump();
}

}  // namespace autorec::data
