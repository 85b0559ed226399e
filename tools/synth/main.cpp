// autorec-synth: a synthetic MovieLens-format data set (u.data layout) for tests and offline demos.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "autorec/data/synth.hpp"
#include "tool_main.hpp"

namespace ad = autorec::data;

int main(int argc, char** argv) {
  CLI::App app{"Synthetic ratings with planted non-linear structure, in u.data format", "autorec-synth"};
  ad::SynthConfig c;
  std::string out_path = "-", split_dir;
  std::uint64_t split_seed = 1;
  double test_ratio = 0.1;
  app.add_option("-o,--output", out_path, "output file ('-' = stdout)");
  app.add_option("--split-dir", split_dir,
                 "write DIR/train.data and DIR/test.data instead: the files autorec-split --seed makes")
      ->excludes("--output");
  app.add_option("--split-seed", split_seed, "with --split-dir: the split seed");
  app.add_option("--test-ratio", test_ratio, "with --split-dir: share of ratings for the test side")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--users", c.users, "number of users")->check(CLI::Range(1u, 100000000u));
  app.add_option("--items", c.items, "number of items")->check(CLI::Range(1u, 100000000u));
  double ratings = 0;
  auto* density = app.add_option("--density", c.density, "expected share of cells rated")->check(CLI::Range(1e-9, 1.0));
  app.add_option("--ratings", ratings, "about this many ratings in all (sets the density)")
      ->check(CLI::PositiveNumber)->excludes(density);
  app.add_option("--rating-min", c.min_rating, "lowest rating of the scale");
  app.add_option("--rating-max", c.max_rating, "highest rating of the scale");
  app.add_option("--rating-step", c.rating_step, "the scale's grid step (1 for stars, 0.5 for half stars)")
      ->check(CLI::PositiveNumber);
  std::string shape = "wide";
  app.add_option("--shape", shape, "distribution of the ratings: wide (over the whole scale) or movielens "
                                   "(MovieLens 100K's shares of 1-5 stars, mapped onto the scale)")
      ->check(CLI::IsMember({"wide", "movielens"}));
  app.add_option("--min-user-ratings", c.min_user_ratings, "every user rates at least this many items (0: users may "
                                                           "rate none, for very sparse sets)");
  app.add_option("--rank", c.rank, "latent dimensions")->check(CLI::Range(1u, 1000u));
  app.add_option("--noise", c.noise, "noise std before rounding")->check(CLI::Range(0.0, 10.0));
  app.add_option("--seed", c.seed, "random seed");
  return autorec::tools::tool_main(app, argc, argv, [&] {
    c.shape = shape == "movielens" ? ad::SynthConfig::Shape::MovieLens : ad::SynthConfig::Shape::Wide;
    if (ratings > 0) c.density = std::min(1.0, ratings / (double(c.users) * double(c.items)));
    if (!(c.min_rating < c.max_rating))
      throw autorec::Error(autorec::Status::BadInput, "--rating-min " + std::to_string(c.min_rating) +
                                                          " must be below --rating-max " + std::to_string(c.max_rating));
    std::uint64_t n = 0;
    if (!split_dir.empty()) {
      std::filesystem::create_directories(split_dir);
      std::ofstream train(split_dir + "/train.data"), test(split_dir + "/test.data");
      if (!train || !test) throw autorec::Error(autorec::Status::BadInput, split_dir + ": cannot write train.data / test.data");
      const auto [kept, held] = ad::write_synthetic_split(c, train, test, split_seed, test_ratio);
      if (!train.flush() || !test.flush()) throw autorec::Error(autorec::Status::Io, split_dir + ": write failed");
      std::fprintf(stderr, "autorec-synth: train %llu test %llu (split seed %llu, test ratio %g)\n",
                   static_cast<unsigned long long>(kept), static_cast<unsigned long long>(held),
                   static_cast<unsigned long long>(split_seed), test_ratio);
      n = kept + held;
    } else if (out_path == "-") {
      n = ad::write_synthetic(c, std::cout);
    } else {
      std::ofstream out(out_path);
      if (!out) throw autorec::Error(autorec::Status::BadInput, out_path + ": cannot open for writing");
      n = ad::write_synthetic(c, out);
      if (!out.flush()) throw autorec::Error(autorec::Status::Io, out_path + ": write failed");
    }
    std::fprintf(stderr, "autorec-synth: %llu ratings, %u users, %u items (seed %llu)\n",
                 static_cast<unsigned long long>(n), c.users, c.items, static_cast<unsigned long long>(c.seed));
    return 0;
  });
}
