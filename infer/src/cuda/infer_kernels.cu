// CUDA inference kernels. The per-element math is autorec/math.hpp, shared with the CPU backend.
#include <algorithm>

#include "infer_kernels.hpp"

namespace autorec::cuda {
namespace {

// One block per column; threads walk the hidden units so each gathered weight row is read coalesced.
__global__ void sparse_encode_kernel(const std::uint32_t* col_start, const std::uint32_t* row, const float* value,
                                     const float* weight, const float* bias, std::uint32_t H, Activation act,
                                     float* codes) {
  const std::size_t c = blockIdx.x;
  const std::uint32_t b = col_start[c], e = col_start[c + 1];
  for (std::uint32_t h = threadIdx.x; h < H; h += blockDim.x) {
    float acc = bias[h];
    for (std::uint32_t k = b; k < e; ++k) acc += value[k] * weight[std::size_t{row[k]} * H + h];
    codes[c * H + h] = activate(act, acc);
  }
}

__global__ void bias_activate_kernel(float* y, const float* bias, std::uint32_t rows, std::size_t total, Activation act) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < total; i += std::size_t{gridDim.x} * blockDim.x)
    y[i] = activate(act, y[i] + bias[i % rows]);
}

}  // namespace

void sparse_encode(const std::uint32_t* col_start, const std::uint32_t* row, const float* value, std::size_t ncols,
                   const float* weight, const float* bias, std::uint32_t H, Activation act, float* codes) {
  if (ncols == 0) return;
  sparse_encode_kernel<<<static_cast<unsigned>(ncols), 256>>>(col_start, row, value, weight, bias, H, act, codes);
}

void bias_activate(float* y, const float* bias, std::uint32_t rows, std::size_t n, Activation act) {
  const std::size_t total = std::size_t{rows} * n;
  if (total == 0) return;
  const auto blocks = static_cast<unsigned>(std::min<std::size_t>((total + 255) / 256, 65535));
  bias_activate_kernel<<<blocks, 256>>>(y, bias, rows, total, act);
}

}  // namespace autorec::cuda
