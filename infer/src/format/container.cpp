// zstd container of model.fb: see autorec/container.hpp for the layout.
#include "autorec/container.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "autorec/error.hpp"
#include "autorec/text.hpp"
#include "content_stream.hpp"
#include "memory.hpp"

namespace autorec {
namespace {

std::uint64_t get_le(const std::byte* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

const char* magic_of(FileKind kind) { return kind == FileKind::Model ? kMagic : kCheckpointMagic; }
const char* noun(FileKind kind) { return kind == FileKind::Model ? "model" : "checkpoint"; }

[[noreturn]] void corrupt(std::string_view name, const std::string& what, FileKind kind) {
  throw Error(Status::Corrupt, std::string(name) + ": not a valid autorec " + noun(kind) + ": " + what);
}

}  // namespace

ContainerHeader read_container_header(std::span<const std::byte> file, std::string_view name, FileKind kind) {
  return read_container_header(file, file.size(), name, kind);
}

ContainerHeader read_container_header(std::span<const std::byte> first, std::uint64_t file_size, std::string_view name,
                                      FileKind kind) {
  const std::span<const std::byte> file = first;
  if (file_size < kHeaderSize || file.size() < kHeaderSize)
    corrupt(name, "file is " + std::to_string(file_size) + " bytes, shorter than the 32-byte header", kind);
  const FileKind other = kind == FileKind::Model ? FileKind::Checkpoint : FileKind::Model;
  if (std::memcmp(file.data(), magic_of(other), 8) == 0)
    throw Error(Status::BadInput, std::string(name) + ": this is an autorec " + noun(other) + ", not a " + noun(kind) +
                                      (other == FileKind::Checkpoint ? " (autorec-train --resume reads it)" : ""));
  if (std::memcmp(file.data(), magic_of(kind), 8) != 0)
    corrupt(name, kind == FileKind::Model ? "field magic: bytes 0-7 are not \"AUTOREC\\x1a\""
                                          : "field magic: bytes 0-7 are not \"ARCKPT\\x1a\\0\"", kind);
  ContainerHeader h;
  h.container_version = static_cast<std::uint32_t>(get_le(file.data() + 8, 4));
  h.schema_version = static_cast<std::uint32_t>(get_le(file.data() + 12, 4));
  h.compressed_size = get_le(file.data() + 16, 8);
  h.content_size = get_le(file.data() + 24, 8);
  if (h.container_version == 0 || h.container_version > kContainerVersion)
    throw Error(Status::Unsupported, std::string(name) + ": field container_version: " +
                                         std::to_string(h.container_version) + " (this build reads 1.." +
                                         std::to_string(kContainerVersion) + ")");
  if (h.schema_version == 0 || h.schema_version > kSchemaVersion)
    throw Error(Status::Unsupported, std::string(name) + ": field schema_version: " +
                                         std::to_string(h.schema_version) + " (this build reads 1.." +
                                         std::to_string(kSchemaVersion) + ")");
  if (h.compressed_size != file_size - kHeaderSize)
    corrupt(name, "field compressed_size: header says " + std::to_string(h.compressed_size) +
                      " bytes but the file holds " + std::to_string(file_size - kHeaderSize) +
                      " after the header (truncated or padded file)", kind);
  return h;
}

void check_content_size(const ContainerHeader& h, std::string_view name, std::uint64_t max_content_size) {
  if (h.content_size > max_content_size)
    throw Error(Status::OutOfMemory, std::string(name) + ": field content_size: " +
                                         std::to_string(h.content_size) + " bytes exceeds the limit of " +
                                         std::to_string(max_content_size) + " (LoadOptions::max_decompressed_bytes)");
  if (h.content_size > std::uint64_t{SIZE_MAX} / 2)
    throw Error(Status::OutOfMemory, std::string(name) + ": field content_size: " + std::to_string(h.content_size) +
                                         " bytes cannot be held in memory");
}

void check_frame_header(std::span<const std::byte> frame_start, const ContainerHeader& h, std::string_view name,
                        FileKind kind) {
  const unsigned long long declared = ZSTD_getFrameContentSize(frame_start.data(), frame_start.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) corrupt(name, "the zstd frame header is damaged", kind);
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) corrupt(name, "the zstd frame does not record its content size", kind);
  if (declared != h.content_size)
    corrupt(name, "field content_size: header says " + std::to_string(h.content_size) + ", zstd frame says " +
                      std::to_string(declared), kind);
  // The checksum is what a reader that copies as it decompresses trusts at the end; a frame without one
  // (every writer here sets it) is refused rather than read unchecked.
  // RFC 8878, 3.1.1.1.1: after the 4-byte magic number, bit 2 of the frame header descriptor is the
  // Content_Checksum_Flag (ZSTD_getFrameContentSize above has read that far).
  if (frame_start.size() < 5 || !(std::to_integer<unsigned>(frame_start[4]) & 4u))
    corrupt(name, "the zstd frame has no checksum", kind);
}

AlignedBytes unpack_container(std::span<const std::byte> file, std::string_view name,
                              std::uint64_t max_content_size, FileKind kind) {
  const ContainerHeader h = read_container_header(file, name, kind);
  check_content_size(h, name, max_content_size);
  const std::byte* frame = file.data() + kHeaderSize;
  const std::size_t frame_size = static_cast<std::size_t>(h.compressed_size);
  check_frame_header({frame, frame_size}, h, name, kind);
  const std::size_t frame_len = ZSTD_findFrameCompressedSize(frame, frame_size);
  if (ZSTD_isError(frame_len) || frame_len != frame_size)
    corrupt(name, "the zstd frame is truncated or followed by extra bytes", kind);

  AlignedBytes out;
  out.size = static_cast<std::size_t>(h.content_size);
  out.storage = {huge_buffer<std::uint8_t>(out.size).release(), std::free};
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (!dctx) throw Error(Status::OutOfMemory, "zstd: cannot create a decompression context");
  const std::size_t n = ZSTD_decompressDCtx(dctx, out.storage.get(), out.size, frame, frame_size);
  ZSTD_freeDCtx(dctx);
  if (ZSTD_isError(n)) corrupt(name, std::string("zstd: ") + ZSTD_getErrorName(n), kind);  // includes checksum errors
  if (n != out.size) corrupt(name, "decompressed " + std::to_string(n) + " bytes, expected " + std::to_string(out.size), kind);
  out.container_version = h.container_version;
  return out;
}

int open_for_reading(const std::string& path, struct stat& st) {
  if (path.empty()) throw Error(Status::BadInput, "the file path is empty");
  const std::string q = quoted(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    // A path that names nothing is the caller's mistake; a file the system will not open is its refusal.
    const bool names_nothing = e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG || e == ELOOP;
    throw Error(names_nothing ? Status::BadInput : Status::Io, q + ": cannot open: " + std::strerror(e));
  }
  const auto fail = [&](Status status, const std::string& what) {
    ::close(fd);
    throw Error(status, q + what);
  };
  if (::fstat(fd, &st) != 0) fail(Status::Io, std::string(": cannot read its status: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail(Status::BadInput, ": is a directory, not a file");
  return fd;
}

std::vector<std::byte> read_file_bytes(const std::string& path, std::uint64_t max_bytes) {
  struct stat st {};
  const int fd = open_for_reading(path, st);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } const closer{fd};
  return read_open_file(fd, st, path, max_bytes);
}

std::vector<std::byte> read_open_file(int fd, const struct stat& st, const std::string& path, std::uint64_t max_bytes) {
  const std::string q = quoted(path);
  const auto too_big = [&] {
    return Error(Status::OutOfMemory, q + ": is larger than the " + std::to_string(max_bytes) + "-byte limit");
  };
  // Read to the end, whatever the size says: a pipe has none and a procfs file says 0. A regular file's size
  // only sizes the first allocation.
  std::vector<std::byte> bytes;
  if (S_ISREG(st.st_mode)) {
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) throw too_big();
    bytes.resize(static_cast<std::size_t>(st.st_size) + 1);  // + 1: the read that finds the end
  }
  std::size_t used = 0;
  for (;;) {
    if (used == bytes.size()) {
      if (used > max_bytes) throw too_big();
      bytes.resize(static_cast<std::size_t>(std::min<std::uint64_t>(std::max<std::size_t>(used * 2, 1 << 16), max_bytes + 1)));
    }
    const ssize_t n = ::read(fd, bytes.data() + used, bytes.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(Status::Io, q + ": read failed after " + std::to_string(used) + " bytes: " + std::strerror(errno));
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > max_bytes) throw too_big();
  bytes.resize(used);
  return bytes;
}

}  // namespace autorec
