#include "setting_options.hpp"

#include <cstdlib>
#include <type_traits>
#include <vector>

#include "autorec/train/run_options.hpp"
#include "autorec/train/settings.hpp"

namespace autorec::tools {

namespace {

using train::ChoiceMember;
using train::Setting;
using train::TrainConfig;

template <typename M>
constexpr bool is_choice = std::is_same_v<std::decay_t<M>, ChoiceMember>;

// "[default recipe 64, textbook 256]" where the recipes differ, else "[0.002]".
std::string recipe_note(const Setting& s) {
  static const TrainConfig textbook = *train::recipe("textbook"), preset = *train::recipe("default");
  const std::string t = train::setting_text(s, textbook), d = train::setting_text(s, preset);
  return t == d ? " [" + t + "]" : " [default recipe " + d + ", textbook " + t + "]";
}

// The range check of a number, with NaN refused (CLI11's Range lets NaN through: it fails both comparisons),
// in the words train::check_settings uses.
CLI::Validator range_check(const Setting& s) {
  return CLI::Validator(
      [&s](std::string& v) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0') return v + " is not a number";
        return train::in_range(s, x) ? std::string() : v + " is not " + train::range_text(s);
      },
      train::range_text(s));
}

// A run option's check, in the words train::set_run_option uses.
CLI::Validator run_option_check(const train::RunOption& o) {
  return CLI::Validator([&o](std::string& v) { return train::value_problem(o, v); }, train::range_text(o));
}

}  // namespace

void add_run_options(CLI::App& app, train::RunSettings& settings) {
  static const train::RunSettings defaults;
  for (const train::RunOption& o : train::run_options()) {
    const std::string flag(o.flag);
    std::string help(o.help);
    if (o.get && o.get(defaults) != 0) help += " [" + train::number_text(o.get(defaults)) + "]";
    if (o.kind == train::RunOption::Kind::Flag) {
      app.add_flag_function(flag, [&settings, &o](std::int64_t n) { o.set_number(settings, n > 0 ? 1 : 0); }, help);
    } else {
      // Checked by the validator before the callback runs: set_run_option does not throw here.
      app.add_option_function<std::string>(flag, [&settings, &o](const std::string& v) { train::set_run_option(o, settings, v); },
                                           help)
          ->check(run_option_check(o))
          ->type_name(o.kind == train::RunOption::Kind::Number    ? "FLOAT"
                      : o.kind == train::RunOption::Kind::Integer ? "INT"
                      : o.kind == train::RunOption::Kind::Path    ? "FILE"
                                                                   : "TEXT");
    }
  }
}

void add_setting_options(CLI::App& app, TrainConfig& config) {
  for (const Setting& s : train::settings()) {
    if (s.flag.empty()) continue;
    const std::string flag(s.flag), help = std::string(s.help) + recipe_note(s);
    std::visit(
        [&](const auto& m) {
          using M = std::decay_t<decltype(m)>;
          if constexpr (is_choice<M>) {
            const std::vector<std::string> names(m.names.begin(), m.names.end());
            app.add_option_function<std::string>(
                   flag,
                   [&config, m, names](const std::string& v) {
                     for (std::size_t i = 0; i < names.size(); ++i)
                       if (names[i] == v) m.set(config, i);
                   },
                   help)
                ->check(CLI::IsMember(names));
          } else if constexpr (std::is_same_v<std::decay_t<decltype(config.*m)>, bool>) {
            app.add_flag(flag, config.*m, help);
          } else {
            app.add_option(flag, config.*m, help)->check(range_check(s));
          }
        },
        s.member);
  }
}

void apply_recipe(const CLI::App& app, const TrainConfig& preset, TrainConfig& config) {
  config.recipe = preset.recipe;
  for (const Setting& s : train::settings())
    if (s.flag.empty() || app.count(std::string(s.first_flag())) == 0) train::copy_setting(s, preset, config);
}

}  // namespace autorec::tools
