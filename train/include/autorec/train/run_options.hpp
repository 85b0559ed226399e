// The options of a run besides the hyperparameters (settings.hpp): RunSettings' splits, scale, model file and
// checkpoint members, described once so that autorec-train's flags and autorec.train's keywords take the same
// names, ranges and messages, and so that train::run refuses an out-of-range value from any caller.
// The options about reading files (--skip-bad-lines, --test, --validation) and --layers stay with the front
// ends, which read the files and parse the layer text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "autorec/train/pipeline.hpp"

namespace autorec::train {

struct RunOption {
  enum class Kind : std::uint8_t { Number, Integer, Flag, Choice, Path };
  std::string_view name;  // autorec.train's keyword and the option's name in messages ("test_ratio")
  std::string_view flag;  // autorec-train's option ("--test-ratio")
  Kind kind;
  double min = 0, max = 0;                  // Number and Integer: the accepted range (inclusive)
  std::span<const std::string_view> names;  // Choice: the accepted names
  std::string_view help;
  // Sets the option from a checked value: a number (a flag: 0 or 1), or a text (a choice's name, a path).
  void (*set_number)(RunSettings&, double) = nullptr;
  void (*set_text)(RunSettings&, std::string_view) = nullptr;
  // Number and Integer: the value, for run()'s check and the help's default.
  double (*get)(const RunSettings&) = nullptr;
};

// Every run option, in the order autorec-train's help lists them.
std::span<const RunOption> run_options();
// The option of a name ("zstd_level"); nullptr for one that is not in the table.
const RunOption* find_run_option(std::string_view name);

// "setting zstd_level (--zstd-level)": how every message about the option starts.
std::string option_label(const RunOption& o);
// The accepted values in words: "in [0, 0.9]", "an integer in [1, 19]", "one of last, first, mean, error".
std::string range_text(const RunOption& o);
// What is wrong with a value ("0.95 is not in [0, 0.9]", "2.5 is not an integer"), or "" when it is accepted.
// A text is what a command line gives; a number what a typed caller gives (Number, Integer and Flag).
std::string value_problem(const RunOption& o, std::string_view text);
std::string value_problem(const RunOption& o, double value);

// Set the option, or throw Error(BadInput) "setting zstd_level (--zstd-level): 25 is not an integer in [1, 19]".
void set_run_option(const RunOption& o, RunSettings& s, std::string_view text);
void set_run_option(const RunOption& o, RunSettings& s, double value);

// Throws as set_run_option does for the first numeric option outside its range; train::run calls it.
void check_run_options(const RunSettings& s);

}  // namespace autorec::train
