// The processes of a distributed run, as the row-sharded CPU trainer sees them (issue 20): sums and gathers
// over all of them. The trainer makes these calls; an implementation carries them (dist/: MPI). They are
// collectives: every process makes the same calls, in the same order, with the same sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace autorec::train {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;  // this process, 0 .. size() - 1
  virtual int size() const = 0;
  virtual const char* transport() const = 0;  // "MPI", for the run's account
  // In place: every process ends with the element-wise sum over all processes.
  virtual void sum(std::span<float> data) = 0;
  virtual void sum(std::span<double> data) = 0;
  // Process 0 ends with the concatenation, in rank order, of every process's `local`; counts[p] is process
  // p's number of elements (the same list on every process). On process 0 `out` holds their total; on the
  // others it is empty (only process 0 writes files, so only it ever holds every row).
  virtual void gather(std::span<const float> local, std::span<const std::size_t> counts, std::span<float> out) = 0;
  // Bytes this process has handed to sum and gather so far (the run's communication volume), and the
  // seconds it spent inside those calls (moving data, and waiting for the slowest process).
  virtual std::uint64_t bytes_sent() const = 0;
  virtual double seconds() const = 0;
};

}  // namespace autorec::train
