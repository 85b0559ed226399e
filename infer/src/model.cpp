// The public Model API: loading, id lookup, reconstruction, prediction and evaluation.
#include "autorec/model.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <thread>
#include <cmath>
#include <limits>

#include "autorec/container.hpp"
#include "autorec/error.hpp"
#include "autorec/text.hpp"
#include "memory.hpp"
#include "format/content_stream.hpp"
#include "model_impl.hpp"

namespace autorec {

const char* status_name(Status s) noexcept {
  switch (s) {
    case Status::Ok: return "ok";
    case Status::BadInput: return "bad input";
    case Status::Corrupt: return "corrupt model";
    case Status::Unsupported: return "unsupported";
    case Status::Io: return "i/o error";
    case Status::OutOfMemory: return "out of memory";
    case Status::Internal: return "internal error";
    case Status::Diverged: return "training diverged";
  }
  return "unknown status";
}

const char* variant_name(Variant v) noexcept { return kVariantNames[v == Variant::ItemBased ? 0 : 1].data(); }

const char* activation_name(Activation a) noexcept {
  const auto i = static_cast<std::size_t>(a);
  return i < kActivationNames.size() ? kActivationNames[i].data() : "unknown";
}

std::optional<Activation> parse_activation(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kActivationNames.size(); ++i)
    if (name == kActivationNames[i]) return static_cast<Activation>(i);
  return std::nullopt;
}

const char* source_name(Source s) noexcept {
  switch (s) {
    case Source::Model: return "model";
    case Source::UserMean: return "user mean";
    case Source::ItemMean: return "item mean";
    case Source::GlobalMean: return "global mean";
    case Source::EmptyInput: return "reconstruction from an empty column";
  }
  return "unknown";
}

// ---- IdIndex ----

void IdIndex::assign_ints(std::vector<std::int64_t> ids) {
  is_int_ = true;
  ints_ = std::move(ids);
  int_lookup_.reserve(ints_.size());
  for (std::uint32_t i = 0; i < ints_.size(); ++i) int_lookup_.emplace(ints_[i], i);
  if (int_lookup_.size() != ints_.size()) ints_.resize(int_lookup_.size());  // duplicates: size() reports it
}

void IdIndex::assign_strings(std::vector<std::string> ids) {
  is_int_ = false;
  strs_ = std::move(ids);
  str_lookup_.reserve(strs_.size());
  for (std::uint32_t i = 0; i < strs_.size(); ++i) str_lookup_.emplace(strs_[i], i);
  if (str_lookup_.size() != strs_.size()) strs_.resize(str_lookup_.size());
}

std::optional<std::uint32_t> IdIndex::find(std::string_view token) const {
  if (is_int_) {
    // Matched by its one spelling, the one training keeps as an integer (autorec::canonical_integer): "01",
    // "+1", " 1" and "-0" are other ids, which an integer-id model does not have.
    const std::optional<std::int64_t> v = canonical_integer(token);
    if (!v) return std::nullopt;
    const auto it = int_lookup_.find(*v);
    return it == int_lookup_.end() ? std::nullopt : std::optional<std::uint32_t>(it->second);
  }
  const auto it = str_lookup_.find(std::string(token));
  return it == str_lookup_.end() ? std::nullopt : std::optional<std::uint32_t>(it->second);
}

void IdIndex::check_new(std::string_view token, const char* what) const {
  const std::string quoted = std::string(what) + " id " + autorec::quoted(token);
  if (is_int_ && !canonical_integer(token))
    throw Error(Status::BadInput, quoted + " is not an integer in canonical decimal (no '+', no leading zeros or spaces), and this "
                                           "model's " + what + " ids are such integers");
  if (!is_int_ && token.empty()) throw Error(Status::BadInput, std::string(what) + " id is empty");
  if (const auto existing = find(token))
    throw Error(Status::BadInput, quoted + " is already in the model (index " + std::to_string(*existing) + ")");
  if (size() >= (std::size_t{1} << 31)) throw Error(Status::BadInput, std::string("too many ") + what + " ids to add " + quoted);
}

std::uint32_t IdIndex::add(std::string_view token) {
  const auto index = static_cast<std::uint32_t>(size());
  if (is_int_) {
    ints_.push_back(*canonical_integer(token));
    int_lookup_.emplace(ints_.back(), index);
  } else {
    strs_.emplace_back(token);
    str_lookup_.emplace(strs_.back(), index);
  }
  return index;
}

