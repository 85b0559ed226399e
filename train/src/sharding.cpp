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

namespace {

[[noreturn]] void parts_disagree(std::string_view name, const std::string& what) {
  throw Error(Status::Corrupt, std::string(name) + ": its parts disagree: " + what);
}

// Each part's `tensor` one after the other.
std::vector<float> concatenated(const std::vector<const std::vector<float>*>& tensors) {
  std::size_t n = 0;
  for (const std::vector<float>* t : tensors) n += t->size();
  std::vector<float> out;
  out.reserve(n);
  for (const std::vector<float>* t : tensors) out.insert(out.end(), t->begin(), t->end());
  return out;
}

}  // namespace

Weights join_rows(const std::vector<Weights>& parts, std::string_view name) {
  if (parts.empty()) parts_disagree(name, "there are none");
  Weights all = parts[0];
  all.rows = 0;
  std::vector<const std::vector<float>*> V, W, b;
  for (std::size_t p = 0; p < parts.size(); ++p) {
    const Weights& w = parts[p];
    if (w.hidden != all.hidden || w.code() != all.code() || w.V.size() != std::size_t{w.rows} * w.hidden ||
        w.W.size() != std::size_t{w.rows} * w.code() || w.b.size() != w.rows)
      parts_disagree(name, "part " + std::to_string(p) + " has " + std::to_string(w.rows) + " rows of hidden " +
                               std::to_string(w.hidden) + ", part 0 hidden " + std::to_string(all.hidden));
    all.rows += w.rows;
    V.push_back(&w.V), W.push_back(&w.W), b.push_back(&w.b);
  }
  all.V = concatenated(V), all.W = concatenated(W), all.b = concatenated(b);
  return all;
}

OptimizerState join_rows(const std::vector<OptimizerState>& parts, std::string_view name) {
  if (parts.empty()) parts_disagree(name, "there are none");
  OptimizerState all;
  all.step = parts[0].step;
  for (std::size_t t = 0; t < parts[0].tensors.size(); ++t) {
    const std::string& tensor = parts[0].tensors[t].first;
    const std::size_t dot = tensor.find('.'), next = tensor.find('.', dot + 1);
    const std::string base = dot == std::string::npos ? std::string() : tensor.substr(dot + 1, next - dot - 1);
    std::vector<const std::vector<float>*> pieces;
    for (std::size_t p = 0; p < parts.size(); ++p) {
      if (parts[p].step != all.step || parts[p].tensors.size() != parts[0].tensors.size() ||
          parts[p].tensors[t].first != tensor)
        parts_disagree(name, "part " + std::to_string(p) + " has another optimiser state than part 0 (tensor " + tensor + ")");
      pieces.push_back(&parts[p].tensors[t].second);
    }
    if (base == "V" || base == "W" || base == "b") all.tensors.push_back({tensor, concatenated(pieces)});
    else all.tensors.push_back({tensor, parts[0].tensors[t].second});
  }
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
