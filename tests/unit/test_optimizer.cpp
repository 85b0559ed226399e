// The optimiser module (autorec/train/optimizer.hpp): the state tensors are named after the weights' tensors
// for both optimisers, are found by name whatever their order, and a missing, resized or foreign tensor is
// refused before anything changes; iRprop-'s step rule.
#include <algorithm>

#include "autorec/error.hpp"
#include "autorec/train/optimizer.hpp"
#include "helpers.hpp"

namespace autorec::test {
namespace {

using train::OptimizerState;
using train::TrainConfig;
using train::Weights;

// A network with an inner layer, each value distinct so a tensor copied to the wrong place shows.
Weights numbered_weights() {
  Weights shape;
  shape.rows = 5;
  shape.hidden = 3;
  shape.inner = {{3, 2, {}, {}}};
  Weights w = train::zero_weights(shape);
  float next = 1;
  for (auto& [name, values] : train::named_tensors(w))
    for (float& x : *values) x = next++;
  return w;
}

// The error message of f(), or "" when it does not throw Error(Corrupt).
template <class F>
std::string corrupt_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    if (e.status() == Status::Corrupt) return e.what();
  }
  return "";
}

BOOST_AUTO_TEST_SUITE(optimizer)

BOOST_AUTO_TEST_CASE(state_tensors_are_named_and_shaped_after_the_weights) {
  const Weights w = numbered_weights();
  const train::AdamState adam{w, w};
  const OptimizerState s = train::save_state(adam, 7);
  BOOST_TEST(s.step == 7u);
  const auto tensors = train::named_tensors(w);
  BOOST_TEST_REQUIRE(s.tensors.size() == 2 * tensors.size());
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    BOOST_TEST(s.tensors[2 * t].first == "adam." + tensors[t].first + ".m");
    BOOST_TEST(s.tensors[2 * t + 1].first == "adam." + tensors[t].first + ".v");
    BOOST_TEST(s.tensors[2 * t].second == *tensors[t].second);
  }
  BOOST_TEST(s.tensors[8].first == "adam.inner.0.M.m");

  const train::RpropState rprop = train::rprop_state(w);
  const OptimizerState r = train::save_state(rprop, 3);
  BOOST_TEST_REQUIRE(r.tensors.size() == 2 * tensors.size());
  BOOST_TEST(r.tensors[0].first == "rprop.V.prev");
  BOOST_TEST(r.tensors[1].first == "rprop.V.step");
  BOOST_TEST(std::all_of(r.tensors[1].second.begin(), r.tensors[1].second.end(),
                         [](float x) { return x == train::kRpropStep0; }));
  BOOST_TEST(std::all_of(r.tensors[0].second.begin(), r.tensors[0].second.end(), [](float x) { return x == 0; }));
}

BOOST_AUTO_TEST_CASE(restore_finds_tensors_by_name_in_any_order) {
  const Weights w = numbered_weights();
  Weights v = w;
  for (auto& [name, values] : train::named_tensors(v))
    for (float& x : *values) x = -x;
  OptimizerState saved = train::save_state(train::AdamState{w, v}, 11);
  std::reverse(saved.tensors.begin(), saved.tensors.end());  // e.g. Rprop's older order, W V b mu
  train::AdamState restored = train::adam_state(w);
  train::restore_state(restored, saved, "the test");
  const OptimizerState again = train::save_state(restored, 11);
  std::reverse(saved.tensors.begin(), saved.tensors.end());
  BOOST_TEST(again.tensors == saved.tensors);
}

BOOST_AUTO_TEST_CASE(missing_resized_or_foreign_tensors_are_refused_and_change_nothing) {
  const Weights w = numbered_weights();
  const OptimizerState good = train::save_state(train::AdamState{w, w}, 2);
  train::AdamState target = train::adam_state(w);
  const OptimizerState before = train::save_state(target, 2);
  auto restore = [&](const OptimizerState& s) { return corrupt_message([&] { train::restore_state(target, s, "the test"); }); };

  OptimizerState missing = good;
  missing.tensors.erase(missing.tensors.begin() + 3);  // adam.mu.v
  BOOST_TEST(restore(missing).find("no tensor adam.mu.v, which the test needs") != std::string::npos, restore(missing));

  OptimizerState resized = good;
  resized.tensors.back().second.pop_back();  // adam.inner.0.c.v
  BOOST_TEST(restore(resized).find("tensor adam.inner.0.c.v has 1 values where the test has 2") != std::string::npos,
             restore(resized));

  OptimizerState foreign = good;
  foreign.tensors.push_back({"rprop.W.step", std::vector<float>(15)});
  BOOST_TEST(restore(foreign).find("'rprop.W.step' is not one that the test keeps") != std::string::npos, restore(foreign));

  // An Adam checkpoint offered to Rprop (an optimizer the settings check would also catch).
  train::RpropState rprop = train::rprop_state(w);
  BOOST_TEST(corrupt_message([&] { train::restore_state(rprop, good, "the test"); }).find("no tensor rprop.V.prev") !=
             std::string::npos);

  BOOST_TEST(train::save_state(target, 2).tensors == before.tensors);  // no refusal wrote anything
}

BOOST_AUTO_TEST_CASE(rprop_grows_the_step_while_the_sign_holds_and_halves_it_on_a_flip) {
  Weights shape;
  shape.rows = 1;
  shape.hidden = 1;
  Weights w = train::zero_weights(shape);
  train::RpropState st = train::rprop_state(w);
  const float s0 = train::kRpropStep0;
  st.g.V = {2.0f};  // first step: no previous gradient, move by the initial step against the gradient
  train::rprop_update(st, w, 1);
  BOOST_TEST(w.V[0] == -s0);
  BOOST_TEST(st.step.V[0] == s0);
  st.g.V = {0.5f};  // same sign: step * 1.2
  train::rprop_update(st, w, 1);
  BOOST_TEST(st.step.V[0] == s0 * 1.2f);
  BOOST_TEST(w.V[0] == -s0 - s0 * 1.2f);
  const float before = w.V[0];
  st.g.V = {-1.0f};  // flip: step halved, no move, and the next step starts afresh
  train::rprop_update(st, w, 1);
  BOOST_TEST(st.step.V[0] == s0 * 1.2f * 0.5f);
  BOOST_TEST(w.V[0] == before);
  BOOST_TEST(st.prev.V[0] == 0.0f);
  st.g.V = {-1.0f};
  train::rprop_update(st, w, 1);
  BOOST_TEST(w.V[0] == before + s0 * 1.2f * 0.5f);
  for (int i = 0; i < 100; ++i) train::rprop_update(st, w, 1);  // the same sign for long: capped
  BOOST_TEST(st.step.V[0] == train::kRpropStepMax);
  for (int i = 0; i < 100; ++i) {
    st.g.V = {i % 2 ? 1.0f : -1.0f};  // flipping every step: halved down to the floor, never below
    train::rprop_update(st, w, 1);
  }
  BOOST_TEST(st.step.V[0] == train::kRpropStepMin);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace autorec::test
