// The training pipeline (pipeline.hpp): splits, training, validation choices, refit, model file, test RMSE.
#include "autorec/train/pipeline.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "autorec/container.hpp"
#include "autorec/data/baseline.hpp"
#include "autorec/data/ranking.hpp"
#include "autorec/train/checkpoint.hpp"
#include "autorec/train/model_writer.hpp"
#include "autorec/train/sharding.hpp"
#include "autorec/train/resources.hpp"
#include "autorec/train/run_options.hpp"
#include "autorec/train/settings.hpp"

namespace autorec::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string format(const char* fmt, auto... args) {
  const int n = std::snprintf(nullptr, 0, fmt, args...);
  std::string s(static_cast<std::size_t>(n), '\0');
  std::snprintf(s.data(), s.size() + 1, fmt, args...);
  return s;
}

std::vector<Cell> to_cells(const std::vector<data::Rating>& ratings, Variant v) {
  std::vector<Cell> cells;
  cells.reserve(ratings.size());
  for (const data::Rating& r : ratings)
    cells.push_back(v == Variant::ItemBased ? Cell{r.user, r.item, r.value} : Cell{r.item, r.user, r.value});
  return cells;
}

// Ratings as autorec::evaluate() and the baselines score them (dense user and item indices).
std::vector<RatingRef> to_refs(const std::vector<data::Rating>& ratings) {
  std::vector<RatingRef> refs;
  refs.reserve(ratings.size());
  for (const data::Rating& r : ratings) refs.push_back({r.user, r.item, r.value});
  return refs;
}

void report_skipped(const data::RawRatings& r, Observer& observer) {
  if (!r.skipped_lines) return;
  std::string text = format("skipped %llu malformed lines of %s (--skip-bad-lines):",
                            static_cast<unsigned long long>(r.skipped_lines), r.source.c_str());
  for (const auto& e : r.skipped_examples) text += "\n  " + e;
  observer.warning(text);
}

// Validation ratings of their own, in the dataset's indices. Left out, and counted: those of a user or an
// item without training ratings (the network has no column or row trained for them; a --test-ratio share
// does not count as training), and those of a (user, item) pair that is also a training rating (it would
// validate on what the model trains on).
std::vector<data::Rating> mapped_validation(const data::RawRatings& raw, const data::Dataset& data,
                                            const std::vector<data::Rating>& train_part, Observer& observer) {
  std::vector<std::uint8_t> user_seen(data.users.size(), 0), item_seen(data.items.size(), 0);
  for (const data::Rating& r : train_part) user_seen[r.user] = 1, item_seen[r.item] = 1;
  const auto trained = [&](std::uint32_t u, std::uint32_t i) {  // train_part is sorted by (user, item)
    const auto it = std::lower_bound(train_part.begin(), train_part.end(), std::pair(u, i),
                                     [](const data::Rating& r, const auto& key) { return std::pair(r.user, r.item) < key; });
    return it != train_part.end() && it->user == u && it->item == i;
  };
  const data::HeldOut held = data::map_to_dataset(raw, data);
  std::vector<data::Rating> val;
  val.reserve(held.ratings.size());
  std::size_t unknown = 0, overlapping = 0;
  for (const RatingRef& r : held.ratings) {
    if (!r.user || !r.item || !user_seen[*r.user] || !item_seen[*r.item]) ++unknown;
    else if (trained(*r.user, *r.item)) ++overlapping;
    else val.push_back({*r.user, *r.item, r.value});
  }
  if (val.empty())
    throw Error(Status::BadInput, raw.source + ": none of the " + std::to_string(raw.size()) +
                                      " validation ratings is of a user and an item of the training ratings (and "
                                      "not a training rating itself)");
  if (unknown)
    observer.info(format("validation: %s: %zu of %zu ratings are of users or items the training ratings lack, left "
                         "out",
                         raw.source.c_str(), unknown, held.ratings.size()));
  if (overlapping)
    observer.warning(format("validation: %s: %zu of %zu ratings are also training ratings (the same user and item), "
                            "left out",
                            raw.source.c_str(), overlapping, held.ratings.size()));
  return val;
}

