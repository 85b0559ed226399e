// Rating file reader. Every rejected line is reported with file, line number and the offending text.
#include "autorec/data/ratings.hpp"

#include <zstd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "autorec/error.hpp"

namespace autorec::data {
namespace {

constexpr std::size_t kMaxExamples = 5;

std::string shown(std::string_view s) {
  std::string out = s.size() > 80 ? std::string(s.substr(0, 80)) + "..." : std::string(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') c = '?';
  return out;
}

// A scale end as a person wrote it ("5", "0.5"), or the open end it stands for when unset.
std::string scale_end(const std::optional<float>& v, const char* open) {
  if (!v) return open;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(*v));
  return buf;
}

enum class Sep { Space, DoubleColon, Comma };

Sep detect_separator(std::string_view line) {
  if (line.find("::") != std::string_view::npos) return Sep::DoubleColon;
  if (line.find(',') != std::string_view::npos) return Sep::Comma;
  return Sep::Space;
}

// Splits one line into at most 4 fields (user, item, rating, first extra field).
std::size_t split_fields(std::string_view line, Sep sep, std::string_view (&f)[4]) {
  std::size_t n = 0, i = 0;
  if (sep == Sep::Space) {
    while (n < 4) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) break;
      const std::size_t b = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      f[n++] = line.substr(b, i - b);
    }
    return n;
  }
  const std::string_view d = sep == Sep::DoubleColon ? "::" : ",";
  while (n < 4) {
    const std::size_t e = line.find(d, i);
    std::string_view field = line.substr(i, e == std::string_view::npos ? std::string_view::npos : e - i);
    while (!field.empty() && (field.front() == ' ' || field.front() == '\t')) field.remove_prefix(1);
    while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.remove_suffix(1);
    f[n++] = field;
    if (e == std::string_view::npos) break;
    i = e + d.size();
  }
  return n;
}

// Why a field is not a usable number, or empty when it is one.
std::string float_problem(std::string_view s, float& v) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || p != s.data() + s.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
    return "is not a number";
  if (ec == std::errc::result_out_of_range) return "is out of the range of a float";
  if (!std::isfinite(v)) return "is not finite";
  return {};
}

// Why a rating is refused by the options' scale ("field rating: '7' is outside the rating scale [1, 5]"), or
// empty when it is inside.
std::string scale_problem(float v, std::string_view text, const ReadOptions& opt) {
  if ((opt.rating_min && v < *opt.rating_min) || (opt.rating_max && v > *opt.rating_max))
    return "field rating: '" + shown(text) + "' is outside the rating scale [" + scale_end(opt.rating_min, "-inf") +
           ", " + scale_end(opt.rating_max, "inf") + "]";
  return {};
}

// Refuses a scale that is inverted or not finite, before any rating: it would otherwise reject (or accept)
// every rating with a message about the rating instead of the scale.
void check_scale(const ReadOptions& opt) {
  if ((opt.rating_min && !std::isfinite(*opt.rating_min)) || (opt.rating_max && !std::isfinite(*opt.rating_max)) ||
      (opt.rating_min && opt.rating_max && *opt.rating_min > *opt.rating_max))
    throw Error(Status::BadInput, "rating scale [" + scale_end(opt.rating_min, "-inf") + ", " +
                                      scale_end(opt.rating_max, "inf") +
                                      "]: the minimum must be finite and not above the maximum");
}

bool is_number(std::string_view s) {
  float v = 0;
  return float_problem(s, v).empty();
}

// Maps id tokens to dense indices in order of first appearance. Small canonical integers (all MovieLens and
// Netflix ids) take a table lookup instead of a string hash: at 100M lines that is most of the parse time.
class Interner {
 public:
  explicit Interner(std::vector<std::string>& ids) : ids_(ids) {}
  std::uint32_t operator()(std::string_view s) {
    std::uint32_t v = 0;
    if (small_int(s, v)) {
      if (v >= by_int_.size()) by_int_.resize(std::max<std::size_t>(v + 1, 2 * by_int_.size()), kNone);
      std::uint32_t& slot = by_int_[v];
      if (slot == kNone) slot = add(s);
      return slot;
    }
    auto it = index_.find(std::string(s));
    if (it != index_.end()) return it->second;
    const std::uint32_t k = add(s);
    index_.emplace(ids_.back(), k);
    return k;
  }

