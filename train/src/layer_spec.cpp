// Parsing --layers (layer_spec.hpp).
#include "autorec/train/layer_spec.hpp"

#include <cstdint>
#include <stdexcept>
#include <vector>

namespace autorec::train {
namespace {

std::vector<std::string> split_at(const std::string& text, const char* separators) {
  std::vector<std::string> out;
  for (std::size_t b = 0;;) {
    const std::size_t e = text.find_first_of(separators, b);
    out.push_back(text.substr(b, e - b));
    if (e == std::string::npos) return out;
    b = e + 1;
  }
}

}  // namespace

void apply_layer_spec(const std::string& spec, TrainConfig& cfg) {
  const auto bad = [&](const std::string& part, const std::string& why) {
    return Error(Status::BadInput, "--layers '" + spec + "': '" + part + "': " + why);
  };
  const std::vector<std::string> parts = split_at(spec, ",-");
  if (parts.size() > 16) throw bad(spec, "at most 16 hidden layers");
  cfg.inner.clear();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::vector<std::string> f = split_at(parts[i], ":");
    if (f.size() > 3) throw bad(parts[i], "expected SIZE[:ACTIVATION[:DROPOUT]]");
    std::uint32_t size = 0;
    float dropout = i == 0 ? cfg.dropout : 0.0f;
    Activation activation = cfg.encoder;
    try {
      std::size_t used = 0;
      const unsigned long n = std::stoul(f[0], &used);
      if (used != f[0].size() || n < 1 || n > 65536) throw std::invalid_argument("range");
      size = static_cast<std::uint32_t>(n);
      if (f.size() == 3) {
        dropout = std::stof(f[2], &used);
        if (used != f[2].size() || !(dropout >= 0 && dropout <= 0.95f)) throw std::invalid_argument("range");
      }
    } catch (const std::exception&) {
      throw bad(parts[i], "size must be 1..65536 and dropout 0..0.95");
    }
    if (f.size() >= 2) {
      const auto a = parse_activation(f[1]);
      if (!a) throw bad(parts[i], "unknown activation '" + f[1] + "' (identity, sigmoid, tanh, relu, elu, selu)");
      activation = *a;
    }
    if (i == 0) {
      cfg.hidden = size, cfg.encoder = activation, cfg.dropout = dropout;
    } else {
      cfg.inner.push_back({size, activation, dropout});
    }
  }
}

}  // namespace autorec::train
