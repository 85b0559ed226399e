// A ratings matrix ready for training: deduplicated, with dense indices assigned in sorted id order (so a
// model does not depend on line order), the rating scale, and the splits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autorec/data/ratings.hpp"
#include "autorec/model.hpp"

namespace autorec::data {

// Sorted distinct ids; integers when every id is a canonical decimal int64 ("7", "-3", not "07" or "+7").
struct IdList {
  bool is_int = true;
  std::vector<std::int64_t> ints;
  std::vector<std::string> strs;
  std::size_t size() const { return is_int ? ints.size() : strs.size(); }
};

struct Rating {
  std::uint32_t user, item;
  float value;
};

enum class DuplicatePolicy { Last, First, Mean, Error };
std::optional<DuplicatePolicy> parse_duplicate_policy(std::string_view s);
const char* duplicate_policy_name(DuplicatePolicy p);

struct RatingScale {
  float min = 0, max = 0, step = 0;
  bool integral = true;
};

struct Dataset {
  std::string source;
  IdList users, items;
  std::vector<Rating> ratings;  // sorted by (user, item), no duplicates
  std::uint64_t duplicates = 0;  // (user, item) pairs seen more than once in the file
  RatingScale scale;
};

struct ScaleOptions {
  std::optional<float> min, max;  // from flags; otherwise taken from the data
};

Dataset make_dataset(const RawRatings& raw, DuplicatePolicy policy, const ScaleOptions& scale = {});

// Held-out ratings whose ids are mapped to the dataset's indices (nullopt = not in the dataset).
struct HeldOut {
  std::vector<RatingRef> ratings;
};
HeldOut map_to_dataset(const RawRatings& raw, const Dataset& data);

// Deterministic split membership of one (user, item) rating; for integer ids it is exactly
// bench/make_split.py: splitmix64(seed * 2^42 + user * 2^21 + item) % 1000 < round(1000 * ratio).
bool in_split(const Dataset& data, const Rating& r, std::uint64_t seed, double ratio);
// The same rule for integer ids, for writers that have no Dataset (autorec-synth).
bool in_split_ints(std::int64_t user, std::int64_t item, std::uint64_t seed, double ratio);

// Splits `data` into the part kept and the part held out (test or validation).
void split(const Dataset& data, std::uint64_t seed, double ratio, std::vector<Rating>& kept,
           std::vector<Rating>& held);

// FNV-1a 64 over the ids and ratings: identifies the training data in the model file.
std::uint64_t fingerprint(const Dataset& data, const std::vector<Rating>& ratings);

}  // namespace autorec::data
