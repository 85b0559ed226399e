/* autorec.h: the C API of libautorec_infer (C99). Loads an AutoRec model.fb, answers metadata and id
 * queries, reconstructs rating columns, predicts ratings and ranks items.
 *
 * ABI rules (docs/ARCHITECTURE.md, "The C API"):
 * - Every function that can fail returns an autorec_status; AUTOREC_OK is 0, failures are negative and
 *   never renumbered (they mirror autorec::Status). On failure no output is written unless a function says
 *   otherwise, and autorec_last_error() gives a message naming the function, the argument and its value.
 * - Statuses every function below may return, besides those it lists: AUTOREC_BAD_INPUT when `model` or a
 *   required pointer is NULL (optional ones say "may be NULL"); AUTOREC_OUT_OF_MEMORY when an allocation
 *   fails; AUTOREC_INTERNAL for a bug (please report its message). tests/c99/header_test.c checks each
 *   documented status from a C99 host.
 * - Messages quote caller text (paths, ids, buffer names) in single quotes, cut after 200 bytes with "...",
 *   with control characters and bytes that are not UTF-8 written as \xHH: a message is one line of a few
 *   hundred bytes at most.
 * - No C++ exception crosses this boundary.
 * - Any number of threads may call the functions taking a const autorec_model* on one model at once. Only
 *   autorec_model_add_user/_add_item change a model; they, and autorec_model_free, must not race with any
 *   other call on it.
 * - Enums are passed as int-sized values; structs hold fixed-width fields only, so FFI layers (Python
 *   ctypes/cffi, Go cgo, Rust, Java JNA/Panama) can declare them directly.
 * - Strings are NUL-terminated UTF-8/bytes. Strings returned as const char* are owned by the library: static
 *   ones live forever, a model's live until autorec_model_free.
 */
#ifndef AUTOREC_AUTOREC_H
#define AUTOREC_AUTOREC_H

#include <stddef.h>
#include <stdint.h>

/* Version of this API: major*10000 + minor*100 + patch. A new minor version only adds functions, enum values
 * or trailing struct fields; a new major version may break source or binary compatibility. */
#define AUTOREC_API_VERSION_MAJOR 1
#define AUTOREC_API_VERSION_MINOR 2
#define AUTOREC_API_VERSION_PATCH 0
#define AUTOREC_API_VERSION \
  (AUTOREC_API_VERSION_MAJOR * 10000 + AUTOREC_API_VERSION_MINOR * 100 + AUTOREC_API_VERSION_PATCH)

/* Keeps the C entry points exported from the shared library even if it is built with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define AUTOREC_API __attribute__((visibility("default")))
#else
#define AUTOREC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status of a call. The numbers equal autorec::Status (autorec/error.hpp). */
typedef enum autorec_status {
  AUTOREC_OK = 0,
  AUTOREC_BAD_INPUT = -1,     /* an argument or a caller's data is wrong: NULL, out of range, too small */
  AUTOREC_CORRUPT = -2,       /* the model file fails a check (magic, checksum, verifier, semantics) */
  AUTOREC_UNSUPPORTED = -3,   /* valid, but this build cannot serve it (newer version, no CUDA, ...) */
  AUTOREC_IO = -4,            /* the operating system refused a read */
  AUTOREC_OUT_OF_MEMORY = -5, /* an allocation failed or would exceed a limit */
  AUTOREC_INTERNAL = -6       /* a bug in the library: please report the message */
} autorec_status;

typedef enum autorec_device { AUTOREC_DEVICE_AUTO = 0, AUTOREC_DEVICE_CPU = 1, AUTOREC_DEVICE_CUDA = 2 } autorec_device;

/* Item-based: a column is an item and has one row per user. User-based: the reverse. */
typedef enum autorec_variant { AUTOREC_ITEM_BASED = 0, AUTOREC_USER_BASED = 1 } autorec_variant;

typedef enum autorec_activation {
  AUTOREC_IDENTITY = 0,
  AUTOREC_SIGMOID = 1,
  AUTOREC_TANH = 2,
  AUTOREC_RELU = 3,
  AUTOREC_ELU = 4,
  AUTOREC_SELU = 5
} autorec_activation;

