// CUDA training kernels: the same sparse step as cpu_trainer.cpp, and the same per-element math
// (autorec/math.hpp: activations, dropout bits, Adam). One block per batch column keeps the column's hidden
// state in shared memory; gradient rows are accumulated with atomics, so sums are not bit-reproducible
// across runs (the parity tests use a tolerance), unlike the CPU backend.
#include <algorithm>

#include "train_kernels.hpp"

namespace autorec::cuda {
namespace {

constexpr unsigned kThreads = 256;

__device__ float warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffffu, x, o);
  return x;
}

__global__ void batch_kernel(DeviceProblem p, const std::uint32_t* cols, float scale, DropoutSpec drop, BatchScratch s,
                             Gradients g) {
  extern __shared__ float shared[];
  const std::uint32_t H = p.hidden, j = blockIdx.x, c = cols[j];
  float* hact = shared;
  float* hdrop = shared + H;
  float* keep = shared + 2 * H;
  const std::uint32_t kb = p.col_start[c], ke = p.col_start[c + 1];

  // Encoder over the observed entries only, then dropout with the CPU's counter-based masks.
  for (std::uint32_t h = threadIdx.x; h < H; h += blockDim.x) {
    float acc = p.mu[h];
    for (std::uint32_t k = kb; k < ke; ++k) acc += p.value[k] * p.V[std::size_t{p.row[k]} * H + h];
    const float y = activate(p.encoder, acc);
    float kp = 1.0f;
    if (drop.enabled) {
      const std::uint64_t bits = dropout_bits(drop.seed, drop.step, j, h / 4);
      kp = ((bits >> (16 * (h % 4))) & 0xFFFF) >= drop.threshold ? drop.keep_scale : 0.0f;
    }
    hact[h] = y;
    keep[h] = kp;
    hdrop[h] = y * kp;
  }
  __syncthreads();

  // Decoder at the observed rows: one warp per entry.
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  double sse = 0;
  for (std::uint32_t k = kb + warp; k < ke; k += warps) {
    const float* w = p.W + std::size_t{p.row[k]} * H;
    float dot = 0;
    for (std::uint32_t h = lane; h < H; h += 32) dot += w[h] * hdrop[h];
    dot = warp_sum(dot);
    if (lane == 0) {
      const float y = activate(p.decoder, dot + p.b[p.row[k]]);
      const float err = y - p.value[k];
      sse += double(err) * err;
      s.dout[k] = err * activate_grad_from_output(p.decoder, y) * scale;
    }
  }
  if (lane == 0 && sse != 0) atomicAdd(s.sse, sse);
  __syncthreads();  // dout of this column is complete

  // Back into the hidden layer, and scatter the gradient rows of W, V (and mu, b).
  for (std::uint32_t h = threadIdx.x; h < H; h += blockDim.x) {
    float acc = 0;
    for (std::uint32_t k = kb; k < ke; ++k) acc += s.dout[k] * p.W[std::size_t{p.row[k]} * H + h];
    const float dz = acc * keep[h] * activate_grad_from_output(p.encoder, hact[h]);
    const float hd = hdrop[h];
    for (std::uint32_t k = kb; k < ke; ++k) {
      const std::size_t o = std::size_t{p.row[k]} * H + h;
      atomicAdd(g.gW + o, s.dout[k] * hd);
      atomicAdd(g.gV + o, p.value[k] * dz);
    }
    atomicAdd(g.gmu + h, dz);
  }
  for (std::uint32_t k = kb + threadIdx.x; k < ke; k += blockDim.x) atomicAdd(g.gb + p.row[k], s.dout[k]);
}

__global__ void adam_kernel(float* p, float* m, float* v, float* g, std::size_t n, AdamStep step) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x) {
    adam_update(step, p[i], m[i], v[i], g[i]);
    g[i] = 0.0f;
  }
}

__global__ void cells_kernel(DeviceProblem p, const std::uint32_t* group_col, const std::uint32_t* group_start,
                             const std::uint32_t* cell_row, const float* cell_value, float lo, float hi, double* out) {
  extern __shared__ float code[];
  const std::uint32_t H = p.hidden, c = group_col[blockIdx.x];
  for (std::uint32_t h = threadIdx.x; h < H; h += blockDim.x) {
    float acc = p.mu[h];
    for (std::uint32_t k = p.col_start[c]; k < p.col_start[c + 1]; ++k) acc += p.value[k] * p.V[std::size_t{p.row[k]} * H + h];
    code[h] = activate(p.encoder, acc);
  }
  __syncthreads();
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  double sse = 0;
  for (std::uint32_t k = group_start[blockIdx.x] + warp; k < group_start[blockIdx.x + 1]; k += warps) {
    const float* w = p.W + std::size_t{cell_row[k]} * H;
    float dot = 0;
    for (std::uint32_t h = lane; h < H; h += 32) dot += w[h] * code[h];
    dot = warp_sum(dot);
    if (lane == 0) {
      const float y = fminf(fmaxf(activate(p.decoder, dot + p.b[cell_row[k]]), lo), hi);
      sse += double(y - cell_value[k]) * (y - cell_value[k]);
    }
  }
  if (lane == 0 && sse != 0) atomicAdd(out, sse);
}

std::size_t shared_bytes(std::uint32_t floats) { return std::size_t{floats} * sizeof(float); }

}  // namespace

void batch_gradient(const DeviceProblem& p, const std::uint32_t* cols, std::uint32_t bc, float scale,
                    const DropoutSpec& drop, const BatchScratch& s, const Gradients& g) {
  const std::size_t smem = shared_bytes(3 * p.hidden);
  if (smem > 48 * 1024) cudaFuncSetAttribute(batch_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
  batch_kernel<<<bc, kThreads, smem>>>(p, cols, scale, drop, s, g);
}

void adam(float* p, float* m, float* v, float* g, std::size_t n, const AdamStep& step) {
  const auto blocks = static_cast<unsigned>(std::min<std::size_t>((n + kThreads - 1) / kThreads, 8192));
  if (n) adam_kernel<<<blocks, kThreads>>>(p, m, v, g, n, step);
}

void cells_sse(const DeviceProblem& p, const std::uint32_t* group_col, const std::uint32_t* group_start,
               std::uint32_t groups, const std::uint32_t* cell_row, const float* cell_value, float lo, float hi,
               double* sse) {
  const std::size_t smem = shared_bytes(p.hidden);
  if (smem > 48 * 1024) cudaFuncSetAttribute(cells_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
  if (groups) cells_kernel<<<groups, kThreads, smem>>>(p, group_col, group_start, cell_row, cell_value, lo, hi, sse);
}

}  // namespace autorec::cuda
