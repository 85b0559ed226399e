// The container's content decompressed in pieces: see content_stream.hpp.
#include "content_stream.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "autorec/error.hpp"
#include "autorec/text.hpp"

namespace autorec {

ContentStream::ContentStream(std::string name, FileKind kind) : name_(std::move(name)), kind_(kind) {
  dctx_ = ZSTD_createDCtx();
  if (!dctx_) throw Error(Status::OutOfMemory, name_ + ": zstd: cannot create a decompression context");
}

ContentStream::ContentStream(std::span<const std::byte> file, std::string name, std::uint64_t max_content_size,
                             FileKind kind)
    : ContentStream(std::move(name), kind) {
  file_ = file;
  header_ = read_container_header(file, name_, kind_);
  check_content_size(header_, name_, max_content_size);
  start();
  check_frame_header();
}

ContentStream ContentStream::open(const std::string& path, std::uint64_t max_content_size, FileKind kind) {
  struct stat st {};
  const int fd = open_for_reading(path, st);
  if (!S_ISREG(st.st_mode) || st.st_size == 0) {
    // A pipe cannot start again (a reader seeking backwards needs that), and a file whose size says 0 (procfs)
    // may hold more: read it whole, within the limit (a zstd frame can be a little larger than its content:
    // room for that and the header).
    std::vector<std::byte> bytes;
    try {
      const std::uint64_t room = max_content_size / 128 + (1 << 16), most = ~std::uint64_t{0};
      bytes = read_open_file(fd, st, path, max_content_size > most - room ? most : max_content_size + room);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    ContentStream s(std::span<const std::byte>(bytes), quoted(path), max_content_size, kind);
    s.owned_ = std::move(bytes);  // a vector's move keeps its storage, so file_ stays valid
    return s;
  }
  std::optional<ContentStream> made;
  try {
    made.emplace(ContentStream(quoted(path), kind));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ContentStream& s = *made;
  s.fd_ = fd;  // closed by s from here on
  std::byte first[kHeaderSize];
  ssize_t n;
  while ((n = ::pread(fd, first, kHeaderSize, 0)) < 0 && errno == EINTR) {
  }
  if (n < 0) throw Error(Status::Io, s.name_ + ": read failed at offset 0: " + std::strerror(errno));
  s.header_ = read_container_header({first, static_cast<std::size_t>(n)}, static_cast<std::uint64_t>(st.st_size),
                                    s.name_, kind);
  check_content_size(s.header_, s.name_, max_content_size);
  s.input_.resize(ZSTD_DStreamInSize());
  s.start();
  s.check_frame_header();
  return std::move(s);
}

ContentStream::ContentStream(ContentStream&& o) noexcept
    : name_(std::move(o.name_)), kind_(o.kind_), header_(o.header_), owned_(std::move(o.owned_)), file_(o.file_),
      fd_(std::exchange(o.fd_, -1)), input_(std::move(o.input_)), frame_read_(o.frame_read_), in_(o.in_),
      dctx_(std::exchange(o.dctx_, nullptr)), position_(o.position_), replayed_(o.replayed_), frame_done_(o.frame_done_) {
  // in_ points into input_, whose storage moved with it.
}

ContentStream::~ContentStream() {
  if (fd_ >= 0) ::close(fd_);
  ZSTD_freeDCtx(dctx_);
}

void ContentStream::corrupt(const std::string& what) const {
  throw Error(Status::Corrupt, name_ + ": not a valid autorec " + (kind_ == FileKind::Model ? "model" : "checkpoint") +
                                   ": " + what);
}

void ContentStream::start() {
  if (!dctx_) throw Error(Status::Internal, name_ + ": read after finish()");
  ZSTD_DCtx_reset(dctx_, ZSTD_reset_session_only);
  position_ = 0;
  frame_done_ = false;
  if (fd_ < 0) {
    in_ = {file_.data() + kHeaderSize, static_cast<std::size_t>(header_.compressed_size), 0};
  } else {
    frame_read_ = 0;
    in_ = {input_.data(), 0, 0};
    refill();
  }
}

void ContentStream::check_frame_header() {
  autorec::check_frame_header({static_cast<const std::byte*>(in_.src), in_.size}, header_, name_, kind_);
}

bool ContentStream::refill() {
  if (fd_ < 0 || frame_read_ == header_.compressed_size) return false;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(input_.size(), header_.compressed_size - frame_read_));
  for (;;) {
    const ssize_t n = ::pread(fd_, input_.data(), want, static_cast<off_t>(kHeaderSize + frame_read_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(Status::Io, name_ + ": read failed after " + std::to_string(frame_read_) + " bytes: " + std::strerror(errno));
    if (n == 0) corrupt("the file ended after " + std::to_string(kHeaderSize + frame_read_) + " bytes while being read");
    frame_read_ += static_cast<std::uint64_t>(n);
    in_ = {input_.data(), static_cast<std::size_t>(n), 0};
    return true;
  }
}

bool ContentStream::at_end_of_input() const {
  return in_.pos == in_.size && (fd_ < 0 || frame_read_ == header_.compressed_size);
}

std::size_t ContentStream::step(ZSTD_outBuffer& out) {
  if (!dctx_) throw Error(Status::Internal, name_ + ": read after finish()");
  if (in_.pos == in_.size) refill();
  const std::size_t out_before = out.pos, in_before = in_.pos;
  const std::size_t hint = ZSTD_decompressStream(dctx_, &out, &in_);
  if (ZSTD_isError(hint)) corrupt(std::string("zstd: ") + ZSTD_getErrorName(hint));  // includes checksum errors
  if (hint == 0) frame_done_ = true;
  else if (out.pos == out_before && in_.pos == in_before && at_end_of_input())
    corrupt("the zstd frame is truncated (it stops " + std::to_string(position_ + out.pos) + " bytes into the " +
            std::to_string(header_.content_size) + "-byte content)");
  return hint;
}

void ContentStream::read(void* dst, std::size_t n) {
  if (n > header_.content_size - position_)
    corrupt("a read of " + std::to_string(n) + " bytes at content offset " + std::to_string(position_) +
            " passes the end of the " + std::to_string(header_.content_size) + "-byte content");
  ZSTD_outBuffer out{dst, n, 0};
  while (out.pos < out.size) {
    if (frame_done_)
      corrupt("the zstd frame ends " + std::to_string(position_ + out.pos) + " bytes into the " +
              std::to_string(header_.content_size) + "-byte content it records");
    step(out);
  }
  position_ += n;
}

void ContentStream::seek(std::uint64_t offset) {
  if (offset > header_.content_size)
    corrupt("content offset " + std::to_string(offset) + " is past the " + std::to_string(header_.content_size) +
            "-byte content");
  if (offset < position_) {
    // Writers place tensors in the order they are read; another order costs a pass from the start for each
    // step back. A bound on those passes keeps a small crafted file from costing many times its content.
    replayed_ += position_;
    const std::uint64_t size = header_.content_size, most = ~std::uint64_t{0};
    if (replayed_ > (size > (most - kReplaySlack) / 2 ? most : 2 * size + kReplaySlack))
      corrupt("its data section is out of order: reading it would decompress the " +
              std::to_string(header_.content_size) + "-byte content again more than twice over");
    start();
  }
  std::byte scratch[1 << 14];
  while (position_ < offset) read(scratch, static_cast<std::size_t>(std::min<std::uint64_t>(sizeof scratch, offset - position_)));
}

void ContentStream::finish() {
  seek(header_.content_size);
  // The content is complete; the frame may still hold its checksum, which zstd checks as it reaches it.
  std::byte extra;
  while (!frame_done_) {
    ZSTD_outBuffer out{&extra, 1, 0};
    step(out);
    if (out.pos) corrupt("the zstd frame holds more than the " + std::to_string(header_.content_size) + " bytes it records");
  }
  if (!at_end_of_input()) corrupt("the zstd frame is truncated or followed by extra bytes");
  // Nothing follows: the decompressor's window and the file go now, not when the reader is done.
  ZSTD_freeDCtx(std::exchange(dctx_, nullptr));
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  input_ = {};
}

}  // namespace autorec
