// A bound on how long a process waits inside one collective call (issue 20, faults). A process that died
// ends the run through the launcher, but one that hangs or is stopped (SIGSTOP, a stuck disk, a debugger)
// leaves the others waiting inside MPI for ever, and MPI's collectives take no timeout. The watchdog's
// thread watches the call in progress and, past the limit, says which call waited how long and ends this
// process, which the launcher sees as a process lost and ends the run.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace autorec::train {

class CallWatchdog {
 public:
  // What the watchdog does past the limit: by default, writes `who`: error: ... to stderr and ends the
  // process with exit code 1 (std::_Exit: the stuck call cannot be unwound). Tests pass their own.
  using Expiry = std::function<void(const std::string& message)>;
  CallWatchdog(double limit_seconds, std::string who, Expiry on_expiry = {});
  ~CallWatchdog();  // stops the thread
  CallWatchdog(const CallWatchdog&) = delete;
  CallWatchdog& operator=(const CallWatchdog&) = delete;

  // Around one collective call: enter names it (a string literal) and starts its clock; leave stops it.
  void enter(const char* call);
  void leave();
  double limit() const { return limit_; }

 private:
  void watch();

  const double limit_;
  const std::string who_;
  Expiry on_expiry_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  const char* call_ = nullptr;          // the call in progress, or null
  std::chrono::steady_clock::time_point since_;
  std::thread thread_;
};

// RAII for CallWatchdog::enter / leave; a null watchdog watches nothing.
class WatchedCall {
 public:
  WatchedCall(CallWatchdog* w, const char* call) : w_(w) { if (w_) w_->enter(call); }
  ~WatchedCall() { if (w_) w_->leave(); }
  WatchedCall(const WatchedCall&) = delete;
  WatchedCall& operator=(const WatchedCall&) = delete;

 private:
  CallWatchdog* w_;
};

}  // namespace autorec::train
