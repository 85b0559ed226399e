#include "pairs.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "autorec/container.hpp"
#include "autorec/error.hpp"
#include "timing.hpp"

namespace autorec::tools {
namespace {

std::vector<UserItem> read_pairs(const Model& m, const std::string& path) {
  const std::vector<std::byte> bytes = read_file_bytes(path);
  if (bytes.size() % 8 != 0)
    throw Error(Status::BadInput, path + ": " + std::to_string(bytes.size()) + " bytes, not whole (uint32 user, uint32 item) pairs");
  std::vector<std::uint32_t> raw(bytes.size() / 4);
  if (!raw.empty()) std::memcpy(raw.data(), bytes.data(), bytes.size());
  std::vector<UserItem> pairs(raw.size() / 2);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    if (raw[2 * k] >= m.info().num_users || raw[2 * k + 1] >= m.info().num_items)
      throw Error(Status::BadInput, path + ": pair " + std::to_string(k) + " (" + std::to_string(raw[2 * k]) + ", " +
                                        std::to_string(raw[2 * k + 1]) + ") is outside the model");
    pairs[k] = {raw[2 * k], raw[2 * k + 1]};
  }
  return pairs;
}

}  // namespace

nlohmann::json bench_pairs(const Model& m, const std::string& path, int repeat, unsigned threads) {
  const std::vector<UserItem> pairs = read_pairs(m, path);
  std::vector<Prediction> out(pairs.size());
  const double predict_s = best_of(repeat, [&] { m.predict_batch(pairs, out); });
  double checksum = 0;  // printed, so the work cannot be left out
  for (const Prediction& p : out) checksum += p.value;
  const std::uint32_t users = m.info().num_users;
  const auto top10_all = [&](unsigned t) {
    return best_of(repeat, [&] {
#pragma omp parallel for num_threads(int(t)) schedule(dynamic, 16)
      for (std::uint32_t u = 0; u < users; ++u) (void)m.recommend(u, 10);
    });
  };
  return {{"pairs", pairs.size()},         {"predict_batch_s", predict_s}, {"predict_checksum", checksum},
          {"users", users},                {"threads", threads},           {"recommend_all_1thread_s", top10_all(1)},
          {"recommend_all_s", top10_all(threads)}};
}

}  // namespace autorec::tools
