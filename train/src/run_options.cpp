// The run options' table (run_options.hpp).
#include "autorec/train/run_options.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

#include "autorec/dtype.hpp"
#include "autorec/error.hpp"
#include "autorec/text.hpp"
#include "autorec/train/settings.hpp"

namespace autorec::train {
namespace {

using Kind = RunOption::Kind;
using S = RunSettings;

constexpr double kHuge = std::numeric_limits<double>::max();
constexpr double kFloatMax = std::numeric_limits<float>::max();  // the scale's ends are floats
constexpr std::array<std::string_view, 4> kDuplicates = {"last", "first", "mean", "error"};
constexpr std::array<std::string_view, 4> kDTypes = {"fp32", "fp16", "bf16", "int8"};

const RunOption kRunOptions[] = {
    {"test_ratio", "--test-ratio", Kind::Number, 0, 0.9, {}, "hold out this share of TRAIN as the test set (seeded by --seed)",
     [](S& s, double v) { s.test_ratio = v; }, nullptr, [](const S& s) { return s.test_ratio; }},
    {"refit", "--refit", Kind::Flag, 0, 1, {},
     "after choosing the epoch count on the validation part, train again on all training ratings for that many "
     "epochs (needs --val-ratio, --validation or sparse data)",
     [](S& s, double v) { s.refit = v != 0; }},
    {"rating_min", "--rating-min", Kind::Number, -kFloatMax, kFloatMax, {}, "lowest rating of the scale (default: from the data)",
     [](S& s, double v) { s.scale.min = static_cast<float>(v); }, nullptr,
     [](const S& s) { return double(s.scale.min.value_or(0)); }},
    {"rating_max", "--rating-max", Kind::Number, -kFloatMax, kFloatMax, {}, "highest rating of the scale (default: from the data)",
     [](S& s, double v) { s.scale.max = static_cast<float>(v); }, nullptr,
     [](const S& s) { return double(s.scale.max.value_or(0)); }},
    {"duplicates", "--duplicates", Kind::Choice, 0, 0, kDuplicates, "repeated (user, item) pairs: last, first, mean or error",
     nullptr, [](S& s, std::string_view v) { s.duplicates = *data::parse_duplicate_policy(v); }},
    {"checkpoint", "--checkpoint", Kind::Path, 0, 0, {},
     "save the training state (weights, optimiser, epoch) to this file, atomically, every --checkpoint-every epochs",
     nullptr, [](S& s, std::string_view v) { s.checkpoint.path = v; }},
    {"checkpoint_every", "--checkpoint-every", Kind::Integer, 1, 100000, {},
     "epochs between checkpoints (the last is always saved)",
     [](S& s, double v) { s.checkpoint.every = static_cast<std::uint32_t>(v); }, nullptr,
     [](const S& s) { return double(s.checkpoint.every); }},
    {"resume", "--resume", Kind::Flag, 0, 1, {},
     "continue from the --checkpoint file when it exists (it must come from the same data and settings); without it "
     "a new run starts",
     [](S& s, double v) { s.checkpoint.resume = v != 0; }},
    {"zstd_level", "--zstd-level", Kind::Integer, 1, 19, {}, "zstd level of the model file",
     [](S& s, double v) { s.zstd_level = static_cast<int>(v); }, nullptr, [](const S& s) { return double(s.zstd_level); }},
    {"dtype", "--dtype", Kind::Choice, 0, 0, kDTypes, "storage type of the weight matrices: fp32, fp16, bf16 or int8 (per-row scales)",
     nullptr, [](S& s, std::string_view v) { s.dtype = *parse_dtype(v); }},
};

bool is_numeric(const RunOption& o) { return o.kind == Kind::Number || o.kind == Kind::Integer; }

}  // namespace

std::span<const RunOption> run_options() { return kRunOptions; }

const RunOption* find_run_option(std::string_view name) {
  for (const RunOption& o : kRunOptions)
    if (o.name == name) return &o;
  return nullptr;
}

std::string option_label(const RunOption& o) { return "setting " + std::string(o.name) + " (" + std::string(o.flag) + ")"; }

std::string range_text(const RunOption& o) {
  switch (o.kind) {
    case Kind::Flag: return "true or false";
    case Kind::Path: return "a path";
    case Kind::Choice: {
      std::string names;
      for (std::string_view n : o.names) names += (names.empty() ? "" : ", ") + std::string(n);
      return "one of " + names;
    }
    default: break;
  }
  const std::string kind = o.kind == Kind::Integer ? "an integer" : "a number";
  return o.max < kHuge ? kind + " in [" + number_text(o.min) + ", " + number_text(o.max) + "]" : kind;
}

std::string value_problem(const RunOption& o, double value) {
  if (o.kind == Kind::Flag) return value == 0 || value == 1 ? "" : number_text(value) + " is not true or false";
  if (!is_numeric(o)) return number_text(value) + " is not " + range_text(o);
  const bool fits = value >= o.min && value <= o.max && std::isfinite(value);  // NaN fails
  const bool integral = o.kind != Kind::Integer || value == std::floor(value);
  return fits && integral ? "" : number_text(value) + " is not " + range_text(o);
}

std::string value_problem(const RunOption& o, std::string_view text) {
  if (o.kind == Kind::Path) return text.empty() ? "an empty path" : "";
  if (o.kind == Kind::Choice) {
    for (std::string_view n : o.names)
      if (n == text) return "";
    return quoted(text) + " is not " + range_text(o);
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return quoted(text) + " is not " + range_text(o);
  return value_problem(o, v);
}

void set_run_option(const RunOption& o, RunSettings& s, std::string_view text) {
  if (const std::string problem = value_problem(o, text); !problem.empty())
    throw Error(Status::BadInput, option_label(o) + ": " + problem);
  if (o.set_text) return o.set_text(s, text);
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  o.set_number(s, v);
}

void set_run_option(const RunOption& o, RunSettings& s, double value) {
  if (const std::string problem = value_problem(o, value); !problem.empty())
    throw Error(Status::BadInput, option_label(o) + ": " + problem);
  o.set_number(s, value);
}

void check_run_options(const RunSettings& s) {
  for (const RunOption& o : kRunOptions)
    if (o.get)
      if (const std::string problem = value_problem(o, o.get(s)); !problem.empty())
        throw Error(Status::BadInput, option_label(o) + ": " + problem);
}

}  // namespace autorec::train
