// From raw ratings to a training matrix: sorted ids, duplicate policy, scale, splits, fingerprint.
#include "autorec/data/dataset.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "autorec/data/random.hpp"
#include "autorec/error.hpp"
#include "autorec/text.hpp"

namespace autorec::data {
namespace {

bool canonical_int(std::string_view s, std::int64_t& v) {
  const std::optional<std::int64_t> n = canonical_integer(s);  // the library's rule, so lookups agree
  if (n) v = *n;
  return n.has_value();
}

// Sorts distinct ids; remap[k] is the dense index of raw id k.
IdList make_ids(const std::vector<std::string>& raw, std::vector<std::uint32_t>& remap) {
  IdList ids;
  std::vector<std::int64_t> ints(raw.size());
  for (std::size_t k = 0; k < raw.size() && ids.is_int; ++k) ids.is_int = canonical_int(raw[k], ints[k]);
  std::vector<std::uint32_t> order(raw.size());
  std::iota(order.begin(), order.end(), 0u);
  if (ids.is_int) {
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return ints[a] < ints[b]; });
    for (auto k : order) ids.ints.push_back(ints[k]);
  } else {
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return raw[a] < raw[b]; });
    for (auto k : order) ids.strs.push_back(raw[k]);
  }
  remap.assign(raw.size(), 0);
  for (std::uint32_t d = 0; d < order.size(); ++d) remap[order[d]] = d;
  return ids;
}

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

}  // namespace

std::optional<DuplicatePolicy> parse_duplicate_policy(std::string_view s) {
  if (s == "last") return DuplicatePolicy::Last;
  if (s == "first") return DuplicatePolicy::First;
  if (s == "mean") return DuplicatePolicy::Mean;
  if (s == "error") return DuplicatePolicy::Error;
  return std::nullopt;
}

const char* duplicate_policy_name(DuplicatePolicy p) {
  switch (p) {
    case DuplicatePolicy::Last: return "last";
    case DuplicatePolicy::First: return "first";
    case DuplicatePolicy::Mean: return "mean";
    case DuplicatePolicy::Error: return "error";
  }
  return "?";
}

Dataset make_dataset(const RawRatings& raw, DuplicatePolicy policy, const ScaleOptions& scale) {
  Dataset d;
  d.source = raw.source;
  std::vector<std::uint32_t> umap, imap;
  d.users = make_ids(raw.user_ids, umap);
  d.items = make_ids(raw.item_ids, imap);

  // Stable sort by (user, item) keeps file order among duplicates, which the policies rely on.
  std::vector<std::uint32_t> order(raw.size());
  std::iota(order.begin(), order.end(), 0u);
  auto key = [&](std::uint32_t k) { return std::pair(umap[raw.user[k]], imap[raw.item[k]]); };
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return key(a) < key(b); });
  d.ratings.reserve(raw.size());
  for (std::size_t s = 0; s < order.size();) {
    std::size_t e = s + 1;
    while (e < order.size() && key(order[e]) == key(order[s])) ++e;
    const auto [u, i] = key(order[s]);
    float v = raw.value[order[s]];
    if (e - s > 1) {
      ++d.duplicates;
      if (policy == DuplicatePolicy::Error)
        throw Error(Status::BadInput, raw.source + ":" + std::to_string(raw.line[order[s + 1]]) + ": duplicate rating of user '" +
                                          raw.user_ids[raw.user[order[s]]] + "' for item '" + raw.item_ids[raw.item[order[s]]] +
                                          "' (first on line " + std::to_string(raw.line[order[s]]) +
                                          "; --duplicates last|first|mean to accept)");
      if (policy == DuplicatePolicy::Last) v = raw.value[order[e - 1]];
      if (policy == DuplicatePolicy::Mean) {
        double sum = 0;
        for (std::size_t k = s; k < e; ++k) sum += raw.value[order[k]];
        v = static_cast<float>(sum / static_cast<double>(e - s));
      }
    }
    d.ratings.push_back({u, i, v});
    s = e;
  }

  // Scale: flags win; otherwise the data's range. The grid step is the smallest gap between distinct values.
  std::vector<float> distinct;
  for (const Rating& r : d.ratings) distinct.push_back(r.value);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  d.scale.min = scale.min.value_or(distinct.front());
  d.scale.max = scale.max.value_or(distinct.back());
  if (d.scale.min > d.scale.max)
    throw Error(Status::BadInput, "rating scale: min " + std::to_string(d.scale.min) + " is above max " +
                                      std::to_string(d.scale.max));
  d.scale.integral = std::all_of(distinct.begin(), distinct.end(), [](float v) { return v == std::floor(v); });
  // The grid: the coarsest usual step that every rating sits on, counted from the scale's minimum
  // (1 for stars, 0.5 for half stars); 0 when the ratings are on no such grid.
  d.scale.step = 0;
  for (const float step : {1.0f, 0.5f, 0.25f, 0.2f, 0.1f, 0.05f, 0.01f}) {
    const bool on_grid = std::all_of(distinct.begin(), distinct.end(), [&](float v) {
      const double q = (double(v) - d.scale.min) / step;
      return std::abs(q - std::round(q)) < 1e-4;
    });
    if (on_grid) {
      d.scale.step = step;
      break;
    }
  }
  return d;
}