// The data of a run after the splits: test (by ratio, or a file), then validation out of what remains.
// Neither trains the model. Ratings are moved, not copied, from one part to the next, and what the rest of
// the run does not read is released (release_unread), so that the trainer's allocations find the memory of
// the parsed file free; the counts stay.
struct Prepared {
  data::Dataset data;  // ids and scale; its ratings are released once split
  std::uint32_t nu = 0, ni = 0;
  std::vector<data::Rating> train_part, test_part, fit, val;
  Csc fit_m;
  std::vector<Cell> val_cells;
  std::size_t num_ratings = 0, num_train = 0, num_fit = 0, num_val = 0, num_test = 0;
};

template <class T>
void release(std::vector<T>& v) { std::vector<T>().swap(v); }

// What the rest of the run reads: the fit matrix and the validation cells (the trainer, on every process);
// the training part (a refit); the fit part and the validation ratings (the choices made on validation) and
// the test part (its RMSE), on the process that writes the model only.
void release_unread(Prepared& p, const RunSettings& s, bool writes) {
  p.num_fit = p.fit.size(), p.num_val = p.val.size(), p.num_test = p.test_part.size();
  if (!s.refit) release(p.train_part);
  if (p.val.empty() || !writes) release(p.fit), release(p.val);
  if (!writes) release(p.test_part);
}

Prepared prepare(const Input& input, RunSettings& s, Observer& observer) {
  TrainConfig& cfg = s.config;
  Prepared p;
  p.data = make_dataset(input.train, s.duplicates, s.scale);
  if (p.data.duplicates)
    observer.warning(format("%llu duplicate (user, item) pairs, resolved by --duplicates %s",
                            static_cast<unsigned long long>(p.data.duplicates), duplicate_policy_name(s.duplicates)));
  p.num_ratings = p.data.ratings.size();
  if (s.test_ratio > 0 && !input.test) split(p.data, cfg.seed, s.test_ratio, p.train_part, p.test_part);
  else p.train_part = std::move(p.data.ratings);
  release(p.data.ratings);
  p.num_train = p.train_part.size();
  p.nu = static_cast<std::uint32_t>(p.data.users.size()), p.ni = static_cast<std::uint32_t>(p.data.items.size());
  const bool item_based = cfg.variant == Variant::ItemBased;
  if (input.validation) {
    if (cfg.val_ratio > 0 && !s.auto_validation)
      throw Error(Status::BadInput, "validation ratings of their own (" + input.validation->source +
                                        ") and --val-ratio " + format("%g", cfg.val_ratio) + ": give one of them");
    cfg.val_ratio = 0;
    p.val = mapped_validation(*input.validation, p.data, p.train_part, observer);
    if (s.refit) {
      // The model already trains on every training rating and keeps its best epoch's weights: a refit would
      // train the same ratings for those epochs again and arrive at the same weights.
      s.refit = false;
      observer.info("refit: not needed, the validation ratings are apart from the training ratings, on all of which "
                    "the model trains");
    }
  } else if (s.auto_validation && needs_validation(cfg, p.train_part.size(), item_based ? p.ni : p.nu)) {
    cfg.val_ratio = kSparseValidationRatio;
    s.refit = true;
    observer.info(format("sparse data (%.1f ratings per %s): the default recipe holds out %g of them to choose the "
                         "epoch, the bias model's share and the cold-start rule, then refits on all (as --val-ratio "
                         "%g --refit)",
                         double(p.train_part.size()) / (item_based ? p.ni : p.nu), item_based ? "item" : "user",
                         cfg.val_ratio, cfg.val_ratio));
  }
  if (s.refit && cfg.val_ratio <= 0 && !input.validation)
    throw Error(Status::BadInput, "--refit needs a validation part: --val-ratio above 0, or validation ratings");
  if (cfg.val_ratio > 0 && !input.validation) {
    data::Dataset rest = p.data;
    rest.ratings = std::move(p.train_part);
    split(rest, cfg.seed + 7919, cfg.val_ratio, p.fit, p.val);
    if (s.refit) p.train_part = std::move(rest.ratings);  // the refit trains on all of them
  } else {
    p.fit = std::move(p.train_part);  // no refit here: with validation ratings of their own it is skipped
  }
  if (p.fit.empty()) throw Error(Status::BadInput, "no training ratings left after the splits");
  p.fit_m = make_csc(p.fit, p.nu, p.ni, cfg.variant);
  p.val_cells = to_cells(p.val, cfg.variant);
  return p;
}

