// The optimisers' schedules and step constants, one definition for every backend (the CPU trainer and the
// CUDA kernels apply them element by element through infer/src/kernels/adam_step.hpp).
#pragma once

#include <cstdint>

#include "autorec/train/trainer.hpp"
#include "kernels/adam_step.hpp"

namespace autorec::train {

// The Adam constants of optimiser step t (from 1) in `epoch` (from 1) for the weights and for the biases (no
// decay there when config.decay_biases is off).
struct AdamSteps {
  AdamStep weights, biases;
};
AdamSteps adam_steps(const TrainConfig& config, std::uint64_t t, std::uint32_t epoch);
// The learning rate of an epoch under config.schedule.
double learning_rate_at(const TrainConfig& config, std::uint32_t epoch);

}  // namespace autorec::train
