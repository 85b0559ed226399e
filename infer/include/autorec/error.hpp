// autorec::Error: the one exception type the libraries throw for bad input and failed I/O.
// Messages name the source (file or buffer), the line or field, and the offending value.
#pragma once

#include <stdexcept>
#include <string>

namespace autorec {

// Stable status numbers, shared with the C API that wraps this library. Never renumber.
enum class Status : int {
  Ok = 0,
  BadInput = -1,     // malformed data or arguments given by the caller
  Corrupt = -2,      // a model file that fails a check (magic, checksum, verifier, semantics)
  Unsupported = -3,  // a valid file or request this build cannot serve (newer version, no CUDA, ...)
  Io = -4,           // the operating system refused a read or write
  OutOfMemory = -5,  // an allocation would exceed a limit or the machine
  Internal = -6,     // a bug: an invariant did not hold
  Diverged = -7,     // training: the loss, an RMSE or a weight stopped being finite (settings too aggressive
                     // for the data, e.g. the learning rate); only the trainer returns it, never the C API
};

const char* status_name(Status s) noexcept;

class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  Status status() const noexcept { return status_; }

 private:
  Status status_;
};

}  // namespace autorec