// What the first stage decided, as a refit checkpoint carries it, so that resuming a refit skips that stage.
struct Decisions {
  std::uint32_t best_epoch = 0;
  ColdStartChoice cold;
  std::optional<double> baseline_weight;  // set when the first stage fitted a bias model
  std::optional<RankingRule> ranking;     // set when it chose a ranking rule
};

std::string decisions_json(const Decisions& d) {
  nlohmann::json j{{"best_epoch", d.best_epoch}, {"cold_start", static_cast<int>(d.cold.rule)},
                   {"cold_start_rmse", d.cold.rmse}, {"cold_start_cells", d.cold.cells},
                   {"baseline_weight", d.baseline_weight.value_or(0.0)}};
  if (const auto& r = d.ranking)
    j["ranking"] = {r->popularity_weight, r->validation_k, r->validation_ndcg, r->rating_ndcg, r->popularity_ndcg};
  return j.dump();
}

// With --refit and --resume: the decisions stored in a refit checkpoint at the checkpoint path, if one is there.
std::optional<Decisions> resumed_decisions(const RunSettings& s) {
  const CheckpointOptions& c = s.checkpoint;
  if (!s.refit || !c.resume || !std::filesystem::exists(c.path)) return std::nullopt;
  const Checkpoint saved = parse_checkpoint(read_file_bytes(c.path), c.path);
  if (saved.stage != "refit") return std::nullopt;
  const nlohmann::json j = nlohmann::json::parse(saved.caller_state, nullptr, false);
  if (j.is_discarded() || !j.contains("best_epoch"))
    throw Error(Status::Corrupt, c.path + ": field caller_state: not the state of a refit");
  Decisions d;
  d.best_epoch = j["best_epoch"].get<std::uint32_t>();
  d.cold.rule = static_cast<ColdStart>(j["cold_start"].get<int>());
  d.cold.rmse = j["cold_start_rmse"].get<std::array<double, 3>>();
  d.cold.cells = j["cold_start_cells"].get<std::size_t>();
  if (j.contains("baseline_weight")) d.baseline_weight = j.value("baseline_weight", 0.0);
  if (j.contains("ranking")) {
    const nlohmann::json& r = j["ranking"];
    d.ranking = RankingRule{r.at(0).get<float>(), r.at(1).get<std::uint32_t>(), r.at(2).get<float>(),
                            r.at(3).get<float>(), r.at(4).get<float>()};
  }
  return d;
}

