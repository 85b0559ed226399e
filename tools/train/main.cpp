// autorec-train TRAIN -o model.fb: trains item- or user-based AutoRec and writes the model file.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autorec/model.hpp"
#include "autorec/train/layer_spec.hpp"
#include "autorec/train/pipeline.hpp"
#include "autorec/train/settings.hpp"
#include "console.hpp"
#include "setting_options.hpp"
#include "tool_main.hpp"
#ifdef AUTOREC_WITH_MPI
#include "autorec/dist/mpi_world.hpp"
#endif

namespace at = autorec::train;

namespace {

// The closing lines: the model, the time, the test RMSE; and the --metrics summary line.
void print_summary(const at::RunResult& r, const at::TrainConfig& cfg, const std::string& out_path, double total_s,
                   std::ofstream* metrics) {
  const at::TrainResult& t = r.training;
  double train_s = 0;
  for (const auto& s : t.history) train_s += s.seconds;
  const double per_epoch = train_s / double(t.history.size());
  std::string sizes = std::to_string(cfg.hidden);
  for (const auto& l : cfg.inner) sizes += "-" + std::to_string(l.size);
  std::printf("model: %s (%llu bytes), %s-based, hidden %s, best epoch %u of %zu, backend %s\n", out_path.c_str(),
              static_cast<unsigned long long>(r.file_bytes), autorec::variant_name(cfg.variant), sizes.c_str(), t.best_epoch,
              t.history.size(), t.backend.c_str());
  std::printf("time: %.3f s per epoch, %.2f s in total\n", per_epoch, total_s);
  if (r.test)
    std::printf("test RMSE %.6f  MAE %.6f  ratings %llu  cold-start %llu\n", r.test->rmse, r.test->mae,
                static_cast<unsigned long long>(r.test->count), static_cast<unsigned long long>(r.test->cold_start));
  if (!metrics) return;
  nlohmann::json summary = {{"summary", true}, {"model", out_path}, {"bytes", r.file_bytes},
                            {"epochs_run", t.history.size()}, {"best_epoch", t.best_epoch},
                            {"s_per_epoch", per_epoch}, {"total_s", total_s}, {"load_s", r.read_seconds},
                            {"fit", r.fit}, {"val", r.val}, {"threads", cfg.threads},
                            {"cold_start", at::cold_start_name(r.cold_start.rule)}};
  if (r.test) summary["test_rmse"] = r.test->rmse, summary["test_mae"] = r.test->mae, summary["test_count"] = r.test->count;
  *metrics << summary.dump() << '\n';
}

}  // namespace

// Under an MPI launcher (mpirun -np P autorec-train ...): this process's place in the run, or null.
std::shared_ptr<autorec::train::Collective> join_distributed_run([[maybe_unused]] int* argc, [[maybe_unused]] char*** argv) {
#ifdef AUTOREC_WITH_MPI
  if (autorec::dist::launched_by_mpi()) return std::make_shared<autorec::dist::MpiWorld>(argc, argv);
#endif
  return nullptr;
}

