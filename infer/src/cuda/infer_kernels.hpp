// Launchers of the CUDA inference kernels: plain pointers only, so host code needs no CUDA headers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "autorec/math.hpp"

namespace autorec::cuda {

// codes[c*H + h] = act(bias[h] + sum over entries k of column c: value[k] * weight[row[k]*H + h]).
void sparse_encode(const std::uint32_t* col_start, const std::uint32_t* row, const float* value, std::size_t ncols,
                   const float* weight, const float* bias, std::uint32_t H, Activation act, float* codes);
// y[c*rows + r] = act(y[c*rows + r] + bias[r]) for n columns.
void bias_activate(float* y, const float* bias, std::uint32_t rows, std::size_t n, Activation act);

}  // namespace autorec::cuda
