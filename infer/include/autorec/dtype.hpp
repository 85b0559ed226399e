// Storage types of weight matrices in model.fb, and the conversions between them and float. Biases always
// stay float. The writer (autorec-train --dtype, autorec-convert) encodes; the reader decodes once at load.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "autorec/error.hpp"

namespace autorec {

// Numbers match the schema's DType enum.
enum class DType : std::uint8_t { F32 = 0, F16 = 1, BF16 = 2, I8 = 3 };

inline const char* dtype_name(DType t) noexcept {
  switch (t) {
    case DType::F32: return "fp32";
    case DType::F16: return "fp16";
    case DType::BF16: return "bf16";
    case DType::I8: return "int8";
  }
  return "?";
}

inline std::optional<DType> parse_dtype(std::string_view s) noexcept {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I8})
    if (s == dtype_name(t)) return t;
  return std::nullopt;
}

// Bytes per stored value (I8 also stores one float scale per row).
inline std::size_t dtype_bytes(DType t) noexcept { return t == DType::F32 ? 4 : t == DType::I8 ? 1 : 2; }

// IEEE binary16, round to nearest even; values beyond its range become +-inf (the reader refuses those, so
// the writer checks first: see fits_f16).
inline std::uint16_t f32_to_f16(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) return static_cast<std::uint16_t>(sign | 0x7C00u | (abs > 0x7F800000u ? 0x200u : 0u));
  if (abs >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // rounds above 65504
  if (abs < 0x38800000u) {                                                    // subnormal half or zero
    const float scaled = std::bit_cast<float>(abs) * 16777216.0f;             // * 2^24: units of 2^-24
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::nearbyint(scaled)));
  }
  const std::uint32_t mant = abs & 0x7FFFFFu;
  std::uint32_t h = ((abs >> 23) - 112) << 10 | (mant >> 13);
  const std::uint32_t rest = mant & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // carries into the exponent correctly
  return static_cast<std::uint16_t>(sign | h);
}

inline float f16_to_f32(std::uint16_t h) noexcept {
  const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16;
  const std::uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  if (exp == 0) {
    const float v = static_cast<float>(mant) * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

inline bool fits_f16(float f) noexcept { return std::abs(f) <= 65504.0f; }

// Throws Unsupported naming `what` when a value would not survive fp16 (|x| > 65504).
inline void require_fits_f16(const std::vector<float>& x, const std::string& what) {
  for (const float v : x)
    if (!fits_f16(v))
      throw Error(Status::Unsupported, what + ": weight " + std::to_string(v) +
                                           " is beyond the fp16 range (65504); use bf16 or fp32");
}

// bfloat16: the top half of a float, round to nearest even.
inline std::uint16_t f32_to_bf16(float f) noexcept {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  return static_cast<std::uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

inline float bf16_to_f32(std::uint16_t b) noexcept { return std::bit_cast<float>(std::uint32_t{b} << 16); }

// Symmetric int8 of one row: q = round(x / scale), scale = max|x| / 127 (0 for an all-zero row).
inline float quantize_row_i8(const float* x, std::size_t n, std::int8_t* q) noexcept {
  float top = 0;
  for (std::size_t i = 0; i < n; ++i) top = std::max(top, std::abs(x[i]));
  const float scale = top / 127.0f;
  // A scale below the smallest normal float would make 1/scale infinite (and 0 * inf a NaN).
  const float inv = scale >= std::numeric_limits<float>::min() ? 1.0f / scale : 0.0f;
  for (std::size_t i = 0; i < n; ++i)
    q[i] = static_cast<std::int8_t>(std::clamp(std::nearbyint(x[i] * inv), -127.0f, 127.0f));
  return scale;
}

// A [rows, cols] float matrix in storage type t. For I8, `scales` receives one scale per row.
inline std::vector<std::uint8_t> encode_matrix(const float* x, std::size_t rows, std::size_t cols, DType t,
                                               std::vector<float>& scales) {
  std::vector<std::uint8_t> out(rows * cols * dtype_bytes(t));
  scales.clear();
  if (t == DType::F32) {
    std::memcpy(out.data(), x, out.size());
  } else if (t == DType::I8) {
    scales.resize(rows);
    for (std::size_t r = 0; r < rows; ++r)
      scales[r] = quantize_row_i8(x + r * cols, cols, reinterpret_cast<std::int8_t*>(out.data() + r * cols));
  } else {
    for (std::size_t i = 0; i < rows * cols; ++i) {
      const std::uint16_t v = t == DType::F16 ? f32_to_f16(x[i]) : f32_to_bf16(x[i]);
      std::memcpy(&out[2 * i], &v, 2);
    }
  }
  return out;
}

// The inverse: `bytes` holds rows * cols values of type t (sizes checked by the caller); scales: I8 only.
inline void decode_matrix(const std::uint8_t* bytes, std::size_t rows, std::size_t cols, DType t,
                          const float* scales, float* out) {
  const std::size_t n = rows * cols;
  switch (t) {
    case DType::F32: std::memcpy(out, bytes, n * sizeof(float)); break;
    case DType::F16:
    case DType::BF16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t v;
        std::memcpy(&v, bytes + 2 * i, 2);
        out[i] = t == DType::F16 ? f16_to_f32(v) : bf16_to_f32(v);
      }
      break;
    case DType::I8:
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t k = 0; k < cols; ++k)
          out[r * cols + k] = scales[r] * static_cast<float>(reinterpret_cast<const std::int8_t*>(bytes)[r * cols + k]);
      break;
  }
}

}  // namespace autorec
