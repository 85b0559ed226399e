// autorec-train TRAIN -o model.fb: trains item- or user-based AutoRec and writes the model file.
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autorec/container.hpp"
#include "autorec/model.hpp"
#include "autorec/train/baseline.hpp"
#include "autorec/train/checkpoint.hpp"
#include "autorec/train/dataset.hpp"
#include "autorec/train/model_writer.hpp"
#include "autorec/train/trainer.hpp"
#include "tool_main.hpp"

namespace at = autorec::train;

namespace {

std::vector<at::Cell> to_cells(const std::vector<at::Rating>& ratings, autorec::Variant v) {
  std::vector<at::Cell> cells;
  cells.reserve(ratings.size());
  for (const at::Rating& r : ratings)
    cells.push_back(v == autorec::Variant::ItemBased ? at::Cell{r.user, r.item, r.value} : at::Cell{r.item, r.user, r.value});
  return cells;
}

// Ratings as autorec::evaluate() and the baselines score them (dense user and item indices).
std::vector<autorec::RatingRef> to_refs(const std::vector<at::Rating>& ratings) {
  std::vector<autorec::RatingRef> refs;
  refs.reserve(ratings.size());
  for (const at::Rating& r : ratings) refs.push_back({r.user, r.item, r.value});
  return refs;
}

// --layers "500,250:tanh,500:sigmoid:0.1" (or 500-250-500, the paper's notation, which also fits in an
// autorec-tune grid): every hidden layer as SIZE[:ACTIVATION[:DROPOUT]], separated by ',' or '-'. The first is
// the encoder's (activation default --encoder, dropout default --dropout); the others are inner layers
// (activation default --encoder, dropout default 0).
void apply_layers(const std::string& spec, at::TrainConfig& cfg) {
  auto bad = [&](const std::string& part, const std::string& why) {
    return autorec::Error(autorec::Status::BadInput, "--layers '" + spec + "': '" + part + "': " + why);
  };
  const auto split = [](const std::string& text, const char* separators) {
    std::vector<std::string> out;
    for (std::size_t b = 0;;) {
      const std::size_t e = text.find_first_of(separators, b);
      out.push_back(text.substr(b, e - b));
      if (e == std::string::npos) return out;
      b = e + 1;
    }
  };
  const std::vector<std::string> parts = split(spec, ",-");
  if (parts.size() > 16) throw bad(spec, "at most 16 hidden layers");
  cfg.inner.clear();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::vector<std::string> f = split(parts[i], ":");
    if (f.size() > 3) throw bad(parts[i], "expected SIZE[:ACTIVATION[:DROPOUT]]");
    std::uint32_t size = 0;
    float dropout = i == 0 ? cfg.dropout : 0.0f;
    autorec::Activation activation = cfg.encoder;
    try {
      std::size_t used = 0;
      const unsigned long n = std::stoul(f[0], &used);
      if (used != f[0].size() || n < 1 || n > 65536) throw std::invalid_argument("range");
      size = static_cast<std::uint32_t>(n);
      if (f.size() == 3) {
        dropout = std::stof(f[2], &used);
        if (used != f[2].size() || !(dropout >= 0 && dropout <= 0.95f)) throw std::invalid_argument("range");
      }
    } catch (const std::exception&) {
      throw bad(parts[i], "size must be 1..65536 and dropout 0..0.95");
    }
    if (f.size() >= 2) {
      const auto a = autorec::parse_activation(f[1]);
      if (!a) throw bad(parts[i], "unknown activation '" + f[1] + "' (identity, sigmoid, tanh, relu, elu, selu)");
      activation = *a;
    }
    if (i == 0) {
      cfg.hidden = size, cfg.encoder = activation, cfg.dropout = dropout;
    } else {
      cfg.inner.push_back({size, activation, dropout});
    }
  }
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
    // The recipe fills every setting not given on the command line.
    const at::TrainConfig preset = *at::recipe(recipe_name);
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
    if (!layers.empty()) apply_layers(layers, cfg);
    cfg.optimizer = optimizer == "rprop" ? at::TrainConfig::Optimizer::Rprop : at::TrainConfig::Optimizer::Adam;
    cfg.schedule = app.count("--lr-schedule") == 0 ? preset.schedule
                   : schedule == "cosine"           ? at::TrainConfig::Schedule::Cosine
                                                    : at::TrainConfig::Schedule::Constant;
    cfg.device = device == "cpu" ? autorec::Device::Cpu : device == "cuda" ? autorec::Device::Cuda : autorec::Device::Auto;
    const auto policy = *at::parse_duplicate_policy(duplicates);
    const auto t_start = std::chrono::steady_clock::now();

