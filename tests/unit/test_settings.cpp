// The settings table (autorec/train/settings.hpp) against what it drives: each row's checkpoint key, schema
// field and recipe value, so that a flag, a key and a field can never drift apart, and every field of the
// schema's Hyperparameters is accounted for.
#include <autorec_generated.h>

#include <flatbuffers/minireflect.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "autorec/train/checkpoint.hpp"
#include "autorec/train/run_options.hpp"
#include "autorec/train/settings.hpp"
#include "format/settings_json.hpp"
#include "helpers.hpp"

namespace autorec::test {
namespace {

using train::ChoiceMember;
using train::InCheckpoint;
using train::Setting;
using train::TrainConfig;

// Schema fields the model writer fills from the layers and the run, not from a row.
const std::set<std::string> kWriterFields = {"hidden", "activations", "dropout", "loss_scaling", "recipe"};

// Another valid value of the setting.
void change(const Setting& s, TrainConfig& c) {
  std::visit(
      [&](const auto& m) {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, ChoiceMember>) {
          m.set(c, (m.get(c) + 1) % m.names.size());
        } else {
          using T = std::decay_t<decltype(c.*m)>;
          const double v = static_cast<double>(c.*m);
          if constexpr (std::is_same_v<T, bool>) {
            c.*m = !(c.*m);
          } else if constexpr (std::is_integral_v<T>) {
            c.*m = static_cast<T>(v + 1 <= s.max ? v + 1 : v - 1);
          } else {
            c.*m = static_cast<T>(s.max < 1e300 ? (v < s.max ? (v + s.max) / 2 : (v + s.min) / 2) : 2 * v + 1);
          }
        }
      },
      s.member);
}

// What the model file records for `c`, as the model reader shows it.
nlohmann::json recorded(const TrainConfig& c, bool force_defaults = false) {
  fb::HyperparametersT h;
  train::record_settings(c, h);
  flatbuffers::FlatBufferBuilder fbb;
  fbb.ForceDefaults(force_defaults);
  fbb.Finish(fb::CreateHyperparameters(fbb, &h));
  return nlohmann::json::parse(hyperparameters_json(*flatbuffers::GetRoot<fb::Hyperparameters>(fbb.GetBufferPointer())));
}

// The textbook recipe on Rprop, so that the Rprop-only lambda is recorded too.
TrainConfig base_config() {
  TrainConfig c;
  c.optimizer = TrainConfig::Optimizer::Rprop;
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(settings)

BOOST_AUTO_TEST_CASE(names_are_unique_and_well_formed) {
  std::set<std::string_view> keys, flags, fields;
  for (const Setting& s : train::settings()) {
    BOOST_TEST_CONTEXT("setting " << s.key) {
      BOOST_TEST(keys.insert(s.key).second);
      BOOST_TEST(s.key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string_view::npos);
      if (!s.flag.empty()) {
        BOOST_TEST(flags.insert(s.first_flag()).second);
        BOOST_TEST(s.flag.substr(0, 2) == "--");
        BOOST_TEST(!s.help.empty());
      }
      if (!s.schema.empty()) BOOST_TEST(fields.insert(s.schema).second);
      BOOST_TEST(s.schema.empty() == (s.record == nullptr));  // a field needs its record, and a record its field
      BOOST_TEST(train::find_setting(s.key) == &s);
    }
  }
  BOOST_TEST(train::find_setting("no_such_setting") == nullptr);
}

BOOST_AUTO_TEST_CASE(every_schema_field_is_a_row_or_the_writers) {
  std::set<std::string> rows;
  for (const Setting& s : train::settings())
    if (!s.schema.empty()) rows.insert(std::string(s.schema));
  const flatbuffers::TypeTable& tt = *fb::HyperparametersTypeTable();
  std::set<std::string> schema;
  for (std::size_t i = 0; i < tt.num_elems; ++i) {
    const std::string name = tt.names[i];
    schema.insert(name);
    BOOST_TEST_CONTEXT("schema field " << name) {
      BOOST_TEST(rows.count(name) + kWriterFields.count(name) == 1u);
    }
  }
  for (const std::string& r : rows) BOOST_TEST_CONTEXT("row field " << r) { BOOST_TEST(schema.count(r) == 1u); }
}

BOOST_AUTO_TEST_CASE(each_row_reaches_its_own_schema_field_and_no_other) {
  const TrainConfig base = base_config();
  const nlohmann::json before = recorded(base);
  for (const Setting& s : train::settings()) {
    if (s.schema.empty()) continue;
    BOOST_TEST_CONTEXT("setting " << s.key << " -> " << s.schema) {
      TrainConfig c = base;
      change(s, c);
      train::check_settings(c);
      const nlohmann::json after = recorded(c);
      for (const auto& [field, value] : after.items()) {
        // Rprop's lambda is recorded only under Rprop: the optimizer's row moves it to 0.
        const bool coupled = s.key == "optimizer" && field == "l2_lambda";
        BOOST_TEST((value != before.at(field)) == (field == s.schema || coupled),
                   field << ": " << before.at(field) << " -> " << value);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(each_row_reaches_its_checkpoint_key) {
  const TrainConfig base = base_config();
  const std::string before = train::settings_json(base);
  for (const Setting& s : train::settings()) {
    BOOST_TEST_CONTEXT("setting " << s.key) {
      TrainConfig c = base;
      change(s, c);
      const std::string difference = train::settings_difference(before, train::settings_json(c));
      if (s.checkpoint == InCheckpoint::Never)
        BOOST_TEST(difference.empty(), difference);
      else
        BOOST_TEST(difference.rfind(std::string(s.key) + ":", 0) == 0u, difference);
    }
  }
  // A setting added later is left out at 0, so that a checkpoint from before it still matches.
  const nlohmann::json j = nlohmann::json::parse(before);
  for (const Setting& s : train::settings())
    if (s.checkpoint == InCheckpoint::WhenSet) BOOST_TEST(!j.contains(std::string(s.key)), s.key);
}

BOOST_AUTO_TEST_CASE(every_schema_default_is_zero) {
  // The model reader reads an absent number as 0 (it has no defaults from the reflection tables).
  const nlohmann::json j = recorded(TrainConfig{}, true);
  fb::HyperparametersT defaults;  // the schema's defaults, written out by ForceDefaults
  flatbuffers::FlatBufferBuilder fbb;
  fbb.ForceDefaults(true);
  fbb.Finish(fb::CreateHyperparameters(fbb, &defaults));
  const nlohmann::json d =
      nlohmann::json::parse(hyperparameters_json(*flatbuffers::GetRoot<fb::Hyperparameters>(fbb.GetBufferPointer())));
  for (const auto& [field, value] : d.items())
    if (value.is_number() || value.is_boolean()) BOOST_TEST((value == 0 || value == false), field << " = " << value);
  BOOST_TEST(j.at("learning_rate").get<double>() == TrainConfig{}.learning_rate);
}

BOOST_AUTO_TEST_CASE(recipes_come_from_the_table) {
  const TrainConfig textbook = *train::recipe("textbook"), preset = *train::recipe("default");
  BOOST_TEST(!train::recipe("other").has_value());
  BOOST_TEST(textbook.recipe == "textbook");
  BOOST_TEST(preset.recipe == "default");
  train::check_settings(textbook);
  train::check_settings(preset);
  for (const Setting& s : train::settings()) {
    BOOST_TEST_CONTEXT("setting " << s.key) {
      BOOST_TEST(train::setting_text(s, textbook) == train::setting_text(s, TrainConfig{}));
      // The default recipe differs from the textbook exactly where the table gives it a value.
      BOOST_TEST((train::setting_text(s, preset) != train::setting_text(s, textbook)) == s.default_recipe.has_value());
    }
  }
  // The values the default recipe is documented with (docs/RESULTS.md).
  BOOST_TEST(preset.batch_size == 64u);
  BOOST_TEST(preset.epochs == 100u);
  BOOST_TEST(preset.decoupled_decay == 4.0);
  BOOST_TEST(preset.input_norm == 0.5f);
  BOOST_TEST(!preset.decay_biases);
  BOOST_TEST((preset.schedule == TrainConfig::Schedule::Cosine));
}

BOOST_AUTO_TEST_CASE(choices_are_named_as_the_library_names_them) {
  const auto names = [](std::string_view key) { return std::get<ChoiceMember>(train::find_setting(key)->member).names; };
  for (std::size_t i = 0; i < names("encoder").size(); ++i) {
    BOOST_TEST(names("encoder")[i] == activation_name(static_cast<Activation>(i)));
    BOOST_TEST(names("decoder")[i] == activation_name(static_cast<Activation>(i)));
  }
  BOOST_TEST(names("variant")[1] == variant_name(Variant::UserBased));
}

BOOST_AUTO_TEST_CASE(check_settings_names_the_setting_and_its_flag) {
  TrainConfig c;
  c.learning_rate = std::nan("");
  check_error(Status::BadInput, {"setting lr (--lr): nan is not > 0"}, [&] { train::check_settings(c); });
  c = TrainConfig{};
  c.dropout = 0.99f;
  check_error(Status::BadInput, {"setting dropout (--dropout)", "0.99"}, [&] { train::check_settings(c); });
  c = TrainConfig{};
  c.beta2 = 1.5;
  check_error(Status::BadInput, {"setting beta2:", "1.5"}, [&] { train::check_settings(c); });
}

BOOST_AUTO_TEST_SUITE_END()

// The run options' table (autorec/train/run_options.hpp): one name per option, the flag spelled from it,
// each setter reaching its own member, and the refusals in the words both front ends print.
BOOST_AUTO_TEST_SUITE(run_options)

using train::RunOption;
using train::RunSettings;

BOOST_AUTO_TEST_CASE(names_are_the_flags_and_clash_with_no_hyperparameter) {
  std::set<std::string> names;
  for (const Setting& s : train::settings()) names.insert(std::string(s.key));
  for (const RunOption& o : train::run_options()) {
    std::string flag = "--" + std::string(o.name);
    std::replace(flag.begin(), flag.end(), '_', '-');
    BOOST_TEST(o.flag == flag);
    BOOST_TEST(names.insert(std::string(o.name)).second, o.name << " is named twice");
    BOOST_TEST(train::find_run_option(o.name) == &o);
    BOOST_TEST(!o.help.empty());
    BOOST_TEST(((o.set_number != nullptr) != (o.set_text != nullptr)), o.name);
    const bool numeric = o.kind == RunOption::Kind::Number || o.kind == RunOption::Kind::Integer;
    BOOST_TEST((o.get != nullptr) == numeric, o.name);
  }
  BOOST_TEST(train::find_run_option("no_such_option") == nullptr);
}

BOOST_AUTO_TEST_CASE(each_option_reaches_its_own_member) {
  const auto set = [](std::string_view name, std::string_view text) {
    RunSettings s;
    train::set_run_option(*train::find_run_option(name), s, text);
    return s;
  };
  BOOST_TEST(set("test_ratio", "0.25").test_ratio == 0.25);
  BOOST_TEST(*set("rating_min", "-2").scale.min == -2.0f);
  BOOST_TEST(!set("rating_min", "-2").scale.max.has_value());
  BOOST_TEST(*set("rating_max", "10").scale.max == 10.0f);
  BOOST_TEST((set("duplicates", "mean").duplicates == data::DuplicatePolicy::Mean));
  BOOST_TEST(set("checkpoint", "run.ckpt").checkpoint.path == "run.ckpt");
  BOOST_TEST(set("checkpoint_every", "7").checkpoint.every == 7u);
  BOOST_TEST(set("zstd_level", "19").zstd_level == 19);
  BOOST_TEST((set("dtype", "int8").dtype == DType::I8));
  RunSettings s;
  train::set_run_option(*train::find_run_option("refit"), s, 1.0);
  train::set_run_option(*train::find_run_option("resume"), s, 1.0);
  BOOST_TEST(s.refit);
  BOOST_TEST(s.checkpoint.resume);
  BOOST_TEST(s.checkpoint.path.empty());  // resume alone sets no path
}

BOOST_AUTO_TEST_CASE(values_outside_the_range_or_the_kind_are_refused_with_nothing_changed) {
  const RunOption& level = *train::find_run_option("zstd_level");
  const RunOption& ratio = *train::find_run_option("test_ratio");
  RunSettings s;
  check_error(Status::BadInput, {"setting zstd_level (--zstd-level): 2.5 is not an integer in [1, 19]"},
              [&] { train::set_run_option(level, s, "2.5"); });
  check_error(Status::BadInput, {"20 is not an integer in [1, 19]"}, [&] { train::set_run_option(level, s, 20.0); });
  check_error(Status::BadInput, {"'3x' is not an integer"}, [&] { train::set_run_option(level, s, "3x"); });
  check_error(Status::BadInput, {"setting test_ratio (--test-ratio): 0.95 is not a number in [0, 0.9]"},
              [&] { train::set_run_option(ratio, s, "0.95"); });
  check_error(Status::BadInput, {"nan is not"}, [&] { train::set_run_option(ratio, s, std::nan("")); });
  check_error(Status::BadInput, {"inf is not a number"},
              [&] { train::set_run_option(*train::find_run_option("rating_max"), s, "inf"); });
  check_error(Status::BadInput, {"setting dtype (--dtype): 'fp8' is not one of fp32, fp16, bf16, int8"},
              [&] { train::set_run_option(*train::find_run_option("dtype"), s, "fp8"); });
  check_error(Status::BadInput, {"setting checkpoint (--checkpoint): an empty path"},
              [&] { train::set_run_option(*train::find_run_option("checkpoint"), s, ""); });
  const RunSettings untouched;
  BOOST_TEST(s.zstd_level == untouched.zstd_level);
  BOOST_TEST(s.test_ratio == untouched.test_ratio);
  BOOST_TEST(!s.scale.max.has_value());
  BOOST_TEST(s.checkpoint.path.empty());
  BOOST_CHECK_NO_THROW(train::check_run_options(untouched));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace autorec::test
