// autorec-bench --train-epoch: the time of a training epoch on synthetic data generated in memory, with the
// host's share (generation, the sparse matrix, the device's setup, each epoch's batch preparation) reported
// apart from the epoch itself, so a GPU figure is not hidden behind parsing a 1.4 GB text file.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>

#include "autorec/model.hpp"

namespace autorec::tools {

struct TrainEpochOptions {
  std::uint32_t users = 480189, items = 17770;  // Netflix's shape
  double density = 0.0117;                      // Netflix's share of rated cells (about 100M ratings)
  std::uint32_t hidden = 500, epochs = 3;
  unsigned threads = 0;
  Device device = Device::Auto;
  // Called with each epoch's figures as it ends, so that a run cut short still leaves them.
  std::function<void(const nlohmann::json&)> on_epoch;
};

// Generates the set (split seed 1, a tenth held out, as autorec-synth --split-dir), trains `epochs` epochs of
// the textbook recipe and returns the timings as JSON.
nlohmann::json bench_train_epoch(const TrainEpochOptions& options);

}  // namespace autorec::tools
