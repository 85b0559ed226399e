// The hyperparameters, described once. Each row of settings() names a TrainConfig member with its
// autorec-train flag, its checkpoint key, the fb::Hyperparameters field that records it in the model file, its
// range, the default recipe's value where that differs from the textbook one (TrainConfig's initialiser) and
// its help text. autorec-train's options, recipe(), the checkpoint's settings, the model file's record and the
// range check of a run are all produced from the table; the model reader prints the recorded fields by their
// schema names (ModelInfo::hyperparameters_json, autorec-inspect), walking the schema, so they follow it too.
// Adding a hyperparameter: a TrainConfig member, a row here (and a schema field if the file records it), and
// the code that uses it.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "autorec/train/trainer.hpp"

namespace autorec::fb {
struct HyperparametersT;
}

namespace autorec::train {

// A setting that takes one of a few names, held in TrainConfig as an enum whose values are the names' indices.
struct ChoiceMember {
  std::span<const std::string_view> names;
  std::size_t (*get)(const TrainConfig&);
  void (*set)(TrainConfig&, std::size_t);
};

// Where a setting lives in TrainConfig: a number or flag of its own type, or a choice.
using SettingMember = std::variant<bool TrainConfig::*, int TrainConfig::*, std::uint32_t TrainConfig::*,
                                   std::uint64_t TrainConfig::*, float TrainConfig::*, double TrainConfig::*,
                                   ChoiceMember>;

// How a setting enters a checkpoint's settings (which a resume must match).
enum class InCheckpoint : std::uint8_t {
  Always,
  WhenSet,  // added after checkpoints existed: left out at 0, so that older checkpoints still resume
  Never,    // does not shape the run's trajectory (threads, the device)
};

struct Setting {
  std::string_view key;     // the checkpoint key, and the setting's name in messages
  std::string_view flag;    // autorec-train's option in CLI11's syntax ("--lr"); "" for one without a flag
  std::string_view schema;  // the fb::Hyperparameters field that records it; "" when the file does not
  SettingMember member;
  double min = 0, max = 0;                // the accepted range of a number (inclusive)
  std::optional<double> default_recipe;  // the default recipe's value where it differs (a choice: its index)
  std::string_view help;
  InCheckpoint checkpoint = InCheckpoint::Always;
  // Writes the schema field (set exactly when `schema` is): a copy, or 0 where the setting does not apply.
  void (*record)(const TrainConfig&, fb::HyperparametersT&) = nullptr;

  // The option's first name ("--decay-biases" of "--decay-biases,!--no-decay-biases"), for CLI11's count().
  std::string_view first_flag() const { return flag.substr(0, flag.find(',')); }
};

// A number's shortest text that reads back to the same value ("0.002", "25"); whole numbers in digits
// ("100000", not "1e+05").
template <typename T>
std::string number_text(T v) {
  char buf[64];
  std::to_chars_result r;
  if constexpr (std::is_floating_point_v<T>)
    r = v > -1e15 && v < 1e15 && v == std::trunc(v)  // NaN and huge values fail first
            ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
            : std::to_chars(buf, buf + sizeof buf, v);
  else
    r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Every hyperparameter, in the order autorec-train's help lists them.
std::span<const Setting> settings();
// The row of a checkpoint key; nullptr for one that is not in the table.
const Setting* find_setting(std::string_view key);

// The value as text ("0.002", "cosine", "true"); numbers at round-trip precision.
std::string setting_text(const Setting& s, const TrainConfig& config);
// The value as a number (a choice: its index; a flag: 0 or 1), and setting it from one (recipe()).
double setting_value(const Setting& s, const TrainConfig& config);
void set_setting(const Setting& s, TrainConfig& config, double value);
// to's setting = from's, exactly.
void copy_setting(const Setting& s, const TrainConfig& from, TrainConfig& to);

// The accepted values in words, for messages and help: "> 0", ">= 0", "in [0, 0.95]", "one of adam, rprop".
std::string range_text(const Setting& s);
// Whether a value (as setting_value gives it) is accepted; NaN never is.
bool in_range(const Setting& s, double value);

// Throws Error(BadInput) naming the first setting outside its range, or not a number: "setting lr (--lr):
// nan is not > 0". train::run calls it.
void check_settings(const TrainConfig& config);

// Fills the fields of `h` that the table records (the layer shapes, the recipe's name and the loss scaling
// are the model writer's).
void record_settings(const TrainConfig& config, fb::HyperparametersT& h);

}  // namespace autorec::train
