// The training loop around a backend: initial weights, epochs, validation, early stopping.
#include "autorec/train/trainer.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "autorec/container.hpp"
#include "autorec/error.hpp"
#include "autorec/train/checkpoint.hpp"
#include "autorec/train/collective.hpp"
#include "autorec/train/model_writer.hpp"
#include "autorec/train/optimizer.hpp"
#include "autorec/train/resources.hpp"
#include "autorec/train/train_math.hpp"
#ifdef AUTOREC_USE_CUDA
#include "cuda/cuda_trainer.hpp"
#endif

namespace autorec::train {

Csc make_csc(const std::vector<data::Rating>& ratings, std::uint32_t num_users, std::uint32_t num_items, Variant variant) {
  const bool item_based = variant == Variant::ItemBased;
  Csc m;
  m.num_rows = item_based ? num_users : num_items;
  const std::uint32_t cols = item_based ? num_items : num_users;
  m.start.assign(std::size_t{cols} + 1, 0);
  for (const data::Rating& r : ratings) ++m.start[(item_based ? r.item : r.user) + 1];
  for (std::uint32_t c = 0; c < cols; ++c) m.start[c + 1] += m.start[c];
  m.row.resize(ratings.size());
  m.value.resize(ratings.size());
  // Ratings are sorted by (user, item): item-based rows (users) arrive in increasing order per column; for
  // user-based the items within a user are increasing too.
  std::vector<std::uint32_t> fill(m.start.begin(), m.start.end() - 1);
  for (const data::Rating& r : ratings) {
    const std::uint32_t c = item_based ? r.item : r.user;
    const std::uint32_t k = fill[c]++;
    m.row[k] = item_based ? r.user : r.item;
    m.value[k] = r.value;
  }
  return m;
}

ColumnGroups group_by_column(const std::vector<Cell>& cells) {
  ColumnGroups g;
  g.sorted = cells;
  std::stable_sort(g.sorted.begin(), g.sorted.end(), [](const Cell& a, const Cell& b) { return a.col < b.col; });
  for (std::uint32_t k = 0; k < g.sorted.size(); ++k)
    if (k == 0 || g.sorted[k].col != g.sorted[k - 1].col) g.start.push_back(k);
  g.start.push_back(static_cast<std::uint32_t>(g.sorted.size()));
  return g;
}

bool needs_validation(const TrainConfig& config, std::size_t ratings, std::uint32_t columns) {
  return config.recipe == "default" && config.val_ratio <= 0 && double(ratings) < kSparseRatingsPerColumn * double(columns);
}

EpochStats epoch_stats(std::uint32_t epoch, double seconds, double mean_loss, double sse, std::size_t nnz) {
  EpochStats st;
  st.epoch = epoch;
  st.seconds = seconds;
  st.loss = mean_loss;
  st.train_rmse = std::sqrt(sse / double(nnz));
  st.ratings_per_s = double(nnz) / seconds;
  return st;
}

std::vector<std::uint32_t> epoch_order(std::uint64_t seed, std::uint32_t epoch, std::uint32_t ncols) {
  std::vector<std::uint32_t> perm(ncols);
  for (std::uint32_t i = 0; i < ncols; ++i) perm[i] = i;
  const std::uint64_t shuffle_seed = splitmix64(seed ^ 0x5F3759DFull) + epoch;
  for (std::uint32_t i = ncols; i > 1; --i)  // Fisher-Yates
    std::swap(perm[i - 1], perm[splitmix64(shuffle_seed * 0x9E3779B97F4A7C15ull + i) % i]);
  return perm;
}

RatingUnits rating_units(float lo, float hi) {
  RatingUnits u;
  if (hi > lo) u.unit = (hi - lo) / 4.0f;
  u.origin = lo - u.unit;
  return u;
}

InputTransform input_transform(const TrainConfig& config, const Csc& fit) {
  InputTransform t;
  t.offset = config.input_offset;
  t.norm_power = config.input_norm;
  std::uint32_t filled = 0;
  for (std::uint32_t c = 0; c < fit.num_cols(); ++c) filled += fit.start[c + 1] > fit.start[c];
  if (filled) t.norm_count = static_cast<float>(double(fit.nnz()) / filled);
  return t;
}

std::vector<float> encoder_inputs(const InputTransform& t, const Csc& m) {
  if (t.identity()) return {};
  std::vector<float> in(m.value.size());
  for (std::uint32_t c = 0; c < m.num_cols(); ++c) {
    const float scale = t.column_scale(m.start[c + 1] - m.start[c]);
    for (std::uint32_t k = m.start[c]; k < m.start[c + 1]; ++k) in[k] = t.read(m.value[k], scale);
  }
  return in;
}

Weights zero_weights(const Weights& shape) {
  Weights w;
  w.rows = shape.rows;
  w.hidden = shape.hidden;
  for (const DenseWeights& d : shape.inner)
    w.inner.push_back({d.in, d.out, std::vector<float>(std::size_t{d.out} * d.in), std::vector<float>(d.out)});
  w.V.resize(std::size_t{w.rows} * w.hidden);
  w.mu.resize(w.hidden);
  w.W.resize(std::size_t{w.rows} * w.code());
  w.b.resize(w.rows);
  return w;
}

Weights initial_weights(const TrainConfig& config, std::uint32_t rows) {
  Weights w;
  w.rows = rows;
  w.hidden = config.hidden;
  const std::size_t nv = std::size_t{rows} * config.hidden, nw = std::size_t{rows} * config.code_size();
  w.V.resize(nv);
  w.W.resize(nw);
  // Separate streams per tensor so changing one shape does not shift the other's values.
  // Counter-based draws: any thread count gives the same weights (480M of them for Netflix-sized data).
  const std::uint64_t sv = splitmix64(config.seed ^ 0x1111), sw = splitmix64(config.seed ^ 0x2222);
  const int threads = config.threads > 0 ? config.threads : omp_get_num_procs();
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::size_t i = 0; i < std::max(nv, nw); ++i) {
    if (i < nv) w.V[i] = config.init_std * normal_from_counter(sv, i);
    if (i < nw) w.W[i] = config.init_std * normal_from_counter(sw, i);
  }
  w.mu.assign(config.hidden, 0.0f);
  w.b.assign(rows, 0.0f);
  std::uint32_t in = config.hidden;
  for (std::size_t l = 0; l < config.inner.size(); ++l) {
    DenseWeights& d = w.inner.emplace_back();
    d.in = in;
    d.out = config.inner[l].size;
    const float std_dev = std::sqrt(2.0f / float(d.in + d.out));
    const std::uint64_t sm = splitmix64(config.seed ^ (0x3333 + l));
    d.M.resize(std::size_t{d.out} * d.in);
    for (std::size_t i = 0; i < d.M.size(); ++i) d.M[i] = std_dev * normal_from_counter(sm, i);
    d.c.assign(d.out, 0.0f);
    in = d.out;
  }
  return w;
}

