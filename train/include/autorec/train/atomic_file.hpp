// Files that appear whole or not at all: written under a temporary name in the same folder, synced, then
// renamed over the target. A model or checkpoint file is never left half-written.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "autorec/container.hpp"

namespace autorec::train {

// The file being written. Until commit() the previous file at `path`, if any, is untouched; a file
// destroyed before commit() (an exception on the way) removes its temporary file. Errors are
// autorec::Error(Io) naming the path and the system's reason. As a ContainerSink a container is written
// into it as it is compressed.
class AtomicFile final : public ContainerSink {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile() override;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void append(std::span<const std::byte> bytes) override;
  void put_header(std::span<const std::byte> header) override;  // at offset 0
  // fsync, rename over the target, fsync of the folder.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what);

  std::string path_, dir_, tmp_;
  int fd_ = -1;
};

// Writes bytes to path atomically (an AtomicFile written at once).
void write_file_atomic(const std::string& path, std::span<const std::byte> bytes);

}  // namespace autorec::train
