// Reads a decompressed model FlatBuffer: the FlatBuffers verifier first, then semantic checks, and only then
// copies the data into the layouts the kernels use. Every failure names the source, field and value.
#include <autorec_generated.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "autorec/container.hpp"
#include "autorec/dtype.hpp"
#include "autorec/error.hpp"
#include "autorec/text.hpp"
#include "content_stream.hpp"
#include "kernels/kernels.hpp"
#include "memory.hpp"
#include "model_impl.hpp"
#include "settings_json.hpp"

namespace autorec {
namespace {

static_assert(std::endian::native == std::endian::little, "model buffers are little-endian");

class Checker {
 public:
  explicit Checker(std::string_view name) : name_(name) {}
  template <class T>
  void require(bool ok, std::string_view field, const T& value, std::string_view expected) const {
    if (!ok) {
      std::string v;
      if constexpr (std::is_arithmetic_v<T>) v = std::to_string(value);
      else v = std::string(value);
      throw Error(Status::Corrupt, std::string(name_) + ": field " + std::string(field) + " = " + v +
                                       ": expected " + std::string(expected));
    }
  }
  template <class P>
  const P& present(const P* p, std::string_view field) const {
    if (!p) throw Error(Status::Corrupt, std::string(name_) + ": field " + std::string(field) + " is missing");
    return *p;
  }
  // A vector of 8-byte elements, present and at an 8-byte boundary. This FlatBuffers' verifier checks a
  // vector's length field at 4 bytes only, so a crafted file can place such a vector off its alignment,
  // where reading it would be undefined behaviour; builders never do.
  template <class T>
  const flatbuffers::Vector<T>& present_aligned(const flatbuffers::Vector<T>* v, std::string_view field) const {
    static_assert(sizeof(T) == 8);
    const auto& x = present(v, field);
    require(x.size() == 0 || reinterpret_cast<std::uintptr_t>(x.Data()) % 8 == 0, field,
            "a vector off its 8-byte alignment", "8-byte aligned elements");
    return x;
  }

