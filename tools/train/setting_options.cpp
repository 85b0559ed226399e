#include "setting_options.hpp"

#include <cstdlib>
#include <limits>
#include <type_traits>
#include <vector>

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

// The accepted range in words ("> 0", ">= 0", "in [0, 0.95]"), checked with NaN refused (CLI11's Range
// lets NaN through: it fails both comparisons).
CLI::Validator range_check(const Setting& s) {
  const auto text = [](double v) { return CLI::detail::to_string(v); };
  const bool open_ended = s.max >= std::numeric_limits<double>::max();
  const std::string words = !open_ended                                      ? "in [" + text(s.min) + ", " + text(s.max) + "]"
                            : s.min == std::numeric_limits<double>::denorm_min() ? "> 0"
                                                                                 : ">= " + text(s.min);
  const double lo = s.min, hi = s.max;
  return CLI::Validator(
      [lo, hi, words](std::string& v) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0') return v + " is not a number";
        return x >= lo && x <= hi ? std::string() : v + " is not " + words;
      },
      words);
}

}  // namespace

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
  for (const Setting& s : train::settings()) {
    if (!s.flag.empty() && app.count(std::string(s.first_flag())) > 0) continue;
    std::visit(
        [&](const auto& m) {
          if constexpr (is_choice<std::decay_t<decltype(m)>>)
            m.set(config, m.get(preset));
          else
            config.*m = preset.*m;
        },
        s.member);
  }
}

}  // namespace autorec::tools