bool cuda_trainer_built() {
#ifdef AUTOREC_USE_CUDA
  return true;
#else
  return false;
#endif
}

std::string cuda_trainer_problem() {
#ifdef AUTOREC_USE_CUDA
  return cuda_device_problem();
#else
  return "this build has no CUDA trainer (AUTOREC_CUDA=OFF)";
#endif
}

bool cuda_trainer_available() { return cuda_trainer_problem().empty(); }

std::unique_ptr<TrainBackend> make_train_backend(Device device, std::string& notice) {
  if (device == Device::Cpu) return make_cpu_trainer();
  const std::string why = cuda_trainer_problem();
#ifdef AUTOREC_USE_CUDA
  if (why.empty()) return make_cuda_trainer();
#endif
  if (device == Device::Cuda) throw Error(Status::Unsupported, "--device cuda: " + why);
  notice = "device auto: " + why + ", training on the CPU";
  return make_cpu_trainer();
}

namespace {

bool finite_stats(const EpochStats& s) {
  return std::isfinite(s.loss) && std::isfinite(s.train_rmse) && std::isfinite(s.val_rmse);
}

std::string epoch_text(std::uint32_t epoch) { return "epoch " + std::to_string(epoch); }
std::string number_text(double x) { return std::isnan(x) ? "NaN" : std::isinf(x) ? (x > 0 ? "Inf" : "-Inf") : std::to_string(x); }

bool weights_finite(const Weights& w) {
  const auto finite = [](const std::vector<float>& x) {
    return std::all_of(x.begin(), x.end(), [](float v) { return std::isfinite(v); });
  };
  bool ok = finite(w.V) && finite(w.mu) && finite(w.W) && finite(w.b);
  for (const DenseWeights& d : w.inner) ok = ok && finite(d.M) && finite(d.c);
  return ok;
}

// Rprop, input dropout and inner layers exist on the CPU only: under --device auto they choose it, and say so.
std::unique_ptr<TrainBackend> backend_for(const TrainConfig& config, std::string& notice) {
  const bool cpu_only = config.optimizer == TrainConfig::Optimizer::Rprop || config.input_dropout > 0 || !config.inner.empty();
  if (!cpu_only || config.device != Device::Auto) return make_train_backend(config.device, notice);
  if (cuda_trainer_available()) notice = "device auto: rprop, input dropout and inner layers run on the CPU only, training on the CPU";
  return make_cpu_trainer();
}

// The checkpoint at ck.path, checked against this run (`state` holds its identity) and restored into the
// backend, the result and the loop's state.
void resume_from(const CheckpointOptions& ck, TrainBackend& backend, TrainResult& result, Checkpoint& state) {
  Checkpoint c = parse_checkpoint(read_file_bytes(ck.path), ck.path);
  if (c.of)
    throw Error(Status::BadInput, ck.path + ": field part: part " + std::to_string(c.part) + " of " +
                                      std::to_string(c.of) + " of a distributed checkpoint; resume from its "
                                      "manifest (the --checkpoint path it was written under)");
  const std::string why = "; resume only with the data and settings it was made with";
  if (c.stage != ck.stage)
    throw Error(Status::BadInput, ck.path + ": field stage: the checkpoint is of the '" + c.stage + "' run, this is the '" + ck.stage + "' run");
  if (const std::string diff = settings_difference(c.settings, state.settings); !diff.empty())
    throw Error(Status::BadInput, ck.path + ": made with other settings: " + diff + why);
  if (const std::uint64_t fingerprint = state.data_fingerprint; c.data_fingerprint != fingerprint)
    throw Error(Status::BadInput, ck.path + ": made from other training data (field data_fingerprint " +
                                      std::to_string(c.data_fingerprint) + ", this run's " + std::to_string(fingerprint) + ")" + why);
  if (c.backend != result.backend)
    result.notice += (result.notice.empty() ? "" : "; ") + ("checkpoint made on " + c.backend + ", continuing on " + result.backend);
  if (c.parts.empty() || !read_checkpoint_parts(c, backend, ck.path)) {
    backend.set_weights(c.weights);
    backend.set_optimizer_state(c.optimizer);
  }
  result.history = c.history;
  result.best_epoch = c.best_epoch;
  if (backend.holds_all_rows()) result.weights = std::move(c.best_weights);
  result.resumed_after = c.epoch;
  state.best_val_rmse = c.best_val_rmse;
  state.since_best = c.since_best;
  state.epoch = c.epoch;
}

// Every process of a distributed run resumes, or none does: a checkpoint that only some of them find (storage
// that is not shared) would pair their sums wrongly.
void agree_on_resuming(Collective& comm, bool found, const std::string& path) {
  double finding = found ? 1 : 0;
  comm.sum(std::span<double>(&finding, 1));
  if (finding != 0 && finding != double(comm.size()))
    throw Error(Status::BadInput, path + ": found by " + std::to_string(int(finding)) + " of the " +
                                      std::to_string(comm.size()) + " processes: --resume needs the checkpoint "
                                      "where every process reads it (storage they share)");
}

}  // namespace

