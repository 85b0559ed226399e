// Builds the model FlatBuffer from a training run and writes model.fb atomically.
#include "autorec/train/model_writer.hpp"

#include <autorec_generated.h>
#include <fcntl.h>
#include <omp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>

#include "autorec/container.hpp"
#include "autorec/dtype.hpp"
#include "autorec/error.hpp"
#include "autorec/train/settings.hpp"
#include "kernels/kernels.hpp"
#include "data_section.hpp"

namespace autorec::train {
namespace {

static_assert(static_cast<int>(ColdStart::MeanHierarchy) == static_cast<int>(fb::ColdStart::MeanHierarchy) &&
              static_cast<int>(ColdStart::GlobalMean) == static_cast<int>(fb::ColdStart::GlobalMean) &&
              static_cast<int>(ColdStart::EmptyInput) == static_cast<int>(fb::ColdStart::EmptyInput));

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

class TensorTable {
 public:
  TensorTable(FlatBufferBuilder& fbb, bool external) : fbb_(fbb), external_(external) {
    buffers_.push_back(fb::CreateBuffer(fbb_));  // index 0: the empty sentinel
  }
  // Appends a tensor stored as `dtype` (only 2-D weights are reduced; 1-D tensors stay F32) and its buffers;
  // returns the tensor index. External data is referenced, not copied: `data` must outlive parts().
  std::uint32_t add(const std::string& name, std::vector<std::uint64_t> shape, const std::vector<float>& data,
                    DType dtype = DType::F32) {
    if (shape.size() != 2) dtype = DType::F32;
    std::uint32_t scale_index = 0;
    std::span<const std::uint8_t> bytes{reinterpret_cast<const std::uint8_t*>(data.data()), data.size() * sizeof(float)};
    if (dtype != DType::F32) {
      const std::vector<std::uint8_t>& coded = encoded_.emplace_back(encode(data, shape[0], shape[1], dtype));
      bytes = coded;
      if (dtype == DType::I8) {
        const std::vector<float>& scales = scales_.emplace_back(row_scales_);
        scale_index = push_buffer({reinterpret_cast<const std::uint8_t*>(scales.data()), scales.size() * sizeof(float)});
      }
    }
    const std::uint32_t buffer_index = push_buffer(bytes);
    tensors_.push_back(fb::CreateTensorDirect(fbb_, name.c_str(), &shape, static_cast<fb::DType>(dtype), buffer_index,
                                              scale_index));
    return static_cast<std::uint32_t>(tensors_.size() - 1);
  }
  // The container content: the finished, size-prefixed FlatBuffer, then the external data.
  std::vector<std::span<const std::uint8_t>> parts(std::span<const std::uint8_t> flatbuffer) const {
    return section_.content(flatbuffer);
  }
  std::vector<Offset<fb::Buffer>> buffers_;
  std::vector<Offset<fb::Tensor>> tensors_;

 private:
  std::uint32_t push_buffer(std::span<const std::uint8_t> bytes) {
    if (external_ && !bytes.empty()) {
      buffers_.push_back(fb::CreateBuffer(fbb_, 0, section_.add(bytes), bytes.size()));
    } else {
      fbb_.ForceVectorAlignment(bytes.size(), 1, 16);
      buffers_.push_back(fb::CreateBuffer(fbb_, fbb_.CreateVector(bytes.data(), bytes.size())));
    }
    return static_cast<std::uint32_t>(buffers_.size() - 1);
  }

  std::vector<std::uint8_t> encode(const std::vector<float>& x, std::uint64_t rows, std::uint64_t cols, DType t) {
    if (t == DType::F16) require_fits_f16(x, "--dtype fp16");
    return encode_matrix(x.data(), rows, cols, t, row_scales_);
  }