 private:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  static constexpr std::uint32_t kSmallLimit = 1u << 24;
  // Canonical decimal (no sign, no leading zero) below kSmallLimit: exactly the tokens that make_ids will
  // read back as the same integer, so "07" and "7" stay different ids.
  static bool small_int(std::string_view s, std::uint32_t& v) {
    if (s.empty() || s.size() > 8 || (s[0] == '0' && s.size() > 1)) return false;
    v = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return v < kSmallLimit;
  }
  std::uint32_t add(std::string_view s) {
    ids_.emplace_back(s);
    return static_cast<std::uint32_t>(ids_.size() - 1);
  }
  std::vector<std::string>& ids_;
  std::unordered_map<std::string, std::uint32_t> index_;
  std::vector<std::uint32_t> by_int_;
};

}  // namespace

RawRatings parse_ratings(std::string_view text, std::string_view name, const ReadOptions& opt) {
  RawRatings out;
  out.source = std::string(name);
  check_scale(opt);
  Interner users(out.user_ids), items(out.item_ids);
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) text.remove_prefix(3);  // UTF-8 BOM

  std::optional<Sep> sep;
  std::uint64_t line_no = 0;
  std::size_t pos = 0;
  std::uint64_t next_report = opt.progress_every;
  while (pos < text.size()) {
    if (opt.progress && pos >= next_report) {
      opt.progress(pos, text.size());
      next_report = pos + std::max<std::uint64_t>(opt.progress_every, 1);
    }
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line: no rating in it
    if (!sep) {
      sep = detect_separator(line);
      out.separator = *sep == Sep::Space ? "whitespace" : (*sep == Sep::DoubleColon ? "::" : ",");
    }
    std::string_view f[4];
    const std::size_t n = split_fields(line, *sep, f);
    std::string problem;
    float v = 0;
    if (n < 3) {
      problem = "expected user, item and rating fields, found " + std::to_string(n);
    } else if (f[0].empty() || f[1].empty()) {
      problem = std::string("empty ") + (f[0].empty() ? "user" : "item") + " id";
    } else if (const std::string why = float_problem(f[2], v); !why.empty()) {
      // A header (ratings.csv has one) is a first line with no number in its three fields. A first line with
      // numeric ids and a bad rating ("1,2," or "1 2 four") is an error: skipping it would lose a rating.
      if (out.value.empty() && !out.had_header && out.skipped_lines == 0 && !is_number(f[0]) && !is_number(f[1]) &&
          why == "is not a number") {
        out.had_header = true;
        continue;
      }
      problem = "field rating: '" + shown(f[2]) + "' " + why;
    } else {
      problem = scale_problem(v, f[2], opt);
    }
    if (!problem.empty()) {
      if (!opt.skip_bad_lines)
        throw Error(Status::BadInput, std::string(name) + ":" + std::to_string(line_no) + ": " + problem +
                                          " (line: '" + shown(line) + "')");
      ++out.skipped_lines;
      if (out.skipped_examples.size() < kMaxExamples)
        out.skipped_examples.push_back("line " + std::to_string(line_no) + ": " + problem);
      continue;
    }
    out.user.push_back(users(f[0]));
    out.item.push_back(items(f[1]));
    out.value.push_back(v);
    out.line.push_back(line_no);
  }
  if (opt.progress) opt.progress(text.size(), text.size());
  if (out.value.empty())
    throw Error(Status::BadInput, std::string(name) + ": no ratings found (" + std::to_string(line_no) +
                                      (line_no == 1 ? " line" : " lines") + (out.had_header ? ", a header only" : "") +
                                      (out.skipped_lines ? ", " + std::to_string(out.skipped_lines) + " skipped" : "") +
                                      ")");
  return out;
}

