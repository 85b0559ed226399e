// libautorec_infer: load an AutoRec model.fb, reconstruct rating columns, predict and rank.
//
// Thread safety: every const member may be called from many threads at once on one Model. The only mutators,
// add_user and add_item (fold-in kept in memory), are non-const and need exclusive access: no other call on the
// same Model may run during them. Loading and destruction must not race with use either.
// Errors: every function that can fail throws autorec::Error (autorec/error.hpp) with a message naming the
// source, the field and the value; Error::status() tells bad input, a corrupt file, an unsupported request,
// I/O and memory apart. std::bad_alloc can escape where memory runs out.
// C and FFI hosts use the same library through autorec/autorec.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autorec/dtype.hpp"
#include "autorec/math.hpp"

namespace autorec {

enum class Variant : std::uint8_t { ItemBased = 0, UserBased = 1 };
enum class Device : std::uint8_t { Auto = 0, Cpu = 1, Cuda = 2 };

// The enums' names, indexed by their values (what variant_name and activation_name return, and what
// autorec-train's options take).
inline constexpr std::array<std::string_view, 2> kVariantNames = {"item", "user"};
inline constexpr std::array<std::string_view, 6> kActivationNames = {"identity", "sigmoid", "tanh", "relu", "elu", "selu"};

// Static names: "item" or "user"; "identity", "sigmoid", ... ("unknown" for a value outside the enum).
const char* variant_name(Variant v) noexcept;
const char* activation_name(Activation a) noexcept;
// The inverse of activation_name; nullopt for a name it does not know.
std::optional<Activation> parse_activation(std::string_view name) noexcept;

struct LoadOptions {
  // Ceiling on the decompressed FlatBuffer; a file that declares more is refused before any allocation.
  std::uint64_t max_decompressed_bytes = std::uint64_t{8} << 30;
  // Which backend computes. Auto = CUDA when this build has it and a device is present, else CPU.
  Device device = Device::Auto;
  // Threads for the work done once at load (the hidden code of every training column) and for
  // reconstruct_batch on the CPU; 0 = all cores. Single-column calls always run on the caller's thread. A
  // server that already calls the model from many threads should load it with threads = 1.
  unsigned threads = 0;
};

// One observed rating of a sparse input column: index is a dense row index of the model (a user index for
// item-based models, an item index for user-based ones).
struct Entry {
  std::uint32_t index;
  float value;
};

// Where a prediction came from. Anything but Model means the cold-start fallback answered.
enum class Source : std::uint8_t { Model = 0, UserMean = 1, ItemMean = 2, GlobalMean = 3, EmptyInput = 4 };
// Static description: "model", "user mean", ... ("unknown" for a value outside the enum).
const char* source_name(Source s) noexcept;

// A predicted rating (clamped to the scale unless asked otherwise) and the rule that produced it.
struct Prediction {
  float value;
  Source source;
};

// One recommended item: dense item index, the predicted rating (clamped to the scale), and its source.
struct Recommendation {
  std::uint32_t item;
  float rating;
  Source source;
};

// How recommend() orders the items it may recommend (the file's Model.ranking): by predicted rating +
// popularity_weight * ln(1 + n), n the item's stored training ratings; the weight was chosen on validation
// ratings (NDCG at validation_k, the three figures recorded). Weight 0: the predicted rating alone. The
// predicted rating (predict(), the scores recommend() returns) is the same under every rule.
struct RankingRule {
  float popularity_weight = 0;
  std::uint32_t validation_k = 0;  // 0: no rule was chosen
  float validation_ndcg = 0, rating_ndcg = 0, popularity_ndcg = 0;
};
// What recommend() and recommend_for_ratings() rank by: the model's rule, or the predicted rating alone.
enum class RankBy : std::uint8_t { Rule = 0, Rating = 1 };

// One dense layer: y = activation(W x + b), x of in_size, y of out_size; dropout as trained (unused here).
struct LayerInfo {
  std::uint32_t in_size, out_size;
  Activation activation;
  float dropout;
};

// Fold-in: serving a user or item that was not in training from its ratings, without retraining.
struct FoldInOptions {
  // Strength of the prior on a fitted decoder row (a new user of an item-based model, a new item of a
  // user-based one): the rating noise variance in the network's units squared, which put any rating scale's
  // ends at 1 and 5 (ModelInfo::input.units), so it means the same on any scale (see fold-in below). 0.5 was
  // best on validation users of both MovieLens 100K and synthetic data (docs/RESULTS.md).
  float lambda = 0.5f;
  bool clamp = true;  // limit returned predictions to the rating scale
};
// The smallest lambda fold-in accepts (smaller ones are refused as BadInput): the ridge system's smallest
// eigenvalue is lambda, and a few ratings make the rest of it singular.
inline constexpr float kMinFoldInLambda = 1e-4f;

// One (user, item) pair by dense indices; nullopt = an id the model does not have (cold start).
struct UserItem {
  std::optional<std::uint32_t> user, item;
};

// One epoch of the training history stored in the file.
struct EpochRecord {
  std::uint32_t epoch;
  double loss, train_rmse, val_rmse, seconds;  // val_rmse < 0: no validation part
};

// Everything the file says about the model, plus the backend serving it. Layer 0 is the encoder; the last
// layer's outputs are the rows of a column.
struct ModelInfo {
  std::string source_name;  // path or buffer name the model came from
  std::uint32_t schema_version;
  Variant variant;
  std::uint32_t num_users, num_items;
  std::uint64_t num_observations;
  std::vector<LayerInfo> layers;
  float rating_min, rating_max, rating_step;
  bool integral_ratings;
  float global_mean;
  // What the first layer reads for an observed rating (autorec/math.hpp), including the units the network
  // computes in (input.units: its outputs are mapped back to ratings through them).
  InputTransform input;
  // The share of the user + item bias model (the file's baseline, fitted with the network) in every answer of
  // the network, chosen on validation ratings: 0 = the network alone. With a baseline the cold-start means
  // are its shrunk means.
  bool has_baseline = false;
  float baseline_weight = 0;
  RankingRule ranking;  // what recommend() ranks by
  std::string cold_start;  // description of the fallback rule
  std::uint64_t num_parameters;
  DType weight_dtype = DType::F32;  // how the weight matrices are stored in the file (computation is fp32)
  bool codes_in_file = false;  // the file carries the codes of its columns (else they were computed at load)
  // Training metadata.
  std::uint32_t epochs_run, best_epoch;
  std::vector<EpochRecord> history;
  std::uint64_t data_fingerprint;
  std::int64_t created_unix;
  std::string trainer_version, training_source, hyperparameters_json;
  double test_rmse;  // < 0: none recorded
  std::string backend;         // the backend serving this Model ("cpu", "cuda")
  std::string backend_notice;  // why Device::Auto chose the CPU, when it did
};

// The instruction-set level the compute kernels run at ("baseline", "avx2", "avx512"; "native" in an
// AUTOREC_NATIVE=ON build), chosen once per process from the CPU and the environment variable AUTOREC_CPU,
// and why it differs from what AUTOREC_CPU asked for ("" when it does not). See autorec_cpu_level in autorec.h.
const char* cpu_level();
const char* cpu_level_notice();

// A loaded model: move-only, immutable, and safe to share between threads for every const call.
class Model {
 public:
  // Reads, checks (header, sizes, checksum, FlatBuffers verifier, semantics) and loads model.fb. Throws
  // Error: BadInput for a path that cannot be opened, Corrupt for a damaged file, Unsupported for a newer
  // version or Device::Cuda without the plugin or a GPU, OutOfMemory past options.max_decompressed_bytes,
  // Io when a read fails. The file is decompressed as it is read: loading holds the model and its FlatBuffer
  // (ids and ratings), never the file or its whole decompressed content.
  static Model load_file(const std::string& path, const LoadOptions& options = {});
  // The same from bytes in memory (copied out; the caller may free them afterwards). name labels errors.
  static Model load_buffer(std::span<const std::byte> bytes, std::string_view name = "<memory>",
                           const LoadOptions& options = {});
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  // Metadata; the reference lives as long as the Model.
  const ModelInfo& info() const;