  FlatBufferBuilder& fbb_;
  bool external_;
  std::deque<std::vector<std::uint8_t>> encoded_;  // reduced copies, alive until the file is packed
  std::deque<std::vector<float>> scales_;
  std::vector<float> row_scales_;
  DataSection section_;
};

// The bias model in the model's orientation: rows are users for item-based models.
Offset<fb::Baseline> baseline(FlatBufferBuilder& fbb, const data::BiasModel& b, double weight, Variant variant) {
  const bool item_based = variant == Variant::ItemBased;
  const auto floats = [&](const std::vector<double>& x) {
    std::vector<float> f(x.begin(), x.end());
    return fbb.CreateVector(f);
  };
  const auto rows = floats(item_based ? b.user_bias : b.item_bias), cols = floats(item_based ? b.item_bias : b.user_bias);
  return fb::CreateBaseline(fbb, static_cast<float>(weight), static_cast<float>(b.mean), rows, cols,
                            static_cast<float>(item_based ? b.user_reg : b.item_reg),
                            static_cast<float>(item_based ? b.item_reg : b.user_reg));
}

Offset<fb::IdMap> id_map(FlatBufferBuilder& fbb, const data::IdList& ids) {
  if (ids.is_int) return fb::CreateIdMap(fbb, fbb.CreateVector(ids.ints));
  return fb::CreateIdMap(fbb, 0, fbb.CreateVectorOfStrings(ids.strs));
}

// Observations as 1-byte codes when every value sits on a grid of at most 256 steps, else as floats.
Offset<fb::Observations> observations(FlatBufferBuilder& fbb, const Csc& m, const data::RatingScale& scale) {
  const auto start = fbb.CreateVector(m.start);
  const auto row = fbb.CreateVector(m.row);
  const float base = scale.min, step = scale.step;
  bool codable = step > 0;
  std::vector<std::uint8_t> code;
  if (codable) {
    code.resize(m.value.size());
    for (std::size_t k = 0; k < m.value.size() && codable; ++k) {
      const float q = std::round((m.value[k] - base) / step);
      codable = q >= 0 && q <= 255 && base + step * q == m.value[k];
      code[k] = static_cast<std::uint8_t>(codable ? q : 0);
    }
  }
  if (codable) return fb::CreateObservations(fbb, m.num_rows, m.num_cols(), start, row, fbb.CreateVector(code), base, step);
  return fb::CreateObservations(fbb, m.num_rows, m.num_cols(), start, row, 0, 0, 0, fbb.CreateVector(m.value));
}

// The code (the decoder's input) of every stored column, [columns, code] row-major, computed as the reader
// would: stored in the file so that loading skips one sparse pass over every observation.
std::vector<float> column_codes(const Weights& w, const TrainConfig& cfg, const InputTransform& rule, const Csc& obs) {
  const std::uint32_t H = w.hidden, C = w.code(), cols = obs.num_cols();
  std::vector<float> codes(std::size_t{cols} * C);
  const std::vector<float> scaled = encoder_inputs(rule, obs);
  const float* input = scaled.empty() ? obs.value.data() : scaled.data();
  const int threads = cfg.threads > 0 ? cfg.threads : omp_get_num_procs();
  const kernels::Table& k = kernels::table();
  // The reader's arithmetic (cpu_backend.cpp): the same kernels in the same order, so the stored codes are
  // the ones it would compute.
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads)
  for (std::uint32_t c = 0; c < cols; ++c) {
    std::vector<float> h(w.mu.begin(), w.mu.end());
    const std::uint32_t kb = obs.start[c];
    kernels::add_gathered_rows(k, h.data(), H, obs.start[c + 1] - kb,
                               [&](std::size_t i) { return &w.V[std::size_t{obs.row[kb + i]} * H]; },
                               [&](std::size_t i) { return input[kb + i]; });
    for (float& x : h) x = activate(cfg.encoder, x);
    for (std::size_t l = 0; l < w.inner.size(); ++l) {
      const DenseWeights& d = w.inner[l];
      std::vector<float> next(d.out);
      k.matmul(kernels::row_major(d.M.data(), d.out, d.in), kernels::col_major(h.data(), d.in, 1),
               kernels::col_major(next.data(), d.out, 1));
      for (std::uint32_t q = 0; q < d.out; ++q) next[q] = activate(cfg.inner[l].activation, next[q] + d.c[q]);
      h = std::move(next);
    }
    std::copy(h.data(), h.data() + C, &codes[std::size_t{c} * C]);
  }
  return codes;
}

// The encoder and inner weights as a reader decodes them from a file stored as `dtype`, so that the stored
// codes are the ones the reader would compute.
Weights as_stored(const Weights& w, DType dtype) {
  Weights q = w;
  std::vector<float> scales;
  auto round_trip = [&](std::vector<float>& x, std::size_t rows, std::size_t cols) {
    const std::vector<std::uint8_t> bytes = encode_matrix(x.data(), rows, cols, dtype, scales);
    decode_matrix(bytes.data(), rows, cols, dtype, scales.data(), x.data());
  };
  round_trip(q.V, q.rows, q.hidden);
  for (DenseWeights& d : q.inner) round_trip(d.M, d.out, d.in);
  return q;
}

}  // namespace

