// The processes of a distributed training run over MPI (issue 20): autorec-train started by mpirun (or any
// MPI launcher) trains its share of the rows and sums with the others through this Collective.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "autorec/train/call_watchdog.hpp"
#include "autorec/train/collective.hpp"

namespace autorec::dist {

// Whether an MPI launcher started this process (the variables mpirun, srun or hydra set for it). Without
// one, autorec-train never initialises MPI and trains alone, exactly as a build without MPI.
bool launched_by_mpi();

class MpiWorld final : public train::Collective {
 public:
  // MPI_Init_thread, at the "funneled" level: only the thread that drives the trainer communicates. Errors
  // of every later call come back as codes and are thrown as autorec::Error (Io) naming the call.
  MpiWorld(int* argc, char*** argv);
  ~MpiWorld() override;  // MPI_Finalize
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* transport() const override { return "MPI"; }
  void sum(std::span<float> data) override;
  void sum(std::span<double> data) override;
  void gather(std::span<const float> local, std::span<const std::size_t> counts, std::span<float> out) override;
  std::uint64_t bytes_sent() const override { return sent_; }
  double seconds() const override { return seconds_; }

  // From now on no call waits longer than `limit_seconds` (train::CallWatchdog; messages start with `who`);
  // 0 = no bound.
  void bound_calls(double limit_seconds, const std::string& who);

  // Ends every process of the run now, with `code`: for a process that fails while the others may be waiting
  // in a sum, which would otherwise wait for ever.
  [[noreturn]] void abort(int code);

 private:
  int rank_ = 0, size_ = 1;
  std::uint64_t sent_ = 0;
  double seconds_ = 0;
  std::unique_ptr<train::CallWatchdog> watchdog_;
};

}  // namespace autorec::dist
