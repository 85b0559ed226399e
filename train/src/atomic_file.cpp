// AtomicFile (atomic_file.hpp): a temporary file beside the target, renamed over it once complete.
#include "autorec/train/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "autorec/error.hpp"

namespace autorec::train {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  const std::filesystem::path target(path_);
  dir_ = target.has_parent_path() ? target.parent_path().string() : std::string(".");
  tmp_ = dir_ + "/." + target.filename().string() + ".tmp.XXXXXX";
  fd_ = ::mkstemp(tmp_.data());
  if (fd_ < 0)
    throw Error(Status::Io, path_ + ": cannot create a temporary file in " + dir_ + ": " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

void AtomicFile::fail(const std::string& what) {
  const int err = errno;
  ::close(fd_);
  ::unlink(tmp_.c_str());
  fd_ = -1;
  throw Error(Status::Io, path_ + ": " + what + ": " + std::strerror(err) + " (the previous file, if any, is untouched)");
}

void AtomicFile::append(std::span<const std::byte> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    done += static_cast<std::size_t>(n);
  }
}

void AtomicFile::put_header(std::span<const std::byte> header) {
  std::size_t done = 0;
  while (done < header.size()) {
    const ssize_t n = ::pwrite(fd_, header.data() + done, header.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    done += static_cast<std::size_t>(n);
  }
}

void AtomicFile::commit() {
  if (::fchmod(fd_, 0644) != 0) fail("chmod failed");
  if (::fsync(fd_) != 0) fail("fsync failed");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    throw Error(Status::Io, path_ + ": close failed: " + std::strerror(err));
  }
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_.c_str());
    throw Error(Status::Io, path_ + ": rename failed: " + std::strerror(err));
  }
  // Make the rename itself durable.
  const int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::span<const std::byte> bytes) {
  AtomicFile file(path);
  file.append(bytes);
  file.commit();
}

}  // namespace autorec::train
