// Writing a container (autorec/container.hpp has the layout): one zstd frame, with its checksum and its
// content size, streamed into a sink; the header goes last, over the zeros that kept its place.
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "autorec/container.hpp"
#include "autorec/error.hpp"
#include "content_stream.hpp"

namespace autorec {
namespace {

void put_u32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
void put_u64(std::byte* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

std::size_t check(std::size_t rc, const char* what) {
  if (ZSTD_isError(rc)) throw Error(Status::Internal, std::string("zstd ") + what + ": " + ZSTD_getErrorName(rc));
  return rc;
}

// The sink of pack_container: the file image in memory.
class MemorySink final : public ContainerSink {
 public:
  explicit MemorySink(std::uint64_t content_size) {
    // Room for the worst case is reserved, not written: only the pages the frame fills are touched (a
    // zero-filled buffer of compressBound would be resident in full while the frame is smaller).
    bytes.reserve(kHeaderSize + ZSTD_compressBound(static_cast<std::size_t>(content_size)));
  }
  void append(std::span<const std::byte> b) override { bytes.insert(bytes.end(), b.begin(), b.end()); }
  void put_header(std::span<const std::byte> h) override { std::copy(h.begin(), h.end(), bytes.begin()); }
  std::vector<std::byte> bytes;
};

}  // namespace

ContainerWriter::ContainerWriter(ContainerSink& sink, std::uint64_t content_size, int zstd_level,
                                 std::uint32_t container_version, FileKind kind, std::uint32_t schema_version)
    : sink_(sink), chunk_(ZSTD_CStreamOutSize()), cctx_(ZSTD_createCCtx()), content_size_(content_size),
      container_version_(container_version), schema_version_(schema_version), kind_(kind) {
  if (!cctx_) throw Error(Status::OutOfMemory, "zstd: cannot create a compression context");
  auto* cctx = static_cast<ZSTD_CCtx*>(cctx_);
  try {
    // The checksum is off by default in zstd; the content size must be recorded (pledged, since the content
    // comes in pieces) so readers can refuse frames of unknown size.
    check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, zstd_level), "level");
    check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1), "checksum flag");
    check(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1), "content size flag");
    check(ZSTD_CCtx_setPledgedSrcSize(cctx, content_size), "pledged size");
    // Large models (a Netflix-sized one is 2 GB) compress on several threads when this libzstd has them; a
    // build without multithreading refuses the parameter and compresses on one, which is only slower.
    // (Each worker buffers its jobs, tens of MB whatever the content: below 256 MB one thread is quick enough.)
    if (content_size > (std::uint64_t{256} << 20))
      ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers,
                             static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u)));
    const std::byte zeros[kHeaderSize] = {};
    sink_.append(zeros);
  } catch (...) {
    ZSTD_freeCCtx(cctx);
    throw;
  }
}

ContainerWriter::~ContainerWriter() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_)); }

void ContainerWriter::drain(const void* data, std::size_t size, int mode) {
  const auto directive = static_cast<ZSTD_EndDirective>(mode);
  ZSTD_inBuffer src{data, size, 0};
  for (;;) {  // until the input is consumed (and, at the end, the frame is flushed)
    ZSTD_outBuffer dst{chunk_.data(), chunk_.size(), 0};
    const std::size_t left = check(ZSTD_compressStream2(static_cast<ZSTD_CCtx*>(cctx_), &dst, &src, directive), "compress");
    if (dst.pos) sink_.append({chunk_.data(), dst.pos});
    compressed_ += dst.pos;
    if (directive == ZSTD_e_end ? left == 0 : src.pos == src.size) return;
  }
}

void ContainerWriter::write(std::span<const std::uint8_t> piece) {
  written_ += piece.size();
  drain(piece.data(), piece.size(), ZSTD_e_continue);
}

void ContainerWriter::finish() {
  if (written_ != content_size_)
    throw Error(Status::Internal, "container writer: " + std::to_string(written_) + " bytes of content given, " +
                                      std::to_string(content_size_) + " announced");
  drain(nullptr, 0, ZSTD_e_end);
  std::byte header[kHeaderSize] = {};
  std::memcpy(header, kind_ == FileKind::Model ? kMagic : kCheckpointMagic, 8);
  put_u32(header + 8, container_version_);
  put_u32(header + 12, schema_version_);
  put_u64(header + 16, compressed_);
  put_u64(header + 24, content_size_);
  sink_.put_header(header);
}

std::vector<std::byte> pack_container(std::span<const std::span<const std::uint8_t>> content, int zstd_level,
                                      std::uint32_t container_version, FileKind kind, std::uint32_t schema_version) {
  std::uint64_t total = 0;
  for (const auto& part : content) total += part.size();
  MemorySink sink(total);
  ContainerWriter writer(sink, total, zstd_level, container_version, kind, schema_version);
  for (const auto& part : content) writer.write(part);
  writer.finish();
  return std::move(sink.bytes);
}

void recompress_container(const std::string& path, ContainerSink& sink, int zstd_level,
                          const std::function<void(std::uint64_t, std::span<std::uint8_t>)>& edit, FileKind kind) {
  ContentStream in = ContentStream::open(path, ~std::uint64_t{0}, kind);
  ContainerWriter writer(sink, in.size(), zstd_level, in.container_version(), kind, in.schema_version());
  std::vector<std::uint8_t> piece(std::size_t{1} << 20);
  while (in.position() < in.size()) {
    const std::uint64_t at = in.position();
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), in.size() - at));
    in.read(piece.data(), n);
    edit(at, {piece.data(), n});
    writer.write({piece.data(), n});
  }
  in.finish();
  writer.finish();
}

}  // namespace autorec
