// Launchers of the CUDA training kernels (plain pointers, no CUDA types), used by cuda_trainer.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "autorec/math.hpp"

namespace autorec::cuda {

// The fit matrix and the network on the device, in the CPU trainer's layouts.
struct DeviceProblem {
  const std::uint32_t* col_start;  // num_cols + 1
  const std::uint32_t* row;
  const float* value;
  std::uint32_t rows, hidden;
  const float *V, *mu, *W, *b;  // encoder [rows, hidden], [hidden]; decoder [rows, hidden], [rows]
  Activation encoder, decoder;
};

struct BatchScratch {
  float* dout;  // per fit entry: d loss / d output
  double* sse;  // accumulated squared error (device scalar)
};

struct Gradients {
  float *gV, *gmu, *gW, *gb;  // same shapes as the parameters; accumulated with atomics, zeroed by adam()
};

struct DropoutSpec {
  bool enabled;  // as the CPU: with dropout > 0 every unit is compared and kept units scaled, even if p rounds to 0
  std::uint64_t seed, step;
  std::uint32_t threshold;
  float keep_scale;
};

// Forward, backward and gradient scatter for the batch columns cols[0..bc); see train_kernels.cu.
void batch_gradient(const DeviceProblem& p, const std::uint32_t* cols, std::uint32_t bc, float scale,
                    const DropoutSpec& drop, const BatchScratch& s, const Gradients& g);
// p -= Adam(g) elementwise over n values, then g = 0.
void adam(float* p, float* m, float* v, float* g, std::size_t n, const AdamStep& step);
// Squared error of predictions (clamped to [lo, hi]) over cells grouped by column: group k holds cells
// [group_start[k], group_start[k+1]) of column group_col[k]; adds into *sse.
void cells_sse(const DeviceProblem& p, const std::uint32_t* group_col, const std::uint32_t* group_start,
               std::uint32_t groups, const std::uint32_t* cell_row, const float* cell_value, float lo, float hi,
               double* sse);

}  // namespace autorec::cuda