    at::ReadOptions ro{skip_bad, rating_min, rating_max};
    const auto report_skipped = [](const at::RawRatings& r, const std::string& path) {
      if (!r.skipped_lines) return;
      std::fprintf(stderr, "autorec-train: skipped %llu malformed lines of %s (--skip-bad-lines):\n",
                   static_cast<unsigned long long>(r.skipped_lines), path.c_str());
      for (const auto& e : r.skipped_examples) std::fprintf(stderr, "  %s\n", e.c_str());
    };
    const at::RawRatings raw = at::read_ratings(train_path, ro);
    report_skipped(raw, train_path);
    // The test file is read before training, so that a bad one is refused before hours of work, not after.
    std::optional<at::RawRatings> test_raw;
    if (!test_path.empty()) {
      test_raw = at::read_ratings(test_path, ro);
      report_skipped(*test_raw, test_path);
    }
    const at::Dataset data = at::make_dataset(raw, policy, {rating_min, rating_max});
    if (data.duplicates)
      std::fprintf(stderr, "autorec-train: %llu duplicate (user, item) pairs, resolved by --duplicates %s\n",
                   static_cast<unsigned long long>(data.duplicates), duplicates.c_str());

    // Splits: test (by ratio, or a file), then validation out of what remains. Neither trains the model.
    std::vector<at::Rating> train_part = data.ratings, test_part, fit, val;
    if (test_ratio > 0) at::split(data, cfg.seed, test_ratio, train_part, test_part);
    const auto nu = static_cast<std::uint32_t>(data.users.size()), ni = static_cast<std::uint32_t>(data.items.size());
    const bool item_based = cfg.variant == autorec::Variant::ItemBased;
    if (at::needs_validation(cfg, train_part.size(), item_based ? ni : nu) && app.count("--val-ratio") == 0) {
      cfg.val_ratio = at::kSparseValidationRatio;
      refit = true;
      if (!quiet)
        std::printf("sparse data (%.1f ratings per %s): the default recipe holds out %g of them to choose the epoch, "
                    "the bias model's share and the cold-start rule, then refits on all (as --val-ratio %g --refit)\n",
                    double(train_part.size()) / (item_based ? ni : nu), item_based ? "item" : "user", cfg.val_ratio,
                    cfg.val_ratio);
    }
    if (refit && cfg.val_ratio <= 0)
      throw autorec::Error(autorec::Status::BadInput, "--refit needs a validation part: --val-ratio above 0");
    if (cfg.val_ratio > 0) {
      at::Dataset rest = data;
      rest.ratings = train_part;
      at::split(rest, cfg.seed + 7919, cfg.val_ratio, fit, val);
    } else {
      fit = train_part;
    }
    if (fit.empty()) throw autorec::Error(autorec::Status::BadInput, "no training ratings left after the splits");
    const at::Csc fit_m = at::make_csc(fit, nu, ni, cfg.variant);
    const std::vector<at::Cell> val_cells = to_cells(val, cfg.variant);
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    if (!quiet)
      std::printf("data: %s: %zu ratings, %u users, %u items, scale [%g, %g]%s; fit %zu, validation %zu, test %zu "
                  "(read in %.1f s)\n",
                  train_path.c_str(), data.ratings.size(), nu, ni, data.scale.min, data.scale.max,
                  data.scale.integral ? " integral" : "", fit.size(), val.size(),
                  test_path.empty() ? test_part.size() : std::size_t{0}, load_s);