/* Which rule answered a prediction; anything but AUTOREC_SOURCE_MODEL is a cold-start fallback. */
typedef enum autorec_source {
  AUTOREC_SOURCE_MODEL = 0,
  AUTOREC_SOURCE_USER_MEAN = 1,
  AUTOREC_SOURCE_ITEM_MEAN = 2,
  AUTOREC_SOURCE_GLOBAL_MEAN = 3,
  AUTOREC_SOURCE_EMPTY_INPUT = 4 /* the network's reconstruction of an empty column */
} autorec_source;

/* A dense index meaning "not in the training data": what the id lookups give for an unknown id, and what
 * autorec_model_predict accepts to ask for the cold-start answer. */
#define AUTOREC_NO_INDEX UINT32_MAX

/* One observed rating of a sparse input column; index is a dense row index (a user for item-based models). */
typedef struct autorec_entry {
  uint32_t index;
  float value;
} autorec_entry;

/* Load options. Initialise with autorec_load_options_init (or zero it and set struct_size = sizeof): all
 * zero fields mean the defaults. struct_size lets later versions append fields: the library reads the fields
 * that fit in struct_size, and refuses (AUTOREC_UNSUPPORTED) non-zero fields it does not know. */
typedef struct autorec_load_options {
  uint64_t struct_size;            /* sizeof(autorec_load_options) */
  uint64_t max_decompressed_bytes; /* refuse files larger than this once decompressed; 0 = 8 GiB */
  int32_t device;                  /* autorec_device; AUTO = CUDA when the plugin and a GPU are there */
  uint32_t threads;                /* threads for loading and batch reconstruction; 0 = all cores. A server
                                      calling from many threads should use 1 */
} autorec_load_options;

typedef struct autorec_model autorec_model; /* opaque */

/* ---- Library ---- */

/* AUTOREC_API_VERSION of the library actually loaded (compare with the header's to detect a mismatch). */
AUTOREC_API int autorec_api_version(void);
/* Message of the last failed call on this thread, "" after a successful one. Valid until the thread's next
 * autorec_* call. Never NULL. */
AUTOREC_API const char* autorec_last_error(void);
/* Static name of an autorec_status ("ok", "bad input", ...); "unknown status" for other numbers. The
 * name functions take int so that any number a caller holds is a valid argument. */
AUTOREC_API const char* autorec_status_name(int status);
/* Static names of autorec_activation and autorec_source values ("sigmoid", "user mean", ...); "unknown" for
 * other numbers. */
AUTOREC_API const char* autorec_activation_name(int activation);
AUTOREC_API const char* autorec_source_name(int source);
/* The instruction-set level of the library's compute kernels (gathers, dot and matrix products, Adam, the
 * decoding of stored weights), chosen once per process at the first call that computes: "baseline"
 * (x86-64-v2), "avx2" (x86-64-v3: AVX2, FMA) or "avx512" (x86-64-v4), the best this CPU and its operating
 * system support, unless the environment variable AUTOREC_CPU names another level the CPU has (for tests,
 * valgrind and bug reports); "native" in a library built with AUTOREC_NATIVE=ON, which runs only on CPUs like
 * its build machine's. Results agree across levels to float rounding. Static; never NULL. */
AUTOREC_API const char* autorec_cpu_level(void);
/* Why the level differs from what AUTOREC_CPU asked for (a name that is not a level, a level this CPU lacks,
 * a native build); "" when AUTOREC_CPU is unset or was followed. Static; never NULL. */
AUTOREC_API const char* autorec_cpu_level_notice(void);

/* ---- Loading ---- */

/* Sets struct_size and the defaults; NULL is ignored. */
AUTOREC_API void autorec_load_options_init(autorec_load_options* options);
/* Loads model.fb from a path, read to its end (a pipe or a procfs file too). options may be NULL
 * (defaults). *model receives the handle, NULL on failure (model itself must not be NULL). Statuses:
 * - AUTOREC_BAD_INPUT: path is NULL or empty, names nothing (no such file or folder), or is a directory;
 *   options->struct_size is below 24 or options->device is not an autorec_device; the file is an autorec
 *   checkpoint, not a model.
 * - AUTOREC_IO: the operating system refuses to open or read the file (permission, a device error).
 * - AUTOREC_CORRUPT: anything in the file fails a check (magic, sizes, zstd frame and checksum, the
 *   FlatBuffers verifier, the model's own consistency).
 * - AUTOREC_UNSUPPORTED: the file's container or schema version is newer than this library's (the header
 *   cannot tell a damaged version field from a newer file, so a damaged one reads this way too); the
 *   options set a field this library does not know; device CUDA without the plugin, its libraries or a GPU.
 * - AUTOREC_OUT_OF_MEMORY: the header's content size, or the file itself, is larger than
 *   max_decompressed_bytes allows (checked before decompressing: a damaged size field reads this way, as it
 *   cannot be told from a large model); the CUDA backend does not fit in the GPU's memory. */
