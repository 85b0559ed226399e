// Reading rating files: MovieLens u.data (tab or spaces), ratings.dat ("::"), ratings.csv (comma, header),
// plain or zstd-compressed, with arbitrary user and item ids. Shared by the trainer and the tools.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "autorec/model.hpp"

namespace autorec::data {

struct ReadOptions {
  bool skip_bad_lines = false;      // count and report malformed lines instead of failing on the first
  std::optional<float> rating_min;  // when set, ratings below / above are bad lines
  std::optional<float> rating_max;
  // Called while parsing, with the bytes parsed so far and the text's size: about every progress_every bytes
  // and once at the end (done == total), so that a caller can show progress through a large file.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
  std::uint64_t progress_every = std::uint64_t{4} << 20;
};

// Ratings as they appear in a file. Ids are interned: user_ids[user[k]] is the text of rating k's user.
struct RawRatings {
  std::string source;
  std::vector<std::string> user_ids, item_ids;  // distinct ids in order of first appearance
  std::vector<std::uint32_t> user, item;
  std::vector<float> value;
  std::vector<std::uint64_t> line;  // 1-based line number of each rating
  bool had_header = false;  // the first line had no number in its user, item and rating fields, and was skipped
  std::string separator;            // "\t/space", "::" or ","
  std::uint64_t skipped_lines = 0;  // with skip_bad_lines: malformed lines skipped
  std::vector<std::string> skipped_examples;  // the first few, as "line N: reason"
  std::size_t size() const { return value.size(); }
};

// Parses text already in memory; `name` is used in messages. Throws autorec::Error(BadInput) naming the
// file, line and offending text.
RawRatings parse_ratings(std::string_view text, std::string_view name, const ReadOptions& options = {});
// Ratings a host holds in memory (arrays, a DataFrame), added one by one: the ids interned as the reader
// interns a file's, each value checked as a file's rating field is (finite; inside options' scale when set).
// A refused rating throws Error(BadInput) naming the source, its row (from 1), the field and the value.
class RatingsBuilder {
 public:
  explicit RatingsBuilder(std::string source, const ReadOptions& options = {});
  ~RatingsBuilder();
  void add(std::string_view user, std::string_view item, float value);
  // The ratings added (each one's `line` is its row); throws Error(BadInput) when there are none.
  RawRatings finish();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Reads a file (zstd-compressed files are recognised by their magic number) and parses it.
RawRatings read_ratings(const std::string& path, const ReadOptions& options = {});
// The file's bytes, decompressed when it is a zstd file; gzip and other binary files are refused.
std::string read_text_file(const std::string& path);

// The ratings with their ids looked up in a model (nullopt = unseen in training), ready for evaluate().
std::vector<RatingRef> map_to_model(const Model& model, const RawRatings& raw);

}  // namespace autorec::data