 private:
  std::string_view name_;
};

// Model.baseline, checked: a share in [0, 1], finite numbers, one bias per row and per column.
void read_baseline(const fb::Baseline& b, std::uint32_t rows, std::uint32_t cols, const Checker& ck, Baseline& out) {
  ck.require(b.weight() >= 0 && b.weight() <= 1, "baseline.weight", b.weight(), "in [0, 1]");
  ck.require(std::isfinite(b.mean()), "baseline.mean", b.mean(), "finite");
  ck.require(std::isfinite(b.row_reg()) && b.row_reg() >= 0, "baseline.row_reg", b.row_reg(), "finite, >= 0");
  ck.require(std::isfinite(b.col_reg()) && b.col_reg() >= 0, "baseline.col_reg", b.col_reg(), "finite, >= 0");
  const auto read = [&](const flatbuffers::Vector<float>* v, std::uint32_t n, const char* field, std::vector<float>& to) {
    const auto& x = ck.present(v, field);
    ck.require(x.size() == n, std::string(field) + " size", x.size(), std::to_string(n));
    to.assign(x.begin(), x.end());
    for (std::size_t k = 0; k < to.size(); ++k)
      ck.require(std::isfinite(to[k]), std::string(field) + "[" + std::to_string(k) + "]", to[k], "finite");
  };
  read(b.row_bias(), rows, "baseline.row_bias", out.row);
  read(b.col_bias(), cols, "baseline.col_bias", out.col);
  out.weight = b.weight();
  out.mean = b.mean();
  out.row_reg = b.row_reg();
  out.col_reg = b.col_reg();
}

// A model's content as the reader holds it: the verified FlatBuffer in memory and, from container version
// 2, the data section after it, read from the stream as each tensor is decoded.
struct Content {
  const fb::Model* model = nullptr;
  ContentStream* stream = nullptr;
  std::uint64_t data_start = 0, data_size = 0;  // the data section's offset in the content, and its size
};

// Where Model.buffers[index] is: inside the FlatBuffer (Buffer.data) or in the data section (Buffer.offset/size).
struct BufferRef {
  std::span<const std::uint8_t> inline_data;
  std::uint64_t offset = 0, size = 0;
  bool external = false;
  std::uint64_t bytes() const { return external ? size : inline_data.size(); }
};

BufferRef locate_buffer(const Content& c, std::uint32_t index, const std::string& tf, const Checker& ck) {
  const auto& buffers = ck.present(c.model->buffers(), "buffers");
  ck.require(index > 0 && index < buffers.size(), tf + ".buffer", index, "1.." + std::to_string(buffers.size() - 1));
  const fb::Buffer* b = buffers.Get(index);
  const std::string bf = "buffers[" + std::to_string(index) + "]";
  if (b->size() == 0) {
    ck.require(b->offset() == 0, bf + ".offset", b->offset(), "0 when size is 0 (inline data)");
    const auto& data = ck.present(b->data(), bf + ".data");
    return {.inline_data = {data.data(), data.size()}};
  }
  ck.require(b->data() == nullptr, bf + ".data", "present", "absent when the data is external (size > 0)");
  const std::uint64_t section = c.data_size;
  ck.require(b->offset() % 16 == 0, bf + ".offset", b->offset(), "a multiple of 16");
  ck.require(b->offset() <= section && b->size() <= section - b->offset(), bf + ".size", b->size(),
             "within the " + std::to_string(section) + "-byte data section from offset " + std::to_string(b->offset()));
  return {.inline_data = {}, .offset = b->offset(), .size = b->size(), .external = true};
}

// The buffer's bytes, copied to dst: the writers place the data section in the order this reader reads
// it, so the stream only moves forward (another order costs a restart of the decompression, not an error).
void copy_buffer(const Content& c, const BufferRef& b, void* dst) {
  if (!b.external) {
    std::memcpy(dst, b.inline_data.data(), b.inline_data.size());
    return;
  }
  c.stream->seek(c.data_start + b.offset);
  c.stream->read(dst, static_cast<std::size_t>(b.size));
}

// dtype.hpp's decode_matrix through the kernels of the CPU's level (the same values: every conversion is exact);
// fp32 is copied straight from the content instead.
void decode_stored(const std::uint8_t* bytes, std::size_t rows, std::size_t cols, DType t, const float* scales,
                   float* out) {
  const kernels::Table& k = kernels::table();
  switch (t) {
    case DType::F32: std::memcpy(out, bytes, rows * cols * sizeof(float)); break;
    case DType::F16: k.decode_f16(bytes, rows * cols, out); break;
    case DType::BF16: k.decode_bf16(bytes, rows * cols, out); break;
    case DType::I8: k.decode_i8(bytes, rows, cols, scales, out); break;
  }
}

// A tensor as floats, after checking its shape, buffers and values; reduced types (fp16, bf16, int8 with
// per-row scales) are decoded here, once, into out (rows x max(cols, 1) floats, resized by `resize` once the
// shape is checked). `dtype` receives the stored type.
template <class Resize>
void read_tensor_into(const Content& c, std::uint32_t index, std::uint64_t rows, std::uint64_t cols,
                      const std::string& field, const Checker& ck, DType& dtype, Resize&& resize) {
  const fb::Model& m = *c.model;
  const auto& tensors = ck.present(m.tensors(), "tensors");
  ck.require(index < tensors.size(), field, index, "a tensor index below " + std::to_string(tensors.size()));
  const fb::Tensor* t = tensors.Get(index);
  const std::string tf = "tensors[" + std::to_string(index) + "]";
  const auto& shape = ck.present_aligned(t->shape(), tf + ".shape");
  if (cols == 0) {
    ck.require(shape.size() == 1, tf + ".shape rank", shape.size(), "1");
    ck.require(shape.Get(0) == rows, tf + ".shape[0]", shape.Get(0), std::to_string(rows));
  } else {
    ck.require(shape.size() == 2, tf + ".shape rank", shape.size(), "2");
    ck.require(shape.Get(0) == rows, tf + ".shape[0]", shape.Get(0), std::to_string(rows));
    ck.require(shape.Get(1) == cols, tf + ".shape[1]", shape.Get(1), std::to_string(cols));
  }
  const auto code = static_cast<std::uint8_t>(t->dtype());
  ck.require(code <= 3, tf + ".dtype", code, "0..3 (fp32, fp16, bf16, int8)");
  dtype = static_cast<DType>(code);
  ck.require(dtype == DType::F32 || cols > 0, tf + ".dtype", dtype_name(dtype), "fp32 for a 1-D tensor");
  const BufferRef data = locate_buffer(c, t->buffer(), tf, ck);
  const std::string bf = "buffers[" + std::to_string(t->buffer()) + "]";
  const std::uint64_t count = rows * (cols == 0 ? 1 : cols);
  ck.require(data.bytes() == count * dtype_bytes(dtype), bf + ".data size", data.bytes(),
             std::to_string(count * dtype_bytes(dtype)) + " bytes for " + tf + " (" + dtype_name(dtype) + ")");
  std::vector<float> scales;
  if (dtype == DType::I8) {  // read first: a writer places the scales before the values
    const BufferRef sb = locate_buffer(c, t->scale_buffer(), tf + ".scale_buffer", ck);
    ck.require(sb.bytes() == rows * sizeof(float), tf + ".scale_buffer size", sb.bytes(),
               std::to_string(rows * sizeof(float)) + " bytes (one fp32 scale per row)");
    scales.resize(rows);
    copy_buffer(c, sb, scales.data());
    for (std::uint64_t r = 0; r < rows; ++r)
      if (!(std::isfinite(scales[r]) && scales[r] >= 0))
        ck.require(false, tf + ".scale[" + std::to_string(r) + "]", scales[r], "finite and >= 0");
  }
  float* const out = resize(count);
  if (dtype == DType::F32) {
    copy_buffer(c, data, out);  // straight to where the model keeps it
  } else {
    std::vector<std::uint8_t> stored(static_cast<std::size_t>(data.bytes()));
    copy_buffer(c, data, stored.data());
    decode_stored(stored.data(), rows, cols == 0 ? 1 : cols, dtype, scales.data(), out);
  }
  // Finite means the exponent bits are not all ones: an integer test that vectorises, run over every weight
  // first; the scalar search for the culprit runs only when one failed.
  std::uint32_t any_bad = 0;
  const auto* bits = reinterpret_cast<const std::uint32_t*>(out);
  for (std::uint64_t i = 0; i < count; ++i) any_bad |= static_cast<std::uint32_t>((bits[i] & 0x7F800000u) == 0x7F800000u);
  if (any_bad)
    for (std::uint64_t i = 0; i < count; ++i)
      if (!std::isfinite(out[i])) ck.require(false, field + "[" + std::to_string(i) + "]", out[i], "a finite number");
}

std::vector<float> read_tensor(const Content& c, std::uint32_t index, std::uint64_t rows, std::uint64_t cols,
                               const std::string& field, const Checker& ck, DType& dtype) {
  std::vector<float> out;
  read_tensor_into(c, index, rows, cols, field, ck, dtype, [&](std::uint64_t n) {
    out.resize(n);
    return out.data();
  });
  return out;
}

void read_ids(const fb::IdMap* map, std::size_t expected, const std::string& field, const Checker& ck,
              IdIndex& index) {
  ck.present(map, field);
  const bool has_int = map->int_ids() != nullptr, has_str = map->str_ids() != nullptr;
  ck.require(has_int != has_str, field, has_int ? "int_ids and str_ids" : "neither", "exactly one id vector");
  if (has_int) {
    const auto& int_ids = ck.present_aligned(map->int_ids(), field + ".int_ids");
    ck.require(int_ids.size() == expected, field + ".int_ids size", int_ids.size(), std::to_string(expected));
    std::vector<std::int64_t> ids(int_ids.begin(), int_ids.end());
    index.assign_ints(std::move(ids));
  } else {
    ck.require(map->str_ids()->size() == expected, field + ".str_ids size", map->str_ids()->size(),
               std::to_string(expected));
    std::vector<std::string> ids;
    ids.reserve(expected);
    for (const auto* s : *map->str_ids()) ids.emplace_back(ck.present(s, field + ".str_ids[]").str());
    index.assign_strings(std::move(ids));
  }
  ck.require(index.size() == expected, field, "duplicate ids", "unique ids");
}

void read_observations(const fb::Observations& o, std::uint32_t rows, std::uint32_t cols, const Checker& ck,
                       SparseColumns& obs) {
  ck.require(o.num_rows() == rows, "observations.num_rows", o.num_rows(), std::to_string(rows));
  ck.require(o.num_cols() == cols, "observations.num_cols", o.num_cols(), std::to_string(cols));
  const auto& start = ck.present(o.col_start(), "observations.col_start");
  const auto& row = ck.present(o.row(), "observations.row");
  ck.require(start.size() == std::size_t{cols} + 1, "observations.col_start size", start.size(),
             std::to_string(std::size_t{cols} + 1));
  const std::size_t n = row.size();
  ck.require(start.Get(0) == 0, "observations.col_start[0]", start.Get(0), "0");
  ck.require(start.Get(cols) == n, "observations.col_start[last]", start.Get(cols), std::to_string(n));
  const bool coded = o.code() != nullptr;
  ck.require(coded != (o.value() != nullptr), "observations values", coded ? "code and value" : "neither",
             "exactly one of code, value");
  if (coded) {
    ck.require(o.code()->size() == n, "observations.code size", o.code()->size(), std::to_string(n));
    ck.require(std::isfinite(o.code_base()) && std::isfinite(o.code_step()), "observations.code_step",
               o.code_step(), "finite");
  } else {
    ck.require(o.value()->size() == n, "observations.value size", o.value()->size(), std::to_string(n));
  }
  obs.num_rows = rows;
  obs.start.assign(start.begin(), start.end());
  obs.entries.resize(n);
  for (std::uint32_t c = 0; c < cols; ++c) {
    const std::uint32_t b = obs.start[c], e = obs.start[c + 1];
    // Messages are built only on failure: these loops run once per stored rating (100M for Netflix-sized data).
    if (!(b <= e && e <= n)) ck.require(false, "observations.col_start[" + std::to_string(c + 1) + "]", e, "non-decreasing");
    for (std::uint32_t k = b; k < e; ++k) {
      const std::uint32_t r = row.Get(k);
      if (r >= rows) ck.require(false, "observations.row[" + std::to_string(k) + "]", r, "below " + std::to_string(rows));
      if (k != b && r <= obs.entries[k - 1].index)
        ck.require(false, "observations.row[" + std::to_string(k) + "]", r,
                 "increasing within column " + std::to_string(c));
      const float v = coded ? o.code_base() + o.code_step() * static_cast<float>(o.code()->Get(k)) : o.value()->Get(k);
      if (!std::isfinite(v)) ck.require(false, "observations.value[" + std::to_string(k) + "]", v, "a finite number");
      obs.entries[k] = {r, v};
    }
  }
}

// The FlatBuffer at the start of the content, read into `storage` and verified; with container 2 the data
// section's place after it goes into `content`.
const fb::Model& open_flatbuffer(ContentStream& stream, const std::string& label, const Checker& ck,
                                 std::unique_ptr<std::uint8_t[], FreeDeleter>& storage, Content& content) {
  // Container 1 holds the FlatBuffer alone; container 2 a size-prefixed FlatBuffer and then the data section.
  const bool prefixed = stream.container_version() >= 2;
  const std::uint64_t size = stream.size();
  std::uint64_t fb_size = size;
  flatbuffers::uoffset_t prefix = 0;
  if (prefixed) {
    ck.require(size >= 12, "content size", size, "at least 12 bytes");
    stream.read(&prefix, sizeof prefix);
    fb_size = 4 + std::uint64_t{flatbuffers::EndianScalar(prefix)};
    ck.require(fb_size <= size, "FlatBuffer size prefix", fb_size - 4,
               "at most the content size " + std::to_string(size) + " - 4");
    content.data_start = data_section_start(fb_size);
    content.data_size = content.data_start < size ? size - content.data_start : 0;
  }
  ck.require(fb_size >= 8 && fb_size < FLATBUFFERS_MAX_BUFFER_SIZE, "FlatBuffer size", fb_size, "8 bytes .. 2 GiB");
  storage = huge_buffer<std::uint8_t>(static_cast<std::size_t>(fb_size));
  std::uint8_t* data = storage.get();
  if (prefixed) std::memcpy(data, &prefix, sizeof prefix);
  stream.read(data + stream.position(), static_cast<std::size_t>(fb_size - stream.position()));
  ck.require(prefixed ? fb::SizePrefixedModelBufferHasIdentifier(data) : fb::ModelBufferHasIdentifier(data),
             "file_identifier", "?", "\"ARC1\"");
  flatbuffers::Verifier::Options vopts;
  vopts.max_depth = 16;
  vopts.max_tables = 1u << 20;
  flatbuffers::Verifier verifier(data, static_cast<std::size_t>(fb_size), vopts);
  if (!(prefixed ? fb::VerifySizePrefixedModelBuffer(verifier) : fb::VerifyModelBuffer(verifier)))
    throw Error(Status::Corrupt, label + ": the FlatBuffers verifier rejected the model table");
  const fb::Model& m = prefixed ? *fb::GetSizePrefixedModel(data) : *fb::GetModel(data);
  content.model = &m;
  content.stream = &stream;
  return m;
}

// The layers: a chain whose first input and last output are the column length.
void read_layers(const fb::Model& m, const Content& content, const Checker& ck, Model::Impl& impl) {
  ModelInfo& info = impl.info;
  const auto& layers = ck.present(m.layers(), "layers");
  ck.require(layers.size() >= 2 && layers.size() <= 64, "layers size", layers.size(), "2..64");
  std::uint64_t params = 0;
  for (std::uint32_t l = 0; l < layers.size(); ++l) {
    const fb::Layer* src = layers.Get(l);
    const std::string lf = "layers[" + std::to_string(l) + "]";
    DenseLayer layer;
    layer.in_size = src->in_size();
    layer.out_size = src->out_size();
    ck.require(layer.in_size > 0 && layer.in_size <= (1u << 30), lf + ".in_size", layer.in_size, "1..2^30");
    ck.require(layer.out_size > 0 && layer.out_size <= (1u << 30), lf + ".out_size", layer.out_size, "1..2^30");
    if (l > 0)
      ck.require(layer.in_size == impl.net.layers.back().out_size, lf + ".in_size", layer.in_size,
                 "the previous layer's out_size " + std::to_string(impl.net.layers.back().out_size));
    const auto act = static_cast<std::uint8_t>(src->activation());
    ck.require(act <= 5, lf + ".activation", act, "0..5");
    layer.activation = static_cast<Activation>(act);
    layer.dropout = src->dropout();
    ck.require(layer.dropout >= 0 && layer.dropout < 1, lf + ".dropout", layer.dropout, "in [0, 1)");
    const auto layout = src->weight_layout();
    ck.require(layout == fb::WeightLayout::OutIn || layout == fb::WeightLayout::InOut, lf + ".weight_layout",
               static_cast<int>(layout), "0 or 1");
    const bool in_out = layout == fb::WeightLayout::InOut;
    const std::uint64_t r = in_out ? layer.in_size : layer.out_size, c = in_out ? layer.out_size : layer.in_size;
    ck.require(r * c <= (std::uint64_t{1} << 32), lf + " weight elements", r * c, "at most 2^32");
    DType wtype = DType::F32, btype = DType::F32;  // biases are always fp32: btype is checked, not kept
    // The first layer is used [in, out] (sparse gathers), the others [out, in]: a tensor already in that
    // layout is decoded straight into the layer, the other kind through a transpose.
    const bool want_in_out = l == 0;
    const auto R = static_cast<Eigen::Index>(r), C = static_cast<Eigen::Index>(c);
    if (in_out == want_in_out) {
      read_tensor_into(content, src->weight(), r, c, lf + ".weight", ck, wtype, [&](std::uint64_t) {
        layer.weight.resize(R, C);
        advise_huge_pages(layer.weight.data(), std::size_t(R * C) * sizeof(float));
        return layer.weight.data();
      });
    } else {
      const std::vector<float> w = read_tensor(content, src->weight(), r, c, lf + ".weight", ck, wtype);
      layer.weight = Eigen::Map<const RowMatrix>(w.data(), R, C).transpose();
    }
    if (l == 0 || wtype != DType::F32) info.weight_dtype = wtype;
    std::vector<float> b = read_tensor(content, src->bias(), layer.out_size, 0, lf + ".bias", ck, btype);
    layer.bias = Eigen::Map<const Eigen::VectorXf>(b.data(), layer.out_size);
    params += r * c + layer.out_size;
    info.layers.push_back({layer.in_size, layer.out_size, layer.activation, layer.dropout});
    impl.net.layers.push_back(std::move(layer));
  }
  info.num_parameters = params;
  const std::uint32_t length = impl.net.layers.front().in_size;
  ck.require(impl.net.output_size() == length, "layers[last].out_size", impl.net.output_size(),
             "layers[0].in_size " + std::to_string(length));
}

// What the first layer reads (the input rule) and the units the network computes in.
void read_input_rule(const fb::Model& m, const Checker& ck, Model::Impl& impl) {
  ModelInfo& info = impl.info;
  InputTransform& input = impl.net.input;
  input.offset = m.input_offset();
  input.norm_power = m.input_norm_power();
  ck.require(std::isfinite(input.offset) && std::abs(input.offset) <= 1e6f, "input_offset", input.offset,
             "finite, at most 1e6 in size");
  ck.require(input.norm_power >= 0 && input.norm_power <= 4, "input_norm_power", input.norm_power, "0..4");
  if (input.norm_power != 0) {
    input.norm_count = m.input_norm_count();
    ck.require(std::isfinite(input.norm_count) && input.norm_count >= 1 && input.norm_count <= 1e9f,
               "input_norm_count", input.norm_count, "1..1e9 when input_norm_power is set");
  }
  // A reader of schema 2 ignores these fields: a file that needs them must say 3, or old readers answer wrongly.
  ck.require((input.offset == 0 && input.norm_power == 0) || info.schema_version >= kSchemaVersionInputRule,
             "input_offset/input_norm_power", std::to_string(input.offset) + "/" + std::to_string(input.norm_power),
             "0/0 in a schema-" + std::to_string(info.schema_version) + " file (they need schema 3)");
  input.units = {m.rating_origin(), m.rating_unit()};
  ck.require(std::isfinite(input.units.origin), "rating_origin", input.units.origin, "finite");
  ck.require(std::isfinite(input.units.unit) && input.units.unit > 0, "rating_unit", input.units.unit,
             "finite and above 0");
  ck.require(input.units.identity() || info.schema_version >= 4, "rating_origin/rating_unit",
             std::to_string(input.units.origin) + "/" + std::to_string(input.units.unit),
             "0/1 in a schema-" + std::to_string(info.schema_version) + " file (other units need schema 4)");
  info.input = input;

}

// The rating scale, the global mean and the cold-start rule.
void read_scale_and_cold_start(const fb::Model& m, const Checker& ck, Model::Impl& impl) {
  ModelInfo& info = impl.info;
  const InputTransform& input = impl.net.input;
  const auto& scale = ck.present(m.scale(), "scale");
  ck.require(std::isfinite(scale.min()) && std::isfinite(scale.max()) && scale.min() <= scale.max(), "scale.min",
             scale.min(), "finite and at most scale.max " + std::to_string(scale.max()));
  info.rating_min = scale.min();
  info.rating_max = scale.max();
  // Units a trainer wrote put the scale's ends at 1 and 5; ends beyond 1e6 model units (the input offset's
  // bound) mean a damaged unit that would turn ratings into huge inputs. (Files without units, whatever their
  // scale, keep loading as before.)
  if (!input.units.identity())
    for (const float end : {scale.min(), scale.max()})
      ck.require(std::abs(input.units.to_model(end)) <= 1e6f, "rating_unit", input.units.unit,
                 "a unit that puts the scale's end " + std::to_string(end) + " within 1e6 model units");
  info.rating_step = scale.step();
  info.integral_ratings = scale.integral();
  ck.require(std::isfinite(m.global_mean()), "global_mean", m.global_mean(), "finite");
  info.global_mean = m.global_mean();
  const auto cold = static_cast<std::uint8_t>(m.cold_start());
  ck.require(cold <= 2, "cold_start", cold, "0, 1 or 2");
  impl.cold_rule = static_cast<ColdStart>(cold);
  const char* unseen_col_item = "unseen item: the model's reconstruction from an empty item column";
  const char* unseen_col_user = "unseen user: the model's reconstruction from an empty user column";
  switch (impl.cold_rule) {
    case ColdStart::MeanHierarchy:
      info.cold_start = "unseen user: the item's mean; unseen item: the user's mean; both: the global mean";
      break;
    case ColdStart::GlobalMean: info.cold_start = "the global mean"; break;
    case ColdStart::EmptyInput:
      info.cold_start = info.variant == Variant::ItemBased
                            ? std::string(unseen_col_item) + "; unseen user: the item's mean; both: the global mean"
                            : std::string(unseen_col_user) + "; unseen item: the user's mean; both: the global mean";
      break;
  }

}

// Ids, observations, the baseline and the stored codes: columns are items for item-based models, users for
// user-based ones.
void read_columns(const fb::Model& m, const Content& content, const Checker& ck, Model::Impl& impl) {
  ModelInfo& info = impl.info;
  const std::uint32_t length = impl.net.layers.front().in_size;
  const auto& obs = ck.present(m.observations(), "observations");
  const bool item_based = info.variant == Variant::ItemBased;
  const std::uint32_t cols = obs.num_cols();
  ck.require(cols > 0 && cols <= (1u << 30), "observations.num_cols", cols, "1..2^30");
  info.num_users = item_based ? length : cols;
  info.num_items = item_based ? cols : length;
  read_ids(m.users(), info.num_users, "users", ck, impl.users);
  read_ids(m.items(), info.num_items, "items", ck, impl.items);
  read_observations(obs, length, cols, ck, impl.obs);
  if (const fb::Baseline* b = m.baseline()) {
    ck.require(info.schema_version >= 4, "baseline", "present", "absent in a schema-" + std::to_string(info.schema_version) +
                                                                    " file (a baseline needs schema 4)");
    read_baseline(*b, length, cols, ck, impl.baseline);
    info.has_baseline = true;
    info.baseline_weight = impl.baseline.weight;
    if (impl.cold_rule != ColdStart::GlobalMean)
      info.cold_start += " (the means shrunk by the baseline's pseudo-counts)";
  }
  info.num_observations = impl.obs.entries.size();
  // The codes the trainer stored, when it did: loading then skips the one sparse pass over every observation.
  if (m.codes() >= 0) {
    DType ctype = DType::F32;
    read_tensor_into(content, static_cast<std::uint32_t>(m.codes()), cols, impl.net.code_size(), "codes", ck, ctype,
                     [&](std::uint64_t n) {
                       impl.code_store.reserve(n);
                       advise_huge_pages(impl.code_store.data(), n * sizeof(float));
                       impl.code_store.resize(n);
                       return impl.code_store.data();
                     });
    ck.require(ctype == DType::F32, "codes dtype", dtype_name(ctype), "fp32");
    impl.codes_from_file = info.codes_in_file = true;
  }

}

// The rule recommend() ranks by (absent: the predicted rating).
void read_ranking(const fb::Model& m, const Checker& ck, ModelInfo& info) {
  const fb::RankingRule* r = m.ranking();
  if (!r) return;
  ck.require(std::isfinite(r->popularity_weight()) && r->popularity_weight() >= 0 && r->popularity_weight() <= 1e6,
             "ranking.popularity_weight", r->popularity_weight(), "finite, in [0, 1e6]");
  info.ranking = {r->popularity_weight(), r->validation_k(), r->validation_ndcg(), r->rating_ndcg(), r->popularity_ndcg()};
}

// What the trainer recorded: history, provenance, settings.
void read_training_info(const fb::Model& m, ModelInfo& info) {
  if (const fb::TrainingInfo* t = m.training()) {
    info.epochs_run = t->epochs_run();
    info.best_epoch = t->best_epoch();
    if (t->history())
      for (const fb::EpochRecord* e : *t->history())
        info.history.push_back({e->epoch(), e->loss(), e->train_rmse(), e->val_rmse(), e->seconds()});
    info.data_fingerprint = t->data_fingerprint();
    info.created_unix = t->created_unix();
    if (t->trainer_version()) info.trainer_version = t->trainer_version()->str();
    if (t->source()) info.training_source = t->source()->str();
    info.test_rmse = t->test_rmse();
    if (const fb::Hyperparameters* h = t->hyper()) info.hyperparameters_json = hyperparameters_json(*h);
  } else {
    info.test_rmse = -1;
  }
}

static_assert(static_cast<int>(ColdStart::MeanHierarchy) == static_cast<int>(fb::ColdStart::MeanHierarchy) &&
              static_cast<int>(ColdStart::GlobalMean) == static_cast<int>(fb::ColdStart::GlobalMean) &&
              static_cast<int>(ColdStart::EmptyInput) == static_cast<int>(fb::ColdStart::EmptyInput));

}  // namespace

void read_model(ContentStream& stream, std::string_view name, Model::Impl& impl) {
  const std::string label = quoted(name);  // messages quote the name; info keeps it as given
  const Checker ck(label);
  Content content;
  std::unique_ptr<std::uint8_t[], FreeDeleter> flatbuffer;
  const fb::Model& m = open_flatbuffer(stream, label, ck, flatbuffer, content);
  ModelInfo& info = impl.info;
  info.source_name = std::string(name);
  info.schema_version = m.schema_version();
  ck.require(info.schema_version >= 1 && info.schema_version <= kSchemaVersion, "schema_version",
             info.schema_version, "1.." + std::to_string(kSchemaVersion));
  const auto variant = static_cast<std::uint8_t>(m.variant());
  ck.require(variant <= 1, "variant", variant, "0 (item-based) or 1 (user-based)");
  info.variant = static_cast<Variant>(variant);

  read_layers(m, content, ck, impl);
  read_input_rule(m, ck, impl);
  read_scale_and_cold_start(m, ck, impl);
  read_columns(m, content, ck, impl);
  read_ranking(m, ck, info);
  read_training_info(m, info);
  stream.finish();  // the checksum: nothing read is trusted before it holds
}

}  // namespace autorec
