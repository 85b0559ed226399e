// Training AutoRec: configuration, the sparse training matrix, the backend seam and the training loop.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "autorec/data/dataset.hpp"
#include "autorec/model.hpp"

namespace autorec::train {

// Every default below is the textbook recipe (--recipe textbook); autorec-train's default recipe is
// recipe("default"), which changes only the optimiser settings and the input rule (the table in
// autorec/train/settings.hpp holds its values; docs/RESULTS.md says how they were chosen).
struct TrainConfig {
  Variant variant = Variant::ItemBased;
  std::uint32_t hidden = 500;
  Activation encoder = Activation::Sigmoid;  // g
  Activation decoder = Activation::Identity;  // f
  float dropout = 0.05f;                      // after the encoder, training only (inverted dropout)
  // Dense hidden layers after the encoder's (a deeper network: the paper's 500-250-500 is hidden 500 and
  // inner {{250, sigmoid}, {500, sigmoid}}); the decoder reads the last one. CPU only.
  struct InnerLayer {
    std::uint32_t size;
    Activation activation;
    float dropout;  // after this layer, training only
  };
  std::vector<InnerLayer> inner;
  std::uint32_t code_size() const { return inner.empty() ? hidden : inner.back().size; }
  float input_dropout = 0;  // share of each column's stored ratings hidden from the encoder (denoising; CPU)
  // What the encoder reads (InputTransform in autorec/math.hpp; the decoder still predicts the rating): the
  // rating plus input_offset, scaled by (mean column length / this column's length)^input_norm. 0 and 0 are
  // the paper's network.
  float input_offset = 0;
  float input_norm = 0;
  double learning_rate = 0.002;
  double weight_decay = 1e-5;  // L2 folded into the Adam gradient, as torch.optim.Adam(weight_decay=...)
  double decoupled_decay = 0;  // AdamW's decoupled decay: p *= 1 - lr * decoupled_decay every step
  bool decay_biases = true;    // the textbook recipe decays every parameter
  // Learning rate over the epochs: constant, or a cosine from learning_rate down to lr_min at the last epoch.
  enum class Schedule : std::uint8_t { Constant, Cosine } schedule = Schedule::Constant;
  double lr_min = 0;
  std::uint32_t schedule_epochs = 0;  // the cosine's length when it differs from `epochs` (a refit); 0 = epochs
  // Adam (mini-batches, the recipe) or Rprop: one full-batch step per epoch on the paper's objective
  // sum (r - h)^2 + l2_lambda/2 (|W|^2 + |V|^2), as Sedhain et al. trained it (CPU only).
  enum class Optimizer : std::uint8_t { Adam, Rprop } optimizer = Optimizer::Adam;
  double l2_lambda = 1.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  std::uint32_t batch_size = 256;  // columns per optimiser step
  std::uint32_t epochs = 25;
  std::uint64_t seed = 1;
  float init_std = 0.01f;      // weights ~ N(0, init_std^2); biases start at 0
  double val_ratio = 0;        // share of the training ratings held out for validation
  std::uint32_t patience = 0;  // stop after this many epochs without a better validation RMSE; 0 = never
  int threads = 0;             // 0 = all cores
  Device device = Device::Auto;
  std::string recipe = "textbook";  // the named recipe these settings started from (recorded in the model)
};

// The named recipes: "textbook" (TrainConfig{}) and "default" (the best found on validation data; its values
// are the settings table's, settings.cpp).
// nullopt for an unknown name.
std::optional<TrainConfig> recipe(std::string_view name);

// Small, sparse data: where the training ratings average fewer than kSparseRatingsPerColumn per column (a
// network input), the network's hundreds of hidden units fit noise, and may lose to a user + item bias model.
// There the default recipe validates itself: it holds out kSparseValidationRatio of the ratings, chooses the
// epoch, the bias model's share in the answers (choose_blend) and the cold-start rule on them, and refits on
// all (autorec-train; docs/RESULTS.md has the table the threshold comes from). True when `config` is the
// default recipe without a validation part and the data is that sparse.
inline constexpr double kSparseRatingsPerColumn = 20;
inline constexpr double kSparseValidationRatio = 0.1;
bool needs_validation(const TrainConfig& config, std::size_t ratings, std::uint32_t columns);

// Compressed sparse columns in the model's orientation (a column = one network input).
struct Csc {
  std::uint32_t num_rows = 0;
  std::vector<std::uint32_t> start;  // num_cols + 1
  std::vector<std::uint32_t> row;
  std::vector<float> value;
  std::uint32_t num_cols() const { return static_cast<std::uint32_t>(start.size() - 1); }
  std::size_t nnz() const { return row.size(); }
};

// Builds the matrix for `variant`: item-based columns are items (rows users), user-based the reverse.
Csc make_csc(const std::vector<data::Rating>& ratings, std::uint32_t num_users, std::uint32_t num_items, Variant variant);

// A rating in the model's orientation.
struct Cell {
  std::uint32_t row, col;
  float value;
};

// A dense layer between the encoder and the decoder: y = act(M x + c), M [out, in] row-major (OutIn).
struct DenseWeights {
  std::uint32_t in = 0, out = 0;
  std::vector<float> M, c;
};

// Parameters of the network, in the layouts of the model file: encoder V [rows, hidden] (InOut), mu
// [hidden]; the inner layers, if any; decoder W [rows, code] (OutIn), b [rows], where code is the width of
// the last hidden layer (hidden without inner layers).
struct Weights {
  std::uint32_t rows = 0, hidden = 0;
  std::vector<float> V, mu, W, b;
  std::vector<DenseWeights> inner;
  std::uint32_t code() const { return inner.empty() ? hidden : inner.back().out; }
};

// Weights of shape's dimensions (rows, hidden, each inner layer's in and out), every value 0; the values of
// `shape` are not read.
Weights zero_weights(const Weights& shape);

// The tensors of a network by name, in one fixed order: "V", "mu", "W", "b", then "inner.<l>.M" and
// "inner.<l>.c" for each inner layer. Checkpoints and the optimisers' state tensors are named after these.
template <class W>
  requires std::same_as<std::remove_const_t<W>, Weights>
auto named_tensors(W& w) {
  using Tensor = std::conditional_t<std::is_const_v<W>, const std::vector<float>, std::vector<float>>;
  std::vector<std::pair<std::string, Tensor*>> t{{"V", &w.V}, {"mu", &w.mu}, {"W", &w.W}, {"b", &w.b}};
  for (std::size_t l = 0; l < w.inner.size(); ++l) {
    const std::string prefix = "inner." + std::to_string(l) + ".";
    t.push_back({prefix + "M", &w.inner[l].M});
    t.push_back({prefix + "c", &w.inner[l].c});
  }
  return t;
}

// What an optimiser carries from one step to the next besides the weights, as named tensors (Adam's two
// moments, Rprop's step sizes), and the number of steps taken, which also seeds the dropout masks and input
// dropout: with the weights, everything a backend needs to continue a run exactly where it stopped.
struct OptimizerState {
  std::uint64_t step = 0;
  std::vector<std::pair<std::string, std::vector<float>>> tensors;
};

struct EpochStats {
  std::uint32_t epoch = 0;
  double loss = 0;        // mean over batches of the objective (data term, as scaled by the recipe)
  double train_rmse = 0;  // on the fit ratings, dropout on, during the epoch
  double val_rmse = -1;   // -1 without validation
  double seconds = 0;
  double ratings_per_s = 0;
  double host_seconds = 0;  // of `seconds`, spent on the host preparing the epoch's batches (CUDA; 0 on the CPU)
};

// Cells sorted by column; group g holds sorted[start[g] .. start[g+1]), all of one column, so a backend
// computes each column's code once when scoring them.
struct ColumnGroups {
  std::vector<Cell> sorted;
  std::vector<std::uint32_t> start;  // groups + 1 offsets
  std::size_t groups() const { return start.size() - 1; }
};
ColumnGroups group_by_column(const std::vector<Cell>& cells);

// The epoch statistics every backend reports, from the quantities they measure.
EpochStats epoch_stats(std::uint32_t epoch, double seconds, double mean_loss, double sse, std::size_t nnz);

// One process's rows of a distributed run (sharding.hpp).
struct RowRange {
  std::uint32_t begin = 0, end = 0;  // rows [begin, end) of the whole matrix
  std::size_t ratings = 0;           // the stored ratings in those rows
  std::uint32_t rows() const { return end - begin; }
};

class Collective;

// A device that trains. One instance trains one model.
class TrainBackend {
 public:
  virtual ~TrainBackend() = default;
  virtual const char* name() const = 0;
  virtual void init(const TrainConfig& config, const Csc& fit) = 0;
  virtual EpochStats run_epoch(std::uint32_t epoch) = 0;  // epoch counts from 1
  // RMSE over cells (no dropout, predictions clamped to [lo, hi]).
  virtual double rmse(const std::vector<Cell>& cells, float lo, float hi) = 0;
  virtual Weights weights() const = 0;
  // Whether weights() returns every row here: false on the processes other than 0 of a distributed run,
  // which get weights of no rows (only process 0 writes files).
  virtual bool holds_all_rows() const { return true; }
  virtual void set_weights(const Weights& w) = 0;
  // After the last epoch: lets go of what only further epochs need (the optimiser's state, per-batch
  // scratch), so that the final weights() does not gather the whole model on top of it. Only weights() may
  // follow.
  virtual void end_training() {}
  virtual OptimizerState optimizer_state() const = 0;
  // Throws Error(Corrupt) when a tensor is missing or has another size than this configuration's.
  virtual void set_optimizer_state(const OptimizerState& state) = 0;
  // A distributed run's process: the others it sums with, and every process's rows (null and empty alone).
  virtual Collective* collective() const { return nullptr; }
  virtual std::vector<RowRange> shards() const { return {}; }
  // This process's rows of the weights and optimiser state, as its part of a checkpoint holds them (alone:
  // all of them), and their restoration; set_own_state throws Error(Corrupt) when the shapes differ.
  virtual Weights own_weights() const { return weights(); }
  virtual OptimizerState own_optimizer_state() const { return optimizer_state(); }
  virtual void set_own_state(const Weights& w, const OptimizerState& state) {
    set_weights(w);
    set_optimizer_state(state);
  }
  // For checks: the data term of the objective on a batch of columns (no dropout, no weight decay) and its
  // gradient with respect to every parameter, from the same code the optimiser step uses.
  virtual std::pair<double, Weights> batch_gradient(std::span<const std::uint32_t> cols) = 0;
};

class Collective;
// With `comm`, one process of a distributed run: it trains its share of the rows (sharding.hpp) and sums with
// the others through `comm`; weights() and optimizer_state() gather every process's rows.
std::unique_ptr<TrainBackend> make_cpu_trainer(std::shared_ptr<Collective> comm = nullptr);
// Whether this build has the CUDA trainer, and whether it can run here (a device is present).
bool cuda_trainer_built();
bool cuda_trainer_available();
// Why the CUDA trainer cannot run here ("" when it can): the build has none, or the CUDA runtime's error
// (name and text) from looking for a device.
std::string cuda_trainer_problem();
// Chooses the backend; `notice` receives a line to print when Auto falls back to the CPU.
std::unique_ptr<TrainBackend> make_train_backend(Device device, std::string& notice);

// The order in which an epoch visits the columns: the same on every backend for a given seed and epoch.
std::vector<std::uint32_t> epoch_order(std::uint64_t seed, std::uint32_t epoch, std::uint32_t ncols);

// Initial parameters of the recipe: N(0, init_std) encoder and decoder weights from the seed, zero biases;
// inner layers N(0, 2 / (in + out)) (Glorot), since their inputs are dense activations, not ratings.
Weights initial_weights(const TrainConfig& config, std::uint32_t rows);

// The units a model of ratings on [lo, hi] trains in: the affine map that puts lo at 1 and hi at 5 (unit
// (hi - lo) / 4, origin lo - unit; one unit when lo = hi). On 1-5 stars it is the identity, so the recipes,
// which were tuned there, mean the same on any scale: the learning rate, decay and initialisation relative to
// the ratings' spread, an input offset in stars, fold-in's lambda in stars squared. The scale's ends, rather
// than the ratings' mean and spread, because they are what a rating means (the worst and the best) and what
// predictions are clamped to; they do not move with how the ratings are distributed inside the scale.
RatingUnits rating_units(float lo, float hi);

// The encoder's input rule for a model trained on `fit` (its norm_count is fit's mean non-empty column
// length) in model units (its own units are the identity), and what the encoder reads for each stored rating
// of `m` under it: empty for the identity rule, where the encoder reads m.value itself (no copy of every
// rating).
InputTransform input_transform(const TrainConfig& config, const Csc& fit);
std::vector<float> encoder_inputs(const InputTransform& t, const Csc& m);

struct TrainResult {
  Weights weights;  // of the best epoch (by validation RMSE) or the last one without validation
  RatingUnits units;  // what the weights compute in (rating_units of the scale)
  std::vector<EpochStats> history;  // losses in model units, RMSEs in rating units
  std::uint32_t best_epoch = 0;
  std::string backend;
  std::string notice;                // e.g. that device auto fell back to the CPU
  std::uint32_t resumed_after = 0;   // the epoch of the checkpoint this run continued from (0 = none)
};

// Checkpoints of a run (autorec-train --checkpoint FILE --checkpoint-every N --resume).
struct CheckpointOptions {
  std::string path;          // empty = no checkpoints
  std::uint32_t every = 1;   // epochs between checkpoints; the last epoch is always saved
  bool resume = false;       // continue from `path` when it exists (a missing file starts a new run)
  std::string stage = "train";  // which of the caller's runs this is (autorec-train's refit is a second one)
  std::string caller_state;     // opaque to the trainer: written into each checkpoint, read back on resume
  // Off: the run writes no checkpoint (it may still resume from one). In a distributed run every process is
  // given the same value: each writes its part and rank 0 the manifest (checkpoint.hpp).
  bool write = true;
};

// Trains on `fit` and scores `val` (ratings on the scale [lo, hi]) in the units rating_units(lo, hi); the
// history's RMSEs are in rating units again, its losses in model units.
// Runs the epochs with early stopping on `val`; `on_epoch` is called after each epoch (not again for the
// epochs a resumed run restores). With a checkpoint path, the state after every `every` epochs is written
// atomically; resuming refuses a checkpoint made from other data or settings (Error BadInput naming what
// differs). A non-finite loss, RMSE or weight stops the run with Error(Diverged), leaving the last good
// checkpoint in place. `backend` replaces the one config.device chooses (tests).
TrainResult train(const TrainConfig& config, const Csc& fit, const std::vector<Cell>& val, float lo, float hi,
                  const std::function<void(const EpochStats&)>& on_epoch, const CheckpointOptions& checkpoint = {},
                  std::unique_ptr<TrainBackend> backend = nullptr);

}  // namespace autorec::train