bool tensors_go_external(double tensor_bytes, double other_bytes, std::uint64_t inline_tensor_limit) {
  return tensor_bytes > double(inline_tensor_limit) || tensor_bytes + other_bytes > kFlatBufferBudget;
}

namespace {

// Fingerprint over ids and the stored observations, in the order of (user, item) pairs the columns give,
// independent of how the training file was ordered.
std::uint64_t observations_fingerprint(const data::Dataset& data, const Csc& obs, Variant variant) {
  std::vector<data::Rating> stored;
  stored.reserve(obs.nnz());
  const bool item_based = variant == Variant::ItemBased;
  for (std::uint32_t c = 0; c < obs.num_cols(); ++c)
    for (std::uint32_t k = obs.start[c]; k < obs.start[c + 1]; ++k)
      stored.push_back(item_based ? data::Rating{obs.row[k], c, obs.value[k]} : data::Rating{c, obs.row[k], obs.value[k]});
  return fingerprint(data, stored);
}

// A model file's content as the writer builds it: the finished FlatBuffer, and the tensors of the data
// section referenced from the weights (which must outlive it) or from the codes it computed.
struct ModelImage {
  ModelImage(std::size_t builder_bytes, bool external) : fbb(builder_bytes), t(fbb, external) {}
  std::vector<std::span<const std::uint8_t>> parts() const { return t.parts({fbb.GetBufferPointer(), fbb.GetSize()}); }
  std::uint64_t content_size() const {
    std::uint64_t n = 0;
    for (const auto& p : parts()) n += p.size();
    return n;
  }

