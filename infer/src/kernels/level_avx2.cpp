// The AVX2 level: x86-64-v3 (AVX2, FMA, F16C, BMI1/2), Intel Haswell and AMD Excavator on.
// Its -march comes from CMakeLists.txt; the code is kernels_impl.hpp.
#define AUTOREC_KERNEL_LEVEL avx2
#include "kernels_impl.hpp"