TrainResult train(const TrainConfig& config, const Csc& fit_ratings, const std::vector<Cell>& val_ratings, float lo,
                  float hi, const std::function<void(const EpochStats&)>& on_epoch, const CheckpointOptions& ck,
                  std::unique_ptr<TrainBackend> backend) {
  std::string notice;
  if (!backend) backend = backend_for(config, notice);
  const RatingUnits units = rating_units(lo, hi);
  // Before the large allocations: a run the machine cannot hold stops now, not when the kernel kills it.
  check_memory(training_memory(config, fit_ratings, val_ratings.size(), std::string_view(backend->name()) == "cpu",
                               !ck.path.empty(), !units.identity()),
               available_memory());
  // The backends see ratings in model units only: a copy where the scale is not 1-5 stars.
  Csc fit_units;
  std::vector<Cell> val_units;
  if (!units.identity()) {
    fit_units = fit_ratings;
    for (float& v : fit_units.value) v = units.to_model(v);
    val_units = val_ratings;
    for (Cell& c : val_units) c.value = units.to_model(c.value);
  }
  const Csc& fit = units.identity() ? fit_ratings : fit_units;
  const std::vector<Cell>& val = units.identity() ? val_ratings : val_units;
  const float lo_units = units.to_model(lo), hi_units = units.to_model(hi);
  backend->init(config, fit);
  TrainResult result;
  result.units = units;
  result.backend = backend->name();
  result.notice = notice;

  // The checkpoint's identity: the settings and the data it trains on, as given.
  const std::string settings = ck.path.empty() ? std::string() : settings_json(config, units);
  const std::uint64_t fingerprint = ck.path.empty() ? 0 : data_fingerprint(fit_ratings, val_ratings);
  Checkpoint state;  // the loop's state, as a checkpoint saves it
  state.stage = ck.stage;
  state.backend = backend->name();
  state.settings = settings;
  state.data_fingerprint = fingerprint;
  state.caller_state = ck.caller_state;
  Collective* comm = backend->collective();
  const bool in_parts = comm && comm->size() > 1;  // a distributed run checkpoints in parts
  bool found = ck.resume && !ck.path.empty() && std::filesystem::exists(ck.path);
  if (in_parts && ck.resume && !ck.path.empty()) agree_on_resuming(*comm, found, ck.path);
  if (found) resume_from(ck, *backend, result, state);
  std::uint32_t saved_epoch = state.epoch;  // of the checkpoint on disk (the one resumed from, at first)
  const auto diverged = [&](std::uint32_t epoch, const std::string& what) {
    const std::string kept = ck.path.empty() ? ""
                             : saved_epoch   ? "; the last good checkpoint, " + ck.path + " after " + epoch_text(saved_epoch) + ", is kept"
                                             : "; no checkpoint had been written yet";
    return Error(Status::Diverged, epoch_text(epoch) + ": training diverged: " + what + " (try a lower --lr or --init-std)" + kept);
  };
  const auto save = [&](std::uint32_t epoch) {
    state.history = result.history;
    state.best_epoch = result.best_epoch;
    state.epoch = epoch;
    state.weights = in_parts ? backend->own_weights() : backend->weights();
    double bad = weights_finite(state.weights) ? 0 : 1;
    if (in_parts) comm->sum(std::span<double>(&bad, 1));  // every process stops, not only the one that saw it
    if (bad > 0) throw diverged(epoch, "a weight is not finite");
    if (!ck.write) {
      state.weights = {};
    } else if (in_parts) {
      save_checkpoint_parts(state, *backend, ck.path, result.weights);
    } else {
      state.optimizer = backend->optimizer_state();
      write_checkpoint_lending(state, result.weights, ck.path);
      state.weights = {}, state.optimizer = {};  // the file has them: no copy stays in memory between checkpoints
      remove_part_files(ck.path, part_files_beside(ck.path));  // of a manifest this replaced, if it was one
    }
    saved_epoch = epoch;
  };

  const bool stopped = config.patience && !val.empty() && state.since_best >= config.patience;
  for (std::uint32_t epoch = saved_epoch + 1; !stopped && epoch <= config.epochs; ++epoch) {
    EpochStats st = backend->run_epoch(epoch);
    st.train_rmse *= units.unit;  // back in rating units
    st.val_rmse = val.empty() ? -1 : backend->rmse(val, lo_units, hi_units) * units.unit;
    if (!finite_stats(st))
      throw diverged(epoch, "loss " + number_text(st.loss) + ", train RMSE " + number_text(st.train_rmse) +
                                (val.empty() ? "" : ", validation RMSE " + number_text(st.val_rmse)));
    result.history.push_back(st);
    if (on_epoch) on_epoch(st);
    bool stop = false;
    if (!val.empty()) {
      // With validation the best epoch seen is kept (and early stopping may end the run).
      if (result.best_epoch == 0 || st.val_rmse < state.best_val_rmse) {
        state.best_val_rmse = st.val_rmse;
        result.best_epoch = epoch;
        result.weights = backend->weights();
        state.since_best = 0;
      } else if (config.patience && ++state.since_best >= config.patience) {
        stop = true;
      }
    }
    if (!ck.path.empty() && (epoch % std::max(ck.every, 1u) == 0 || epoch == config.epochs || stop)) save(epoch);
    if (stop) break;
  }
  if (val.empty()) {  // without validation the last epoch is kept
    result.best_epoch = static_cast<std::uint32_t>(result.history.size());
    backend->end_training();
    return_freed_memory();  // before the whole model is gathered into new memory
    result.weights = backend->weights();
  }
  if (!weights_finite(result.weights)) throw diverged(result.best_epoch, "a weight is not finite");
  return result;
}

}  // namespace autorec::train