TrainResult train_stage(const TrainConfig& cfg, const Csc& m, const std::vector<Cell>& val, const data::Dataset& data,
                        const RunSettings& s, const CheckpointOptions& checkpoint, std::string_view stage,
                        Observer& observer) {
  const auto on_epoch = [&](const EpochStats& e) { observer.epoch(stage, e, cfg.epochs); };
  std::unique_ptr<TrainBackend> backend;
  CheckpointOptions ck = checkpoint;
  if (Collective* comm = s.collective.get()) {
    if (cfg.device == Device::Cuda)
      throw Error(Status::Unsupported, "--device cuda: a distributed run trains on the CPU (" +
                                           std::string(comm->transport()) + "); NCCL between GPUs is not built yet");
    const bool item_based = cfg.variant == Variant::ItemBased;
    observer.info(format("distributed: %d processes (%s), %s sharded by rating count, %s replicated:\n", comm->size(),
                         comm->transport(), item_based ? "users" : "items", item_based ? "items" : "users") +
                  sharding_text(shard_rows(m, comm->size(), cfg.batch_size), item_based ? "users" : "items"));
    backend = make_cpu_trainer(s.collective);
  }
  const std::uint64_t sent_before = s.collective ? s.collective->bytes_sent() : 0;
  const double comm_before = s.collective ? s.collective->seconds() : 0;
  TrainResult r = train(cfg, m, val, data.scale.min, data.scale.max, on_epoch, ck, std::move(backend));
  if (const std::size_t epochs = r.history.size() - r.resumed_after; s.collective && epochs > 0) {
    const double mb = double(s.collective->bytes_sent() - sent_before) / 1e6;
    double train_s = 0;
    for (std::size_t e = r.resumed_after; e < r.history.size(); ++e) train_s += r.history[e].seconds;
    observer.info(format("distributed: rank %d sent %.1f MB in the %zu epochs of %s run here (%.2f MB per epoch) and "
                         "spent %.2f s in sums and gathers (%.2f s per epoch of %.2f s)",
                         s.collective->rank(), mb, epochs, std::string(stage).c_str(), mb / double(epochs),
                         s.collective->seconds() - comm_before, (s.collective->seconds() - comm_before) / double(epochs),
                         train_s / double(epochs)));
  }
  if (!r.notice.empty()) observer.warning(r.notice);
  if (r.resumed_after) observer.info(format("resumed from %s after epoch %u", s.checkpoint.path.c_str(), r.resumed_after));
  return r;
}

// The ranking rule, chosen on the validation ratings: recommend() ranks by predicted rating + w ln(1 + n), n
// the item's stored ratings, with the w of the grid (in units of a quarter of the rating scale, 1 star on 1-5)
// whose lists have the best NDCG@10 (the smaller w on a tie; w = 0 is the rating alone). Rating-trained
// models tend to put rarely rated items with high predictions first; the term is what pays for popularity.
std::optional<RankingRule> choose_ranking_rule(const Model& model, std::span<const RatingRef> val, int threads,
                                               Observer& observer) {
  constexpr std::uint32_t kK = 10;
  constexpr std::array<float, 11> kGrid = {0, 0.05f, 0.1f, 0.2f, 0.3f, 0.5f, 0.75f, 1, 1.5f, 2, 3};
  const float unit = (model.info().rating_max - model.info().rating_min) / 4;
  std::vector<float> weights;
  for (const float g : kGrid) weights.push_back(g * unit);
  data::RankingOptions o;
  o.ks = {kK};
  o.threads = threads;
  const data::PopularitySweep sweep = data::popularity_sweep(model, val, weights, o);
  if (sweep.ndcg.empty()) {
    observer.info("ranking rule: the predicted rating (no validation user has a relevant rating to choose a rule on)");
    return std::nullopt;
  }
  const std::size_t best = std::size_t(std::max_element(sweep.ndcg.begin(), sweep.ndcg.end()) - sweep.ndcg.begin());
  const RankingRule rule{weights[best], kK, float(sweep.ndcg[best]), float(sweep.ndcg[0]), float(sweep.popularity_ndcg)};
  std::string grid;
  for (std::size_t w = 0; w < weights.size(); ++w) grid += format("%s%g: %.4f", w ? ", " : "", double(weights[w]), sweep.ndcg[w]);
  observer.info(format("ranking rule: predicted rating + %g ln(1 + the item's ratings) (NDCG@10 on %zu validation "
                       "users: rule %.4f, rating alone %.4f, popularity %.4f; by weight %s)",
                       double(rule.popularity_weight), sweep.users, rule.validation_ndcg, rule.rating_ndcg,
                       rule.popularity_ndcg, grid.c_str()));
  return rule;
}

