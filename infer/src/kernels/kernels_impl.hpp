// The kernels of one instruction-set level. Each level_*.cpp defines AUTOREC_KERNEL_LEVEL (baseline, avx2,
// avx512 or native), is compiled with that level's -march (CMakeLists.txt) and includes this file once.
//
// Every function here has internal linkage, and Eigen is included under a name of its own per level (the
// macro below renames its namespace), so no inline function or template compiled here with wider
// instructions can be merged by the linker with the baseline copy the rest of the library uses: the only
// symbol a level object exports is its table. scripts/check-isa fails the build's check if that ever stops
// being true.
#pragma once

#ifndef AUTOREC_KERNEL_LEVEL
#error "define AUTOREC_KERNEL_LEVEL before including kernels_impl.hpp"
#endif

#include <cstring>
#include <type_traits>

#include "autorec/dtype.hpp"
#include "kernels.hpp"

#define AUTOREC_KERNEL_PASTE2(a, b) a##b
#define AUTOREC_KERNEL_PASTE(a, b) AUTOREC_KERNEL_PASTE2(a, b)
#define AUTOREC_KERNEL_STR2(a) #a
#define AUTOREC_KERNEL_STR(a) AUTOREC_KERNEL_STR2(a)
#define Eigen AUTOREC_KERNEL_PASTE(autorec_eigen_, AUTOREC_KERNEL_LEVEL)
#include <Eigen/Core>
#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace autorec::kernels::AUTOREC_KERNEL_LEVEL {
namespace {

void add_rows(float* acc, std::size_t n, const float* const* rows, const float* coef, std::size_t count) {
  std::size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    const float *a = rows[i], *b = rows[i + 1], *c = rows[i + 2], *d = rows[i + 3];
    const float ca = coef[i], cb = coef[i + 1], cc = coef[i + 2], cd = coef[i + 3];
#pragma omp simd
    for (std::size_t h = 0; h < n; ++h) acc[h] += ca * a[h] + cb * b[h] + cc * c[h] + cd * d[h];
  }
  for (; i < count; ++i) {
    const float* a = rows[i];
    const float ca = coef[i];
#pragma omp simd
    for (std::size_t h = 0; h < n; ++h) acc[h] += ca * a[h];
  }
}

void dot_rows(const float* const* rows, std::size_t count, const float* x, std::size_t n, float* out) {
  std::size_t i = 0;
  for (; i + 4 <= count; i += 4) {
    const float *a = rows[i], *b = rows[i + 1], *c = rows[i + 2], *d = rows[i + 3];
    float sa = 0, sb = 0, sc = 0, sd = 0;
#pragma omp simd reduction(+ : sa, sb, sc, sd)
    for (std::size_t h = 0; h < n; ++h) sa += a[h] * x[h], sb += b[h] * x[h], sc += c[h] * x[h], sd += d[h] * x[h];
    out[i] = sa, out[i + 1] = sb, out[i + 2] = sc, out[i + 3] = sd;
  }
  for (; i < count; ++i) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (std::size_t h = 0; h < n; ++h) s += rows[i][h] * x[h];
    out[i] = s;
  }
}

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Stride = Eigen::OuterStride<>;

// f(Eigen view of m) with the view's storage order chosen at run time.
template <class M, class F>
void with_view(M m, F&& f) {
  using Scalar = std::remove_pointer_t<decltype(m.data)>;  // float or const float
  constexpr bool is_const = std::is_const_v<Scalar>;
  using R = std::conditional_t<is_const, const RowMat, RowMat>;
  using C = std::conditional_t<is_const, const ColMat, ColMat>;
  const auto rows = static_cast<Eigen::Index>(m.rows), cols = static_cast<Eigen::Index>(m.cols);
  const Stride stride(static_cast<Eigen::Index>(m.stride));
  if (m.row_major) {
    f(Eigen::Map<R, Eigen::Unaligned, Stride>(m.data, rows, cols, stride));
  } else {
    f(Eigen::Map<C, Eigen::Unaligned, Stride>(m.data, rows, cols, stride));
  }
}

void matmul(ConstMatrix a, ConstMatrix b, Matrix c) {
  with_view(a, [&](auto A) { with_view(b, [&](auto B) { with_view(c, [&](auto C) { C.noalias() = A * B; }); }); });
}

void adam(const AdamStep& s, float* p, float* m, float* v, const float* g, std::size_t n) {
#pragma omp simd
  for (std::size_t k = 0; k < n; ++k) adam_update(s, p[k], m[k], v[k], g[k]);
}

void decode_f16(const std::uint8_t* bytes, std::size_t n, float* out) {
  std::size_t i = 0;
#if defined(__F16C__)
  // The conversion instruction is exact, as f16_to_f32 is (every fp16 value is a float).
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes + 2 * i))));
#endif
  for (; i < n; ++i) {
    std::uint16_t v;
    std::memcpy(&v, bytes + 2 * i, 2);
    out[i] = f16_to_f32(v);
  }
}

void decode_bf16(const std::uint8_t* bytes, std::size_t n, float* out) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t v;
    std::memcpy(&v, bytes + 2 * i, 2);
    out[i] = bf16_to_f32(v);
  }
}

void decode_i8(const std::uint8_t* bytes, std::size_t rows, std::size_t cols, const float* scales, float* out) {
  const auto* q = reinterpret_cast<const std::int8_t*>(bytes);
  for (std::size_t r = 0; r < rows; ++r) {
    const float s = scales[r];
#pragma omp simd
    for (std::size_t k = 0; k < cols; ++k) out[r * cols + k] = s * static_cast<float>(q[r * cols + k]);
  }
}

}  // namespace

extern const Table kTable;
const Table kTable{AUTOREC_KERNEL_STR(AUTOREC_KERNEL_LEVEL), add_rows, dot_rows, matmul, adam,
                   decode_f16, decode_bf16, decode_i8};

}  // namespace autorec::kernels::AUTOREC_KERNEL_LEVEL
