// CallWatchdog (issue 20, faults): a call that outlasts the limit is reported, naming the call and the
// limit; calls within it, and the time between calls, never are. The expiry here records instead of ending
// the process (the default, which tests/dist/mpi_test.sh covers under mpirun with a stopped rank).
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "autorec/train/call_watchdog.hpp"

namespace at = autorec::train;
using namespace std::chrono_literals;

namespace {

// What the watchdog reported, for the test thread to wait on.
struct Reports {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> messages;
  at::CallWatchdog::Expiry expiry() {
    return [this](const std::string& m) {
      {
        std::lock_guard lock(mutex);
        messages.push_back(m);
      }
      changed.notify_all();
    };
  }
  bool wait_for_one(std::chrono::seconds limit) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, [&] { return !messages.empty(); });
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(call_watchdog)

BOOST_AUTO_TEST_CASE(a_call_past_the_limit_is_reported_with_its_name_and_the_limit) {
  Reports reports;
  at::CallWatchdog watchdog(0.25, "autorec-train[rank 1]", reports.expiry());
  {
    const at::WatchedCall call(&watchdog, "MPI_Allreduce");
    BOOST_TEST_REQUIRE(reports.wait_for_one(60s));  // generous: the limit is 0.25 s
  }
  std::lock_guard lock(reports.mutex);
  BOOST_TEST_REQUIRE(reports.messages.size() == 1u);  // once per call, not once per tick
  const std::string& m = reports.messages[0];
  BOOST_TEST(m.find("autorec-train[rank 1]: error: no answer from the other processes for 0.25 s inside MPI_Allreduce") == 0u);
  BOOST_TEST(m.find("--dist-timeout") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(calls_within_the_limit_and_idle_time_are_not_reported) {
  Reports reports;
  {
    at::CallWatchdog watchdog(1.0, "rank 0", reports.expiry());
    // Many short calls adding up to more than the limit: each call's clock starts at its own enter.
    for (int i = 0; i < 150; ++i) {
      const at::WatchedCall call(&watchdog, "MPI_Allreduce");
      std::this_thread::sleep_for(10ms);
    }
    std::this_thread::sleep_for(1500ms);  // no call in progress: nothing to watch
  }  // the destructor stops the thread
  std::lock_guard lock(reports.mutex);
  BOOST_TEST(reports.messages.empty());
}

BOOST_AUTO_TEST_SUITE_END()