AUTOREC_API autorec_status autorec_model_load_file(const char* path, const autorec_load_options* options,
                                                   autorec_model** model);
/* Loads from size bytes at data (copied: the caller may free them afterwards). name labels error messages
 * and may be NULL ("<memory>"). Statuses as autorec_model_load_file's, less AUTOREC_IO; data NULL is
 * AUTOREC_BAD_INPUT. */
AUTOREC_API autorec_status autorec_model_load_buffer(const void* data, size_t size, const char* name,
                                                     const autorec_load_options* options, autorec_model** model);
/* Frees a model; NULL is ignored. */
AUTOREC_API void autorec_model_free(autorec_model* model);

/* ---- Metadata ----
 * Each writes one value and fails only for a NULL model or output (AUTOREC_BAD_INPUT). */

AUTOREC_API autorec_status autorec_model_variant(const autorec_model* model, autorec_variant* variant);
AUTOREC_API autorec_status autorec_model_num_users(const autorec_model* model, uint32_t* num_users);
AUTOREC_API autorec_status autorec_model_num_items(const autorec_model* model, uint32_t* num_items);
/* Columns are the network's inputs (items for item-based models); each has column_length rows, one per
 * output of the network. num_users and num_items count what the model knows, training and added ones;
 * num_columns counts training columns and those added on the column side (add_item for item-based models),
 * while column_length stays the network's rows: users added to an item-based model (add_user) are not rows
 * of a reconstruction, and predict, recommend and the id calls serve them instead. */
AUTOREC_API autorec_status autorec_model_num_columns(const autorec_model* model, uint32_t* num_columns);
AUTOREC_API autorec_status autorec_model_column_length(const autorec_model* model, uint32_t* column_length);
AUTOREC_API autorec_status autorec_model_num_layers(const autorec_model* model, uint32_t* num_layers);
/* Layer `layer` (0 = the encoder) maps in_size inputs to out_size outputs through `activation`.
 * AUTOREC_BAD_INPUT when layer is not below num_layers. */
AUTOREC_API autorec_status autorec_model_layer(const autorec_model* model, uint32_t layer, uint32_t* in_size,
                                               uint32_t* out_size, autorec_activation* activation);
AUTOREC_API autorec_status autorec_model_rating_range(const autorec_model* model, float* rating_min,
                                                      float* rating_max);
AUTOREC_API autorec_status autorec_model_global_mean(const autorec_model* model, float* global_mean);
/* How the weights are stored in the file: "fp32", "fp16", "bf16" or "int8" (static string). */
AUTOREC_API autorec_status autorec_model_weight_dtype(const autorec_model* model, const char** name);
/* The backend serving the model: "cpu" or "cuda" (valid until the model is freed). */
AUTOREC_API autorec_status autorec_model_backend(const autorec_model* model, const char** name);
/* Test RMSE recorded by the trainer; negative when none was recorded. */
AUTOREC_API autorec_status autorec_model_test_rmse(const autorec_model* model, double* test_rmse);
AUTOREC_API autorec_status autorec_model_schema_version(const autorec_model* model, uint32_t* schema_version);

/* ---- Ids ---- */

/* External id -> dense index. An id the model does not know is not an error: *index = AUTOREC_NO_INDEX. Ids
 * match by their exact bytes; a model whose ids are integers knows each by its decimal spelling without sign
 * or leading zeros ("1", "-7"), so "01", "+1" and " 1" are not ids it has, as in training. */
AUTOREC_API autorec_status autorec_model_user_index(const autorec_model* model, const char* id, uint32_t* index);
/* (id NULL is AUTOREC_BAD_INPUT.) */
AUTOREC_API autorec_status autorec_model_item_index(const autorec_model* model, const char* id, uint32_t* index);
/* Dense index -> external id, like snprintf: writes at most buffer_size - 1 bytes and a NUL, and sets
 * *length (optional, may be NULL) to the id's full length without the NUL. buffer = NULL with
 * buffer_size = 0 only asks for the length. A buffer too small for the id and its NUL gets the truncated id
 * (when buffer_size > 0) and the call returns AUTOREC_BAD_INPUT. Also AUTOREC_BAD_INPUT: index not below
 * num_users (num_items), or buffer NULL with buffer_size > 0 (nothing written). */
