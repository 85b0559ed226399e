// The AVX-512 level: x86-64-v4 (AVX-512 F, BW, CD, DQ, VL), Intel Skylake-SP and AMD Zen 4 on.
// Its -march comes from CMakeLists.txt; the code is kernels_impl.hpp.
#define AUTOREC_KERNEL_LEVEL avx512
#include "kernels_impl.hpp"
