// Launchers of the CUDA training kernels (plain pointers, no CUDA types), used by cuda_trainer.cpp. The math
// of every kernel lives in autorec/train/sparse_step.hpp, shared with the host reference the CPU tests run.
#pragma once

#include <cstddef>
#include <cstdint>

#include "autorec/train/train_math.hpp"
#include "kernels/adam_step.hpp"
#include "autorec/train/sparse_step.hpp"

namespace autorec::cuda {

using train::step::Chunk;
using train::step::Dropout;
using train::step::Grads;
using train::step::Problem;
using train::step::Scratch;

// Forward, backward and gradient scatter of one batch of bc columns, given as its chunks[0..n_chunks) (on the
// device). Zeroes s.Z and s.DH first; adds into the gradients (adam() zeroes them) and into *sse.
void batch_gradient(const Problem& p, const Chunk* chunks, std::uint32_t n_chunks, std::uint32_t bc, float scale,
                    const Dropout& d, const Scratch& s, const Grads& g, double* sse);
// p -= Adam(g) elementwise over n values, then g = 0.
void adam(float* p, float* m, float* v, float* g, std::size_t n, const AdamStep& step);
// Squared error of predictions (clamped to [lo, hi]) over cells grouped by column: group k holds cells
// [group_start[k], group_start[k+1]) of column group_col[k]; adds into *sse. col_start: the fit matrix's CSC.
void cells_sse(const Problem& p, const std::uint32_t* col_start, const std::uint32_t* group_col,
               const std::uint32_t* group_start, std::uint32_t groups, const std::uint32_t* cell_row,
               const float* cell_value, float lo, float hi, double* sse);

}  // namespace autorec::cuda
