// The sparse AutoRec batch step as phases over (chunk, hidden unit) pairs, written once for the CUDA kernels
// and for a host reference that the CPU tests run against the CPU trainer.
//
// A chunk is at most kChunkEntries stored ratings of one batch column. Cutting columns into chunks keeps the
// GPU busy when one column holds 100k+ ratings (Netflix's most popular items) while its neighbours in the
// batch hold a few: every thread block gets the same amount of work, and the partial sums of a column's
// chunks meet through an accumulation policy (atomics on the device, plain adds on the host).
//
// Per batch, in order:
//   1. encode_partial   per (chunk, h): Z[j,h] += sum over the chunk of input * V[row, h]
//   2. hidden_forward   per (j, h):     hact = g(Z + mu), dropout mask, hdrop = hact * keep
//   3. output_error     per entry:      dout = (f(W[row] . hdrop_j + b[row]) - value) f' * scale, gb[row] += dout
//      backward_partial per (chunk, h): DH[j,h] += sum dout * W[row, h];  gW[row, h] += dout * hdrop[j, h]
//   4. hidden_backward  per (j, h):     dz = DH * keep * g'(hact) (stored over DH);  gmu[h] += dz
//   5. encoder_grad     per (chunk, h): gV[row, h] += input * dz[j, h]
// where input is what the encoder reads for the stored rating (encoder_inputs in trainer.hpp) and value the
// rating the decoder is trained to give back.
// The dropout masks are those of the CPU trainer (same counter-based bits), so both backends train the same
// network; only the order of floating-point sums differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "autorec/math.hpp"
#include "autorec/train/train_math.hpp"

