// mpirun -np P autorec-allreduce [--floats N,...] [--repeats R]: for each N, the seconds one in-place sum of
// N floats takes across the P processes (MpiWorld::sum, as the trainer calls it twice per batch), the median
// and 90th percentile of R calls after a warm-up, as one JSON line per N on rank 0. The calls follow each
// other with nothing in between, so no process waits for another's compute: this is the transport alone.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "autorec/dist/mpi_world.hpp"
#include "tool_main.hpp"

namespace {

double quantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<std::size_t>(q * double(xs.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  if (!autorec::dist::launched_by_mpi()) {
    std::fprintf(stderr, "autorec-allreduce: error: start it under an MPI launcher (mpirun -np 2 autorec-allreduce)\n");
    return autorec::tools::kExitBadInput;
  }
  autorec::dist::MpiWorld world(&argc, &argv);
  CLI::App app{"Time of one sum of N floats across the processes of an MPI run", "autorec-allreduce"};
  std::vector<std::size_t> sizes = {32000, 128000, 512000};
  int repeats = 200;
  app.add_option("--floats", sizes, "message sizes in floats (the trainer's: batch x hidden)")->delimiter(',');
  app.add_option("--repeats", repeats, "timed calls per size, after as many untimed")->check(CLI::Range(1, 1000000));
  if (world.rank() != 0) app.name("autorec-allreduce[rank " + std::to_string(world.rank()) + "]");
  return autorec::tools::tool_main(app, argc, argv, [&]() -> int {
    for (const std::size_t n : sizes) {
      std::vector<float> data(n, 0.0f);  // (zeros stay zeros: no overflow however many sums)
      std::vector<double> seconds;
      for (int r = 0; r < 2 * repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        world.sum(data);
        if (r >= repeats) seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      if (world.rank() == 0)
        std::printf("%s\n", nlohmann::json{{"processes", world.size()}, {"floats", n}, {"bytes", n * sizeof(float)},
                                           {"repeats", repeats}, {"median_s", quantile(seconds, 0.5)},
                                           {"p90_s", quantile(seconds, 0.9)}}
                                .dump()
                                .c_str());
    }
    return 0;
  });
}
