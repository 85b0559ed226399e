// The optimisers: Adam/AdamW (the recipe) and iRprop- (the paper's full-batch training), their schedules and
// step constants, their state and its names in checkpoints. One definition for every backend: the CPU
// trainer keeps the state below; the CUDA trainer keeps Adam's moments on the device and converts them to
// AdamState to save or restore them, so a checkpoint moves between the two. The per-element Adam step itself
// is infer/src/kernels/adam_step.hpp (compiled into the CPU kernels at every instruction-set level and into
// the CUDA kernels).
#pragma once

#include <cstdint>
#include <string_view>

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

// Adam's first and second moments of every parameter, shaped as the network's weights; zero at the start.
struct AdamState {
  Weights m, v;
};
AdamState adam_state(const Weights& shape);

// iRprop-: the epoch's gradient sums, the previous step's gradients (0 after a sign change) and each
// parameter's step size (kRpropStep0 at the start, grown by 1.2 while the gradient keeps its sign, halved when
// it flips, within [kRpropStepMin, kRpropStepMax]).
struct RpropState {
  Weights g, prev, step;
};
inline constexpr float kRpropStep0 = 1e-3f, kRpropStepMin = 1e-7f, kRpropStepMax = 0.05f;
RpropState rprop_state(const Weights& shape);
// One iRprop- step of every parameter of `w` from state.g, on `threads` threads.
void rprop_update(RpropState& state, Weights& w, int threads);

// The state as checkpoint tensors, named "<optimiser>.<tensor>.<quantity>" after named_tensors: Adam's
// "adam.V.m", "adam.V.v", ..., "adam.inner.0.M.m"; Rprop's "rprop.W.prev", "rprop.W.step" (its gradient sums
// are rebuilt every epoch, so they are not saved).
OptimizerState save_state(const AdamState& state, std::uint64_t step);
OptimizerState save_state(const RpropState& state, std::uint64_t step);
// Fills `state` (shaped for this run) from checkpoint tensors found by name. Throws Error(Corrupt) naming the
// tensor when one is missing, has another size, or is not this optimiser's, before changing anything;
// `backend` ("the cpu trainer") goes in the message.
void restore_state(AdamState& state, const OptimizerState& saved, std::string_view backend);
void restore_state(RpropState& state, const OptimizerState& saved, std::string_view backend);

}  // namespace autorec::train