// With validation ratings: the network beside the simple baselines on them, so that a recipe that does not
// beat them shows before the test set is read; the bias model's share in the answers; and the cold-start
// rule, chosen with the validated model (a refit keeps both).
void choose_on_validation(const RunSettings& s, const Prepared& p, const TrainResult& result, data::BiasModel& bias,
                          Decisions& d, Observer& observer) {
  const TrainConfig& cfg = s.config;
  bias = fit_bias_model_auto(p.fit, p.nu, p.ni, data::columns_side(cfg.variant));
  const std::vector<RatingRef> val_refs = to_refs(p.val);
  const LoadOptions cpu{.device = Device::Cpu};
  ModelContents validated{&cfg, &p.data, &p.fit_m, &result, s.duplicates, p.val.size(), -1.0, 1};
  validated.num_train_ratings = p.num_ratings;
  const Model network = Model::load_buffer(build_model_file(validated), s.model_name, cpu);
  const data::BlendChoice blend = choose_blend(network, bias, val_refs);
  d.baseline_weight = blend.weight;
  const data::BaselineResult base = evaluate_baselines(bias, val_refs, p.data.scale.min, p.data.scale.max);
  observer.info(format("validation RMSE: network %.4f (epoch %u), user + item biases %.4f (pseudo-counts %g, %g), "
                       "global mean %.4f",
                       result.history[result.best_epoch - 1].val_rmse, result.best_epoch, base.bias.rmse,
                       bias.user_reg, bias.item_reg, base.global_mean.rmse));
  observer.info(format("baseline: the bias model's share in the answers %.2f (RMSE on the %zu validation ratings the "
                       "network answers: network %.4f, bias model %.4f, best blend %.4f at share %.2f, %.1f standard "
                       "errors better than the bias model%s)",
                       blend.weight, blend.cells, blend.network_rmse, blend.bias_rmse, blend.blend_rmse,
                       blend.best_weight, blend.evidence,
                       blend.weight != blend.best_weight ? ": not enough, the bias model answers" : ""));
  validated.baseline = &bias;
  validated.baseline_weight = blend.weight;
  const Model model = Model::load_buffer(build_model_file(validated), s.model_name, cpu);
  d.cold = choose_cold_start(model, p.fit_m, p.val_cells, &bias);
  observer.info(format("cold start: %s (RMSE on the %zu rarest validation ratings: means %.4f, global mean %.4f, "
                       "empty input %.4f)",
                       cold_start_name(d.cold.rule), d.cold.cells, d.cold.rmse[0], d.cold.rmse[1], d.cold.rmse[2]));
  d.ranking = choose_ranking_rule(model, val_refs, cfg.threads, observer);
}

// --refit: the epoch count chosen on validation, trained again on all the training ratings; not when the bias
// model answers alone (the network would go unused). Returns the stage's result, or `first` when skipped.
TrainResult refit_stage(RunSettings& s, const Prepared& p, const Csc& all_m, const Decisions& d,
                        TrainResult first, bool resuming, Observer& observer) {
  TrainConfig cfg = s.config;
  if (d.baseline_weight == 1.0) {
    observer.info(format("refit: skipped, the bias model answers alone (fitted again on all %zu training ratings)",
                         p.num_train));
    return first;
  }
  observer.info(format("refit: %u epochs (the best on validation) on all %zu training ratings", d.best_epoch,
                       p.num_train));
  cfg.schedule_epochs = cfg.epochs;  // the learning-rate curve that was validated, stopped at the best epoch
  cfg.epochs = d.best_epoch;
  cfg.val_ratio = 0;
  cfg.patience = 0;
  CheckpointOptions checkpoint = s.checkpoint;
  checkpoint.stage = "refit";
  checkpoint.caller_state = decisions_json(d);
  checkpoint.resume = checkpoint.resume && resuming;  // a first run's checkpoint is replaced
  TrainResult r = train_stage(cfg, all_m, {}, p.data, s, checkpoint, "refit", observer);
  // The configuration the model records is the one its weights were trained with.
  s.config = cfg;
  return r;
}

