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
#include "console.hpp"
#include "tool_main.hpp"

namespace ad = autorec::data;
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
  std::printf("model: %s (%zu bytes), %s-based, hidden %s, best epoch %u of %zu, backend %s\n", out_path.c_str(),
              r.file.size(), autorec::variant_name(cfg.variant), sizes.c_str(), t.best_epoch,
              t.history.size(), t.backend.c_str());
  std::printf("time: %.3f s per epoch, %.2f s in total\n", per_epoch, total_s);
  if (r.test)
    std::printf("test RMSE %.6f  MAE %.6f  ratings %llu  cold-start %llu\n", r.test->rmse, r.test->mae,
                static_cast<unsigned long long>(r.test->count), static_cast<unsigned long long>(r.test->cold_start));
  if (!metrics) return;
  nlohmann::json summary = {{"summary", true}, {"model", out_path}, {"bytes", r.file.size()},
                            {"epochs_run", t.history.size()}, {"best_epoch", t.best_epoch},
                            {"s_per_epoch", per_epoch}, {"total_s", total_s}, {"load_s", r.read_seconds},
                            {"fit", r.fit}, {"val", r.val}, {"threads", cfg.threads},
                            {"cold_start", at::cold_start_name(r.cold_start.rule)}};
  if (r.test) summary["test_rmse"] = r.test->rmse, summary["test_mae"] = r.test->mae, summary["test_count"] = r.test->count;
  *metrics << summary.dump() << '\n';
}

