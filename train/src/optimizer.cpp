// The optimisers' schedules, state, iRprop- step and state tensors (optimizer.hpp).
#include "autorec/train/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "autorec/error.hpp"
#include "autorec/text.hpp"

namespace autorec::train {

double learning_rate_at(const TrainConfig& c, std::uint32_t epoch) {
  const std::uint32_t length = c.schedule_epochs ? c.schedule_epochs : c.epochs;
  if (c.schedule == TrainConfig::Schedule::Constant || length <= 1) return c.learning_rate;
  const double progress = double(std::min(epoch, length) - 1) / double(length - 1);  // 0 first, 1 at the end
  return c.lr_min + (c.learning_rate - c.lr_min) * 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
}

AdamSteps adam_steps(const TrainConfig& c, std::uint64_t t, std::uint32_t epoch) {
  const auto bc1 = float(1.0 - std::pow(c.beta1, double(t))), bc2 = float(1.0 - std::pow(c.beta2, double(t)));
  const double lr = learning_rate_at(c, epoch);
  AdamSteps s;
  s.weights = {float(lr) / bc1, 1.0f / std::sqrt(bc2), float(c.beta1), float(c.beta2), float(c.eps),
               float(c.weight_decay), float(1.0 - lr * c.decoupled_decay)};
  s.biases = s.weights;
  if (!c.decay_biases) s.biases.weight_decay = 0, s.biases.shrink = 1.0f;
  return s;
}

AdamState adam_state(const Weights& shape) { return {zero_weights(shape), zero_weights(shape)}; }

RpropState rprop_state(const Weights& shape) {
  RpropState s{zero_weights(shape), zero_weights(shape), zero_weights(shape)};
  for (auto& [name, step] : named_tensors(s.step)) std::fill(step->begin(), step->end(), kRpropStep0);
  return s;
}

void rprop_update(RpropState& state, Weights& w, int threads) {
  const auto params = named_tensors(w), g = named_tensors(state.g), prev = named_tensors(state.prev),
             step = named_tensors(state.step);
  for (std::size_t t = 0; t < params.size(); ++t) {
    float *p = params[t].second->data(), *gt = g[t].second->data(), *pt = prev[t].second->data(),
          *st = step[t].second->data();
    const std::size_t n = params[t].second->size();
#pragma omp parallel for simd num_threads(threads) schedule(static)
    for (std::size_t i = 0; i < n; ++i) {
      const float prod = gt[i] * pt[i];
      float gi = gt[i];
      if (prod > 0) st[i] = std::min(st[i] * 1.2f, kRpropStepMax);
      if (prod < 0) st[i] = std::max(st[i] * 0.5f, kRpropStepMin), gi = 0;
      p[i] -= gi > 0 ? st[i] : (gi < 0 ? -st[i] : 0.0f);
      pt[i] = gi;
    }
  }
}

namespace {

// One quantity an optimiser keeps per parameter ("m", Adam's first moment), as Weights-shaped values.
template <class W>
using Quantity = std::pair<const char*, W*>;

// The checkpoint tensors of an optimiser's quantities: tensor by tensor, each tensor's quantities together
// ("adam.V.m", "adam.V.v", "adam.mu.m", ...), the order checkpoints have always listed them in.
template <class W>
auto state_tensors(std::string_view optimiser, std::initializer_list<Quantity<W>> quantities) {
  std::vector<std::pair<std::string, decltype(named_tensors(*quantities.begin()->second)[0].second)>> out;
  std::vector<decltype(named_tensors(*quantities.begin()->second))> named;
  for (const auto& [quantity, values] : quantities) named.push_back(named_tensors(*values));
  for (std::size_t t = 0; t < named.front().size(); ++t)
    for (std::size_t q = 0; q < named.size(); ++q)
      out.push_back({std::string(optimiser) + "." + named[q][t].first + "." + (quantities.begin() + q)->first,
                     named[q][t].second});
  return out;
}

OptimizerState save(std::string_view optimiser, std::initializer_list<Quantity<const Weights>> quantities,
                    std::uint64_t step) {
  OptimizerState s;
  s.step = step;
  for (const auto& [name, values] : state_tensors(optimiser, quantities)) s.tensors.push_back({name, *values});
  return s;
}

[[noreturn]] void refuse(const std::string& what) { throw Error(Status::Corrupt, "optimizer state: " + what); }

void restore(std::string_view optimiser, std::initializer_list<Quantity<Weights>> quantities,
             const OptimizerState& saved, std::string_view backend) {
  const auto wanted = state_tensors(optimiser, quantities);
  std::vector<const std::vector<float>*> found;
  for (const auto& want : wanted) {  // (not a structured binding: clang 14 cannot capture one)
    const std::string& name = want.first;
    const std::vector<float>* values = want.second;
    const auto it = std::find_if(saved.tensors.begin(), saved.tensors.end(), [&](const auto& t) { return t.first == name; });
    if (it == saved.tensors.end())
      refuse("no tensor " + name + ", which " + std::string(backend) + " needs (a checkpoint of another optimizer or shape?)");
    if (it->second.size() != values->size())
      refuse("tensor " + name + " has " + std::to_string(it->second.size()) + " values where " + std::string(backend) +
             " has " + std::to_string(values->size()));
    found.push_back(&it->second);
  }
  for (const auto& tensor : saved.tensors)
    if (std::none_of(wanted.begin(), wanted.end(), [&](const auto& w) { return w.first == tensor.first; }))
      refuse("tensor " + quoted(tensor.first) + " is not one that " + std::string(backend) + " keeps");
  for (std::size_t i = 0; i < wanted.size(); ++i) *wanted[i].second = *found[i];
}

}  // namespace

OptimizerState save_state(const AdamState& s, std::uint64_t step) { return save("adam", {{"m", &s.m}, {"v", &s.v}}, step); }
OptimizerState save_state(const RpropState& s, std::uint64_t step) {
  return save("rprop", {{"prev", &s.prev}, {"step", &s.step}}, step);
}
void restore_state(AdamState& s, const OptimizerState& saved, std::string_view backend) {
  restore("adam", {{"m", &s.m}, {"v", &s.v}}, saved, backend);
}
void restore_state(RpropState& s, const OptimizerState& saved, std::string_view backend) {
  restore("rprop", {{"prev", &s.prev}, {"step", &s.step}}, saved, backend);
}

}  // namespace autorec::train
