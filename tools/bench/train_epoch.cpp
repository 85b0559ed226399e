#include "train_epoch.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "autorec/data/synth.hpp"
#include "autorec/train/trainer.hpp"

namespace ad = autorec::data;

namespace autorec::tools {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

nlohmann::json bench_train_epoch(const TrainEpochOptions& o) {
  ad::SynthConfig sc;
  sc.users = o.users;
  sc.items = o.items;
  sc.density = o.density;
  auto t = Clock::now();
  std::uint64_t held = 0;
  const std::vector<ad::Rating> ratings = ad::synthetic_training_ratings(sc, 1, 0.1, held);
  const double generate_s = since(t);
  std::fprintf(stderr, "train-epoch: %zu training ratings generated in %.1f s\n", ratings.size(), generate_s);
  t = Clock::now();
  const train::Csc fit = train::make_csc(ratings, o.users, o.items, Variant::ItemBased);
  const double csc_s = since(t);

  train::TrainConfig c;  // the textbook recipe
  c.hidden = o.hidden;
  c.epochs = o.epochs;
  c.threads = int(o.threads);
  c.device = o.device;
  std::string notice;
  t = Clock::now();
  const std::unique_ptr<train::TrainBackend> backend = train::make_train_backend(o.device, notice);
  backend->init(c, fit);
  const double init_s = since(t);
  std::fprintf(stderr, "train-epoch: matrix %.1f s, %s backend set up in %.1f s\n", csc_s, backend->name(), init_s);
  nlohmann::json epochs = nlohmann::json::array();
  double best = 1e300, best_host = 0;
  for (std::uint32_t e = 1; e <= o.epochs; ++e) {
    const train::EpochStats s = backend->run_epoch(e);
    epochs.push_back({{"epoch", e}, {"seconds", s.seconds}, {"host_seconds", s.host_seconds}, {"train_rmse", s.train_rmse},
                      {"train_ratings", fit.nnz()}, {"backend", backend->name()}});
    if (s.seconds < best) best = s.seconds, best_host = s.host_seconds;
    if (o.on_epoch) o.on_epoch(epochs.back());
  }
  // An epoch's arithmetic: 5 multiply-adds (10 FLOPs) per stored rating and hidden unit: the sparse encoder,
  // the decoder, and the gradients of the decoder's weights, its input and the encoder's weights.
  const double flops = 10.0 * double(fit.nnz()) * o.hidden;
  return {{"backend", backend->name()},
          {"notice", notice},
          {"users", o.users},
          {"items", o.items},
          {"train_ratings", fit.nnz()},
          {"held_ratings", held},
          {"hidden", o.hidden},
          {"threads", o.threads},
          {"host_generate_s", generate_s},
          {"host_csc_s", csc_s},
          {"init_s", init_s},
          {"epochs", epochs},
          {"best_epoch_s", best},
          {"best_epoch_host_s", best_host},
          {"best_epoch_gflops", flops / best * 1e-9}};
}

}  // namespace autorec::tools