int main(int argc, char** argv) {
  std::shared_ptr<at::Collective> world;
  try {
    world = join_distributed_run(&argc, &argv);
  } catch (const autorec::Error& e) {
    std::fprintf(stderr, "autorec-train: error: %s\n", e.what());
    return autorec::tools::kExitFailedCheck;
  }
  const bool first = !world || world->rank() == 0;  // the process that prints and writes
  CLI::App app{"Train an AutoRec rating-prediction model (Sedhain et al., WWW 2015)", "autorec-train"};
  at::TrainConfig cfg;
  std::string train_path, out_path = "model.fb", test_path, validation_path, metrics_path, layers, recipe_name = "default";
  at::RunSettings settings;
  bool skip_bad = false, quiet = false;
  double dist_timeout = 1800;
  app.add_option("train", train_path, "training ratings (u.data, ratings.dat, ratings.csv; .zst ok)")->required();
  app.add_option("-o,--output", out_path, "model file to write (atomically)");
  app.add_option("--recipe", recipe_name, "starting settings: default (best found on validation data) or textbook "
                                          "(the published recipe); flags given explicitly override them")
      ->check(CLI::IsMember({"default", "textbook"}));
  autorec::tools::add_setting_options(app, cfg);  // the hyperparameters (autorec/train/settings.hpp)
  app.add_option("--layers", layers, "hidden layers as SIZE[:ACTIVATION[:DROPOUT]] separated by , or -: e.g. 500-250-500 (the "
                                     "first is the encoder's; deeper networks train on the CPU)")
      ->excludes("--hidden");
  app.add_option("--validation", validation_path, "validation ratings of their own, in place of --val-ratio's split: they "
                                                 "choose the epoch, the bias model's share and the cold-start rule")
      ->excludes("--val-ratio");
  app.add_option("--test", test_path, "held-out test ratings; RMSE reported at the end, never used to train");
  app.add_flag("--skip-bad-lines", skip_bad, "skip (count and report) malformed lines instead of failing");
  // (--val-ratio is checked after the data is read: on sparse data the default recipe provides the validation part.)
  autorec::tools::add_run_options(app, settings);  // splits, scale, checkpoints, the file (autorec/train/run_options.hpp)
  app.get_option("--test-ratio")->excludes("--test");
  app.get_option("--checkpoint-every")->needs("--checkpoint");
  app.get_option("--resume")->needs("--checkpoint");
  app.add_option("--metrics", metrics_path, "write one JSON line per epoch and a summary line to this file");
  app.add_flag("-q,--quiet", quiet, "print only the summary");
  app.add_option("--dist-timeout", dist_timeout, "under mpirun: end the run when a process has waited this many seconds "
                                                 "for the others in one sum or gather (one of them hung or was stopped; "
                                                 "0 = no bound). The others wait in a sum while rank 0 makes the "
                                                 "choices on validation")
      ->check(CLI::Range(0.0, 1e7))
      ->capture_default_str();

  if (!first) app.name("autorec-train[rank " + std::to_string(world->rank()) + "]");  // in its error messages
  const int code = autorec::tools::tool_main(app, argc, argv, [&]() -> int {
    autorec::tools::apply_recipe(app, *at::recipe(recipe_name), cfg);
    if (!layers.empty()) at::apply_layer_spec(layers, cfg);
    at::check_settings(cfg);  // before the data is read: NaN and the like fail fast
    const auto t_start = std::chrono::steady_clock::now();
    settings.config = cfg;
    settings.auto_validation = app.count("--val-ratio") == 0;
    settings.model_name = out_path;
    settings.output_path = out_path;  // written as it is compressed, not held in memory
    if (world && world->size() > 1) settings.collective = world;
#ifdef AUTOREC_WITH_MPI
    if (world && world->size() > 1)
      static_cast<autorec::dist::MpiWorld&>(*world).bound_calls(
          dist_timeout, "autorec-train[rank " + std::to_string(world->rank()) + "]");
#endif

    std::ofstream metrics;
    if (!metrics_path.empty() && first) {
      metrics.open(metrics_path);
      if (!metrics) throw autorec::Error(autorec::Status::BadInput, metrics_path + ": cannot open for writing");
    }
    autorec::tools::ConsoleObserver console(quiet, ::isatty(STDOUT_FILENO) == 1, &metrics);
    at::Observer silent;  // the other processes of a distributed run say nothing unless they fail
    at::Observer& observer = first ? static_cast<at::Observer&>(console) : silent;
    autorec::data::ReadOptions read_options;
    read_options.skip_bad_lines = skip_bad, read_options.rating_min = settings.scale.min;
    read_options.rating_max = settings.scale.max;
    at::Input input = at::read_input(train_path, test_path, read_options, observer, validation_path);
    const at::RunResult r = at::run(std::move(input), settings, observer);
    if (!first) return 0;
    r.write(out_path);
    console.finish();
    print_summary(r, cfg, out_path, std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count(),
                  metrics.is_open() ? &metrics : nullptr);
    return 0;
  });
  // A process that failed ends the others, which may be waiting for it in a sum.
#ifdef AUTOREC_WITH_MPI
  if (code != 0 && world && world->size() > 1) static_cast<autorec::dist::MpiWorld&>(*world).abort(code);
#endif
  return code;
}
