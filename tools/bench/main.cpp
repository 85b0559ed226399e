// autorec-bench MODEL: serving speed of a model file on a device: load time, reconstruction of every training
// column in batches (and the FLOP rate that implies), one-column reconstruction, predict and top-10 latency.
// autorec-bench --hardware: this machine (CPU model and instruction sets, and those this build uses) and its
// matrix-multiply rate and memory bandwidth at --threads, the ceilings the benchmark suite (bench/suite.py)
// divides by; every quoted speed names the machine this prints.
// autorec-bench --train-epoch: the time of a training epoch on synthetic data made in memory (train_epoch.hpp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <Eigen/Core>
#include <nlohmann/json.hpp>
#include <thread>

#include "autorec/check.hpp"
#include "autorec/container.hpp"
#include "autorec/model.hpp"
#include "kernels/kernels.hpp"
#include "tool_main.hpp"
#include "pairs.hpp"
#include "timing.hpp"
#include "train_epoch.hpp"

namespace {


// The CPU's model name and its widest vector instruction sets, from /proc/cpuinfo ("unknown" elsewhere).
nlohmann::json cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown", flags;
  while (std::getline(in, line) && (model == "unknown" || flags.empty())) {
    const auto value = [&] { return line.substr(line.find(':') + 2); };
    if (line.rfind("model name", 0) == 0) model = value();
    if (line.rfind("flags", 0) == 0) flags = " " + value() + " ";
  }
  std::vector<std::string> isa;
  for (const char* f : {"avx512f", "avx512bw", "avx512_bf16", "avx2", "fma", "avx", "sse4_2"})
    if (flags.find(std::string(" ") + f + " ") != std::string::npos) isa.push_back(f);
  // What this binary's code outside the kernels was compiled for, and the level its kernels run at.
#if defined(__AVX512F__)
  const char* build = "avx512f (-march=native)";
#elif defined(__AVX2__)
  const char* build = "avx2 (-march=native)";
#else
  const char* build = "x86-64-v2";
#endif
  return {{"cpu", model},       {"cores", std::thread::hardware_concurrency()}, {"isa", isa}, {"build_isa", build},
          {"kernel_level", autorec::cpu_level()}, {"kernel_level_notice", autorec::cpu_level_notice()}};
}

using autorec::tools::best_of;

// fp32 matrix-multiply rate (GFLOP/s) of the kernels autorec computes with (those of the level in use):
// C[m, n] = A[m, k] B[k, n] with the columns of B and C split over `threads` threads, as reconstruct_batch
// splits a batch.
double gemm_gflops(unsigned threads, int repeat) {
  const std::size_t m = 2048, k = 512, n = 2048;
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(m, k), b = Eigen::MatrixXf::Random(k, n);
  Eigen::MatrixXf c(m, n);
  const autorec::kernels::Table& kern = autorec::kernels::table();
  const double s = best_of(repeat, [&] {
    std::vector<std::jthread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const std::size_t b0 = n * t / threads, b1 = n * (t + 1) / threads;
        kern.matmul(autorec::kernels::col_major(a.data(), m, k), autorec::kernels::col_major(b.data() + b0 * k, k, b1 - b0),
                    autorec::kernels::col_major(c.data() + b0 * m, m, b1 - b0));
      });
  });
  return 2.0 * double(m) * double(k) * double(n) / s * 1e-9;
}

// Memory bandwidth (GB/s) of a triad x = y + s z over arrays far larger than the caches, counting the bytes
// read and written (3 arrays x 4 bytes per element), on `threads` threads.
double triad_gbps(unsigned threads, int repeat) {
  const std::size_t n = std::size_t{64} << 20;  // 3 x 256 MiB
  std::vector<float> x(n), y(n, 1.0f), z(n, 2.0f);
  const double s = best_of(repeat, [&] {
    std::vector<std::jthread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const std::size_t b = n * t / threads, e = n * (t + 1) / threads;
        for (std::size_t i = b; i < e; ++i) x[i] = y[i] + 0.5f * z[i];
      });
  });
  AUTOREC_ASSERT(x[n / 2] == 2.0f, "the bandwidth triad computed a wrong sum");
  return 3.0 * 4.0 * double(n) / s * 1e-9;
}