  // External id -> dense index (nullopt when the id was not in the training data). Ids match by their exact
  // text only: on a model trained with integer ids, "07", "+7" and " 7" are not "7".
  std::optional<std::uint32_t> user_index(std::string_view id) const;
  std::optional<std::uint32_t> item_index(std::string_view id) const;
  // Dense index -> external id; throws Error(BadInput) for an index not below num_users / num_items.
  std::string user_id(std::uint32_t index) const;
  std::string item_id(std::uint32_t index) const;

  // Sizes in the model's orientation: a column is one input (an item for item-based models) and has
  // column_length() rows (users for item-based models).
  std::uint32_t num_columns() const;
  std::uint32_t column_length() const;

  // Full reconstruction of one sparse column: out has column_length() entries. With clamp, values are
  // limited to the rating scale [rating_min, rating_max]. Throws Error(BadInput) for an entry index not below
  // column_length(), a non-finite value, or an out of the wrong size. An empty column is a valid input.
  // Entries are the observed ratings only, as raw ratings, each row once: the model's input rule
  // (ModelInfo::input) is applied inside and depends on how many entries the column has, so an entry of 0
  // is a rating of 0, not a missing one.
  void reconstruct(std::span<const Entry> column, std::span<float> out, bool clamp = true) const;
  // Many columns at once through matrix-matrix products; out is columns.size() x column_length(), row-major.
  // Checks every column as reconstruct() does; the message names the column.
  void reconstruct_batch(std::span<const std::span<const Entry>> columns, std::span<float> out,
                         bool clamp = true) const;
  // Reconstruction of training column c from its stored observations (uses the cached hidden code); throws
  // Error(BadInput) for c not below num_columns() or an out of the wrong size.
  void reconstruct_column(std::uint32_t column, std::span<float> out, bool clamp = true) const;

