// Shared fixtures of the unit tests: small synthetic data sets and quickly trained models.
#pragma once

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "autorec/data/dataset.hpp"
#include "autorec/data/synth.hpp"
#include "autorec/model.hpp"
#include "autorec/train/model_writer.hpp"
#include "autorec/train/trainer.hpp"

namespace autorec::test {

// Trained results depend on the seed and on the instruction set the build uses (-march=native or not), so
// every bound on one is set from the spread measured over seeds and builds (scripts/test-spread) and the
// spread is written next to it. AUTOREC_TEST_SEED=k adds k to every training seed of the tests (0 when unset).
inline std::uint64_t seed_offset() {
  const char* s = std::getenv("AUTOREC_TEST_SEED");
  return s && *s ? std::strtoull(s, nullptr, 10) : 0;
}

// A trained result against its bound, printed as "bound NAME: VALUE <= BOUND" (or >=) for scripts/test-spread.
inline void check_bound(const std::string& name, double value, double bound) {
  BOOST_TEST_MESSAGE("bound " << name << ": " << value << " <= " << bound);
  BOOST_TEST(value <= bound, name << ": " << value << " is above its bound " << bound);
}
inline void check_bound_above(const std::string& name, double value, double bound) {
  BOOST_TEST_MESSAGE("bound " << name << ": " << value << " >= " << bound);
  BOOST_TEST(value >= bound, name << ": " << value << " is below its bound " << bound);
}

// `f` throws Error(status) whose message contains every one of `parts`.
template <typename F>
void check_error(Status status, std::initializer_list<std::string_view> parts, F&& f) {
  try {
    f();
    BOOST_ERROR("no error thrown");
  } catch (const Error& e) {
    BOOST_TEST((e.status() == status));
    for (std::string_view part : parts) BOOST_TEST(std::string(e.what()).find(part) != std::string::npos, e.what());
  }
}

// A path in the temporary folder that no other test process uses (the pid is part of it).
inline std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("autorec-test-" + std::to_string(::getpid()) + "-" + name)).string();
}

inline std::string synth_text(std::uint32_t users, std::uint32_t items, double density, std::uint64_t seed) {
  data::SynthConfig c;
  c.users = users;
  c.items = items;
  c.density = density;
  c.seed = seed;
  std::ostringstream out;
  data::write_synthetic(c, out);
  return out.str();
}

inline data::Dataset synth_dataset(std::uint32_t users, std::uint32_t items, double density, std::uint64_t seed) {
  return data::make_dataset(data::parse_ratings(synth_text(users, items, density, seed), "synth"),
                             data::DuplicatePolicy::Last);
}

// A trained model and everything that went into it.
struct Trained {
  train::TrainConfig config;
  data::Dataset data;
  std::vector<data::Rating> fit, test;
  train::Csc csc;
  train::TrainResult result;
  std::vector<std::byte> file;
};

// cold_item, when given, loses its training ratings so that the model must answer it by the cold-start rule.
inline Trained train_small(train::TrainConfig config, std::uint32_t users = 120, std::uint32_t items = 80,
                           double test_ratio = 0.1, std::optional<std::uint32_t> cold_item = std::nullopt) {
  Trained t;
  config.seed += seed_offset();
  t.config = config;
  t.data = synth_dataset(users, items, 0.15, 7);
  data::split(t.data, 1, test_ratio, t.fit, t.test);
  if (cold_item) std::erase_if(t.fit, [&](const data::Rating& r) { return r.item == *cold_item; });
  t.csc = train::make_csc(t.fit, static_cast<std::uint32_t>(t.data.users.size()),
                          static_cast<std::uint32_t>(t.data.items.size()), config.variant);
  t.result = train::train(config, t.csc, {}, t.data.scale.min, t.data.scale.max, nullptr);
  train::ModelContents contents{&t.config, &t.data, &t.csc, &t.result};
  t.file = train::build_model_file(contents);
  return t;
}

// One small model (hidden 12, 3 epochs, batch 16), trained once per test process and shared by the suites.
inline const Trained& small_trained() {
  static const Trained t = [] {
    train::TrainConfig c;
    c.hidden = 12;
    c.epochs = 3;
    c.batch_size = 16;
    return train_small(c);
  }();
  return t;
}

inline std::vector<RatingRef> refs(const std::vector<data::Rating>& ratings) {
  std::vector<RatingRef> out;
  for (const auto& r : ratings) out.push_back({r.user, r.item, r.value});
  return out;
}

// MovieLens 100K's u.data when AUTOREC_ML100K_DIR names a folder holding it, else "".
inline std::string ml100k_file() {
  const char* dir = std::getenv("AUTOREC_ML100K_DIR");
  if (!dir || !*dir) return "";
  const auto p = std::filesystem::path(dir) / "u.data";
  return std::filesystem::exists(p) ? p.string() : "";
}

// Precondition of the real-data cases: they are skipped, visibly, without the data. A plain function (not a
// functor): GCC 12 warns about the empty functor boost::function copies.
inline boost::test_tools::assertion_result has_ml100k(boost::unit_test::test_unit_id) {
  boost::test_tools::assertion_result r(!ml100k_file().empty());
  r.message() << "AUTOREC_ML100K_DIR is not set to a folder with u.data";
  return r;
}

}  // namespace autorec::test
