#include "autorec/train/settings.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>

#include "autorec/error.hpp"
#include "autorec_generated.h"

namespace autorec::train {

namespace {

constexpr double kHuge = std::numeric_limits<double>::max();
constexpr double kTiny = std::numeric_limits<double>::denorm_min();  // "> 0"

// The variants' and activations' names are the library's (kVariantNames, kActivationNames in autorec/model.hpp).
constexpr std::array<std::string_view, 2> kSchedules = {"constant", "cosine"};
constexpr std::array<std::string_view, 2> kOptimizers = {"adam", "rprop"};
constexpr std::array<std::string_view, 3> kDevices = {"auto", "cpu", "cuda"};

template <auto Member>
constexpr ChoiceMember choice(std::span<const std::string_view> names) {
  using Enum = std::remove_cvref_t<decltype(std::declval<TrainConfig>().*Member)>;
  return {names, [](const TrainConfig& c) { return static_cast<std::size_t>(c.*Member); },
          [](TrainConfig& c, std::size_t i) { c.*Member = static_cast<Enum>(i); }};
}

// The usual record: the schema field is the setting, converted to the field's type.
template <auto Member, auto Field>
void copy(const TrainConfig& c, fb::HyperparametersT& h) {
  using To = std::remove_cvref_t<decltype(h.*Field)>;
  h.*Field = static_cast<To>(c.*Member);
}

// The record of a choice: its name.
template <auto Member, auto Field, const auto& Names>
void copy_name(const TrainConfig& c, fb::HyperparametersT& h) {
  h.*Field = Names[static_cast<std::size_t>(c.*Member)];
}

// The names of the enums above are their values in order (TrainConfig, autorec/model.hpp, autorec/math.hpp).
static_assert(static_cast<int>(Activation::Selu) == 5 && static_cast<int>(Device::Cuda) == 2 &&
              static_cast<int>(Variant::UserBased) == 1 && static_cast<int>(TrainConfig::Schedule::Cosine) == 1 &&
              static_cast<int>(TrainConfig::Optimizer::Rprop) == 1);

using C = TrainConfig;
using H = fb::HyperparametersT;

// The default recipe's values were chosen on validation data only (ML-1M seed-1 training part, 10% held
// out; docs/RESULTS.md): AdamW's decoupled decay in place of the L2 term folded into Adam, biases not decayed
// (as in the paper's objective), a cosine learning rate over a fixed number of epochs, batches of 64 columns,
// and the encoder reading each rating scaled by (mean column length / the column's length)^0.5 (SVD++'s
// |N|^-1/2; an input offset helped ML-100K's validation data but not ML-1M's once the norm was there).
// Same network and initialisation as the textbook recipe.
const Setting kSettings[] = {
    {"variant", "--variant", "", choice<&C::variant>(kVariantNames), 0, 0, {},
     "item (I-AutoRec: a column is an item's ratings) or user (U-AutoRec)"},
    // hidden, encoder, decoder and dropout are recorded with the layer shapes (Hyperparameters.hidden,
    // activations, dropout) by the model writer.
    {"hidden", "--hidden", "", &C::hidden, 1, 65536, {}, "hidden units"},
    {"encoder", "--encoder", "", choice<&C::encoder>(kActivationNames), 0, 0, {}, "encoder activation g"},
    {"decoder", "--decoder", "", choice<&C::decoder>(kActivationNames), 0, 0, {}, "decoder activation f"},
    {"dropout", "--dropout", "", &C::dropout, 0, 0.95, {}, "dropout after the encoder (training only)"},
    {"input_dropout", "--input-dropout", "input_dropout", &C::input_dropout, 0, 0.95, {},
     "share of each column's ratings hidden from the encoder while training (denoising; CPU)", InCheckpoint::Always,
     copy<&C::input_dropout, &H::input_dropout>},
    {"input_offset", "--input-offset", "input_offset", &C::input_offset, -1e6, 1e6, {},
     "the encoder reads rating + this at each rated entry (0 elsewhere), so that it tells who rated apart from "
     "how; in model units (the scale's ends at 1 and 5: stars)",
     InCheckpoint::WhenSet, copy<&C::input_offset, &H::input_offset>},
    {"input_norm", "--input-norm", "input_norm", &C::input_norm, 0, 4, 0.5,
     "scale each column's encoder input by (mean column length / its length)^P (0 = off; 0.5 as SVD++ does)",
     InCheckpoint::WhenSet, copy<&C::input_norm, &H::input_norm>},
    {"lr", "--lr", "learning_rate", &C::learning_rate, kTiny, kHuge, {}, "Adam learning rate", InCheckpoint::Always,
     copy<&C::learning_rate, &H::learning_rate>},
    {"weight_decay", "--weight-decay", "weight_decay", &C::weight_decay, 0, kHuge, 0,
     "L2 weight decay (added to the Adam gradient)", InCheckpoint::Always, copy<&C::weight_decay, &H::weight_decay>},
    {"decay_biases", "--decay-biases,!--no-decay-biases", "decay_biases", &C::decay_biases, 0, 1, 0,
     "--no-decay-biases applies the weight decay to W and V only (the paper's loss)", InCheckpoint::Always,
     copy<&C::decay_biases, &H::decay_biases>},
    {"adamw_decay", "--adamw-decay", "decoupled_decay", &C::decoupled_decay, 0, kHuge, 4.0,
     "AdamW: decoupled weight decay (p *= 1 - lr * d each step)", InCheckpoint::Always,
     copy<&C::decoupled_decay, &H::decoupled_decay>},
    {"lr_schedule", "--lr-schedule", "lr_schedule", choice<&C::schedule>(kSchedules), 0, 0,
     double(TrainConfig::Schedule::Cosine), "constant, or cosine down to --lr-min at the last epoch",
     InCheckpoint::Always, copy_name<&C::schedule, &H::lr_schedule, kSchedules>},
    {"lr_min", "--lr-min", "lr_min", &C::lr_min, 0, kHuge, 1e-5, "final learning rate of the cosine schedule",
     InCheckpoint::Always, copy<&C::lr_min, &H::lr_min>},
    // The cosine's length when it differs from the epochs run (a refit); set by the pipeline.
    {"schedule_epochs", "", "", &C::schedule_epochs, 0, 1e9, {}, "", InCheckpoint::Always},
    {"optimizer", "--optimizer", "optimizer", choice<&C::optimizer>(kOptimizers), 0, 0, {},
     "adam (mini-batch, default) or rprop (full batch, the paper's objective)", InCheckpoint::Always,
     [](const C& c, H& h) {
       h.optimizer = c.optimizer == C::Optimizer::Rprop ? "rprop" : c.decoupled_decay > 0 ? "adamw" : "adam";
     }},
    {"lambda", "--lambda", "l2_lambda", &C::l2_lambda, 0, kHuge, {},
     "rprop: L2 weight of the paper's objective (lambda/2 |W|^2 + |V|^2)", InCheckpoint::Always,
     [](const C& c, H& h) { h.l2_lambda = c.optimizer == C::Optimizer::Rprop ? c.l2_lambda : 0.0; }},
    {"beta1", "", "", &C::beta1, 0, 1, {}, ""},
    {"beta2", "", "", &C::beta2, 0, 1, {}, ""},
    {"eps", "", "", &C::eps, kTiny, 1, {}, ""},
    {"batch", "--batch", "batch_size", &C::batch_size, 1, 1 << 20, 64, "columns per optimiser step",
     InCheckpoint::Always, copy<&C::batch_size, &H::batch_size>},
    {"epochs", "--epochs", "epochs", &C::epochs, 1, 100000, 100, "epochs", InCheckpoint::Always,
     copy<&C::epochs, &H::epochs>},
    {"seed", "--seed", "seed", &C::seed, 0, kHuge, {}, "seed of initialisation, shuffling, dropout and the splits",
     InCheckpoint::Always, copy<&C::seed, &H::seed>},
    {"init_std", "--init-std", "init_std", &C::init_std, kTiny, kHuge, {}, "std of the N(0, s) initial weights",
     InCheckpoint::Always, copy<&C::init_std, &H::init_std>},
    {"val_ratio", "--val-ratio", "val_ratio", &C::val_ratio, 0, 0.5, {},
     "share of training ratings held out for validation / early stopping", InCheckpoint::Always,
     copy<&C::val_ratio, &H::val_ratio>},
    {"patience", "--patience", "patience", &C::patience, 0, 0xFFFFFFFFu, {},
     "stop after N epochs without a better validation RMSE (0 = off)", InCheckpoint::Always,
     copy<&C::patience, &H::patience>},
    {"threads", "--threads", "threads", &C::threads, 0, 1024, {}, "threads (0 = all cores)", InCheckpoint::Never,
     copy<&C::threads, &H::threads>},
    {"device", "--device", "", choice<&C::device>(kDevices), 0, 0, {}, "auto, cpu or cuda", InCheckpoint::Never},
};

}  // namespace

std::span<const Setting> settings() { return kSettings; }

const Setting* find_setting(std::string_view key) {
  for (const Setting& s : kSettings)
    if (s.key == key) return &s;
  return nullptr;
}

std::string setting_text(const Setting& s, const TrainConfig& config) {
  return std::visit(
      [&](const auto& m) -> std::string {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, ChoiceMember>) {
          const std::size_t i = m.get(config);
          return i < m.names.size() ? std::string(m.names[i]) : "choice " + std::to_string(i);
        } else if constexpr (std::is_same_v<std::decay_t<decltype(config.*m)>, bool>) {
          return config.*m ? "true" : "false";
        } else {
          return number_text(config.*m);
        }
      },
      s.member);
}

