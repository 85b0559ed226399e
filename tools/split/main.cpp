// autorec-split RATINGS OUT_DIR: the reference 90/10 split (the rule of bench/make_split.py), written as
// OUT_DIR/train.data and OUT_DIR/test.data in u.data format.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "autorec/data/dataset.hpp"
#include "tool_main.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Deterministic train/test split of a ratings file (same rule as make_split.py)", "autorec-split"};
  std::string in_path, out_dir;
  std::uint64_t seed = 1;
  double ratio = 0.1;
  app.add_option("ratings", in_path, "ratings file (u.data, ratings.dat, ratings.csv; .zst ok)")->required();
  app.add_option("out_dir", out_dir, "folder for train.data and test.data")->required();
  app.add_option("--seed", seed, "split seed");
  app.add_option("--test-ratio", ratio, "share of ratings for the test side")->check(CLI::Range(0.0, 1.0));
  return autorec::tools::tool_main(app, argc, argv, [&] {
    namespace ad = autorec::data;
    const ad::RawRatings raw = ad::read_ratings(in_path);
    const ad::Dataset data = ad::make_dataset(raw, ad::DuplicatePolicy::Last);
    std::filesystem::create_directories(out_dir);
    std::ofstream train(out_dir + "/train.data"), test(out_dir + "/test.data");
    if (!train || !test) throw autorec::Error(autorec::Status::BadInput, out_dir + ": cannot write train.data / test.data");
    auto id = [](const ad::IdList& ids, std::uint32_t k) { return ids.is_int ? std::to_string(ids.ints[k]) : ids.strs[k]; };
    std::size_t n[2] = {0, 0};
    for (const ad::Rating& r : data.ratings) {
      const bool held = ad::in_split(data, r, seed, ratio);
      (held ? test : train) << id(data.users, r.user) << '\t' << id(data.items, r.item) << '\t' << r.value << "\t0\n";
      ++n[held];
    }
    if (!train.flush() || !test.flush()) throw autorec::Error(autorec::Status::Io, out_dir + ": write failed");
    std::fprintf(stderr, "autorec-split: train %zu test %zu (seed %llu, test ratio %g)\n", n[0], n[1],
                 static_cast<unsigned long long>(seed), ratio);
    return 0;
  });
}
