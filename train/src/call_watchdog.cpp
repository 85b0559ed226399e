// CallWatchdog (call_watchdog.hpp): one thread that sleeps until the call in progress passes its limit.
#include "autorec/train/call_watchdog.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace autorec::train {

CallWatchdog::CallWatchdog(double limit_seconds, std::string who, Expiry on_expiry)
    : limit_(limit_seconds), who_(std::move(who)), on_expiry_(std::move(on_expiry)) {
  if (!on_expiry_)
    on_expiry_ = [](const std::string& message) {
      std::fprintf(stderr, "%s\n", message.c_str());
      std::fflush(stderr);
      std::_Exit(1);
    };
  thread_ = std::thread([this] { watch(); });
}

CallWatchdog::~CallWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void CallWatchdog::enter(const char* call) {
  {
    std::lock_guard lock(mutex_);
    call_ = call;
    since_ = std::chrono::steady_clock::now();
  }
  wake_.notify_all();
}

void CallWatchdog::leave() {
  std::lock_guard lock(mutex_);
  call_ = nullptr;
}

void CallWatchdog::watch() {
  const auto limit = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(limit_));
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!call_) {
      wake_.wait(lock);  // until a call starts, or the end
      continue;
    }
    const auto since = since_;
    if (wake_.wait_until(lock, since + limit, [&] { return stopping_ || !call_ || since_ != since; })) continue;
    // The same call, still in progress, for the whole limit.
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", limit_);
    std::string message = who_;
    message += ": error: no answer from the other processes for ";
    message += seconds;
    message += " s inside ";
    message += call_;
    message += " (one of them hung or was stopped; --dist-timeout); ending this process so that the launcher ends the run";
    call_ = nullptr;
    lock.unlock();
    on_expiry_(message);
    lock.lock();
  }
}

}  // namespace autorec::train