  // Parameters of layer l, copied out: the weight as [out_size, in_size] row-major (y = W x + b) whatever
  // the file's layout, and the bias [out_size]. Throws Error(BadInput) for l not below the layer count.
  std::vector<float> weight(std::size_t layer) const;
  std::vector<float> bias(std::size_t layer) const;

  // The observations stored for training column c (throws Error(BadInput) for c not below num_columns()).
  std::vector<Entry> observations(std::uint32_t column) const;

  // Whether a user / item has stored training observations (what decides a cold start).
  bool knows_user(std::optional<std::uint32_t> user) const;
  bool knows_item(std::optional<std::uint32_t> item) const;

  // Rating of (user, item) by dense indices or external ids; unknown or unseen ids (nullopt, an index out of
  // range, an id not in the model) use the cold-start rule, so predict never throws for an id.
  Prediction predict(std::optional<std::uint32_t> user, std::optional<std::uint32_t> item,
                     bool clamp = true) const;
  Prediction predict(std::string_view user_id, std::string_view item_id, bool clamp = true) const;

  // The k best items for a user (dense index), best first; ties go to the lower item index. With
  // exclude_rated, items the user rated in training are left out. Every item is scored by the same rule as
  // predict() (a known user costs one matrix-vector product over all items) and ranked by the unclamped
  // prediction (so that items above the top of the scale stay ordered) plus, by RankBy::Rule, the model's
  // ranking rule's term (info().ranking; ranking_bonus()); the ratings returned are the predictions. Fewer
  // than k come back when fewer items are left; k = 0 gives none. Throws Error(BadInput) for user not below
  // num_users.
  std::vector<Recommendation> recommend(std::uint32_t user, std::size_t k, bool exclude_rated = true,
                                        RankBy by = RankBy::Rule) const;
  // What the ranking rule adds to each trained item's predicted rating when ranking (by item index; empty
  // when the model ranks by rating alone).
  std::span<const float> ranking_bonus() const;
  // The predictions recommend() ranks, for callers that rank many users without allocating per user
  // (ranking evaluation; ranking_bonus() holds the rule's term): every item's unclamped predicted rating for
  // the user into scores, and its source into sources (both info().num_items long). Throws Error(BadInput)
  // for user not below num_users or a span of another size.
  void score_items(std::uint32_t user, std::span<float> scores, std::span<Source> sources) const;

