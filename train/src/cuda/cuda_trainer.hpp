// The CUDA training backend's entry points (defined only in builds with AUTOREC_CUDA).
#pragma once

#include <memory>

#include "autorec/train/trainer.hpp"

namespace autorec::train {

bool cuda_device_present();
std::unique_ptr<TrainBackend> make_cuda_trainer();

}  // namespace autorec::train