HeldOut map_to_dataset(const RawRatings& raw, const Dataset& data) {
  // Map each distinct id once. Ids absent from the dataset stay nullopt (cold start at prediction time).
  auto map_ids = [](const std::vector<std::string>& tokens, const IdList& ids) {
    std::vector<std::optional<std::uint32_t>> out(tokens.size());
    for (std::size_t k = 0; k < tokens.size(); ++k) {
      if (ids.is_int) {
        std::int64_t v = 0;
        const std::string_view t = tokens[k];
        const char* b = t.data() + (!t.empty() && t[0] == '+');
        const auto [p, ec] = std::from_chars(b, t.data() + t.size(), v);
        if (ec != std::errc() || p != t.data() + t.size()) continue;
        const auto it = std::lower_bound(ids.ints.begin(), ids.ints.end(), v);
        if (it != ids.ints.end() && *it == v) out[k] = static_cast<std::uint32_t>(it - ids.ints.begin());
      } else {
        const auto it = std::lower_bound(ids.strs.begin(), ids.strs.end(), tokens[k]);
        if (it != ids.strs.end() && *it == tokens[k]) out[k] = static_cast<std::uint32_t>(it - ids.strs.begin());
      }
    }
    return out;
  };
  const auto users = map_ids(raw.user_ids, data.users), items = map_ids(raw.item_ids, data.items);
  HeldOut h;
  h.ratings.reserve(raw.size());
  for (std::size_t k = 0; k < raw.size(); ++k) h.ratings.push_back({users[raw.user[k]], items[raw.item[k]], raw.value[k]});
  return h;
}

bool in_split_ints(std::int64_t user, std::int64_t item, std::uint64_t seed, double ratio) {
  const auto cut = static_cast<std::uint64_t>(std::llround(1000.0 * ratio));
  const std::uint64_t key = (seed << 42) + (static_cast<std::uint64_t>(user) << 21) + static_cast<std::uint64_t>(item);
  return splitmix64(key) % 1000 < cut;
}

bool in_split(const Dataset& data, const Rating& r, std::uint64_t seed, double ratio) {
  if (data.users.is_int && data.items.is_int)
    return in_split_ints(data.users.ints[r.user], data.items.ints[r.item], seed, ratio);
  const auto cut = static_cast<std::uint64_t>(std::llround(1000.0 * ratio));
  const std::string u = data.users.is_int ? std::to_string(data.users.ints[r.user]) : data.users.strs[r.user];
  const std::string i = data.items.is_int ? std::to_string(data.items.ints[r.item]) : data.items.strs[r.item];
  std::uint64_t h = fnv1a(0xCBF29CE484222325ull, u.data(), u.size());
  h = fnv1a(h, "\t", 1);
  h = fnv1a(h, i.data(), i.size());
  return splitmix64((seed << 42) + h) % 1000 < cut;
}

void split(const Dataset& data, std::uint64_t seed, double ratio, std::vector<Rating>& kept,
           std::vector<Rating>& held) {
  kept.clear();
  held.clear();
  for (const Rating& r : data.ratings) (in_split(data, r, seed, ratio) ? held : kept).push_back(r);
}

std::uint64_t fingerprint(const Dataset& data, const std::vector<Rating>& ratings) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (const IdList* ids : {&data.users, &data.items}) {
    if (ids->is_int) h = fnv1a(h, ids->ints.data(), ids->ints.size() * sizeof(std::int64_t));
    else
      for (const std::string& s : ids->strs) h = fnv1a(h, s.c_str(), s.size() + 1);
  }
  for (const Rating& r : ratings) {
    h = fnv1a(h, &r.user, sizeof r.user);
    h = fnv1a(h, &r.item, sizeof r.item);
    h = fnv1a(h, &r.value, sizeof r.value);
  }
  return h;
}

}  // namespace autorec::data
