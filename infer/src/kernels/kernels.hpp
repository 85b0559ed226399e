// The hot loops of inference and training (gathers of weight rows, dot products, matrix products, Adam, the
// decoding of stored weights), compiled once per instruction-set level and chosen once per process from the
// CPU's features. Everything else in the library is built for x86-64-v2, so the library runs on any such CPU
// and still uses AVX2+FMA or AVX-512 where the CPU has them (as OpenBLAS, ggml and zstd do).
//
// The interface is plain pointers and sizes: no Eigen type or other inline template crosses it, so the code
// each level compiles (its Eigen included, in a namespace of its own: kernels_impl.hpp) stays inside that
// level's objects. scripts/check-isa checks this on the built library.
#pragma once

#include <cstddef>
#include <cstdint>

#include "adam_step.hpp"

namespace autorec::kernels {

// A dense float matrix in memory: element (i, j) is data[i * stride + j] (row_major) or data[i + j * stride].
struct ConstMatrix {
  const float* data;
  std::size_t rows, cols, stride;
  bool row_major;
};
struct Matrix {
  float* data;
  std::size_t rows, cols, stride;
  bool row_major;
  operator ConstMatrix() const { return {data, rows, cols, stride, row_major}; }
};
inline ConstMatrix row_major(const float* d, std::size_t rows, std::size_t cols) { return {d, rows, cols, cols, true}; }
inline ConstMatrix col_major(const float* d, std::size_t rows, std::size_t cols) { return {d, rows, cols, rows, false}; }
inline Matrix row_major(float* d, std::size_t rows, std::size_t cols) { return {d, rows, cols, cols, true}; }
inline Matrix col_major(float* d, std::size_t rows, std::size_t cols) { return {d, rows, cols, rows, false}; }
// The transpose of a view is the same memory read the other way.
inline ConstMatrix transposed(ConstMatrix m) { return {m.data, m.cols, m.rows, m.stride, !m.row_major}; }

// One level's kernels. Sums run in the same order at every level; only the width of the vectors and the use
// of fused multiply-adds differ, so results agree across levels to rounding (tests/unit/test_kernels.cpp).
struct Table {
  const char* level;  // "baseline", "avx2", "avx512" or "native"
  // acc[0..n) += sum over i < count of coef[i] * rows[i][0..n), four rows per pass over acc.
  void (*add_rows)(float* acc, std::size_t n, const float* const* rows, const float* coef, std::size_t count);
  // out[i] = rows[i][0..n) . x for i < count, four rows per pass over x.
  void (*dot_rows)(const float* const* rows, std::size_t count, const float* x, std::size_t n, float* out);
  // c = a * b (c's shape must be a.rows x b.cols and a.cols == b.rows; no aliasing).
  void (*matmul)(ConstMatrix a, ConstMatrix b, Matrix c);
  // One Adam step (math.hpp's adam_update) over n parameters.
  void (*adam)(const AdamStep& s, float* p, float* m, float* v, const float* g, std::size_t n);
  // Stored weights to floats: n fp16 or bf16 values (little-endian, unaligned bytes), or rows x cols int8
  // values with one scale per row.
  void (*decode_f16)(const std::uint8_t* bytes, std::size_t n, float* out);
  void (*decode_bf16)(const std::uint8_t* bytes, std::size_t n, float* out);
  void (*decode_i8)(const std::uint8_t* bytes, std::size_t rows, std::size_t cols, const float* scales, float* out);
};

// Helpers over a table, for callers (baseline code, never compiled per level).

// a . b over n floats.
inline float dot(const Table& k, const float* a, const float* b, std::size_t n) {
  float out = 0;
  k.dot_rows(&a, 1, b, n, &out);
  return out;
}

// acc[0..n) += sum over i < count of coef(i) * row_of(i) (rows of n floats), where the rows are gathered by
// the caller (weight rows of stored ratings, batch rows of a transposed batch): a block of rows per call of
// add_rows. The block is a multiple of four, so the kernel's groups of four rows are those of the whole count.
template <class RowOf, class CoefOf>
void add_gathered_rows(const Table& k, float* acc, std::size_t n, std::size_t count, RowOf row_of, CoefOf coef) {
  constexpr std::size_t kBlock = 64;
  const float* rows[kBlock];
  float c[kBlock];
  for (std::size_t b = 0; b < count; b += kBlock) {
    const std::size_t m = count - b < kBlock ? count - b : kBlock;
    for (std::size_t i = 0; i < m; ++i) rows[i] = row_of(b + i), c[i] = coef(b + i);
    k.add_rows(acc, n, rows, c, m);
  }
}

// The levels this build compiled, best last; a build with AUTOREC_NATIVE=ON has only "native".
struct Levels {
  const Table* const* tables;
  std::size_t count;
};
Levels compiled_levels();

// The table in use, chosen on first call: the best level the CPU and the operating system support, or the
// one the environment variable AUTOREC_CPU (baseline, avx2 or avx512) names if the CPU has it.
const Table& table();
// Why the choice differs from what AUTOREC_CPU asked for ("" when it does not): an unknown name, a level this
// CPU lacks, or a native build, which has one level only.
const char* choice_notice();

// Whether this CPU (and its operating system) can run a level, by name.
bool cpu_supports(const char* level);

}  // namespace autorec::kernels
