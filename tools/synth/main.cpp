// autorec-synth: a synthetic MovieLens-format data set (u.data layout) for tests and offline demos.
#include <cstdio>
#include <fstream>
#include <iostream>

#include "autorec/train/synth.hpp"
#include "tool_main.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Synthetic ratings with planted non-linear structure, in u.data format", "autorec-synth"};
  autorec::train::SynthConfig c;
  std::string out_path = "-";
  app.add_option("-o,--output", out_path, "output file ('-' = stdout)");
  app.add_option("--users", c.users, "number of users")->check(CLI::Range(1u, 100000000u));
  app.add_option("--items", c.items, "number of items")->check(CLI::Range(1u, 100000000u));
  app.add_option("--density", c.density, "expected share of cells rated")->check(CLI::Range(1e-9, 1.0));
  app.add_option("--rank", c.rank, "latent dimensions")->check(CLI::Range(1u, 1000u));
  app.add_option("--noise", c.noise, "noise std before rounding")->check(CLI::Range(0.0, 10.0));
  app.add_option("--seed", c.seed, "random seed");
  return autorec::tools::tool_main(app, argc, argv, [&] {
    std::uint64_t n = 0;
    if (out_path == "-") {
      n = autorec::train::write_synthetic(c, std::cout);
    } else {
      std::ofstream out(out_path);
      if (!out) throw autorec::Error(autorec::Status::BadInput, out_path + ": cannot open for writing");
      n = autorec::train::write_synthetic(c, out);
      if (!out.flush()) throw autorec::Error(autorec::Status::Io, out_path + ": write failed");
    }
    std::fprintf(stderr, "autorec-synth: %llu ratings, %u users, %u items (seed %llu)\n",
                 static_cast<unsigned long long>(n), c.users, c.items, static_cast<unsigned long long>(c.seed));
    return 0;
  });
}
