// The CUDA training backend's entry points (defined only in builds with AUTOREC_CUDA).
#pragma once

#include <memory>
#include <string>

#include "autorec/train/trainer.hpp"

namespace autorec::train {

// Why no CUDA device can be used (the CUDA error's name and text), or "" when one can.
std::string cuda_device_problem();
std::unique_ptr<TrainBackend> make_cuda_trainer();

}  // namespace autorec::train