  // predict() of many pairs on the caller's thread: out[i] answers pairs[i]; out.size() must equal pairs.size().
  void predict_batch(std::span<const UserItem> pairs, std::span<Prediction> out, bool clamp = true) const;

  // ---- Fold-in: users and items that were not in training ----
  //
  // How a newcomer is served depends on which side of the network it is on:
  // - a new *column* (a user of a user-based model, an item of an item-based one) goes through the encoder:
  //   its ratings are a sparse input column and its predictions are the network's reconstruction, exactly as
  //   for a training column (folding in a training column from its stored ratings gives its own predictions).
  // - a new *row* (a user of an item-based model, an item of a user-based one) has no weights of its own, so
  //   fold-in fits them: the decoder row w and bias b that minimise
  //     sum over its ratings r_c of (r_c - (w . code_c + b))^2 + lambda (w - m)' S^-1 (w - m)
  //   against the cached codes of the columns it rated (ratings and outputs in the network's units), where m
  //   and S are the mean and covariance of the
  //   training rows' decoder weights (ridge regression towards the average row, shaped like the trained rows;
  //   bias not penalised; closed form). With few ratings the answer tends to the average row plus the
  //   newcomer's offset; with many, to the least-squares row. This needs an identity decoder; other decoders
  //   are refused (Status::Unsupported) rather than fitted in an approximate space.
  // Ratings of a new user are Entry{item index, rating}; of a new item, Entry{user index, rating}. Ratings are
  // refused (Status::BadInput, naming the argument and value) when empty, non-finite, repeated, or indexing
  // beyond the model; a new column's ratings must also come from rows the network has inputs for (not from
  // rows added by fold-in). Existing codes are not changed by a newcomer's ratings.

  // Predictions of a new user for every item (info().num_items values, by item index) and of a new item for
  // every user, by predict()'s rule (the cold-start rule where the other side is unknown).
  std::vector<float> fold_in_user(std::span<const Entry> ratings, const FoldInOptions& options = {}) const;
  std::vector<float> fold_in_item(std::span<const Entry> ratings, const FoldInOptions& options = {}) const;
  // The k best items for a new user known only by these ratings (fold_in_user's predictions, ranked as
  // recommend() ranks); with exclude_rated the items in `ratings` are left out.
  std::vector<Recommendation> recommend_for_ratings(std::span<const Entry> ratings, std::size_t k,
                                                    bool exclude_rated = true, const FoldInOptions& options = {},
                                                    RankBy by = RankBy::Rule) const;
  // Fold-in kept in the model under a new external id: afterwards user_index/item_index, predict, recommend
  // and the fold-in calls see it. Returns the new dense index (the next one). The id must be new and, when
  // the model's ids are integers, an integer. The network's input side is fixed, so column_length() and
  // reconstruct* do not grow with added rows; num_columns() does grow with added columns.
  // Not thread-safe: needs exclusive access to the Model (a server that adds while serving guards the Model
  // with a readers-writer lock: shared for queries, exclusive for additions). Keeping the const calls lock-free is the
  // reason: a prediction is one dot product, cheaper than taking a shared lock on every call. On an error the
  // model is unchanged.
  std::uint32_t add_user(std::string_view id, std::span<const Entry> ratings, const FoldInOptions& options = {});
  std::uint32_t add_item(std::string_view id, std::span<const Entry> ratings, const FoldInOptions& options = {});


  struct Impl;  // the library's own; opaque to hosts

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One rating to score: dense model indices (nullopt = id not seen in training) and the true value.
struct RatingRef {
  std::optional<std::uint32_t> user, item;
  float value;
};
// Accuracy of a model on held-out ratings: what autorec-verify and autorec-train --test report.
struct EvalResult {
  double rmse = 0, mae = 0;
  std::uint64_t count = 0, cold_start = 0, cold_user = 0, cold_item = 0;
};
// Scores each rating by Model::predict (cold starts included, and counted).
EvalResult evaluate(const Model& model, std::span<const RatingRef> ratings, bool clamp = true);

}  // namespace autorec