AUTOREC_API autorec_status autorec_model_user_id(const autorec_model* model, uint32_t index, char* buffer,
                                                 size_t buffer_size, size_t* length);
AUTOREC_API autorec_status autorec_model_item_id(const autorec_model* model, uint32_t index, char* buffer,
                                                 size_t buffer_size, size_t* length);

/* ---- Reconstruction ----
 * out receives column_length floats per column (row-major for batches); out_size is its capacity in floats.
 * clamp != 0 limits the values to the rating range. */

/* One sparse column given by its observed entries (entries may be NULL when num_entries is 0: a column with
 * no ratings gives the cold-start reconstruction, as AUTOREC_SOURCE_EMPTY_INPUT describes). Entries are
 * observed raw ratings, each row at most once. The model's input rule is applied inside: a value v enters
 * the encoder as ((v - origin) / unit + input_offset) * column scale, and the column's count sets its scale.
 * So a value whose model units are 0 adds nothing to the encoder: on a model trained without an input offset
 * (the default) on a 1-5 scale, a single {index, 0} entry gives the empty column's codes, while with an
 * offset (autorec-train --input-offset) it does not. It is still a rating: a model with a bias baseline
 * counts it in the column's newcomer bias, so its outputs differ from the empty column's by that one shift
 * (without a baseline they are the empty column's exactly). AUTOREC_BAD_INPUT (out untouched) when
 * num_entries > column_length (checked before anything is read or allocated), an index is not below
 * column_length, a row appears twice, a value is not finite, or out_size < column_length. */
AUTOREC_API autorec_status autorec_model_reconstruct(const autorec_model* model, const autorec_entry* entries,
                                                     size_t num_entries, float* out, size_t out_size, int clamp);
/* num_columns columns in one call, in compressed form: column c is entries[offsets[c]] up to
 * entries[offsets[c + 1]] (offsets has num_columns + 1 non-decreasing values). Each column as for
 * autorec_model_reconstruct: at most column_length entries, each row at most once. AUTOREC_BAD_INPUT (out
 * untouched) for offsets that decrease, any column as autorec_model_reconstruct refuses it (the message
 * names the column), or out_size < num_columns * column_length. */
AUTOREC_API autorec_status autorec_model_reconstruct_batch(const autorec_model* model, const autorec_entry* entries,
                                                           const size_t* offsets, size_t num_columns, float* out,
                                                           size_t out_size, int clamp);
/* Column `column` (below num_columns: a training column, or one added with add_item on an item-based model,
 * add_user on a user-based one) from the ratings the model holds for it. AUTOREC_BAD_INPUT when column is
 * not below num_columns or out_size < column_length. */
AUTOREC_API autorec_status autorec_model_reconstruct_column(const autorec_model* model, uint32_t column,
                                                            float* out, size_t out_size, int clamp);

/* ---- Prediction and ranking ---- */

/* Rating of (user, item) by dense indices; AUTOREC_NO_INDEX for either gives the cold-start answer. *source
 * (optional, may be NULL) says which rule answered. AUTOREC_BAD_INPUT for an index that is neither
 * AUTOREC_NO_INDEX nor below num_users (num_items). */
AUTOREC_API autorec_status autorec_model_predict(const autorec_model* model, uint32_t user, uint32_t item,
                                                 int clamp, float* rating, autorec_source* source);
/* The same by external ids (NULL ids are AUTOREC_BAD_INPUT); unknown ids get the cold-start answer. */
AUTOREC_API autorec_status autorec_model_predict_ids(const autorec_model* model, const char* user_id,
                                                     const char* item_id, int clamp, float* rating,
                                                     autorec_source* source);
/* The k (>= 1) best items for dense user index `user`, best first (ties: lower item index first), ranked by
 * the model's ranking rule (the predicted rating, plus autorec_model_ranking_weight * ln(1 + the item's
 * stored ratings) when the trainer chose one on validation data), into items[0..k) and ratings[0..k) (the
 * predicted ratings, clamped); sources (optional, may be NULL)
 * gets each one's source. exclude_rated != 0 leaves out the items the user rated in training (or was added
 * with). *count receives how many were written: k, or fewer when fewer items are left. AUTOREC_BAD_INPUT for
 * k = 0 or user not below num_users. */