std::string IdIndex::id(std::uint32_t index) const {
  if (index >= size()) throw Error(Status::BadInput, "id index " + std::to_string(index) + " out of range");
  return is_int_ ? std::to_string(ints_[index]) : strs_[index];
}

// ---- loading ----

namespace {

// Runs fn(t) for t in [0, threads), on `threads` threads of which the caller is one; rethrows the first error.
template <class F>
void run_threads(unsigned threads, F&& fn) {
  std::vector<std::exception_ptr> errors(threads);
  auto guarded = [&](unsigned t) {
    try {
      fn(t);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(guarded, t);
    guarded(0);
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

// A model from its content, decompressed as it is read (both ways of loading).
std::unique_ptr<Model::Impl> load_impl(ContentStream& content, std::string_view name, const LoadOptions& options) {
  auto impl = std::make_unique<Model::Impl>();
  read_model(content, name, *impl);

  std::string notice;
  impl->backend = make_backend(options.device, impl->net, notice);
  impl->info.backend_notice = notice;
  impl->info.backend = impl->backend->name();

  // Cold-start means, from the stored observations.
  const SparseColumns& obs = impl->obs;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<double> row_sum(obs.num_rows, 0.0);
  std::vector<std::uint32_t> row_n(obs.num_rows, 0);
  impl->col_mean.assign(obs.num_cols(), nan);
  for (std::uint32_t c = 0; c < obs.num_cols(); ++c) {
    double s = 0;
    for (const Entry& e : obs.column(c)) {
      s += e.value;
      row_sum[e.index] += e.value;
      ++row_n[e.index];
    }
    if (obs.start[c + 1] > obs.start[c]) impl->col_mean[c] = static_cast<float>(s / (obs.start[c + 1] - obs.start[c]));
  }
  impl->row_mean.assign(obs.num_rows, nan);
  for (std::uint32_t r = 0; r < obs.num_rows; ++r)
    if (row_n[r]) impl->row_mean[r] = static_cast<float>(row_sum[r] / row_n[r]);
  // With a baseline the cold-start rules answer its shrunk means: a column of two ratings is not trusted as
  // much as one of two hundred.
  if (const Baseline& base = impl->baseline; base.present()) {
    for (std::uint32_t c = 0; c < obs.num_cols(); ++c)
      if (!std::isnan(impl->col_mean[c])) impl->col_mean[c] = base.mean + base.col[c];
    for (std::uint32_t r = 0; r < obs.num_rows; ++r)
      if (row_n[r]) impl->row_mean[r] = base.mean + base.row[r];
  }

  // Cache the code of every training column, in batches to bound the temporary memory. The sparse gathers
  // are bound by memory traffic (one weight row per stored rating), so batches run on all cores.
  const std::uint32_t cols = obs.num_cols();
  impl->trained_cols = cols;
  constexpr std::uint32_t kBatch = 256;
  const std::uint32_t batches = (cols + kBatch - 1) / kBatch;
  impl->threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  if (impl->info.backend != "cpu") impl->threads = 1;  // a device backend serialises calls anyway
  if (!impl->codes_from_file) {
    impl->code_store.reserve(std::size_t{impl->net.code_size()} * cols);
    advise_huge_pages(impl->code_store.data(), impl->code_store.capacity() * sizeof(float));
    impl->code_store.resize(std::size_t{impl->net.code_size()} * cols);
  }
  const unsigned load_threads = impl->codes_from_file ? 0 : std::clamp<unsigned>(impl->threads, 1, std::max(batches, 1u));
  if (load_threads) run_threads(load_threads, [&](unsigned t) {
    std::vector<std::span<const Entry>> batch;
    for (std::uint32_t b = t; b < batches; b += load_threads) {
      const std::uint32_t c0 = b * kBatch, n = std::min(kBatch, cols - c0);
      batch.clear();
      for (std::uint32_t c = c0; c < c0 + n; ++c) batch.push_back(obs.column(c));
      impl->backend->encode(batch, impl->code_store.data() + std::size_t{c0} * impl->net.code_size());
    }
  });
  // Row -> columns, for recommend(exclude_rated) of item-based models (a user-based model's user is a column).
  if (impl->info.variant == Variant::ItemBased) {
    impl->row_start.assign(std::size_t{obs.num_rows} + 1, 0);
    for (const Entry& e : obs.entries) ++impl->row_start[e.index + 1];
    for (std::uint32_t r = 0; r < obs.num_rows; ++r) impl->row_start[r + 1] += impl->row_start[r];
    impl->row_cols.resize(obs.entries.size());
    std::vector<std::uint32_t> fill(impl->row_start.begin(), impl->row_start.end() - 1);
    for (std::uint32_t c = 0; c < cols; ++c)
      for (const Entry& e : obs.column(c)) impl->row_cols[fill[e.index]++] = c;
  }
  // The ranking rule's term of every item: weight * ln(1 + its stored ratings).
  if (const float w = impl->info.ranking.popularity_weight; w > 0) {
    const bool item_based = impl->info.variant == Variant::ItemBased;
    impl->rank_bonus.resize(impl->info.num_items);
    for (std::uint32_t i = 0; i < impl->info.num_items; ++i)
      impl->rank_bonus[i] = w * std::log1p(float(item_based ? obs.start[i + 1] - obs.start[i] : row_n[i]));
  }
  // Mean decoder row over the rows with training ratings, the prior of fold-in's fitted rows.
  const DenseLayer& last = impl->net.layers.back();
  Eigen::VectorXd row_sum_w = Eigen::VectorXd::Zero(last.in_size);
  std::uint32_t known_rows = 0;
  for (std::uint32_t r = 0; r < obs.num_rows; ++r)
    if (row_n[r]) row_sum_w += last.weight.row(r).transpose().cast<double>(), ++known_rows;
  impl->mean_row.resize(last.in_size);
  Eigen::Map<Eigen::VectorXf>(impl->mean_row.data(), last.in_size) = (row_sum_w / std::max(known_rows, 1u)).cast<float>();
  impl->empty_code.resize(impl->net.code_size());
  const std::span<const Entry> empty[] = {std::span<const Entry>()};
  impl->backend->encode(empty, impl->empty_code.data());
  return impl;
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Model Model::load_file(const std::string& path, const LoadOptions& options) {
  ContentStream content = ContentStream::open(path, options.max_decompressed_bytes);
  return Model(load_impl(content, path, options));
}

Model Model::load_buffer(std::span<const std::byte> bytes, std::string_view name, const LoadOptions& options) {
  ContentStream content(bytes, quoted(name), options.max_decompressed_bytes);
  return Model(load_impl(content, name, options));
}



// ---- queries ----

const ModelInfo& Model::info() const { return impl_->info; }
std::optional<std::uint32_t> Model::user_index(std::string_view id) const { return impl_->users.find(id); }
std::optional<std::uint32_t> Model::item_index(std::string_view id) const { return impl_->items.find(id); }
std::string Model::user_id(std::uint32_t index) const { return impl_->users.id(index); }
std::string Model::item_id(std::uint32_t index) const { return impl_->items.id(index); }
std::uint32_t Model::num_columns() const { return impl_->obs.num_cols(); }
std::uint32_t Model::column_length() const { return impl_->obs.num_rows; }

std::vector<Entry> sorted_by_index(std::span<const Entry> entries) {
  std::vector<Entry> sorted(entries.begin(), entries.end());
  std::sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) { return a.index < b.index; });
  return sorted;
}

std::optional<std::uint32_t> repeated_index(std::span<const Entry> sorted) {
  for (std::size_t k = 1; k < sorted.size(); ++k)
    if (sorted[k].index == sorted[k - 1].index) return sorted[k].index;
  return std::nullopt;
}

namespace {

// Each row at most once, as fold-in requires too: a repeated row would be read twice by the encoder and match
// neither of its values.
void check_column(std::span<const Entry> column, std::uint32_t length, std::size_t which) {
  if (column.size() > length)
    throw Error(Status::BadInput, "column " + std::to_string(which) + ": " + std::to_string(column.size()) +
                                      " entries, more than the column length " + std::to_string(length) +
                                      " (each row at most once)");
  if (column.size() > 1)
    if (const std::optional<std::uint32_t> twice = repeated_index(sorted_by_index(column)))
      throw Error(Status::BadInput, "column " + std::to_string(which) + ": row index " + std::to_string(*twice) +
                                        " appears twice (each row at most once)");
  for (const Entry& e : column) {
    if (e.index >= length)
      throw Error(Status::BadInput, "column " + std::to_string(which) + ": entry index " + std::to_string(e.index) +
                                        " is not below the column length " + std::to_string(length));
    if (!std::isfinite(e.value))
      throw Error(Status::BadInput, "column " + std::to_string(which) + ": entry " + std::to_string(e.index) +
                                        " has a non-finite value");
  }
}
void check_out(std::span<float> out, std::size_t want) {
  if (out.size() != want)
    throw Error(Status::BadInput, "output span has " + std::to_string(out.size()) + " floats, expected " +
                                      std::to_string(want));
}
}  // namespace

void Model::reconstruct(std::span<const Entry> column, std::span<float> out, bool clamp) const {
  const std::span<const Entry> one[] = {column};
  reconstruct_batch(one, out, clamp);
}

void Model::reconstruct_batch(std::span<const std::span<const Entry>> columns, std::span<float> out,
                              bool clamp) const {
  const std::uint32_t length = column_length();
  check_out(out, columns.size() * std::size_t{length});
  for (std::size_t c = 0; c < columns.size(); ++c) check_column(columns[c], length, c);
  if (columns.empty()) return;
  // Contiguous slices of the batch, one per thread, each through its own matrix-matrix product.
  const std::size_t n = columns.size();
  const unsigned threads = static_cast<unsigned>(std::min<std::size_t>(impl_->threads, (n + 15) / 16));
  run_threads(std::max(threads, 1u), [&](unsigned t) {
    const std::size_t b = n * t / std::max(threads, 1u), e = n * (t + 1) / std::max(threads, 1u);
    if (b == e) return;
    ColMatrix codes(impl_->net.code_size(), static_cast<Eigen::Index>(e - b));
    impl_->backend->encode(columns.subspan(b, e - b), codes.data());
    float* y = out.data() + b * std::size_t{length};
    impl_->backend->decode(codes.data(), e - b, y);
    for (std::size_t c = b; c < e; ++c)
      impl_->finish_column(y + (c - b) * std::size_t{length}, impl_->newcomer_base(true, columns[c]), clamp);
  });
}

void Model::reconstruct_column(std::uint32_t column, std::span<float> out, bool clamp) const {
  if (column >= num_columns())
    throw Error(Status::BadInput, "column " + std::to_string(column) + " is not below " + std::to_string(num_columns()));
  check_out(out, column_length());
  impl_->backend->decode(impl_->code(column), 1, out.data());
  impl_->finish_column(out.data(), impl_->col_base(column), clamp);
}

namespace {
const DenseLayer& layer_at(const Network& net, std::size_t layer) {
  if (layer >= net.layers.size())
    throw Error(Status::BadInput, "layer " + std::to_string(layer) + " is not below " + std::to_string(net.layers.size()));
  return net.layers[layer];
}
}  // namespace

std::vector<float> Model::weight(std::size_t layer) const {
  const DenseLayer& l = layer_at(impl_->net, layer);
  // The first layer is held [in, out] for the sparse gather; hand out [out, in] for every layer.
  const RowMatrix w = layer == 0 ? RowMatrix(l.weight.transpose()) : l.weight;
  return {w.data(), w.data() + w.size()};
}

std::vector<float> Model::bias(std::size_t layer) const {
  const DenseLayer& l = layer_at(impl_->net, layer);
  return {l.bias.data(), l.bias.data() + l.bias.size()};
}

std::vector<Entry> Model::observations(std::uint32_t column) const {
  if (column >= num_columns())
    throw Error(Status::BadInput, "column " + std::to_string(column) + " is not below " + std::to_string(num_columns()));
  const auto span = impl_->obs.column(column);
  return {span.begin(), span.end()};
}

EvalResult evaluate(const Model& model, std::span<const RatingRef> ratings, bool clamp) {
  EvalResult r;
  double se = 0, ae = 0;
  for (const RatingRef& x : ratings) {
    const Prediction p = model.predict(x.user, x.item, clamp);
    const double d = static_cast<double>(p.value) - x.value;
    se += d * d;
    ae += std::abs(d);
    if (p.source != Source::Model) {
      ++r.cold_start;
      if (!model.knows_user(x.user)) ++r.cold_user;
      if (!model.knows_item(x.item)) ++r.cold_item;
    }
  }
  r.count = ratings.size();
  if (r.count) {
    r.rmse = std::sqrt(se / static_cast<double>(r.count));
    r.mae = ae / static_cast<double>(r.count);
  }
  return r;
}

}  // namespace autorec