  FlatBufferBuilder fbb;
  TensorTable t;
  std::vector<float> codes;
  std::uint32_t schema_version = 0;
  std::uint64_t test_rmse_offset = 0;  // of TrainingInfo.test_rmse (a double) in the content
};

// The builder, sized for all of the FlatBuffer up front (a builder that grows doubles its buffer, holding
// both while it copies), and whether the tensors go to the data section.
std::unique_ptr<ModelImage> start_image(const ModelContents& in) {
  const Weights& w = in.result->weights;
  // FlatBuffers addresses at most 2 GiB: large tensors go to the data section after it, and what must stay
  // inside (observations, ids) is checked here rather than failing inside the builder.
  double tensor_bytes = double(dtype_bytes(in.dtype)) * double(w.V.size() + w.W.size()) +
                        4.0 * double(w.mu.size() + w.b.size() + 2 * w.rows);
  for (const DenseWeights& d : w.inner) tensor_bytes += double(dtype_bytes(in.dtype)) * double(d.M.size()) + 8.0 * d.out;
  const double codes_bytes = 4.0 * double(in.observations->num_cols()) * double(w.code());
  if (in.codes_limit > 0 && codes_bytes <= double(in.codes_limit)) tensor_bytes += codes_bytes;
  const double other_bytes = 9.0 * double(in.observations->nnz()) + 64.0 * double(in.data->users.size() + in.data->items.size());
  const bool external = tensors_go_external(tensor_bytes, other_bytes, in.inline_tensor_limit);
  if (other_bytes > kFlatBufferBudget)
    throw Error(Status::Unsupported, "the observations and ids of this model take about " +
                                         std::to_string(std::llround(other_bytes / 1e6)) +
                                         " MB, beyond the 2 GiB a FlatBuffer can address");
  return std::make_unique<ModelImage>(
      static_cast<std::size_t>((external ? 0.0 : tensor_bytes) + other_bytes) + (std::size_t{1} << 20), external);
}

// The training settings (settings.cpp's table), then the layer shapes.
Offset<fb::Hyperparameters> hyperparameters(FlatBufferBuilder& fbb, const TrainConfig& cfg) {
  const auto act = [](Activation a) { return static_cast<fb::Activation>(a); };
  fb::HyperparametersT h;
  record_settings(cfg, h);
  h.hidden = {cfg.hidden};
  h.activations = {act(cfg.encoder)};
  h.dropout = {cfg.dropout};
  for (const TrainConfig::InnerLayer& l : cfg.inner)
    h.hidden.push_back(l.size), h.activations.push_back(act(l.activation)), h.dropout.push_back(l.dropout);
  h.activations.push_back(act(cfg.decoder));
  h.dropout.push_back(0.0f);
  h.loss_scaling = "half_squared_error_mean_over_batch_columns_x_rows";
  h.recipe = cfg.recipe;
  return fb::CreateHyperparameters(fbb, &h);
}

// The whole content of the model file of `in`.
std::unique_ptr<ModelImage> build_image(const ModelContents& in) {
  const TrainConfig& cfg = *in.config;
  const data::Dataset& data = *in.data;
  const Weights& w = in.result->weights;
  std::unique_ptr<ModelImage> image = start_image(in);
  FlatBufferBuilder& fbb = image->fbb;
  TensorTable& t = image->t;
  const std::uint64_t rows = w.rows, hidden = w.hidden, code = w.code();
  const auto act = [](Activation a) { return static_cast<fb::Activation>(a); };
  std::vector<Offset<fb::Layer>> layers;
  const std::uint32_t v = t.add("encoder.weight", {rows, hidden}, w.V, in.dtype);
  const std::uint32_t mu = t.add("encoder.bias", {hidden}, w.mu);
  layers.push_back(fb::CreateLayer(fbb, w.rows, w.hidden, act(cfg.encoder), cfg.dropout, v, mu, fb::WeightLayout::InOut));
  for (std::size_t l = 0; l < w.inner.size(); ++l) {
    const DenseWeights& d = w.inner[l];
    const std::string name = "hidden" + std::to_string(l + 2);
    const std::uint32_t m = t.add(name + ".weight", {d.out, d.in}, d.M, in.dtype);
    const std::uint32_t c = t.add(name + ".bias", {d.out}, d.c);
    layers.push_back(fb::CreateLayer(fbb, d.in, d.out, act(cfg.inner[l].activation), cfg.inner[l].dropout, m, c,
                                     fb::WeightLayout::OutIn));
  }
  const std::uint32_t wd = t.add("decoder.weight", {rows, code}, w.W, in.dtype);
  const std::uint32_t b = t.add("decoder.bias", {rows}, w.b);
  // The cached codes, unless they would take more than the limit (a user-based model of millions of users).
  const Csc& columns = *in.observations;
  InputTransform input = input_transform(cfg, columns);  // what the model's encoder reads, from ratings
  input.units = in.result->units;
  std::vector<float>& codes = image->codes;
  std::int32_t codes_index = -1;
  if (in.codes_limit > 0 && double(columns.num_cols()) * double(code) * 4.0 <= double(in.codes_limit)) {
    // (Not `f32 ? w : as_stored(w)`: that conditional is a copy of w whichever way it goes.)
    codes = in.dtype == DType::F32 ? column_codes(w, cfg, input, columns)
                                   : column_codes(as_stored(w, in.dtype), cfg, input, columns);
    codes_index = static_cast<std::int32_t>(t.add("codes", {columns.num_cols(), code}, codes));
  }
  layers.push_back(fb::CreateLayer(fbb, w.code(), w.rows, act(cfg.decoder), 0.0f, wd, b, fb::WeightLayout::OutIn));

  const TrainResult& res = *in.result;
  std::vector<Offset<fb::EpochRecord>> history;
  for (const EpochStats& e : res.history)
    history.push_back(fb::CreateEpochRecord(fbb, e.epoch, e.loss, e.train_rmse, e.val_rmse, e.seconds));
  const auto hyper = hyperparameters(fbb, cfg);

  // The ratings the model reconstructs from are exactly the fit part.
  const Csc& obs = *in.observations;
  double sum = 0;
  for (float x : obs.value) sum += x;
  const float global_mean = obs.nnz() ? static_cast<float>(sum / double(obs.nnz())) : 0.5f * (data.scale.min + data.scale.max);
  const std::uint64_t fp = observations_fingerprint(data, obs, cfg.variant);
  // The test RMSE is stored even at its default (-1), so that a file written before the test set was scored
  // has a place for it (set_test_rmse).
  fbb.ForceDefaults(true);
  const auto training = fb::CreateTrainingInfoDirect(
      fbb, hyper, static_cast<std::uint32_t>(res.history.size()), res.best_epoch, &history, fp,
      in.num_train_ratings ? in.num_train_ratings : data.ratings.size(),
      obs.nnz(), in.num_val, static_cast<std::int64_t>(std::time(nullptr)), kTrainerVersion, data.source.c_str(),
      duplicate_policy_name(in.duplicates), data.duplicates, in.test_rmse);
  fbb.ForceDefaults(false);

  const auto scale = fb::CreateRatingScale(fbb, data.scale.min, data.scale.max, data.scale.integral, data.scale.step);
  const auto users = id_map(fbb, data.users), items = id_map(fbb, data.items);
  const auto observations_off = observations(fbb, obs, data.scale);
  const auto layers_off = fbb.CreateVector(layers);
  const auto tensors_off = fbb.CreateVector(t.tensors_);
  const auto buffers_off = fbb.CreateVector(t.buffers_);
  const auto baseline_off = in.baseline ? baseline(fbb, *in.baseline, in.baseline_weight, cfg.variant) : 0;
  const auto ranking_off = in.ranking ? fb::CreateRankingRule(fbb, in.ranking->popularity_weight, in.ranking->validation_k,
                                                              in.ranking->validation_ndcg, in.ranking->rating_ndcg,
                                                              in.ranking->popularity_ndcg)
                                      : 0;
  // A ranking rule does not raise the version: a reader of 4 ignores it and ranks by rating (schema history).
  const std::uint32_t version = !input.units.identity() || in.baseline             ? kSchemaVersionUnits
                                : input.offset == 0 && input.norm_power == 0 ? kSchemaVersionPlainInput
                                                                             : kSchemaVersionInputRule;
  const auto model = fb::CreateModel(fbb, version,
                                     cfg.variant == Variant::ItemBased ? fb::Variant::ItemBased : fb::Variant::UserBased,
                                     layers_off, tensors_off, buffers_off, scale, global_mean,
                                     static_cast<fb::ColdStart>(in.cold_start), users, items, observations_off, training,
                                     codes_index, input.offset, input.norm_power,
                                     input.norm_power != 0 ? input.norm_count : 0.0f, input.units.origin,
                                     input.units.unit, baseline_off, ranking_off);
  fb::FinishSizePrefixedModelBuffer(fbb, model);
  image->schema_version = version;
  // Generated tables inherit flatbuffers::Table privately; its field lookup is what gives the place.
  const auto* info = reinterpret_cast<const flatbuffers::Table*>(fb::GetSizePrefixedModel(fbb.GetBufferPointer())->training());
  const std::uint8_t* place = info->GetAddressOf(fb::TrainingInfo::VT_TEST_RMSE);
  if (!place) throw Error(Status::Internal, "model writer: the test RMSE was not stored");
  image->test_rmse_offset = static_cast<std::uint64_t>(place - fbb.GetBufferPointer());
  return image;
}

}  // namespace