// A distributed run: process 0 made the choices on validation; the others need the one that decides
// whether the refit runs (the bias model's share: 1 skips it), and get it in a sum to which only process 0
// adds.
void share_refit_decision(Collective& comm, Decisions& d) {
  double weight = comm.rank() == 0 ? d.baseline_weight.value_or(-1.0) : 0.0;
  comm.sum(std::span<double>(&weight, 1));
  if (comm.rank() != 0) d.baseline_weight = weight < 0 ? std::nullopt : std::optional<double>(weight);
}

// The test RMSE of the model in `model`, as autorec-verify computes it.
EvalResult test_rmse(const Model& model, const Input& input, const Prepared& p, Observer& observer) {
  const std::vector<RatingRef> refs = input.test ? map_to_model(model, *input.test) : to_refs(p.test_part);
  EvalResult e = evaluate(model, refs);
  if (e.count && e.cold_start == e.count)
    observer.warning("every test rating is of a user or item the model never saw: the test RMSE measures the "
                     "cold-start rule only");
  return e;
}

// The model file, and the test RMSE from it through libautorec_infer exactly as autorec-verify computes it;
// the file is built again to record that RMSE. Each copy goes before the next is made: the loaded model
// and the first file before the second build.
void write_stage(ModelContents& contents, const Input& input, const Prepared& p, const RunSettings& s,
                 RunResult& out, Observer& observer) {
  out.file = build_model_file(contents);
  out.file_bytes = out.file.size();
  if (!input.test && p.test_part.empty()) return;
  out.test = test_rmse(Model::load_buffer(out.file, s.model_name, {.device = Device::Cpu}), input, p, observer);
  contents.test_rmse = out.test->rmse;
  out.file = {};
  return_freed_memory();
  out.file = build_model_file(contents);
  out.file_bytes = out.file.size();
}

// write_stage into RunSettings::output_path: the file is written as it is compressed; the weights go before
// the model is loaded back from it for the test RMSE, which is then patched into the file (set_test_rmse).
// Until then the file at the path is a whole model without its test RMSE.
void write_stage_to_path(ModelContents& contents, TrainResult& result, const Input& input, const Prepared& p,
                         const RunSettings& s, RunResult& out, Observer& observer) {
  const WrittenModel written = write_model_file(contents, s.output_path);
  out.written_path = s.output_path;
  if (input.test || !p.test_part.empty()) {
    result.weights = {};
    return_freed_memory();
    out.test = test_rmse(Model::load_file(s.output_path, {.device = Device::Cpu}), input, p, observer);
    return_freed_memory();
    set_test_rmse(s.output_path, written, out.test->rmse, contents.zstd_level);
  }
  out.file_bytes = std::filesystem::file_size(s.output_path);
}

}  // namespace

Input read_input(const std::string& train_path, const std::string& test_path, const data::ReadOptions& options,
                 Observer& observer, const std::string& validation_path) {
  const Clock::time_point t0 = Clock::now();
  // Each file's progress, timed from the start of that file.
  auto read = [&](const std::string& path) {
    const Clock::time_point start = Clock::now();
    data::ReadOptions o = options;
    o.progress = [&](std::uint64_t done, std::uint64_t total) { observer.reading(path, done, total, seconds_since(start)); };
    data::RawRatings r = read_ratings(path, o);
    report_skipped(r, observer);
    return r;
  };
  Input in;
  in.train = read(train_path);
  if (!test_path.empty()) in.test = read(test_path);
  if (!validation_path.empty()) in.validation = read(validation_path);
  in.read_seconds = seconds_since(t0);
  return in;
}

Model RunResult::load(const LoadOptions& options) const { return Model::load_buffer(file, "<trained model>", options); }

