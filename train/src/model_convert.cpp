// autorec-convert's work: the same model with its weight matrices stored in another type. The file is
// validated in full by the inference library first, then rewritten through the FlatBuffers object API so
// every other field (ids, observations, training history) is carried over untouched.
#include <autorec_generated.h>

#include <cstring>

#include "autorec/container.hpp"
#include "autorec/dtype.hpp"
#include "autorec/error.hpp"
#include "autorec/model.hpp"
#include "autorec/train/model_writer.hpp"
#include "data_section.hpp"

namespace autorec::train {
namespace {

[[noreturn]] void corrupt(std::string_view name, const std::string& what) {
  throw Error(Status::Corrupt, std::string(name) + ": " + what);
}

// The bytes of buffer `index` of an unpacked model: inline data, or a slice of the data section. The reader
// validated the buffers the layers use; a tensor no layer uses is checked here.
std::vector<std::uint8_t> buffer_data(const fb::ModelT& m, std::uint32_t index, std::span<const std::uint8_t> section,
                                      std::string_view name) {
  if (index >= m.buffers.size() || !m.buffers[index])
    corrupt(name, "field buffers[" + std::to_string(index) + "]: no such buffer");
  const fb::BufferT& b = *m.buffers[index];
  if (b.size == 0) return b.data;
  if (b.offset > section.size() || b.size > section.size() - b.offset)
    corrupt(name, "field buffers[" + std::to_string(index) + "].size = " + std::to_string(b.size) +
                      ": beyond the data section");
  return {section.begin() + static_cast<std::ptrdiff_t>(b.offset),
          section.begin() + static_cast<std::ptrdiff_t>(b.offset + b.size)};
}

}  // namespace

std::vector<std::byte> convert_model_file(std::span<const std::byte> file, std::string_view name, DType dtype,
                                          int zstd_level, std::uint64_t inline_tensor_limit) {
  // What the reader checks (sizes, bounds, finite values of every tensor a layer uses) holds before a byte
  // is reinterpreted here; the few reads beyond that are checked below.
  Model::load_buffer(file, name, {.max_decompressed_bytes = ~std::uint64_t{0}, .device = Device::Cpu});
  const AlignedBytes content = unpack_container(file, name, ~std::uint64_t{0});
  const bool prefixed = content.container_version >= 2;
  std::span<const std::uint8_t> section;
  if (prefixed) {
    std::uint32_t prefix;
    std::memcpy(&prefix, content.data(), 4);
    const auto start = static_cast<std::size_t>(data_section_start(std::uint64_t{prefix} + 4));
    if (start < content.size) section = {content.data() + start, content.size - start};
  }
  std::unique_ptr<fb::ModelT> m(prefixed ? fb::GetSizePrefixedModel(content.data())->UnPack()
                                         : fb::GetModel(content.data())->UnPack());

  // Every buffer belongs to one tensor (data or I8 scales): rebuild the buffer list tensor by tensor.
  std::vector<std::vector<std::uint8_t>> data = {{}};  // index 0: the empty sentinel
  std::uint64_t old_tensor_bytes = 0;
  for (const auto& b : m->buffers) old_tensor_bytes += b ? b->data.size() + b->size : 0;
  // Stored codes were computed from the weights as stored: when those change type the codes no longer match,
  // so they are dropped and the reader computes them at load (the writer puts them last; anywhere else the
  // tensor is left unreferenced).
  bool weights_change = false;
  for (std::size_t ti = 0; ti < m->tensors.size(); ++ti)
    weights_change |= m->tensors[ti]->shape.size() == 2 && std::int64_t(ti) != m->codes &&
                      static_cast<DType>(m->tensors[ti]->dtype) != dtype;
  if (m->codes >= 0 && weights_change) {
    if (static_cast<std::size_t>(m->codes) + 1 == m->tensors.size()) m->tensors.pop_back();
    m->codes = -1;
  }
  for (std::size_t ti = 0; ti < m->tensors.size(); ++ti) {
    auto& t = m->tensors[ti];
    const std::vector<std::uint8_t> bytes = buffer_data(*m, t->buffer, section, name);
    const auto from = static_cast<DType>(t->dtype);
    // Weight matrices take the new type; vectors and the cached codes stay fp32.
    const bool codes = m->codes >= 0 && ti == static_cast<std::size_t>(m->codes);
    const DType to = t->shape.size() == 2 && !codes ? dtype : DType::F32;
    if (from == to) {
      if (to == DType::I8) {
        std::vector<std::uint8_t> scales = buffer_data(*m, t->scale_buffer, section, name);
        t->scale_buffer = static_cast<std::uint32_t>(data.size());
        data.push_back(std::move(scales));
      }
      t->buffer = static_cast<std::uint32_t>(data.size());
      data.push_back(bytes);
      continue;
    }
    const std::size_t rows = t->shape[0], cols = t->shape.size() == 2 ? t->shape[1] : 1;
    if (static_cast<std::uint8_t>(from) > 3 || bytes.size() != rows * cols * dtype_bytes(from))
      corrupt(name, "tensor " + t->name + ": " + std::to_string(bytes.size()) + " bytes do not hold its shape and dtype");
    std::vector<float> scales, x(rows * cols);
    if (from == DType::I8) {
      const std::vector<std::uint8_t> sb = buffer_data(*m, t->scale_buffer, section, name);
      if (sb.size() != rows * sizeof(float)) corrupt(name, "tensor " + t->name + ": scale buffer size " + std::to_string(sb.size()));
      scales.resize(rows);
      std::memcpy(scales.data(), sb.data(), sb.size());
    }
    decode_matrix(bytes.data(), rows, cols, from, scales.data(), x.data());
    if (to == DType::F16) require_fits_f16(x, std::string(name) + ": " + t->name);
    t->dtype = static_cast<fb::DType>(to);
    t->scale_buffer = 0;
    std::vector<std::uint8_t> coded = encode_matrix(x.data(), rows, cols, to, scales);
    if (to == DType::I8) {
      t->scale_buffer = static_cast<std::uint32_t>(data.size());
      data.emplace_back(reinterpret_cast<const std::uint8_t*>(scales.data()),
                        reinterpret_cast<const std::uint8_t*>(scales.data() + scales.size()));
    }
    t->buffer = static_cast<std::uint32_t>(data.size());
    data.push_back(std::move(coded));
  }

  // Tensors go to the data section by build_model_file's rule; the rest of the FlatBuffer is what the
  // content held besides the old tensor bytes.
  std::uint64_t total = 0;
  for (const auto& d : data) total += d.size();
  const double other = double(content.size) - double(old_tensor_bytes);
  const bool external = tensors_go_external(double(total), other, inline_tensor_limit);
  m->buffers.clear();
  DataSection section_out;
  for (std::vector<std::uint8_t>& bytes : data) {
    auto b = std::make_unique<fb::BufferT>();
    if (external && !bytes.empty()) {
      b->offset = section_out.add(bytes);
      b->size = bytes.size();
    } else {
      b->data = std::move(bytes);
    }
    m->buffers.push_back(std::move(b));
  }
  flatbuffers::FlatBufferBuilder fbb(std::size_t{1} << 20);
  fb::FinishSizePrefixedModelBuffer(fbb, fb::Model::Pack(fbb, m.get()));
  const auto parts = section_out.content({fbb.GetBufferPointer(), fbb.GetSize()});
  // The schema version stays the file's: converting changes storage types, not what a reader must know.
  return pack_container(parts, zstd_level, kContainerVersion, FileKind::Model, m->schema_version);
}

}  // namespace autorec::train