// The serving figures of a loaded model: every training column reconstructed in batches (and the FLOP rate
// that implies), one column, predict and top-10 latency; each the best of `repeat`.
nlohmann::json time_serving(const autorec::Model& m, std::uint32_t batch, int repeat) {
  const std::uint32_t cols = m.num_columns(), len = m.column_length();

  // Every training column, from its stored ratings, through the batch (matrix-matrix) path.
  std::vector<std::vector<autorec::Entry>> inputs(cols);
  for (std::uint32_t c = 0; c < cols; ++c) inputs[c] = m.observations(c);
  std::vector<float> out(std::size_t{batch} * len);
  const double all_s = best_of(repeat, [&] {
    for (std::uint32_t c0 = 0; c0 < cols; c0 += batch) {
      const std::uint32_t n = std::min(batch, cols - c0);
      std::vector<std::span<const autorec::Entry>> spans(inputs.begin() + c0, inputs.begin() + c0 + n);
      m.reconstruct_batch(spans, std::span<float>(out.data(), std::size_t{n} * len), false);
    }
  });
  double flops = 0;  // multiply-adds of the dense layers (x2), plus the sparse first layer
  for (std::size_t l = 1; l < m.info().layers.size(); ++l)
    flops += 2.0 * m.info().layers[l].in_size * m.info().layers[l].out_size * cols;
  flops += 2.0 * double(m.info().num_observations) * m.info().layers[0].out_size;

  std::vector<float> one(len);
  const int singles = std::min<std::uint32_t>(cols, 200);
  const double column_s = best_of(repeat, [&] {
                            for (int k = 0; k < singles; ++k) m.reconstruct_column(std::uint32_t(k * 7919u % cols), one);
                          }) / singles;
  const int predicts = 100000;
  volatile float sink = 0;
  const double predict_s = best_of(repeat, [&] {
                             for (int k = 0; k < predicts; ++k)
                               sink = sink + m.predict(std::uint32_t(k * 7919u % m.info().num_users),
                                                       std::uint32_t(k * 104729u % m.info().num_items)).value;
                           }) / predicts;
  const std::uint32_t users = m.info().num_users;
  const int tops = std::min<std::uint32_t>(users, 200);
  std::size_t picked = 0;  // items in the last list: 10 unless the user rated nearly everything
  const double top10_s = best_of(repeat, [&] {
                           for (int k = 0; k < tops; ++k) picked = m.recommend(std::uint32_t(k * 7919u % users), 10).size();
                         }) / tops;
  return {{"weight_dtype", autorec::dtype_name(m.info().weight_dtype)},
          {"backend", m.info().backend},
          {"columns", cols},
          {"column_length", len},
          {"reconstruct_all_s", all_s},
          {"columns_per_s", cols / all_s},
          {"reconstruct_gflops", flops / all_s * 1e-9},
          {"reconstruct_column_s", column_s},
          {"predict_s", predict_s},
          {"top10_s", top10_s},
          {"top10_items", picked},
          {"batch", batch}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Serving speed of an AutoRec model file", "autorec-bench"};
  std::string path, device = "auto";
  std::uint32_t batch = 1024;
  int repeat = 3;
  bool json = false, hardware = false;
  unsigned threads = 0;
  app.add_option("model", path, "model.fb");
  app.add_flag("--hardware", hardware, "measure this machine's matrix-multiply rate and memory bandwidth instead");
  app.add_option("--threads", threads, "threads (0 = all cores)");
  app.add_option("--device", device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("--batch", batch, "columns per batch reconstruction call")->check(CLI::Range(1u, 1u << 20));
  app.add_option("--repeat", repeat, "timed repetitions (the best is reported)")->check(CLI::Range(1, 1000));
  app.add_flag("--json", json, "print one JSON object");
  std::string pairs_path;
  app.add_option("--pairs", pairs_path, "time predict_batch over the dense (user, item) index pairs in this file "
                                        "(little-endian uint32 user, item, ...) on one thread, and top-10 for every "
                                        "user on --threads threads, instead (bench/python_serving.py)");
  bool train_epoch = false;
  autorec::tools::TrainEpochOptions te;
  app.add_flag("--train-epoch", train_epoch,
               "time training epochs on synthetic data made in memory instead (Netflix's shape unless --users, "
               "--items, --density say otherwise); host time is reported apart");
  app.add_option("--users", te.users, "--train-epoch: users")->check(CLI::Range(1u, 100000000u));
  app.add_option("--items", te.items, "--train-epoch: items")->check(CLI::Range(1u, 100000000u));
  app.add_option("--density", te.density, "--train-epoch: share of cells rated")->check(CLI::Range(1e-9, 1.0));
  app.add_option("--hidden", te.hidden, "--train-epoch: hidden units")->check(CLI::Range(1u, 100000u));
  app.add_option("--epochs", te.epochs, "--train-epoch: epochs timed")->check(CLI::Range(1u, 1000u));
  return autorec::tools::tool_main(app, argc, argv, [&] {
    const unsigned nt = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
    if (hardware) {
      nlohmann::json h = cpu_description();
      h["threads"] = nt;
      h["gemm_gflops"] = gemm_gflops(nt, repeat);
      h["triad_gbps"] = triad_gbps(nt, repeat);
      std::printf("%s\n", json ? h.dump().c_str() : h.dump(2).c_str());
      return 0;
    }
    const autorec::Device dev =
        device == "cpu" ? autorec::Device::Cpu : device == "cuda" ? autorec::Device::Cuda : autorec::Device::Auto;
    if (train_epoch) {
      te.threads = nt;
      te.device = dev;
      // With --json, one line per epoch as it ends, then the whole result (a run cut short keeps its epochs).
      if (json) te.on_epoch = [](const nlohmann::json& e) { std::printf("%s\n", e.dump().c_str()), std::fflush(stdout); };
      const nlohmann::json j = autorec::tools::bench_train_epoch(te);
      std::printf("%s\n", json ? j.dump().c_str() : j.dump(2).c_str());
      return 0;
    }
    if (path.empty())
      throw autorec::Error(autorec::Status::BadInput, "a model file is required (or --hardware, --train-epoch)");
    autorec::LoadOptions opts;
    opts.threads = nt;
    opts.device = dev;
    const std::vector<std::byte> bytes = autorec::read_file_bytes(path);
    std::optional<autorec::Model> model;
    const double load_s = best_of(repeat, [&] { model.emplace(autorec::Model::load_buffer(bytes, path, opts)); });
    const autorec::Model& m = *model;
    if (!pairs_path.empty()) {
      const nlohmann::json p = autorec::tools::bench_pairs(m, pairs_path, repeat, nt);
      std::printf("%s\n", json ? p.dump().c_str() : p.dump(2).c_str());
      return 0;
    }
    nlohmann::json j = time_serving(m, batch, repeat);
    j["model"] = path, j["threads"] = nt, j["file_bytes"] = bytes.size(), j["load_s"] = load_s;
    if (json) {
      std::printf("%s\n", j.dump().c_str());
      return 0;
    }
    const auto f = [&](const char* key) { return j[key].get<double>(); };
    std::printf("model %s (%zu bytes), backend %s\n", path.c_str(), bytes.size(), m.info().backend.c_str());
    std::printf("load                    %.2f ms\n", load_s * 1e3);
    std::printf("reconstruct all %u cols %.2f ms  (%.3g columns/s, %.1f GFLOP/s, batch %u)\n", m.num_columns(),
                f("reconstruct_all_s") * 1e3, f("columns_per_s"), f("reconstruct_gflops"), batch);
    std::printf("reconstruct one column  %.1f us\n", f("reconstruct_column_s") * 1e6);
    std::printf("predict                 %.3f us\n", f("predict_s") * 1e6);
    std::printf("top-10 for a user       %.1f us (%zu items in the last list)\n", f("top10_s") * 1e6,
                j["top10_items"].get<std::size_t>());
    return 0;
  });
}
