// Row shards of a distributed run (sharding.hpp).
#include "autorec/train/sharding.hpp"

#include <algorithm>

#include "autorec/error.hpp"

namespace autorec::train {

std::vector<RowRange> shard_rows(const Csc& fit, int parts, std::uint32_t batch_size) {
  const std::uint32_t rows = fit.num_rows;
  if (parts < 1 || rows < static_cast<std::uint32_t>(parts))
    throw Error(Status::BadInput, "distributed training: " + std::to_string(parts) + " processes for " +
                                      std::to_string(rows) + " rows: every process needs at least one row");
  std::vector<std::size_t> ratings(rows, 0);
  for (const std::uint32_t r : fit.row) ++ratings[r];
  const std::uint64_t batches = (std::uint64_t{fit.num_cols()} + batch_size - 1) / std::max(batch_size, 1u);
  const auto cost = [&](std::uint32_t r) { return 3 * std::uint64_t{ratings[r]} + batches; };
  std::uint64_t total = 0;
  for (std::uint32_t r = 0; r < rows; ++r) total += cost(r);
  std::vector<RowRange> shards(static_cast<std::size_t>(parts));
  const auto P = static_cast<std::uint32_t>(parts);
  std::uint32_t r = 0;
  std::uint64_t done = 0;
  for (std::uint32_t p = 0; p < P; ++p) {
    RowRange& s = shards[p];
    s.begin = r;
    // Cut where the running cost reaches this part's share, leaving a row at least for each later part.
    const std::uint64_t target = total * (p + 1) / P;
    const std::uint32_t last = rows - (P - 1 - p);  // this part may end no later than here
    do {
      done += cost(r);
      s.ratings += ratings[r];
      ++r;
    } while (r < last && (p + 1 == P || done + cost(r) / 2 <= target));
    s.end = r;
  }
  return shards;
}

Csc shard_of(const Csc& fit, const RowRange& range, std::vector<std::uint32_t>& global_k) {
  Csc s;
  s.num_rows = range.rows();
  s.start.assign(fit.start.size(), 0);
  global_k.clear();
  global_k.reserve(range.ratings);
  s.row.reserve(range.ratings);
  s.value.reserve(range.ratings);
  for (std::uint32_t c = 0; c < fit.num_cols(); ++c) {
    for (std::uint32_t k = fit.start[c]; k < fit.start[c + 1]; ++k) {
      if (fit.row[k] < range.begin || fit.row[k] >= range.end) continue;
      s.row.push_back(fit.row[k] - range.begin);
      s.value.push_back(fit.value[k]);
      global_k.push_back(k);
    }
    s.start[c + 1] = static_cast<std::uint32_t>(s.row.size());
  }
  return s;
}

Weights rows_of(const Weights& all, const RowRange& range) {
  Weights w;
  w.rows = range.rows();
  w.hidden = all.hidden;
  w.mu = all.mu;
  w.inner = all.inner;
  const std::size_t H = all.hidden, C = all.code();
  w.V.assign(all.V.begin() + std::ptrdiff_t(range.begin * H), all.V.begin() + std::ptrdiff_t(range.end * H));
  w.W.assign(all.W.begin() + std::ptrdiff_t(range.begin * C), all.W.begin() + std::ptrdiff_t(range.end * C));
  w.b.assign(all.b.begin() + range.begin, all.b.begin() + range.end);
  return w;
}

Weights gather_rows(const Weights& local, const std::vector<RowRange>& shards, Collective& comm) {
  Weights all;
  all.rows = comm.rank() == 0 ? shards.back().end : 0;
  all.hidden = local.hidden;
  all.mu = local.mu;
  all.inner = local.inner;
  const auto gather = [&](const std::vector<float>& part, std::size_t width, std::vector<float>& out) {
    std::vector<std::size_t> counts;
    for (const RowRange& s : shards) counts.push_back(std::size_t{s.rows()} * width);
    out.resize(comm.rank() == 0 ? std::size_t{all.rows} * width : 0);
    comm.gather(part, counts, out);
  };
  gather(local.V, local.hidden, all.V);
  gather(local.W, local.code(), all.W);
  gather(local.b, 1, all.b);
  return all;
}

std::string sharding_text(const std::vector<RowRange>& shards, const std::string& rows) {
  std::string text;
  for (std::size_t p = 0; p < shards.size(); ++p) {
    if (p) text += '\n';
    text += "rank ";
    text += std::to_string(p);
    text += ": " + rows + " [" + std::to_string(shards[p].begin) + ", " + std::to_string(shards[p].end) + "), ";
    text += std::to_string(shards[p].ratings) + " ratings";
  }
  return text;
}

}  // namespace autorec::train
