// The C API (autorec/autorec.h): a thin layer over autorec::Model that checks every argument, turns
// exceptions into status codes and keeps the message in a thread-local string.
#include "autorec/autorec.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "autorec/check.hpp"
#include "autorec/error.hpp"
#include "autorec/model.hpp"
#include "autorec/text.hpp"

struct autorec_model {
  autorec::Model model;
};

namespace {

using autorec::Entry;
using autorec::Error;
using autorec::Model;
using autorec::RankBy;
using autorec::Status;

// The C enums are the C++ ones by number; these keep them from drifting apart.
static_assert(AUTOREC_OK == static_cast<int>(Status::Ok) && AUTOREC_BAD_INPUT == static_cast<int>(Status::BadInput) &&
              AUTOREC_CORRUPT == static_cast<int>(Status::Corrupt) &&
              AUTOREC_UNSUPPORTED == static_cast<int>(Status::Unsupported) && AUTOREC_IO == static_cast<int>(Status::Io) &&
              AUTOREC_OUT_OF_MEMORY == static_cast<int>(Status::OutOfMemory) &&
              AUTOREC_INTERNAL == static_cast<int>(Status::Internal));
static_assert(AUTOREC_DEVICE_AUTO == static_cast<int>(autorec::Device::Auto) &&
              AUTOREC_DEVICE_CPU == static_cast<int>(autorec::Device::Cpu) &&
              AUTOREC_DEVICE_CUDA == static_cast<int>(autorec::Device::Cuda));
static_assert(AUTOREC_ITEM_BASED == static_cast<int>(autorec::Variant::ItemBased) &&
              AUTOREC_USER_BASED == static_cast<int>(autorec::Variant::UserBased));
static_assert(AUTOREC_IDENTITY == static_cast<int>(autorec::Activation::Identity) &&
              AUTOREC_SELU == static_cast<int>(autorec::Activation::Selu));
static_assert(AUTOREC_SOURCE_MODEL == static_cast<int>(autorec::Source::Model) &&
              AUTOREC_SOURCE_USER_MEAN == static_cast<int>(autorec::Source::UserMean) &&
              AUTOREC_SOURCE_ITEM_MEAN == static_cast<int>(autorec::Source::ItemMean) &&
              AUTOREC_SOURCE_GLOBAL_MEAN == static_cast<int>(autorec::Source::GlobalMean) &&
              AUTOREC_SOURCE_EMPTY_INPUT == static_cast<int>(autorec::Source::EmptyInput));
// API 1.0's options: callers compiled against it pass this struct_size for as long as the ABI lasts.
constexpr std::size_t kOptionsV1Size = 24;
static_assert(sizeof(autorec_load_options) == kOptionsV1Size, "append fields and read them only when struct_size covers them");

thread_local std::string t_last_error;

autorec_status fail(const char* function, autorec_status status, const char* what) noexcept {
  try {
    t_last_error = std::string(function) + ": " + what;
  } catch (...) {
    t_last_error.clear();  // no memory left even for the message: the status still says what happened
  }
  return status;
}

// Runs body and maps what it throws to a status; nothing escapes into C.
template <class F>
autorec_status guarded(const char* function, F&& body) noexcept {
  t_last_error.clear();
  try {
    body();
    return AUTOREC_OK;
  } catch (const Error& e) {
    return fail(function, static_cast<autorec_status>(e.status()), e.what());
  } catch (const std::bad_alloc&) {
    return fail(function, AUTOREC_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(function, AUTOREC_INTERNAL, e.what());
  } catch (...) {
    return fail(function, AUTOREC_INTERNAL, "unknown exception");
  }
}

template <class T>
T& need(T* pointer, const char* name) {
  AUTOREC_CHECK_INPUT(pointer, std::string(name) + " is NULL");
  return *pointer;
}

const Model& model_of(const autorec_model* model) { return need(model, "model").model; }

// One metadata getter: check model and out, then store value(model).
template <class T, class F>
autorec_status get(const char* function, const autorec_model* model, T* out, const char* out_name, F value) noexcept {
  return guarded(function, [&] {
    const Model& m = model_of(model);
    need(out, out_name) = value(m);
  });
}

void check_below(std::uint64_t value, std::uint64_t bound, const char* name, const char* bound_name) {
  AUTOREC_CHECK_INPUT(value < bound, std::string(name) + " = " + std::to_string(value) + " is not below " + bound_name +
                                         " = " + std::to_string(bound));
}

// A dense index argument of predict: AUTOREC_NO_INDEX is "unknown", anything else must be in range.
std::optional<std::uint32_t> dense_or_unknown(std::uint32_t value, std::uint32_t bound, const char* name,
                                              const char* bound_name) {
  if (value == AUTOREC_NO_INDEX) return std::nullopt;
  check_below(value, bound, name, bound_name);
  return value;
}

autorec::LoadOptions load_options(const autorec_load_options* o) {
  autorec::LoadOptions out;
  if (!o) return out;
  AUTOREC_CHECK_INPUT(o->struct_size >= kOptionsV1Size,
                      "options->struct_size = " + std::to_string(o->struct_size) + " is smaller than the " +
                          std::to_string(kOptionsV1Size) +
                          " bytes of API 1.0 (initialise with autorec_load_options_init)");
  // A caller built against a newer header may set options this library does not know: serving the model
  // without them would silently differ from what was asked.
  const auto* bytes = reinterpret_cast<const unsigned char*>(o);
  for (std::size_t i = sizeof(autorec_load_options); i < o->struct_size; ++i)
    if (bytes[i])
      throw Error(Status::Unsupported, "options->struct_size = " + std::to_string(o->struct_size) +
                                           ": this library (API " + std::to_string(AUTOREC_API_VERSION) +
                                           ") does not know the option set at byte " + std::to_string(i));
  AUTOREC_CHECK_INPUT(o->device >= AUTOREC_DEVICE_AUTO && o->device <= AUTOREC_DEVICE_CUDA,
                      "options->device = " + std::to_string(o->device) + " is not AUTOREC_DEVICE_AUTO, _CPU or _CUDA");
  out.device = static_cast<autorec::Device>(o->device);
  out.threads = o->threads;
  if (o->max_decompressed_bytes) out.max_decompressed_bytes = o->max_decompressed_bytes;
  return out;
}

void copy_id(const std::string& id, char* buffer, std::size_t buffer_size, std::size_t* length) {
  AUTOREC_CHECK_INPUT(buffer || !buffer_size, "buffer is NULL but buffer_size = " + std::to_string(buffer_size));
  if (length) *length = id.size();
  if (!buffer) return;  // a length query
  if (buffer_size) {
    const std::size_t n = std::min(id.size(), buffer_size - 1);
    std::memcpy(buffer, id.data(), n);
    buffer[n] = '\0';
  }
  AUTOREC_CHECK_INPUT(buffer_size > id.size(), "buffer_size = " + std::to_string(buffer_size) +
                                                   " is too small for the id " + autorec::quoted(id) + " (needs " +
                                                   std::to_string(id.size() + 1) + ")");
}

// The user and item id calls differ only in the side of the model they ask.
struct IdSide {
  std::optional<std::uint32_t> (Model::*index)(std::string_view) const;
  std::string (Model::*id)(std::uint32_t) const;
  std::uint32_t autorec::ModelInfo::*count;
  const char* count_name;
};
constexpr IdSide kUsers{&Model::user_index, &Model::user_id, &autorec::ModelInfo::num_users, "num_users"};
constexpr IdSide kItems{&Model::item_index, &Model::item_id, &autorec::ModelInfo::num_items, "num_items"};

autorec_status index_of(const char* function, const IdSide& side, const autorec_model* model, const char* id,
                        std::uint32_t* index) noexcept {
  return guarded(function, [&] {
    const Model& m = model_of(model);
    need(id, "id");
    need(index, "index") = (m.*side.index)(id).value_or(AUTOREC_NO_INDEX);
  });
}

autorec_status id_of(const char* function, const IdSide& side, const autorec_model* model, std::uint32_t index,
                     char* buffer, std::size_t buffer_size, std::size_t* length) noexcept {
  return guarded(function, [&] {
    const Model& m = model_of(model);
    check_below(index, m.info().*side.count, "index", side.count_name);
    copy_id((m.*side.id)(index), buffer, buffer_size, length);
  });
}

// Copies the caller's entries (autorec_entry and autorec::Entry are distinct types) and checks each one, so
// that the message can name the array element.
// The checks every top-k call makes on k and its outputs (sources is optional).
void need_top_k(std::size_t k, const uint32_t* items, const float* ratings, const char* ratings_name, const size_t* count) {
  AUTOREC_CHECK_INPUT(k > 0, "k = 0: ask for at least one item");
  need(items, "items");
  need(ratings, ratings_name);
  need(count, "count");
}

void write_recommendations(const std::vector<autorec::Recommendation>& top, uint32_t* items, float* ratings,
                           autorec_source* sources, size_t* count) {
  for (std::size_t r = 0; r < top.size(); ++r) {
    items[r] = top[r].item;
    ratings[r] = top[r].rating;
    if (sources) sources[r] = static_cast<autorec_source>(top[r].source);
  }
  *count = top.size();
}

// A caller's entry array as its function names it, for messages: the parameter and its count ("ratings",
// "num_ratings") and what bounds its indices ("num_items" = 1682).
struct EntryArg {
  const char* name;
  const char* count_name;
  const char* bound_name;
  std::uint32_t bound;
  bool one_column = true;  // false: entries of many columns (reconstruct_batch checks each column's count)
  std::size_t column = SIZE_MAX;  // the batch column these entries belong to, for messages (SIZE_MAX: none)
};

// Copies entries [begin, end). Each index may appear at most once, so a count above the bound is refused
// before anything is allocated.
std::vector<Entry> copy_entries(const autorec_entry* entries, std::size_t begin, std::size_t end, const EntryArg& a) {
  const std::size_t count = end - begin;
  AUTOREC_CHECK_INPUT(entries || !count,
                      std::string(a.name) + " is NULL but " + a.count_name + " = " + std::to_string(count));
  AUTOREC_CHECK_INPUT(!a.one_column || count <= a.bound, std::string(a.count_name) + " = " + std::to_string(count) +
                                                             " is more than " + a.bound_name + " = " +
                                                             std::to_string(a.bound) + " (each index at most once)");
  std::vector<Entry> out;
  out.reserve(count);
  for (std::size_t i = begin; i < end; ++i) {
    const autorec_entry& e = entries[i];
    // The element's name, built only for a message (not once per entry).
    const auto at = [&] {
      return std::string(a.name) + "[" + std::to_string(i) + "]" +
             (a.column == SIZE_MAX ? "" : " (column " + std::to_string(a.column) + ")");
    };
    AUTOREC_CHECK_INPUT(e.index < a.bound, at() + ".index = " + std::to_string(e.index) + " is not below " +
                                               a.bound_name + " = " + std::to_string(a.bound));
    AUTOREC_CHECK_INPUT(std::isfinite(e.value), at() + ".value = " + std::to_string(e.value) + " is not finite");
    out.push_back({e.index, e.value});
  }
  return out;
}

// The ratings of a new user (indices are items) or item (indices are users). After add_user / add_item the
// bound is the model's current count, which includes the rows added so far.
EntryArg ratings_arg(const Model& m, bool user) {
  return user ? EntryArg{"ratings", "num_ratings", "num_items", m.info().num_items}
              : EntryArg{"ratings", "num_ratings", "num_users", m.info().num_users};
}

std::span<float> out_span(float* out, std::size_t out_size, std::size_t needed, const std::string& needed_what) {
  AUTOREC_CHECK_INPUT(out || !needed, "out is NULL");
  AUTOREC_CHECK_INPUT(out_size >= needed, "out_size = " + std::to_string(out_size) + " is smaller than " + needed_what +
                                              " = " + std::to_string(needed));
  return {out, needed};
}

void write_prediction(autorec::Prediction p, float* rating, autorec_source* source) {
  *rating = p.value;
  if (source) *source = static_cast<autorec_source>(p.source);
}

// Fold-in helpers.
autorec::FoldInOptions fold_options(float lambda) {
  autorec::FoldInOptions o;
  if (lambda > 0) o.lambda = lambda;
  AUTOREC_CHECK_INPUT(!std::isnan(lambda), "lambda is NaN");
  return o;
}

// fold(ratings, options) of a new user (items = the other side) or item, into out.
template <class Fold>
autorec_status fold_in(const char* function, const autorec_model* model, const autorec_entry* ratings,
                       size_t num_ratings, float lambda, float* out, size_t out_size, bool user, Fold fold) noexcept {
  return guarded(function, [&] {
    const Model& m = model_of(model);
    const std::uint32_t others = user ? m.info().num_items : m.info().num_users;
    const std::vector<Entry> entries = copy_entries(ratings, 0, num_ratings, ratings_arg(m, user));
    const std::span<float> dest = out_span(out, out_size, others, user ? "num_items" : "num_users");
    const std::vector<float> predictions = fold(m, entries, fold_options(lambda));
    std::copy(predictions.begin(), predictions.end(), dest.begin());
  });
}

autorec_status add(const char* function, autorec_model* model, const char* id, const autorec_entry* ratings,
                   size_t num_ratings, float lambda, uint32_t* index, bool user) noexcept {
  return guarded(function, [&] {
    Model& m = need(model, "model").model;
    need(id, "id");
    const std::vector<Entry> entries = copy_entries(ratings, 0, num_ratings, ratings_arg(m, user));
    const std::uint32_t added = user ? m.add_user(id, entries, fold_options(lambda)) : m.add_item(id, entries, fold_options(lambda));
    if (index) *index = added;
  });
}

// autorec_model_recommend and _by: `func` names the call in messages.
autorec_status recommend(const char* func, const autorec_model* model, uint32_t user, size_t k, int exclude_rated,
                         int rank_by, uint32_t* items, float* ratings, autorec_source* sources, size_t* count) {
  return guarded(func, [&] {
    const Model& m = model_of(model);
    need_top_k(k, items, ratings, "ratings", count);
    check_below(user, m.info().num_users, "user", "num_users");
    if (rank_by != AUTOREC_RANK_BY_RULE && rank_by != AUTOREC_RANK_BY_RATING)
      throw Error(Status::BadInput, "rank_by " + std::to_string(rank_by) + " is not AUTOREC_RANK_BY_RULE (0) or "
                                    "AUTOREC_RANK_BY_RATING (1)");
    const RankBy by = rank_by == AUTOREC_RANK_BY_RATING ? RankBy::Rating : RankBy::Rule;
    write_recommendations(m.recommend(user, k, exclude_rated != 0, by), items, ratings, sources, count);
  });
}

}  // namespace

extern "C" {

int autorec_api_version(void) { return AUTOREC_API_VERSION; }
const char* autorec_cpu_level(void) { return autorec::cpu_level(); }
const char* autorec_cpu_level_notice(void) { return autorec::cpu_level_notice(); }
const char* autorec_last_error(void) { return t_last_error.c_str(); }
// Only the C API's own statuses have names here: the C++ library's training-only ones (Status::Diverged) never
// come out of a C call, and the header promises "unknown status" for every other number.
const char* autorec_status_name(int status) {
  if (status < AUTOREC_INTERNAL || status > AUTOREC_OK) return "unknown status";
  return autorec::status_name(static_cast<Status>(status));
}

// The C++ enums are 8 bits wide: a number outside their range must not be narrowed into one.
const char* autorec_activation_name(int activation) {
  if (activation < AUTOREC_IDENTITY || activation > AUTOREC_SELU) return "unknown";
  return autorec::activation_name(static_cast<autorec::Activation>(activation));
}
const char* autorec_source_name(int source) {
  if (source < AUTOREC_SOURCE_MODEL || source > AUTOREC_SOURCE_EMPTY_INPUT) return "unknown";
  return autorec::source_name(static_cast<autorec::Source>(source));
}

void autorec_load_options_init(autorec_load_options* options) {
  if (!options) return;
  *options = autorec_load_options{};
  options->struct_size = sizeof(autorec_load_options);
  options->max_decompressed_bytes = autorec::LoadOptions{}.max_decompressed_bytes;
}

autorec_status autorec_model_load_file(const char* path, const autorec_load_options* options, autorec_model** model) {
  return guarded(__func__, [&] {
    autorec_model*& out = need(model, "model");
    out = nullptr;
    need(path, "path");
    out = new autorec_model{Model::load_file(path, load_options(options))};
  });
}

autorec_status autorec_model_load_buffer(const void* data, std::size_t size, const char* name,
                                         const autorec_load_options* options, autorec_model** model) {
  return guarded(__func__, [&] {
    autorec_model*& out = need(model, "model");
    out = nullptr;
    AUTOREC_CHECK_INPUT(data, "data is NULL (size = " + std::to_string(size) + ")");
    const std::span<const std::byte> bytes(static_cast<const std::byte*>(data), size);
    out = new autorec_model{Model::load_buffer(bytes, name ? name : "<memory>", load_options(options))};
  });
}

void autorec_model_free(autorec_model* model) { delete model; }

autorec_status autorec_model_variant(const autorec_model* model, autorec_variant* variant) {
  return get(__func__, model, variant, "variant", [](const Model& m) { return static_cast<autorec_variant>(m.info().variant); });
}
autorec_status autorec_model_num_users(const autorec_model* model, uint32_t* num_users) {
  return get(__func__, model, num_users, "num_users", [](const Model& m) { return m.info().num_users; });
}
autorec_status autorec_model_num_items(const autorec_model* model, uint32_t* num_items) {
  return get(__func__, model, num_items, "num_items", [](const Model& m) { return m.info().num_items; });
}
autorec_status autorec_model_num_columns(const autorec_model* model, uint32_t* num_columns) {
  return get(__func__, model, num_columns, "num_columns", [](const Model& m) { return m.num_columns(); });
}
autorec_status autorec_model_column_length(const autorec_model* model, uint32_t* column_length) {
  return get(__func__, model, column_length, "column_length", [](const Model& m) { return m.column_length(); });
}
autorec_status autorec_model_num_layers(const autorec_model* model, uint32_t* num_layers) {
  return get(__func__, model, num_layers, "num_layers",
             [](const Model& m) { return static_cast<std::uint32_t>(m.info().layers.size()); });
}
autorec_status autorec_model_global_mean(const autorec_model* model, float* global_mean) {
  return get(__func__, model, global_mean, "global_mean", [](const Model& m) { return m.info().global_mean; });
}
autorec_status autorec_model_weight_dtype(const autorec_model* model, const char** name) {
  return get(__func__, model, name, "name", [](const Model& m) { return autorec::dtype_name(m.info().weight_dtype); });
}
autorec_status autorec_model_backend(const autorec_model* model, const char** name) {
  return get(__func__, model, name, "name", [](const Model& m) { return m.info().backend.c_str(); });
}
autorec_status autorec_model_test_rmse(const autorec_model* model, double* test_rmse) {
  return get(__func__, model, test_rmse, "test_rmse", [](const Model& m) { return m.info().test_rmse; });
}
autorec_status autorec_model_ranking_weight(const autorec_model* model, float* weight) {
  return get(__func__, model, weight, "weight", [](const Model& m) { return m.info().ranking.popularity_weight; });
}

autorec_status autorec_model_schema_version(const autorec_model* model, uint32_t* schema_version) {
  return get(__func__, model, schema_version, "schema_version", [](const Model& m) { return m.info().schema_version; });
}

autorec_status autorec_model_layer(const autorec_model* model, uint32_t layer, uint32_t* in_size, uint32_t* out_size,
                                   autorec_activation* activation) {
  return guarded(__func__, [&] {
    const autorec::ModelInfo& info = model_of(model).info();
    need(in_size, "in_size");
    need(out_size, "out_size");
    need(activation, "activation");
    check_below(layer, info.layers.size(), "layer", "num_layers");
    const autorec::LayerInfo& l = info.layers[layer];
    *in_size = l.in_size;
    *out_size = l.out_size;
    *activation = static_cast<autorec_activation>(l.activation);
  });
}

autorec_status autorec_model_rating_range(const autorec_model* model, float* rating_min, float* rating_max) {
  return guarded(__func__, [&] {
    const autorec::ModelInfo& info = model_of(model).info();
    need(rating_min, "rating_min");
    need(rating_max, "rating_max") = info.rating_max;
    *rating_min = info.rating_min;
  });
}

autorec_status autorec_model_user_index(const autorec_model* model, const char* id, uint32_t* index) {
  return index_of(__func__, kUsers, model, id, index);
}
autorec_status autorec_model_item_index(const autorec_model* model, const char* id, uint32_t* index) {
  return index_of(__func__, kItems, model, id, index);
}
autorec_status autorec_model_user_id(const autorec_model* model, uint32_t index, char* buffer, size_t buffer_size,
                                     size_t* length) {
  return id_of(__func__, kUsers, model, index, buffer, buffer_size, length);
}
autorec_status autorec_model_item_id(const autorec_model* model, uint32_t index, char* buffer, size_t buffer_size,
                                     size_t* length) {
  return id_of(__func__, kItems, model, index, buffer, buffer_size, length);
}

autorec_status autorec_model_reconstruct(const autorec_model* model, const autorec_entry* entries, size_t num_entries,
                                         float* out, size_t out_size, int clamp) {
  return guarded(__func__, [&] {
    const Model& m = model_of(model);
    const std::vector<Entry> column =
        copy_entries(entries, 0, num_entries, {"entries", "num_entries", "column_length", m.column_length()});
    m.reconstruct(column, out_span(out, out_size, m.column_length(), "column_length"), clamp != 0);
  });
}

autorec_status autorec_model_reconstruct_batch(const autorec_model* model, const autorec_entry* entries,
                                               const size_t* offsets, size_t num_columns, float* out, size_t out_size,
                                               int clamp) {
  return guarded(__func__, [&] {
    const Model& m = model_of(model);
    need(offsets, "offsets");
    const std::size_t length = m.column_length();
    for (std::size_t c = 0; c < num_columns; ++c) {
      AUTOREC_CHECK_INPUT(offsets[c + 1] >= offsets[c],
                          "offsets[" + std::to_string(c + 1) + "] = " + std::to_string(offsets[c + 1]) +
                              " is less than offsets[" + std::to_string(c) + "] = " + std::to_string(offsets[c]));
      // Checked before the copy below allocates.
      AUTOREC_CHECK_INPUT(offsets[c + 1] - offsets[c] <= length,
                          "column " + std::to_string(c) + " has " + std::to_string(offsets[c + 1] - offsets[c]) +
                              " entries, more than column_length = " + std::to_string(length) +
                              " (each row at most once)");
    }
    AUTOREC_CHECK_INPUT(num_columns <= SIZE_MAX / std::max<std::size_t>(length, 1),
                        "num_columns = " + std::to_string(num_columns) + " is too large");
    const std::span<float> dest =
        out_span(out, out_size, num_columns * length,
                 "num_columns * column_length = " + std::to_string(num_columns) + " * " + std::to_string(length));
    // One copy of all entries, column by column so that a message names the column; each is a slice of it.
    AUTOREC_CHECK_INPUT(
        entries || offsets[num_columns] <= offsets[0],
        "entries is NULL but offsets[num_columns] - offsets[0] = " + std::to_string(offsets[num_columns] - offsets[0]));
    std::vector<Entry> all;
    all.reserve(offsets[num_columns] - offsets[0]);
    for (std::size_t c = 0; c < num_columns; ++c) {
      const std::vector<Entry> part =
          copy_entries(entries, offsets[c], offsets[c + 1], {"entries", "entries", "column_length", m.column_length(), false, c});
      all.insert(all.end(), part.begin(), part.end());
    }
    std::vector<std::span<const Entry>> columns;
    columns.reserve(num_columns);
    for (std::size_t c = 0; c < num_columns; ++c)
      columns.emplace_back(all.data() + (offsets[c] - offsets[0]), offsets[c + 1] - offsets[c]);
    m.reconstruct_batch(columns, dest, clamp != 0);
  });
}

autorec_status autorec_model_reconstruct_column(const autorec_model* model, uint32_t column, float* out,
                                                size_t out_size, int clamp) {
  return guarded(__func__, [&] {
    const Model& m = model_of(model);
    check_below(column, m.num_columns(), "column", "num_columns");
    m.reconstruct_column(column, out_span(out, out_size, m.column_length(), "column_length"), clamp != 0);
  });
}

autorec_status autorec_model_predict(const autorec_model* model, uint32_t user, uint32_t item, int clamp, float* rating,
                                     autorec_source* source) {
  return guarded(__func__, [&] {
    const Model& m = model_of(model);
    need(rating, "rating");
    const auto u = dense_or_unknown(user, m.info().num_users, "user", "num_users");
    const auto i = dense_or_unknown(item, m.info().num_items, "item", "num_items");
    write_prediction(m.predict(u, i, clamp != 0), rating, source);
  });
}

autorec_status autorec_model_predict_ids(const autorec_model* model, const char* user_id, const char* item_id,
                                         int clamp, float* rating, autorec_source* source) {
  return guarded(__func__, [&] {
    const Model& m = model_of(model);
    need(user_id, "user_id");
    need(item_id, "item_id");
    need(rating, "rating");
    write_prediction(m.predict(std::string_view(user_id), std::string_view(item_id), clamp != 0), rating, source);
  });
}

autorec_status autorec_model_recommend(const autorec_model* model, uint32_t user, size_t k, int exclude_rated,
                                       uint32_t* items, float* ratings, autorec_source* sources, size_t* count) {
  return recommend(__func__, model, user, k, exclude_rated, AUTOREC_RANK_BY_RULE, items, ratings, sources, count);
}

autorec_status autorec_model_recommend_by(const autorec_model* model, uint32_t user, size_t k, int exclude_rated,
                                          int rank_by, uint32_t* items, float* ratings, autorec_source* sources,
                                          size_t* count) {
  return recommend(__func__, model, user, k, exclude_rated, rank_by, items, ratings, sources, count);
}

// ---- Fold-in ----

autorec_status autorec_model_fold_in_user(const autorec_model* model, const autorec_entry* ratings, size_t num_ratings,
                                          float lambda, float* out, size_t out_size) {
  return fold_in(__func__, model, ratings, num_ratings, lambda, out, out_size, true,
                 [](const Model& m, const std::vector<Entry>& e, const autorec::FoldInOptions& o) { return m.fold_in_user(e, o); });
}

autorec_status autorec_model_fold_in_item(const autorec_model* model, const autorec_entry* ratings, size_t num_ratings,
                                          float lambda, float* out, size_t out_size) {
  return fold_in(__func__, model, ratings, num_ratings, lambda, out, out_size, false,
                 [](const Model& m, const std::vector<Entry>& e, const autorec::FoldInOptions& o) { return m.fold_in_item(e, o); });
}

autorec_status autorec_model_recommend_for_ratings(const autorec_model* model, const autorec_entry* ratings,
                                                   size_t num_ratings, size_t k, int exclude_rated, float lambda,
                                                   uint32_t* items, float* ratings_out, autorec_source* sources,
                                                   size_t* count) {
  return guarded(__func__, [&] {
    const Model& m = model_of(model);
    need_top_k(k, items, ratings_out, "ratings_out", count);
    const std::vector<Entry> entries = copy_entries(ratings, 0, num_ratings, ratings_arg(m, true));
    write_recommendations(m.recommend_for_ratings(entries, k, exclude_rated != 0, fold_options(lambda)), items,
                          ratings_out, sources, count);
  });
}

autorec_status autorec_model_add_user(autorec_model* model, const char* id, const autorec_entry* ratings,
                                      size_t num_ratings, float lambda, uint32_t* index) {
  return add(__func__, model, id, ratings, num_ratings, lambda, index, true);
}

autorec_status autorec_model_add_item(autorec_model* model, const char* id, const autorec_entry* ratings,
                                      size_t num_ratings, float lambda, uint32_t* index) {
  return add(__func__, model, id, ratings, num_ratings, lambda, index, false);
}

}  // extern "C"