std::string read_text_file(const std::string& path) {
  // Read straight into the string: a Netflix-sized file is 1.4 GB, and a second copy of it is not free.
  std::string raw;
  {
    // An ifstream opens a directory and reports a size of 2^63 - 1, which would be allocated below.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
      throw Error(Status::BadInput, path + ": is a directory, not a ratings file");
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw Error(Status::BadInput, path + ": cannot open: " + std::strerror(errno));
    const std::streamoff size = in.tellg();
    if (size < 0) throw Error(Status::Io, path + ": cannot read its size");
    raw.resize(static_cast<std::size_t>(size));
    in.seekg(0);
    if (!in.read(raw.data(), size)) throw Error(Status::Io, path + ": read failed after " + std::to_string(in.gcount()) + " bytes");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  if (raw.size() >= 2 && p[0] == 0x1f && p[1] == 0x8b)
    throw Error(Status::BadInput, path + ": is gzip-compressed; decompress it first (gunzip) or use zstd");
  if (raw.size() >= 4 && p[0] == 0x28 && p[1] == 0xB5 && p[2] == 0x2F && p[3] == 0xFD) {
    std::string text;
    ZSTD_DStream* ds = ZSTD_createDStream();
    if (!ds) throw Error(Status::OutOfMemory, path + ": cannot create a zstd stream");
    ZSTD_inBuffer in{raw.data(), raw.size(), 0};
    std::vector<char> chunk(ZSTD_DStreamOutSize());
    std::size_t rc = 0;
    for (;;) {
      ZSTD_outBuffer out{chunk.data(), chunk.size(), 0};
      rc = ZSTD_decompressStream(ds, &out, &in);
      if (ZSTD_isError(rc)) {
        ZSTD_freeDStream(ds);
        throw Error(Status::BadInput, path + ": zstd: " + ZSTD_getErrorName(rc));
      }
      text.append(chunk.data(), out.pos);
      if (in.pos == in.size && out.pos < out.size) break;  // all input used and everything flushed
    }
    ZSTD_freeDStream(ds);
    if (rc != 0) throw Error(Status::BadInput, path + ": zstd stream is truncated");
    return text;
  }
  if (std::memchr(raw.data(), 0, std::min<std::size_t>(raw.size(), 4096)))
    throw Error(Status::BadInput, path + ": looks binary (NUL bytes in the first 4 KiB), not a ratings text file");
  return raw;
}

RawRatings read_ratings(const std::string& path, const ReadOptions& options) {
  return parse_ratings(read_text_file(path), path, options);
}

struct RatingsBuilder::State {
  ReadOptions options;
  RawRatings out;
  Interner users{out.user_ids}, items{out.item_ids};
};

RatingsBuilder::RatingsBuilder(std::string source, const ReadOptions& options) : s_(std::make_unique<State>()) {
  check_scale(options);
  s_->options = options;
  s_->out.source = std::move(source);
}

RatingsBuilder::~RatingsBuilder() = default;

void RatingsBuilder::add(std::string_view user, std::string_view item, float value) {
  RawRatings& out = s_->out;
  const std::uint64_t row = out.value.size() + 1;
  std::string problem;
  if (user.empty() || item.empty()) {
    problem = std::string("empty ") + (user.empty() ? "user" : "item") + " id";
  } else if (!std::isfinite(value)) {
    problem = "field rating: '" + std::to_string(value) + "' is not finite";
  } else {
    char text[32];
    const auto r = std::to_chars(text, text + sizeof text, value);
    problem = scale_problem(value, std::string_view(text, std::size_t(r.ptr - text)), s_->options);
  }
  if (!problem.empty()) throw Error(Status::BadInput, out.source + ": row " + std::to_string(row) + ": " + problem);
  out.user.push_back(s_->users(user));
  out.item.push_back(s_->items(item));
  out.value.push_back(value);
  out.line.push_back(row);
}

RawRatings RatingsBuilder::finish() {
  if (s_->out.value.empty()) throw Error(Status::BadInput, s_->out.source + ": no ratings");
  RawRatings r = std::move(s_->out);
  s_ = std::make_unique<State>();
  return r;
}

std::vector<RatingRef> map_to_model(const Model& model, const RawRatings& raw) {
  std::vector<std::optional<std::uint32_t>> users(raw.user_ids.size()), items(raw.item_ids.size());
  for (std::size_t k = 0; k < users.size(); ++k) users[k] = model.user_index(raw.user_ids[k]);
  for (std::size_t k = 0; k < items.size(); ++k) items[k] = model.item_index(raw.item_ids[k]);
  std::vector<RatingRef> out;
  out.reserve(raw.size());
  for (std::size_t k = 0; k < raw.size(); ++k) out.push_back({users[raw.user[k]], items[raw.item[k]], raw.value[k]});
  return out;
}

}  // namespace autorec::data