// The recipe fills every setting not given on the command line; returns the recipe.
at::TrainConfig apply_recipe(const CLI::App& app, const std::string& name, at::TrainConfig& cfg) {
  const at::TrainConfig preset = *at::recipe(name);
  cfg.recipe = preset.recipe;
  const auto unless_given = [&](const char* option, auto&& take) {
    if (app.count(option) == 0) take();
  };
  unless_given("--hidden", [&] { cfg.hidden = preset.hidden; });
  unless_given("--dropout", [&] { cfg.dropout = preset.dropout; });
  unless_given("--input-offset", [&] { cfg.input_offset = preset.input_offset; });
  unless_given("--input-norm", [&] { cfg.input_norm = preset.input_norm; });
  unless_given("--lr", [&] { cfg.learning_rate = preset.learning_rate; });
  unless_given("--weight-decay", [&] { cfg.weight_decay = preset.weight_decay; });
  unless_given("--adamw-decay", [&] { cfg.decoupled_decay = preset.decoupled_decay; });
  unless_given("--no-decay-biases", [&] { cfg.decay_biases = preset.decay_biases; });
  unless_given("--lr-min", [&] { cfg.lr_min = preset.lr_min; });
  unless_given("--batch", [&] { cfg.batch_size = preset.batch_size; });
  unless_given("--epochs", [&] { cfg.epochs = preset.epochs; });
  unless_given("--init-std", [&] { cfg.init_std = preset.init_std; });
  return preset;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train an AutoRec rating-prediction model (Sedhain et al., WWW 2015)", "autorec-train"};
  at::TrainConfig cfg;
  std::string train_path, out_path = "model.fb", test_path, metrics_path, variant = "item", encoder = "sigmoid",
                          decoder = "identity", layers, device = "auto", duplicates = "last", dtype = "fp32", schedule = "constant", optimizer = "adam", recipe_name = "default";
  double test_ratio = 0;
  std::optional<float> rating_min, rating_max;
  bool skip_bad = false, quiet = false, no_decay_biases = false, refit = false;
  int zstd_level = 3;
  at::CheckpointOptions checkpoint;
  app.add_option("train", train_path, "training ratings (u.data, ratings.dat, ratings.csv; .zst ok)")->required();
  app.add_option("-o,--output", out_path, "model file to write (atomically)");
  app.add_option("--recipe", recipe_name, "starting settings: default (best found on validation data) or textbook "
                                          "(the published recipe); flags given explicitly override them")
      ->check(CLI::IsMember({"default", "textbook"}));
  app.add_option("--variant", variant, "item (I-AutoRec, default) or user (U-AutoRec)")->check(CLI::IsMember({"item", "user"}));
  app.add_option("--hidden", cfg.hidden, "hidden units")->check(CLI::Range(1u, 65536u));
  app.add_option("--encoder", encoder, "encoder activation g")->check(CLI::IsMember({"identity", "sigmoid", "tanh", "relu", "elu", "selu"}));
  app.add_option("--decoder", decoder, "decoder activation f")->check(CLI::IsMember({"identity", "sigmoid", "tanh", "relu", "elu", "selu"}));
  app.add_option("--layers", layers, "hidden layers as SIZE[:ACTIVATION[:DROPOUT]] separated by , or -: e.g. 500-250-500 (the "
                                     "first is the encoder's; deeper networks train on the CPU)")
      ->excludes("--hidden");
  app.add_option("--dropout", cfg.dropout, "dropout after the encoder (training only)")->check(CLI::Range(0.0f, 0.95f));
  app.add_option("--input-dropout", cfg.input_dropout, "share of each column's ratings hidden from the encoder "
                                                       "while training (denoising; CPU)")->check(CLI::Range(0.0f, 0.95f));
  app.add_option("--input-offset", cfg.input_offset, "the encoder reads rating + this at each rated entry (0 elsewhere), so "
                                                     "that it tells who rated apart from how; in model units (the "
                                                     "scale's ends at 1 and 5: stars)")
      ->check(CLI::Range(-1e6f, 1e6f));
  app.add_option("--input-norm", cfg.input_norm, "scale each column's encoder input by (mean column length / its length)^P "
                                                 "(0 = off; 0.5 as SVD++ does)")
      ->check(CLI::Range(0.0f, 4.0f));
  app.add_option("--lr", cfg.learning_rate, "Adam learning rate")->check(CLI::PositiveNumber);
  app.add_option("--weight-decay", cfg.weight_decay, "L2 weight decay (added to the Adam gradient)")->check(CLI::NonNegativeNumber);
  app.add_flag("--no-decay-biases", no_decay_biases, "apply the weight decay to W and V only (the paper's loss)");
  app.add_option("--adamw-decay", cfg.decoupled_decay, "AdamW: decoupled weight decay (p *= 1 - lr * d each step)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--lr-schedule", schedule, "constant, or cosine down to --lr-min at the last epoch")
      ->check(CLI::IsMember({"constant", "cosine"}));
  app.add_option("--lr-min", cfg.lr_min, "final learning rate of the cosine schedule")->check(CLI::NonNegativeNumber);
  app.add_option("--optimizer", optimizer, "adam (mini-batch, default) or rprop (full batch, the paper's objective)")
      ->check(CLI::IsMember({"adam", "rprop"}));
  app.add_option("--lambda", cfg.l2_lambda, "rprop: L2 weight of the paper's objective (lambda/2 |W|^2 + |V|^2)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--batch", cfg.batch_size, "columns per optimiser step")->check(CLI::Range(1u, 1u << 20));
  app.add_option("--epochs", cfg.epochs, "epochs")->check(CLI::Range(1u, 100000u));
  app.add_option("--seed", cfg.seed, "seed of initialisation, shuffling, dropout and the splits");
  app.add_option("--init-std", cfg.init_std, "std of the N(0, s) initial weights")->check(CLI::PositiveNumber);
  app.add_option("--val-ratio", cfg.val_ratio, "share of training ratings held out for validation / early stopping")->check(CLI::Range(0.0, 0.5));
  // (Checked after the data is read: on sparse data the default recipe provides the validation part.)
  app.add_flag("--refit", refit, "after choosing the epoch count on the validation part, train again on all "
                                 "training ratings for that many epochs (needs --val-ratio, or sparse data)");
  app.add_option("--patience", cfg.patience, "stop after N epochs without a better validation RMSE (0 = off)");
  app.add_option("--threads", cfg.threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
  app.add_option("--device", device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  auto* test_opt = app.add_option("--test", test_path, "held-out test ratings; RMSE reported at the end, never used to train");
  app.add_option("--test-ratio", test_ratio, "hold out this share of TRAIN as the test set (seeded by --seed)")
      ->check(CLI::Range(0.0, 0.9))->excludes(test_opt);
  app.add_option("--rating-min", rating_min, "lowest rating of the scale (default: from the data)");
  app.add_option("--rating-max", rating_max, "highest rating of the scale (default: from the data)");
  app.add_option("--duplicates", duplicates, "repeated (user, item) pairs: last, first, mean or error")
      ->check(CLI::IsMember({"last", "first", "mean", "error"}));
  app.add_flag("--skip-bad-lines", skip_bad, "skip (count and report) malformed lines instead of failing");
  auto* checkpoint_opt = app.add_option("--checkpoint", checkpoint.path, "save the training state (weights, optimiser, "
                                         "epoch) to this file, atomically, every --checkpoint-every epochs");
  app.add_option("--checkpoint-every", checkpoint.every, "epochs between checkpoints (the last is always saved)")
      ->check(CLI::Range(1u, 100000u))->needs(checkpoint_opt);
  app.add_flag("--resume", checkpoint.resume, "continue from the --checkpoint file when it exists (it must come from "
                                             "the same data and settings); without it a new run starts")
      ->needs(checkpoint_opt);
  app.add_option("--metrics", metrics_path, "write one JSON line per epoch and a summary line to this file");
  app.add_option("--zstd-level", zstd_level, "zstd level of the model file")->check(CLI::Range(1, 19));
  app.add_option("--dtype", dtype, "storage type of the weight matrices: fp32, fp16, bf16 or int8 (per-row scales)")
      ->check(CLI::IsMember({"fp32", "fp16", "bf16", "int8"}));
  app.add_flag("-q,--quiet", quiet, "print only the summary");

  return autorec::tools::tool_main(app, argc, argv, [&]() -> int {
    cfg.variant = variant == "item" ? autorec::Variant::ItemBased : autorec::Variant::UserBased;
    cfg.encoder = *autorec::parse_activation(encoder);
    cfg.decoder = *autorec::parse_activation(decoder);
    cfg.decay_biases = !no_decay_biases;
    // CLI11's ranges let NaN through (it fails both comparisons).
    for (const auto& [flag, value] : {std::pair{"--input-offset", cfg.input_offset}, std::pair{"--input-norm", cfg.input_norm}})
      if (!std::isfinite(value))
        throw autorec::Error(autorec::Status::BadInput, std::string(flag) + ": " + std::to_string(value) + " is not a number");
    const at::TrainConfig preset = apply_recipe(app, recipe_name, cfg);
    if (!layers.empty()) at::apply_layer_spec(layers, cfg);
    cfg.optimizer = optimizer == "rprop" ? at::TrainConfig::Optimizer::Rprop : at::TrainConfig::Optimizer::Adam;
    cfg.schedule = app.count("--lr-schedule") == 0 ? preset.schedule
                   : schedule == "cosine"           ? at::TrainConfig::Schedule::Cosine
                                                    : at::TrainConfig::Schedule::Constant;
    cfg.device = device == "cpu" ? autorec::Device::Cpu : device == "cuda" ? autorec::Device::Cuda : autorec::Device::Auto;
    const auto t_start = std::chrono::steady_clock::now();
    at::RunSettings settings;
    settings.config = cfg;
    settings.auto_validation = app.count("--val-ratio") == 0;
    settings.refit = refit;
    settings.duplicates = *ad::parse_duplicate_policy(duplicates);
    settings.scale = {rating_min, rating_max};
    settings.test_ratio = test_ratio;
    settings.checkpoint = checkpoint;
    settings.dtype = *autorec::parse_dtype(dtype);
    settings.zstd_level = zstd_level;
    settings.model_name = out_path;

    std::ofstream metrics;
    if (!metrics_path.empty()) {
      metrics.open(metrics_path);
      if (!metrics) throw autorec::Error(autorec::Status::BadInput, metrics_path + ": cannot open for writing");
    }
    autorec::tools::ConsoleObserver observer(quiet, ::isatty(STDOUT_FILENO) == 1, &metrics);
    const at::Input input = at::read_input(train_path, test_path, {skip_bad, rating_min, rating_max}, observer);
    const at::RunResult r = at::run(input, settings, observer);
    r.write(out_path);
    observer.finish();
    print_summary(r, cfg, out_path, std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count(),
                  metrics.is_open() ? &metrics : nullptr);
    return 0;
  });
}