    std::ofstream metrics;
    if (!metrics_path.empty()) {
      metrics.open(metrics_path);
      if (!metrics) throw autorec::Error(autorec::Status::BadInput, metrics_path + ": cannot open for writing");
    }
    const auto on_epoch = [&](const at::EpochStats& s) {
      if (!quiet) {
        std::printf("epoch %3u/%u  loss %.6f  train_rmse %.4f", s.epoch, cfg.epochs, s.loss, s.train_rmse);
        if (s.val_rmse >= 0) std::printf("  val_rmse %.4f", s.val_rmse);
        std::printf("  %.3f s  %.3g ratings/s\n", s.seconds, s.ratings_per_s);
        std::fflush(stdout);
      }
      if (metrics.is_open())
        metrics << nlohmann::json{{"epoch", s.epoch}, {"loss", s.loss}, {"train_rmse", s.train_rmse},
                                  {"val_rmse", s.val_rmse < 0 ? nlohmann::json() : nlohmann::json(s.val_rmse)},
                                  {"seconds", s.seconds}, {"ratings_per_s", s.ratings_per_s}}.dump()
                << '\n' << std::flush;
    };
    // With --refit the checkpoint file holds the first run's state, then the refit's; a refit checkpoint
    // carries what the first run decided (its best epoch and the cold-start rule), so resuming it skips that run.
    std::optional<nlohmann::json> refit_state;
    if (refit && checkpoint.resume && std::filesystem::exists(checkpoint.path)) {
      const at::Checkpoint c = at::parse_checkpoint(autorec::read_file_bytes(checkpoint.path), checkpoint.path);
      if (c.stage == "refit") refit_state = nlohmann::json::parse(c.caller_state, nullptr, false);
      if (refit_state && (refit_state->is_discarded() || !refit_state->contains("best_epoch")))
        throw autorec::Error(autorec::Status::Corrupt, checkpoint.path + ": field caller_state: not the state of a refit");
    }
    const auto report = [&](const at::TrainResult& r) {
      if (!r.notice.empty()) std::fprintf(stderr, "autorec-train: %s\n", r.notice.c_str());
      if (r.resumed_after && !quiet)
        std::printf("resumed from %s after epoch %u\n", checkpoint.path.c_str(), r.resumed_after);
    };
    at::TrainResult result;
    at::ColdStartChoice cold;
    if (refit_state) {
      result.best_epoch = (*refit_state)["best_epoch"].get<std::uint32_t>();
      cold.rule = static_cast<at::ColdStart>((*refit_state)["cold_start"].get<int>());
      cold.rmse = (*refit_state)["cold_start_rmse"].get<std::array<double, 3>>();
      cold.cells = (*refit_state)["cold_start_cells"].get<std::size_t>();
    } else {
      result = at::train(cfg, fit_m, val_cells, data.scale.min, data.scale.max, on_epoch, checkpoint);
      report(result);
    }
    // With validation ratings: the network beside the simple baselines on them, so that a recipe that does not
    // beat them shows before the test set is read; the bias model's share in the answers; and the cold-start
    // rule, chosen with the validated model (a refit keeps both).
    const at::Side columns_last = at::columns_side(cfg.variant);
    double baseline_weight = 0;
    std::optional<at::BiasModel> bias;
    if (refit_state) baseline_weight = refit_state->value("baseline_weight", 0.0);
    if (!val_cells.empty() && !refit_state) {
      bias = at::fit_bias_model_auto(fit, nu, ni, columns_last);
      const std::vector<autorec::RatingRef> val_refs = to_refs(val);
      at::ModelContents validated{&cfg, &data, &fit_m, &result, policy, val.size(), -1.0, 1};
      const autorec::Model network =
          autorec::Model::load_buffer(at::build_model_file(validated), out_path, {.device = autorec::Device::Cpu});
      const at::BlendChoice blend = at::choose_blend(network, *bias, val_refs);
      baseline_weight = blend.weight;
      if (!quiet) {
        const at::BaselineResult base = at::evaluate_baselines(*bias, val_refs, data.scale.min, data.scale.max);
        std::printf("validation RMSE: network %.4f (epoch %u), user + item biases %.4f (pseudo-counts %g, %g), "
                    "global mean %.4f\n",
                    result.history[result.best_epoch - 1].val_rmse, result.best_epoch, base.bias.rmse, bias->user_reg,
                    bias->item_reg, base.global_mean.rmse);
        std::printf("baseline: the bias model's share in the answers %.2f (RMSE on the %zu validation ratings the "
                    "network answers: network %.4f, bias model %.4f, best blend %.4f at share %.2f, %.1f standard "
                    "errors better than the bias model%s)\n",
                    blend.weight, blend.cells, blend.network_rmse, blend.bias_rmse, blend.blend_rmse, blend.best_weight,
                    blend.evidence, blend.weight != blend.best_weight ? ": not enough, the bias model answers" : "");
      }
      validated.baseline = &*bias;
      validated.baseline_weight = baseline_weight;
      const autorec::Model model =
          autorec::Model::load_buffer(at::build_model_file(validated), out_path, {.device = autorec::Device::Cpu});
      cold = at::choose_cold_start(model, fit_m, val_cells, &*bias);
      if (!quiet)
        std::printf("cold start: %s (RMSE on the %zu rarest validation ratings: means %.4f, global mean %.4f, "
                    "empty input %.4f)\n",
                    at::cold_start_name(cold.rule), cold.cells, cold.rmse[0], cold.rmse[1], cold.rmse[2]);
    }
    // --refit: the epoch count chosen on validation, trained again on all the training ratings; not when the
    // bias model answers alone (the network would go unused).
    at::Csc all_m;
    if (refit) all_m = at::make_csc(train_part, nu, ni, cfg.variant);
    if (refit && baseline_weight == 1) {
      if (!quiet) std::printf("refit: skipped, the bias model answers alone (fitted again on all %zu training ratings)\n", train_part.size());
    } else if (refit) {
      if (!quiet)
        std::printf("refit: %u epochs (the best on validation) on all %zu training ratings\n", result.best_epoch,
                    train_part.size());
      cfg.schedule_epochs = cfg.epochs;  // the learning-rate curve that was validated, stopped at the best epoch
      cfg.epochs = result.best_epoch;
      cfg.val_ratio = 0;
      cfg.patience = 0;
      checkpoint.stage = "refit";
      checkpoint.caller_state = nlohmann::json{{"best_epoch", cfg.epochs}, {"cold_start", static_cast<int>(cold.rule)},
                                               {"cold_start_rmse", cold.rmse}, {"cold_start_cells", cold.cells},
                                               {"baseline_weight", baseline_weight}}.dump();
      checkpoint.resume = checkpoint.resume && refit_state.has_value();  // a first run's checkpoint is replaced
      result = at::train(cfg, all_m, {}, data.scale.min, data.scale.max, on_epoch, checkpoint);
      report(result);
    }
    if (refit) val.clear();
    const at::Csc& model_m = refit ? all_m : fit_m;
    // The baseline of the written model: fitted on the ratings it stores (all of them after a refit).
    const bool had_baseline = bias || (refit_state && refit_state->contains("baseline_weight"));
    if (refit && had_baseline) bias = at::fit_bias_model_auto(train_part, nu, ni, columns_last);

