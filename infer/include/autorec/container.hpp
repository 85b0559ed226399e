// The on-disk container of model.fb: a fixed 32-byte header, then one zstd frame holding the content.
//
// Layout (all numbers little-endian):
//   offset  size  field
//        0     8  magic "AUTOREC\x1a" (the 0x1a stops `type` on some terminals and marks a binary file)
//        8     4  container version (kContainerVersion)
//       12     4  schema version of the FlatBuffer inside
//       16     8  size in bytes of the zstd frame that follows (= file size - 32)
//       24     8  size in bytes of the decompressed content
//       32     -  one zstd frame, with content size and XXH64 content checksum
//
// The content, by container version:
//   1  the Model FlatBuffer, nothing else.
//   2  the Model FlatBuffer with its 4-byte size prefix, then the data section: it starts at the first
//      64-byte boundary after the FlatBuffer and holds the tensor bytes too large to live inside it
//      (FlatBuffers addresses at most 2 GiB). Buffer.offset counts from the start of the data section.
//
// A reader checks magic, versions and both sizes against the real size and its own ceiling before it
// decompresses a single byte, then lets zstd verify the checksum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace autorec {

inline constexpr char kMagic[8] = {'A', 'U', 'T', 'O', 'R', 'E', 'C', '\x1a'};
// The same container holds autorec-train's checkpoints under their own magic, so that neither kind of file
// is ever mistaken for the other.
inline constexpr char kCheckpointMagic[8] = {'A', 'R', 'C', 'K', 'P', 'T', '\x1a', '\0'};
enum class FileKind : std::uint8_t { Model, Checkpoint };
inline constexpr std::uint32_t kContainerVersion = 2;
inline constexpr std::size_t kDataAlignment = 64;

inline constexpr std::uint64_t align_up(std::uint64_t x, std::uint64_t a) { return (x + a - 1) / a * a; }
// Offset of the data section in container-2 content whose size-prefixed FlatBuffer takes `flatbuffer_bytes`
// (prefix included). The offset is 64-byte aligned within the content; the reader copies tensors out, so the
// alignment of the content in memory does not matter.
inline constexpr std::uint64_t data_section_start(std::uint64_t flatbuffer_bytes) {
  return align_up(flatbuffer_bytes, kDataAlignment);
}
// What a FlatBuffer may hold (it addresses at most 2 GiB), with room for the tables around the vectors.
inline constexpr double kFlatBufferBudget = 1.9e9;
inline constexpr std::size_t kHeaderSize = 32;
// The highest schema version this build reads and writes (schema/autorec.fbs history). A writer puts the
// lowest version that reads its file correctly: kSchemaVersion only when the file uses what it added.
inline constexpr std::uint32_t kSchemaVersion = 5;
inline constexpr std::uint32_t kSchemaVersionPlainInput = 2;  // what a model reading plain ratings needs
inline constexpr std::uint32_t kSchemaVersionInputRule = 3;   // an input offset or norm, in 1-5 star units
inline constexpr std::uint32_t kSchemaVersionUnits = 4;       // other units than 1-5 stars, or a baseline

struct ContainerHeader {
  std::uint32_t container_version = 0;
  std::uint32_t schema_version = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t content_size = 0;
};

// Where a ContainerWriter puts a file: its bytes in order from the start (the header's 32 first, zero), then
// the header again, to be put over those zeros once the frame's size is known. A file on disk takes it with
// pwrite; memory, by copying.
class ContainerSink {
 public:
  virtual ~ContainerSink() = default;
  virtual void append(std::span<const std::byte> bytes) = 0;
  virtual void put_header(std::span<const std::byte> header) = 0;
};

// Compresses a content of a size known in advance, given in pieces of any size, into a sink: a file is
// written as it is compressed, without its content or its compressed bytes whole in memory.
class ContainerWriter {
 public:
  ContainerWriter(ContainerSink& sink, std::uint64_t content_size, int zstd_level,
                  std::uint32_t container_version = kContainerVersion, FileKind kind = FileKind::Model,
                  std::uint32_t schema_version = kSchemaVersion);
  ~ContainerWriter();
  ContainerWriter(const ContainerWriter&) = delete;
  ContainerWriter& operator=(const ContainerWriter&) = delete;

  void write(std::span<const std::uint8_t> piece);
  // Ends the frame and puts the header; Internal when the pieces did not add up to the content size.
  void finish();

 private:
  void drain(const void* data, std::size_t size, int mode);

  ContainerSink& sink_;
  std::vector<std::byte> chunk_;  // (before the context: if it cannot be allocated, no context was made)
  void* cctx_;                    // ZSTD_CCtx, kept out of this header
  std::uint64_t content_size_, written_ = 0, compressed_ = 0;
  std::uint32_t container_version_, schema_version_;
  FileKind kind_;
};

// The container file at `path` compressed again into a sink, its content passed through `edit` in pieces
// (each with its offset in the content), which may change bytes but not sizes: a writer that patches a field
// of a file it wrote (the trainer's test RMSE) holds neither file whole. The source's checksum is checked
// before the sink's header is put; Corrupt names `path`.
void recompress_container(const std::string& path, ContainerSink& sink, int zstd_level,
                          const std::function<void(std::uint64_t offset, std::span<std::uint8_t> piece)>& edit,
                          FileKind kind = FileKind::Model);

// Compresses the content, given as consecutive parts, into a complete file image (header + zstd frame with
// checksum). The parts are streamed through zstd, never concatenated.
std::vector<std::byte> pack_container(std::span<const std::span<const std::uint8_t>> content, int zstd_level,
                                      std::uint32_t container_version = kContainerVersion,
                                      FileKind kind = FileKind::Model, std::uint32_t schema_version = kSchemaVersion);

// Reads and checks the header only. `name` is used in error messages.
ContainerHeader read_container_header(std::span<const std::byte> file, std::string_view name,
                                      FileKind kind = FileKind::Model);
// The same for a file of file_size bytes, of which `first` holds at least the first 32.
ContainerHeader read_container_header(std::span<const std::byte> first, std::uint64_t file_size,
                                      std::string_view name, FileKind kind = FileKind::Model);

// Checks the header, decompresses and verifies the checksum. Throws autorec::Error (Corrupt, Unsupported,
// OutOfMemory) naming `name` and the failing field. The result is 8-byte aligned data.
struct AlignedBytes {
  // Not zero-filled (the decompressor writes every byte); the start is aligned to 2 MiB.
  std::unique_ptr<std::uint8_t[], void (*)(void*)> storage{nullptr, std::free};
  std::size_t size = 0;
  std::uint32_t container_version = 0;
  const std::uint8_t* data() const { return storage.get(); }
};
AlignedBytes unpack_container(std::span<const std::byte> file, std::string_view name,
                              std::uint64_t max_content_size, FileKind kind = FileKind::Model);

// Reads a whole file into memory, to its end (pipes and procfs files too). Errors quote the path (text.hpp):
// BadInput for an empty path, one that names nothing (no such file or folder) or a directory; Io when the
// operating system refuses to open or read it (permission, device error); OutOfMemory past max_bytes.
inline constexpr std::uint64_t kMaxReadBytes = std::uint64_t{64} << 30;
std::vector<std::byte> read_file_bytes(const std::string& path, std::uint64_t max_bytes = kMaxReadBytes);

}  // namespace autorec