namespace autorec::train::step {

inline constexpr std::uint32_t kChunkEntries = 64;

struct Chunk {
  std::uint32_t j;      // position of the column in the batch
  std::uint32_t begin;  // its stored ratings [begin, end) in the fit matrix
  std::uint32_t end;
};

// The fit matrix (CSC) and the network, in the CPU trainer's layouts.
struct Problem {
  const std::uint32_t* row;
  const float* value;  // the ratings (the decoder's targets)
  const float* input;  // what the encoder reads for each (train::encoder_inputs)
  std::uint32_t rows, hidden;
  const float *V, *mu, *W, *b;  // encoder [rows, hidden], [hidden]; decoder [rows, hidden], [rows]
  Activation encoder, decoder;
};

// Per-batch state, [batch columns, hidden] row-major, and dout per stored rating of the fit matrix.
struct Scratch {
  float *Z, *hact, *keep, *hdrop, *DH, *dout;
};

struct Grads {
  float *gV, *gmu, *gW, *gb;
};

struct Dropout {
  bool enabled;  // as the CPU: with dropout > 0 every unit is compared and kept units scaled
  std::uint64_t seed, step;
  std::uint32_t threshold;
  float keep_scale;
};

// The dropout multiplier of unit h of batch column j: 0 or keep_scale, drawn exactly as the CPU trainer does.
// One hash (dropout_bits of units 4g..4g+3) gives four 16-bit lanes; unit 4g+lane is kept when its lane is
// at or above the threshold.
AUTOREC_HD float keep_from_bits(const Dropout& d, std::uint64_t bits, std::uint32_t lane) {
  return ((bits >> (16 * lane)) & 0xFFFF) >= d.threshold ? d.keep_scale : 0.0f;
}
AUTOREC_HD float dropout_keep(const Dropout& d, std::uint32_t j, std::uint32_t h) {
  if (!d.enabled) return 1.0f;
  return keep_from_bits(d, dropout_bits(d.seed, d.step, j, h / 4), h % 4);
}

// Input dropout (denoising): whether stored rating k of the fit matrix enters the encoder at optimiser step
// `step`, as 0 or keep_scale. Drawn per rating, so any thread count drops the same ones (the CPU trainer
// uses it; the CUDA trainer refuses input dropout for now).
AUTOREC_HD float input_keep(std::uint64_t seed, std::uint64_t step, std::uint64_t k, std::uint32_t threshold,
                            float keep_scale) {
  const std::uint64_t bits = splitmix64(splitmix64(seed ^ 0x5BD1E995A5A5A5A5ull) + (step << 40) + k);
  return (bits & 0xFFFF) >= threshold ? keep_scale : 0.0f;
}

AUTOREC_HD float encode_partial(const Problem& p, const Chunk& c, std::uint32_t h) {
  float acc = 0.0f;
  for (std::uint32_t k = c.begin; k < c.end; ++k) acc += p.input[k] * p.V[std::size_t{p.row[k]} * p.hidden + h];
  return acc;
}

AUTOREC_HD void hidden_forward(const Problem& p, const Scratch& s, const Dropout& d, std::uint32_t j, std::uint32_t h) {
  const std::size_t o = std::size_t{j} * p.hidden + h;
  const float y = activate(p.encoder, s.Z[o] + p.mu[h]);
  const float keep = dropout_keep(d, j, h);
  s.hact[o] = y;
  s.keep[o] = keep;
  s.hdrop[o] = y * keep;
}

// d loss / d pre-activation output of one stored rating, given the decoder's pre-activation `pre`.
AUTOREC_HD float output_error(const Problem& p, float pre, float value, float scale, float& squared_error) {
  const float y = activate(p.decoder, pre);
  const float err = y - value;
  squared_error = err * err;
  return err * activate_grad_from_output(p.decoder, y) * scale;
}

// Squared error of one prediction clamped to the scale [lo, hi], as the validation and test RMSE count it on
// every backend. Written with comparisons, not fminf/fmaxf, because those turn a NaN prediction into a bound:
// a diverged network must read as NaN on the GPU as it does on the CPU.
AUTOREC_HD double clamped_squared_error(float y, float lo, float hi, float value) {
  const float c = y < lo ? lo : (y > hi ? hi : y);
  const double err = double(c) - double(value);
  return err * err;
}

template <class Acc>
AUTOREC_HD float backward_partial(const Problem& p, const Scratch& s, const Grads& g, const Chunk& c, std::uint32_t h) {
  const float hd = s.hdrop[std::size_t{c.j} * p.hidden + h];
  float dh = 0.0f;
  for (std::uint32_t k = c.begin; k < c.end; ++k) {
    const std::size_t o = std::size_t{p.row[k]} * p.hidden + h;
    dh += s.dout[k] * p.W[o];
    Acc::add(g.gW + o, s.dout[k] * hd);
  }
  return dh;
}

template <class Acc>
AUTOREC_HD void hidden_backward(const Problem& p, const Scratch& s, const Grads& g, std::uint32_t j, std::uint32_t h) {
  const std::size_t o = std::size_t{j} * p.hidden + h;
  const float dz = s.DH[o] * s.keep[o] * activate_grad_from_output(p.encoder, s.hact[o]);
  s.DH[o] = dz;
  Acc::add(g.gmu + h, dz);
}

template <class Acc>
AUTOREC_HD void encoder_grad(const Problem& p, const Scratch& s, const Grads& g, const Chunk& c, std::uint32_t h) {
  const float dz = s.DH[std::size_t{c.j} * p.hidden + h];
  for (std::uint32_t k = c.begin; k < c.end; ++k) Acc::add(g.gV + std::size_t{p.row[k]} * p.hidden + h, p.input[k] * dz);
}

// The chunks of batch columns cols[0..n), in batch order; col_start is the fit matrix's CSC column start.
inline void append_chunks(const std::uint32_t* col_start, const std::uint32_t* cols, std::uint32_t n,
                          std::vector<Chunk>& out) {
  for (std::uint32_t j = 0; j < n; ++j)
    for (std::uint32_t b = col_start[cols[j]], e = col_start[cols[j] + 1]; b < e; b += kChunkEntries)
      out.push_back({j, b, e - b > kChunkEntries ? b + kChunkEntries : e});
}

#if !defined(__CUDACC__)
// The whole step on the host, phase after phase, as the kernels run it: the reference the tests compare
// with the CPU trainer. Scratch and gradients must be zeroed by the caller. Returns the squared error.
struct PlainAdd {
  static void add(float* p, float v) { *p += v; }
};
inline double reference_batch(const Problem& p, const std::vector<Chunk>& chunks, std::uint32_t bc, float scale,
                              const Dropout& d, const Scratch& s, const Grads& g) {
  const std::uint32_t H = p.hidden;
  for (const Chunk& c : chunks)
    for (std::uint32_t h = 0; h < H; ++h) s.Z[std::size_t{c.j} * H + h] += encode_partial(p, c, h);
  for (std::uint32_t j = 0; j < bc; ++j)
    for (std::uint32_t h = 0; h < H; ++h) hidden_forward(p, s, d, j, h);
  double sse = 0;
  for (const Chunk& c : chunks) {
    for (std::uint32_t k = c.begin; k < c.end; ++k) {
      const std::size_t r = p.row[k];
      float pre = p.b[r], se = 0;
      for (std::uint32_t h = 0; h < H; ++h) pre += p.W[r * H + h] * s.hdrop[std::size_t{c.j} * H + h];
      s.dout[k] = output_error(p, pre, p.value[k], scale, se);
      g.gb[r] += s.dout[k];
      sse += se;
    }
    for (std::uint32_t h = 0; h < H; ++h) s.DH[std::size_t{c.j} * H + h] += backward_partial<PlainAdd>(p, s, g, c, h);
  }
  for (std::uint32_t j = 0; j < bc; ++j)
    for (std::uint32_t h = 0; h < H; ++h) hidden_backward<PlainAdd>(p, s, g, j, h);
  for (const Chunk& c : chunks)
    for (std::uint32_t h = 0; h < H; ++h) encoder_grad<PlainAdd>(p, s, g, c, h);
  return sse;
}
#endif

}  // namespace autorec::train::step
