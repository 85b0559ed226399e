// What autorec-train prints while the pipeline runs (an autorec::train::Observer).
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include "autorec/train/pipeline.hpp"

namespace autorec::tools {

// The pipeline's account and epochs on stdout (nothing with --quiet), warnings on stderr, one JSON line per
// epoch to the --metrics file. On a terminal the epochs of a stage share one line that is rewritten after
// each epoch (loss, RMSEs, time per epoch and the time left), and reading a large file shows its progress,
// rate and time left on a line of its own; in a pipe or a file each epoch gets a line of its own, as scripts
// and logs read them, and reading prints nothing until the data line.
class ConsoleObserver : public train::Observer {
 public:
  ConsoleObserver(bool quiet, bool terminal, std::ofstream* metrics)
      : quiet_(quiet), terminal_(terminal), metrics_(metrics) {}
  void info(const std::string& line) override;
  void warning(const std::string& line) override;
  void reading(std::string_view source, std::uint64_t done, std::uint64_t total, double seconds) override;
  void epoch(std::string_view stage, const train::EpochStats& s, std::uint32_t epochs) override;
  // Ends an open progress line (before the caller prints its summary).
  void finish();

 private:
  bool quiet_, terminal_;
  std::ofstream* metrics_;
  // The terminal's last line is being rewritten: by reading(), or by epoch() for the current stage.
  enum class Open : std::uint8_t { None, Reading, Epochs } open_ = Open::None;
  double stage_seconds_ = 0;  // of the epochs shown so far in this stage
  std::uint32_t stage_epochs_ = 0;
};

}  // namespace autorec::tools
