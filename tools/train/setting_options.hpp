// autorec-train's options for the hyperparameters, from the settings table (autorec/train/settings.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include "autorec/train/trainer.hpp"

namespace autorec::tools {

// One option per row with a flag, bound to `config`; the help says the recipes' values.
void add_setting_options(CLI::App& app, train::TrainConfig& config);

// Every setting not given on the command line takes `preset`'s value (the recipe's).
void apply_recipe(const CLI::App& app, const train::TrainConfig& preset, train::TrainConfig& config);

}  // namespace autorec::tools
