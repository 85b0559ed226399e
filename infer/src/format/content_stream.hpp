// A container's content (autorec/container.hpp has the layout), decompressed front to back in pieces from a
// file or from a file's bytes in memory. The model reader copies each tensor straight to where the model
// keeps it, so loading holds the model and its FlatBuffer, never the whole content (and, from a file, never
// the compressed bytes either): a 2 GB model loads in about 2 GB rather than three times that.
#pragma once

#include <sys/stat.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "autorec/container.hpp"

namespace autorec {

// Shared with unpack_container (container.cpp), so that both readers refuse the same files with the same words.
// Refuses a content larger than the caller's ceiling (OutOfMemory) before anything is allocated.
void check_content_size(const ContainerHeader& h, std::string_view name, std::uint64_t max_content_size);
// The zstd frame, from its first bytes: it records its content size, and that is the header's.
void check_frame_header(std::span<const std::byte> frame_start, const ContainerHeader& h, std::string_view name,
                        FileKind kind);
// An open descriptor of the file and its status; read_file_bytes' errors (BadInput, Io) otherwise.
int open_for_reading(const std::string& path, struct stat& st);
// read_file_bytes of a file already open (which stays open): a pipe can be opened only once.
std::vector<std::byte> read_open_file(int fd, const struct stat& st, const std::string& path, std::uint64_t max_bytes);

class ContentStream {
 public:
  // The bytes of a whole file, which must outlive the stream. `name` is used in error messages as given.
  // Checks the header and the zstd frame's header (its recorded content size) as unpack_container does.
  ContentStream(std::span<const std::byte> file, std::string name, std::uint64_t max_content_size,
                FileKind kind = FileKind::Model);
  // A file read as it is decompressed; one that is not a regular file (a pipe) is read into memory first.
  static ContentStream open(const std::string& path, std::uint64_t max_content_size, FileKind kind = FileKind::Model);
  ContentStream(ContentStream&& other) noexcept;
  ContentStream& operator=(ContentStream&&) = delete;
  ContentStream(const ContentStream&) = delete;
  ~ContentStream();

  std::uint32_t container_version() const { return header_.container_version; }
  std::uint32_t schema_version() const { return header_.schema_version; }
  std::uint64_t size() const { return header_.content_size; }
  std::uint64_t position() const { return position_; }
  const std::string& name() const { return name_; }

  // The next n bytes of the content. Corrupt when the frame ends (or the file does) before them.
  void read(void* dst, std::size_t n);
  // To `offset` of the content (at most size()): forward by decompressing, backward by starting again.
  void seek(std::uint64_t offset);
  // Decompresses what is left and checks the frame's checksum and that the file ends with the frame; a
  // reader calls it before it trusts anything it read. It releases the file and the decompressor: no read or
  // seek may follow.
  void finish();
  // Bytes a stream may decompress again, beyond twice its content, for tensors out of order (seek).
  static constexpr std::uint64_t kReplaySlack = std::uint64_t{16} << 20;

 private:
  ContentStream(std::string name, FileKind kind);
  void start();                              // at the frame's first byte, content position 0
  void check_frame_header();                 // the frame records the content size the header gives
  bool refill();                             // more compressed input from the file; false at its end
  bool at_end_of_input() const;              // nothing more to give zstd
  std::size_t step(ZSTD_outBuffer& out);     // one call of the decompressor; its hint, 0 at the frame's end
  [[noreturn]] void corrupt(const std::string& what) const;

  std::string name_;
  FileKind kind_;
  ContainerHeader header_;
  std::vector<std::byte> owned_;     // a file that could not be streamed, read whole
  std::span<const std::byte> file_;  // the whole file, when it is in memory
  int fd_ = -1;                      // else the file, read in pieces into input_
  std::vector<std::byte> input_;
  std::uint64_t frame_read_ = 0;     // bytes of the frame read from fd_ so far
  ZSTD_inBuffer in_{nullptr, 0, 0};
  ZSTD_DCtx* dctx_ = nullptr;
  std::uint64_t position_ = 0;
  std::uint64_t replayed_ = 0;  // content decompressed again after seeks backward
  bool frame_done_ = false;
};

}  // namespace autorec
