// autorec-train's options for the hyperparameters and the run, from the settings table
// (autorec/train/settings.hpp) and the run options' (autorec/train/run_options.hpp).
#pragma once

#include <CLI/CLI.hpp>

#include "autorec/train/pipeline.hpp"

namespace autorec::tools {

// One option per row with a flag, bound to `config`; the help says the recipes' values.
void add_setting_options(CLI::App& app, train::TrainConfig& config);

// One option per row of the run options' table (autorec/train/run_options.hpp), bound to `settings`.
void add_run_options(CLI::App& app, train::RunSettings& settings);

// Every setting not given on the command line takes `preset`'s value (the recipe's).
void apply_recipe(const CLI::App& app, const train::TrainConfig& preset, train::TrainConfig& config);

}  // namespace autorec::tools
