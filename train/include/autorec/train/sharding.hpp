// How a distributed run splits the network's rows (users, for item-based AutoRec) over its processes, and
// the pieces of the weights and ratings a process keeps (issue 20). Columns (a network input each) and the
// encoder bias are replicated; the rows of the encoder V, the decoder W and b, their Adam moments and the
// stored ratings of those rows are split into contiguous ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "autorec/train/collective.hpp"
#include "autorec/train/trainer.hpp"

namespace autorec::train {

// `parts` contiguous ranges that cover every row of `fit`, each costing about the same per epoch: a row costs
// three passes over each of its ratings (encoder, decoder, gradient) plus one Adam update of the row per
// batch of `batch_size` columns. Throws Error(BadInput) when there are fewer rows than parts.
std::vector<RowRange> shard_rows(const Csc& fit, int parts, std::uint32_t batch_size);

// The stored ratings of `range`'s rows, in local row numbers (row - range.begin), every column kept (some
// empty); global_k receives, for each, its index in `fit` (what the counter-based input dropout draws by).
Csc shard_of(const Csc& fit, const RowRange& range, std::vector<std::uint32_t>& global_k);

// The rows of `range` of every row tensor of `all` (V, W, b); the replicated tensors (mu, inner layers) whole.
Weights rows_of(const Weights& all, const RowRange& range);
// The inverse, on process 0: each one's rows_of(all, shards[rank]) put together in rank order. The other
// processes get weights of no rows (their inner layers and mu as they are).
Weights gather_rows(const Weights& local, const std::vector<RowRange>& shards, Collective& comm);

// The inverse of rows_of over every part, in rank order, from the parts themselves (a checkpoint written in
// parts, read back on another number of processes): the row tensors put together, the replicated ones of
// parts[0]. Throws Error(Corrupt) naming `name` when the parts' shapes disagree.
Weights join_rows(const std::vector<Weights>& parts, std::string_view name);
// The same for optimiser states as checkpoints name their tensors (optimizer.hpp): "<optimiser>.<tensor>.<q>"
// is a row tensor when <tensor> is V, W or b.
OptimizerState join_rows(const std::vector<OptimizerState>& parts, std::string_view name);

// One line per process: "rank 0: users [0, 3012), 50021 ratings" (`rows` names what a row is).
std::string sharding_text(const std::vector<RowRange>& shards, const std::string& rows);

}  // namespace autorec::train
