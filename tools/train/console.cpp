// autorec-train's printing of the pipeline's reports (console.hpp).
#include "console.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace autorec::tools {

void ConsoleObserver::finish() {
  if (line_open_) std::printf("\n");
  line_open_ = false;
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
  if (!line_open_) stage_seconds_ = 0, stage_epochs_ = 0;  // a new stage
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
  line_open_ = true;
}

}  // namespace autorec::tools