AUTOREC_API autorec_status autorec_model_recommend(const autorec_model* model, uint32_t user, size_t k,
                                                   int exclude_rated, uint32_t* items, float* ratings,
                                                   autorec_source* sources, size_t* count);
/* The weight of the ranking rule's popularity term (0: recommend ranks by the predicted rating alone). */
AUTOREC_API autorec_status autorec_model_ranking_weight(const autorec_model* model, float* weight);
/* What autorec_model_recommend_by ranks by: the model's ranking rule (as autorec_model_recommend), or the
 * predicted rating alone. */
typedef enum autorec_rank_by { AUTOREC_RANK_BY_RULE = 0, AUTOREC_RANK_BY_RATING = 1 } autorec_rank_by;
/* autorec_model_recommend with the ranking chosen: rank_by is an autorec_rank_by value, passed as an int so
 * that any value a host sends is well defined to check (AUTOREC_BAD_INPUT for one outside the enum). */
AUTOREC_API autorec_status autorec_model_recommend_by(const autorec_model* model, uint32_t user, size_t k,
                                                      int exclude_rated, int rank_by, uint32_t* items,
                                                      float* ratings, autorec_source* sources, size_t* count);

/* ---- Fold-in: users and items that were not in training, served from their ratings without retraining ----
 * A new user's ratings are entries {item index, rating}; a new item's, {user index, rating}: at least one
 * (an empty list is AUTOREC_BAD_INPUT: with nothing to fit, the cold-start answers of predict serve such a
 * user), each index at most once and below num_items (num_users), so num_ratings is at most that count
 * (checked before anything is read or allocated). The indices must be inputs of the network: on an
 * item-based model a new item's ratings cannot come from users added with add_user, and on a user-based
 * one a new user's cannot be of items added with add_item (AUTOREC_BAD_INPUT, which names it). lambda is
 * the strength of the prior on a fitted decoder row (model.hpp explains the fit); 0 or less means the
 * default, 0.5; NaN, or a positive lambda below 1e-4 (kMinFoldInLambda), is refused with AUTOREC_BAD_INPUT,
 * since the ridge system is singular there. Predictions are clamped to the rating scale. Every call of this
 * section returns AUTOREC_BAD_INPUT for these and for an out_size too small; nothing is written then. */

/* Predictions of a new user for every item into out[0..num_items) (out_size must be at least num_items). */
AUTOREC_API autorec_status autorec_model_fold_in_user(const autorec_model* model, const autorec_entry* ratings,
                                                      size_t num_ratings, float lambda, float* out, size_t out_size);
/* Predictions of a new item for every user into out[0..num_users). */
AUTOREC_API autorec_status autorec_model_fold_in_item(const autorec_model* model, const autorec_entry* ratings,
                                                      size_t num_ratings, float lambda, float* out, size_t out_size);
/* The k (>= 1) best items for a new user known by these ratings, as autorec_model_recommend writes them;
 * exclude_rated != 0 leaves out the rated items. */
AUTOREC_API autorec_status autorec_model_recommend_for_ratings(const autorec_model* model, const autorec_entry* ratings,
                                                               size_t num_ratings, size_t k, int exclude_rated,
                                                               float lambda, uint32_t* items, float* ratings_out,
                                                               autorec_source* sources, size_t* count);
/* Keeps a new user (item) in the model under the new external id `id`, so later calls see it; *index (optional)
 * receives its dense index. On a model with integer ids, `id` must be an integer in that spelling
 * (AUTOREC_BAD_INPUT otherwise); an id the model already has is AUTOREC_BAD_INPUT; so is an empty id.
 * These two change the model: no other call on the same model may run during them
 * (a host that adds while serving takes a readers-writer lock: shared for queries, exclusive for additions).
 * On failure the model is unchanged. */
AUTOREC_API autorec_status autorec_model_add_user(autorec_model* model, const char* id, const autorec_entry* ratings,
                                                  size_t num_ratings, float lambda, uint32_t* index);
AUTOREC_API autorec_status autorec_model_add_item(autorec_model* model, const char* id, const autorec_entry* ratings,
                                                  size_t num_ratings, float lambda, uint32_t* index);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AUTOREC_AUTOREC_H */
