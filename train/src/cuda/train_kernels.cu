// CUDA training kernels: thin launch wrappers around the phases of autorec/train/sparse_step.hpp. Every
// chunk kernel runs one block per chunk (at most kChunkEntries ratings of one column) with its threads over
// the hidden units, so a batch's work is spread evenly whatever its columns' sizes. Partial sums meet through
// atomics, so results are not bit-reproducible across runs (the parity tests use a tolerance).
#include <algorithm>

#include "train_kernels.hpp"

namespace autorec::cuda {
namespace {

namespace step = train::step;

constexpr unsigned kThreads = 128;  // hidden units per pass of a chunk block
constexpr unsigned kElementwise = 256;

struct AtomicAdd {
  __device__ static void add(float* p, float v) { atomicAdd(p, v); }
};

__device__ float warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffffu, x, o);
  return x;
}

__global__ void encode_kernel(Problem p, const Chunk* chunks, Scratch s) {
  const Chunk c = chunks[blockIdx.x];
  for (std::uint32_t h = threadIdx.x; h < p.hidden; h += blockDim.x)
    atomicAdd(s.Z + std::size_t{c.j} * p.hidden + h, step::encode_partial(p, c, h));
}

__global__ void forward_kernel(Problem p, Scratch s, Dropout d, std::uint32_t bc) {
  const std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x;
  if (i < std::size_t{bc} * p.hidden)
    step::hidden_forward(p, s, d, static_cast<std::uint32_t>(i / p.hidden), static_cast<std::uint32_t>(i % p.hidden));
}

// Outputs and errors at the chunk's stored ratings (one warp per rating, the column's hdrop in shared
// memory), then the chunk's share of the hidden-layer gradient and of gW.
__global__ void decode_kernel(Problem p, const Chunk* chunks, float scale, Scratch s, Grads g, double* sse) {
  extern __shared__ float hd[];
  const Chunk c = chunks[blockIdx.x];
  const std::uint32_t H = p.hidden;
  for (std::uint32_t h = threadIdx.x; h < H; h += blockDim.x) hd[h] = s.hdrop[std::size_t{c.j} * H + h];
  __syncthreads();
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  double warp_sse = 0;
  for (std::uint32_t k = c.begin + warp; k < c.end; k += warps) {
    const std::uint32_t r = p.row[k];
    const float* w = p.W + std::size_t{r} * H;
    float dot = 0;
    for (std::uint32_t h = lane; h < H; h += 32) dot += w[h] * hd[h];
    dot = warp_sum(dot);
    if (lane == 0) {
      float se = 0;
      const float dout = step::output_error(p, dot + p.b[r], p.value[k], scale, se);
      s.dout[k] = dout;
      atomicAdd(g.gb + r, dout);
      warp_sse += se;
    }
  }
  if (lane == 0 && warp_sse != 0) atomicAdd(sse, warp_sse);
  __syncthreads();  // the chunk's dout values are written (global memory, visible within the block)
  for (std::uint32_t h = threadIdx.x; h < H; h += blockDim.x)
    atomicAdd(s.DH + std::size_t{c.j} * H + h, step::backward_partial<AtomicAdd>(p, s, g, c, h));
}

__global__ void backward_kernel(Problem p, Scratch s, Grads g, std::uint32_t bc) {
  const std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x;
  if (i < std::size_t{bc} * p.hidden)
    step::hidden_backward<AtomicAdd>(p, s, g, static_cast<std::uint32_t>(i / p.hidden),
                                     static_cast<std::uint32_t>(i % p.hidden));
}

__global__ void encoder_grad_kernel(Problem p, const Chunk* chunks, Scratch s, Grads g) {
  const Chunk c = chunks[blockIdx.x];
  for (std::uint32_t h = threadIdx.x; h < p.hidden; h += blockDim.x) step::encoder_grad<AtomicAdd>(p, s, g, c, h);
}

__global__ void adam_kernel(float* p, float* m, float* v, float* g, std::size_t n, AdamStep step) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n; i += std::size_t{gridDim.x} * blockDim.x) {
    adam_update(step, p[i], m[i], v[i], g[i]);
    g[i] = 0.0f;
  }
}

__global__ void cells_kernel(Problem p, const std::uint32_t* col_start, const std::uint32_t* group_col,
                             const std::uint32_t* group_start, const std::uint32_t* cell_row, const float* cell_value,
                             float lo, float hi, double* out) {
  extern __shared__ float code[];
  const std::uint32_t H = p.hidden, c = group_col[blockIdx.x];
  const Chunk whole{0, col_start[c], col_start[c + 1]};
  for (std::uint32_t h = threadIdx.x; h < H; h += blockDim.x) code[h] = activate(p.encoder, p.mu[h] + step::encode_partial(p, whole, h));
  __syncthreads();
  const unsigned warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  double sse = 0;
  for (std::uint32_t k = group_start[blockIdx.x] + warp; k < group_start[blockIdx.x + 1]; k += warps) {
    const float* w = p.W + std::size_t{cell_row[k]} * H;
    float dot = 0;
    for (std::uint32_t h = lane; h < H; h += 32) dot += w[h] * code[h];
    dot = warp_sum(dot);
    if (lane == 0) {
      sse += step::clamped_squared_error(activate(p.decoder, dot + p.b[cell_row[k]]), lo, hi, cell_value[k]);
    }
  }
  if (lane == 0 && sse != 0) atomicAdd(out, sse);
}

unsigned elementwise_blocks(std::size_t n) { return static_cast<unsigned>((n + kElementwise - 1) / kElementwise); }

}  // namespace

void batch_gradient(const Problem& p, const Chunk* chunks, std::uint32_t n_chunks, std::uint32_t bc, float scale,
                    const Dropout& d, const Scratch& s, const Grads& g, double* sse) {
  const std::size_t units = std::size_t{bc} * p.hidden;
  cudaMemsetAsync(s.Z, 0, units * sizeof(float));
  cudaMemsetAsync(s.DH, 0, units * sizeof(float));
  if (n_chunks == 0 || units == 0) return;
  const std::size_t smem = std::size_t{p.hidden} * sizeof(float);
  if (smem > 48 * 1024) cudaFuncSetAttribute(decode_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
  encode_kernel<<<n_chunks, kThreads>>>(p, chunks, s);
  forward_kernel<<<elementwise_blocks(units), kElementwise>>>(p, s, d, bc);
  decode_kernel<<<n_chunks, kThreads, smem>>>(p, chunks, scale, s, g, sse);
  backward_kernel<<<elementwise_blocks(units), kElementwise>>>(p, s, g, bc);
  encoder_grad_kernel<<<n_chunks, kThreads>>>(p, chunks, s, g);
}

void adam(float* p, float* m, float* v, float* g, std::size_t n, const AdamStep& step) {
  const auto blocks = static_cast<unsigned>(std::min<std::size_t>((n + kElementwise - 1) / kElementwise, 8192));
  if (n) adam_kernel<<<blocks, kElementwise>>>(p, m, v, g, n, step);
}

void cells_sse(const Problem& p, const std::uint32_t* col_start, const std::uint32_t* group_col,
               const std::uint32_t* group_start, std::uint32_t groups, const std::uint32_t* cell_row,
               const float* cell_value, float lo, float hi, double* sse) {
  const std::size_t smem = std::size_t{p.hidden} * sizeof(float);
  if (smem > 48 * 1024) cudaFuncSetAttribute(cells_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
  if (groups)
    cells_kernel<<<groups, 256, smem>>>(p, col_start, group_col, group_start, cell_row, cell_value, lo, hi, sse);
}

}  // namespace autorec::cuda