std::vector<std::byte> build_model_file(const ModelContents& in) {
  const std::unique_ptr<ModelImage> image = build_image(in);
  return pack_container(image->parts(), in.zstd_level, kContainerVersion, FileKind::Model, image->schema_version);
}

WrittenModel write_model_file(const ModelContents& in, const std::string& path) {
  const std::unique_ptr<ModelImage> image = build_image(in);
  AtomicFile file(path);
  ContainerWriter writer(file, image->content_size(), in.zstd_level, kContainerVersion, FileKind::Model,
                         image->schema_version);
  for (const auto& part : image->parts()) writer.write(part);
  writer.finish();
  file.commit();
  return {image->test_rmse_offset};
}

void set_test_rmse(const std::string& path, const WrittenModel& written, double rmse, int zstd_level) {
  AtomicFile file(path);
  const std::uint64_t at = written.test_rmse_offset;
  const double stored = flatbuffers::EndianScalar(rmse);
  std::uint8_t bytes[8], found[8];
  std::memcpy(bytes, &stored, 8);
  std::uint64_t patched = 0;
  recompress_container(path, file, zstd_level, [&](std::uint64_t offset, std::span<std::uint8_t> piece) {
    // The double's 8 bytes, little-endian as FlatBuffers stores them, wherever they fall in the pieces.
    for (std::uint64_t i = 0; i < 8; ++i)
      if (at + i >= offset && at + i < offset + piece.size()) {
        found[i] = piece[at + i - offset];
        piece[at + i - offset] = bytes[i];
        ++patched;
      }
  });
  // The place must hold what write_model_file put there (-1: no test RMSE yet), else it is not that file.
  double before = 0;
  std::memcpy(&before, found, 8);
  if (patched != 8 || flatbuffers::EndianScalar(before) != -1.0)
    throw Error(Status::Internal, path + ": field training.test_rmse at content offset " + std::to_string(at) +
                                      ": not the place write_model_file left for it");
  file.commit();
}

}  // namespace autorec::train
