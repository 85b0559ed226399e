// MpiWorld (mpi_world.hpp): the trainer's sums and gathers as MPI collectives on MPI_COMM_WORLD.
#include "autorec/dist/mpi_world.hpp"

#include <mpi.h>

#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "autorec/error.hpp"

namespace autorec::dist {
namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(Status::Io, std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

// MPI counts are ints: larger messages go in pieces of at most this many elements.
constexpr std::size_t kMaxCount = std::size_t{1} << 30;

int as_count(std::size_t n, const char* call) {
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    throw Error(Status::Unsupported, std::string(call) + ": " + std::to_string(n) + " elements do not fit MPI's int counts");
  return static_cast<int>(n);
}

template <class T>
void sum_in_pieces(std::span<T> data, MPI_Datatype type, std::uint64_t& sent, double& seconds, train::CallWatchdog* watchdog) {
  const train::WatchedCall watched(watchdog, "MPI_Allreduce");
  const double t0 = MPI_Wtime();
  for (std::size_t at = 0; at < data.size(); at += kMaxCount) {
    const std::size_t n = std::min(kMaxCount, data.size() - at);
    check(MPI_Allreduce(MPI_IN_PLACE, data.data() + at, static_cast<int>(n), type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    sent += n * sizeof(T);
  }
  seconds += MPI_Wtime() - t0;
}

}  // namespace

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}

MpiWorld::MpiWorld(int* argc, char*** argv) {
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

MpiWorld::~MpiWorld() {
  watchdog_.reset();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiWorld::sum(std::span<float> data) { sum_in_pieces(data, MPI_FLOAT, sent_, seconds_, watchdog_.get()); }
void MpiWorld::sum(std::span<double> data) { sum_in_pieces(data, MPI_DOUBLE, sent_, seconds_, watchdog_.get()); }

void MpiWorld::bound_calls(double limit_seconds, const std::string& who) {
  watchdog_.reset();
  if (limit_seconds > 0) watchdog_ = std::make_unique<train::CallWatchdog>(limit_seconds, who);
}

void MpiWorld::gather(std::span<const float> local, std::span<const std::size_t> counts, std::span<float> out) {
  std::vector<int> sizes(counts.size()), offsets(counts.size());
  std::size_t total = 0;
  for (std::size_t p = 0; p < counts.size(); ++p) {
    sizes[p] = as_count(counts[p], "MPI_Gatherv");
    offsets[p] = as_count(total, "MPI_Gatherv");
    total += counts[p];
  }
  if (out.size() != (rank_ == 0 ? total : 0) || local.size() != counts[static_cast<std::size_t>(rank_)])
    throw Error(Status::Internal, "gather: the counts do not match the buffers");
  const train::WatchedCall watched(watchdog_.get(), "MPI_Gatherv");
  const double t0 = MPI_Wtime();
  check(MPI_Gatherv(local.data(), sizes[static_cast<std::size_t>(rank_)], MPI_FLOAT, out.data(), sizes.data(),
                    offsets.data(), MPI_FLOAT, 0, MPI_COMM_WORLD),
        "MPI_Gatherv");
  sent_ += local.size() * sizeof(float);
  seconds_ += MPI_Wtime() - t0;
}

void MpiWorld::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);  // MPI_Abort does not return; this keeps [[noreturn]] honest if an implementation does
}

}  // namespace autorec::dist