double setting_value(const Setting& s, const TrainConfig& config) {
  return std::visit(
      [&](const auto& m) {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, ChoiceMember>)
          return static_cast<double>(m.get(config));
        else
          return static_cast<double>(config.*m);
      },
      s.member);
}

void set_setting(const Setting& s, TrainConfig& config, double value) {
  std::visit(
      [&](const auto& m) {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, ChoiceMember>)
          m.set(config, static_cast<std::size_t>(value));
        else
          config.*m = static_cast<std::decay_t<decltype(config.*m)>>(value);
      },
      s.member);
}

void copy_setting(const Setting& s, const TrainConfig& from, TrainConfig& to) {
  std::visit(
      [&](const auto& m) {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, ChoiceMember>)
          m.set(to, m.get(from));
        else
          to.*m = from.*m;  // exact, where a double would round a 64-bit seed
      },
      s.member);
}

std::string range_text(const Setting& s) {
  if (const auto* choice = std::get_if<ChoiceMember>(&s.member)) {
    std::string names;
    for (std::string_view n : choice->names) names += (names.empty() ? "" : ", ") + std::string(n);
    return "one of " + names;
  }
  if (s.max < kHuge) return "in [" + number_text(s.min) + ", " + number_text(s.max) + "]";
  return s.min == kTiny ? "> 0" : ">= " + number_text(s.min);
}

bool in_range(const Setting& s, double value) {
  if (const auto* choice = std::get_if<ChoiceMember>(&s.member)) return value >= 0 && value < double(choice->names.size());
  return value >= s.min && value <= s.max;  // false for NaN
}

void check_settings(const TrainConfig& config) {
  for (const Setting& s : kSettings)
    if (!in_range(s, setting_value(s, config)))
      throw Error(Status::BadInput, "setting " + std::string(s.key) +
                                        (s.flag.empty() ? "" : " (" + std::string(s.first_flag()) + ")") + ": " +
                                        setting_text(s, config) + " is not " + range_text(s));
}

void record_settings(const TrainConfig& config, fb::HyperparametersT& h) {
  for (const Setting& s : kSettings)
    if (s.record) s.record(config, h);
}

std::optional<TrainConfig> recipe(std::string_view name) {
  TrainConfig c;  // the textbook recipe
  if (name == "textbook") return c;
  if (name != "default") return std::nullopt;
  c.recipe = "default";
  for (const Setting& s : kSettings)
    if (s.default_recipe) set_setting(s, c, *s.default_recipe);
  return c;
}

}  // namespace autorec::train
