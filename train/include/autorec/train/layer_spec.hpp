// The hidden layers of a network as text: "500,250:tanh,500:sigmoid:0.1", or 500-250-500 (the paper's
// notation, which also fits in an autorec-tune grid).
#pragma once

#include <string>

#include "autorec/train/trainer.hpp"

namespace autorec::train {

// Every hidden layer as SIZE[:ACTIVATION[:DROPOUT]], separated by ',' or '-'; at most 16. The first is the
// encoder's (activation default config.encoder, dropout default config.dropout); the others are inner layers
// (activation default config.encoder, dropout default 0). Sets config.hidden, encoder, dropout and inner;
// throws Error(BadInput) naming the part of `spec` that is wrong.
void apply_layer_spec(const std::string& spec, TrainConfig& config);

}  // namespace autorec::train
