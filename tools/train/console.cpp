// autorec-train's printing of the pipeline's reports (console.hpp).
#include "console.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace autorec::tools {

void ConsoleObserver::finish() {
  if (open_ != Open::None) std::printf("\n");
  open_ = Open::None;
  std::fflush(stdout);
}

void ConsoleObserver::info(const std::string& line) {
  if (quiet_) return;
  finish();
  std::printf("%s\n", line.c_str());
}

void ConsoleObserver::warning(const std::string& line) {
  finish();
  std::fprintf(stderr, "autorec-train: %s\n", line.c_str());
}

void ConsoleObserver::reading(std::string_view source, std::uint64_t done, std::uint64_t total, double seconds) {
  // Files under this size parse in well under a second: no line for them.
  constexpr std::uint64_t kLargeFile = std::uint64_t{64} << 20;
  if (quiet_ || !terminal_ || total < kLargeFile) return;
  const double mb = 1e-6, rate = seconds > 0 ? double(done) / seconds : 0;
  std::printf("\r\033[Kreading %.*s: ", static_cast<int>(source.size()), source.data());
  if (done < total)
    std::printf("%.0f%%  %.0f of %.0f MB  %.0f MB/s  left %.0f s", 100.0 * double(done) / double(total),
                double(done) * mb, double(total) * mb, rate * mb, rate > 0 ? double(total - done) / rate : 0.0);
  else
    std::printf("%.0f MB in %.1f s (%.0f MB/s)", double(total) * mb, seconds, rate * mb);
  std::fflush(stdout);
  open_ = Open::Reading;
}

void ConsoleObserver::epoch(std::string_view stage, const train::EpochStats& s, std::uint32_t epochs) {
  if (metrics_ && metrics_->is_open())
    *metrics_ << nlohmann::json{{"epoch", s.epoch}, {"loss", s.loss}, {"train_rmse", s.train_rmse},
                                {"val_rmse", s.val_rmse < 0 ? nlohmann::json() : nlohmann::json(s.val_rmse)},
                                {"seconds", s.seconds}, {"ratings_per_s", s.ratings_per_s}}.dump()
              << '\n' << std::flush;
  if (quiet_) return;
  if (!terminal_) {
    std::printf("epoch %3u/%u  loss %.6f  train_rmse %.4f", s.epoch, epochs, s.loss, s.train_rmse);
    if (s.val_rmse >= 0) std::printf("  val_rmse %.4f", s.val_rmse);
    std::printf("  %.3f s  %.3g ratings/s\n", s.seconds, s.ratings_per_s);
    std::fflush(stdout);
    return;
  }
  if (open_ != Open::Epochs) finish(), stage_seconds_ = 0, stage_epochs_ = 0;  // a new stage
  stage_seconds_ += s.seconds;
  ++stage_epochs_;
  // The time left at the stage's mean epoch time (early stopping may end it sooner).
  const double left = stage_seconds_ / stage_epochs_ * double(epochs > s.epoch ? epochs - s.epoch : 0);
  std::printf("\r\033[K%.*s epoch %u/%u  loss %.6f  train_rmse %.4f", static_cast<int>(stage.size()), stage.data(),
              s.epoch, epochs, s.loss, s.train_rmse);
  if (s.val_rmse >= 0) std::printf("  val_rmse %.4f", s.val_rmse);
  std::printf("  %.2f s/epoch  %.3g ratings/s  %s %.0f s", s.seconds, s.ratings_per_s,
              s.epoch < epochs ? "left" : "done,", s.epoch < epochs ? left : stage_seconds_);
  std::fflush(stdout);
  open_ = Open::Epochs;
}

}  // namespace autorec::tools