void RunResult::write(const std::string& path) const {
  if (file.empty() && !written_path.empty()) {
    if (path == written_path) return;
    throw Error(Status::Internal, path + ": the model was written to " + written_path + ", not kept in memory");
  }
  write_file_atomic(path, file);
}

RunResult run(Input input, RunSettings s, Observer& observer) {
  check_settings(s.config);
  check_run_options(s);
  const Clock::time_point t0 = Clock::now();
  // In a distributed run only process 0 makes the choices on validation, writes the model and reads the
  // test ratings; the others train their rows and keep nothing else.
  const bool writes = !s.collective || s.collective->rank() == 0;
  Prepared p = prepare(input, s, observer);
  const std::string source = input.train.source;
  input.train = {}, input.validation.reset();  // parsed: their ratings live on in p
  if (!writes) input.test.reset();              // read by the writer only
  release_unread(p, s, writes);
  return_freed_memory();  // the parsed files
  RunResult out;
  out.read_seconds = input.read_seconds + seconds_since(t0);
  out.users = p.nu, out.items = p.ni, out.ratings = p.num_ratings;
  observer.info(format("data: %s: %zu ratings, %u users, %u items, scale [%g, %g]%s; fit %zu, validation %zu, "
                       "test %zu (read in %.1f s)",
                       source.c_str(), p.num_ratings, p.nu, p.ni, p.data.scale.min, p.data.scale.max,
                       p.data.scale.integral ? " integral" : "", p.num_fit, p.num_val, p.num_test, out.read_seconds));

  const std::optional<Decisions> resumed = resumed_decisions(s);
  Decisions d;
  TrainResult result;
  if (resumed) {
    d = *resumed;
    result.best_epoch = d.best_epoch;
  } else {
    result = train_stage(s.config, p.fit_m, p.val_cells, p.data, s, s.checkpoint, "train", observer);
    d.best_epoch = result.best_epoch;
  }
  return_freed_memory();  // the trainer's state
  std::optional<data::BiasModel> bias;
  if (!p.val_cells.empty() && !resumed) {
    if (writes) choose_on_validation(s, p, result, bias.emplace(), d, observer);
    if (s.collective) share_refit_decision(*s.collective, d);
  }

  Csc all_m;
  if (s.refit) {
    all_m = make_csc(p.train_part, p.nu, p.ni, s.config.variant);
    result = refit_stage(s, p, all_m, d, std::move(result), resumed.has_value(), observer);
    return_freed_memory();
    // The baseline of the written model: fitted on the ratings it stores (all of them after a refit).
    if (writes && d.baseline_weight.has_value())
      bias = fit_bias_model_auto(p.train_part, p.nu, p.ni, data::columns_side(s.config.variant));
  }
  const Csc& model_m = s.refit ? all_m : p.fit_m;
  const std::size_t val_count = s.refit ? 0 : p.num_val;
  if (writes) {
    ModelContents contents{&s.config, &p.data, &model_m, &result, s.duplicates, val_count, -1.0, s.zstd_level};
    contents.num_train_ratings = p.num_ratings;
    contents.dtype = s.dtype;
    contents.cold_start = d.cold.rule;
    if (bias) contents.baseline = &*bias, contents.baseline_weight = d.baseline_weight.value_or(0.0);
    contents.ranking = d.ranking;
    if (s.output_path.empty()) write_stage(contents, input, p, s, out, observer);
    else write_stage_to_path(contents, result, input, p, s, out, observer);
  }
  out.training = std::move(result);
  out.refitted = s.refit;
  out.cold_start = d.cold;
  out.baseline_weight = d.baseline_weight.value_or(0.0);
  out.ranking = d.ranking;
  out.fit = model_m.nnz(), out.val = val_count, out.test_held = p.num_test;
  out.total_seconds = input.read_seconds + seconds_since(t0);
  return out;
}

}  // namespace autorec::train