    at::ModelContents contents{&cfg, &data, &model_m, &result, policy, val.size(), -1.0, zstd_level};
    contents.dtype = *autorec::parse_dtype(dtype);
    contents.cold_start = cold.rule;
    if (bias) contents.baseline = &*bias, contents.baseline_weight = baseline_weight;
    std::vector<std::byte> file = at::build_model_file(contents);

    // The test RMSE comes from the model file through libautorec_infer, exactly as autorec-verify computes it.
    autorec::EvalResult test{};
    const bool has_test = !test_path.empty() || !test_part.empty();
    if (has_test) {
      const autorec::Model model = autorec::Model::load_buffer(file, out_path, {.device = autorec::Device::Cpu});
      std::vector<autorec::RatingRef> refs;
      if (!test_path.empty()) {
        refs = at::map_to_model(model, *test_raw);
      } else {
        refs = to_refs(test_part);
      }
      test = autorec::evaluate(model, refs);
      if (test.count && test.cold_start == test.count)
        std::fprintf(stderr, "autorec-train: every test rating is of a user or item the model never saw: the test "
                             "RMSE measures the cold-start rule only\n");
      contents.test_rmse = test.rmse;
      file = at::build_model_file(contents);
    }
    at::write_file_atomic(out_path, file);

    const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    double train_s = 0;
    for (const auto& s : result.history) train_s += s.seconds;
    const double per_epoch = train_s / double(result.history.size());
    std::string sizes = std::to_string(cfg.hidden);
    for (const auto& l : cfg.inner) sizes += "-" + std::to_string(l.size);
    std::printf("model: %s (%zu bytes), %s-based, hidden %s, best epoch %u of %zu, backend %s\n", out_path.c_str(),
                file.size(), autorec::variant_name(cfg.variant), sizes.c_str(), result.best_epoch, result.history.size(),
                result.backend.c_str());
    std::printf("time: %.3f s per epoch, %.2f s in total\n", per_epoch, total_s);
    if (has_test)
      std::printf("test RMSE %.6f  MAE %.6f  ratings %llu  cold-start %llu\n", test.rmse, test.mae,
                  static_cast<unsigned long long>(test.count), static_cast<unsigned long long>(test.cold_start));
    if (metrics.is_open()) {
      nlohmann::json summary = {{"summary", true}, {"model", out_path}, {"bytes", file.size()},
                                {"epochs_run", result.history.size()}, {"best_epoch", result.best_epoch},
                                {"s_per_epoch", per_epoch}, {"total_s", total_s}, {"load_s", load_s}, {"fit", refit ? train_part.size() : fit.size()},
                                {"val", val.size()}, {"threads", cfg.threads},
                                {"cold_start", at::cold_start_name(cold.rule)}};
      if (has_test) summary["test_rmse"] = test.rmse, summary["test_mae"] = test.mae, summary["test_count"] = test.count;
      metrics << summary.dump() << '\n';
    }
    return 0;
  });
}
