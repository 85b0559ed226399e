// The baseline level: x86-64-v2 (SSE4.2, POPCNT), what every CPU the library supports runs.
// Its -march comes from CMakeLists.txt; the code is kernels_impl.hpp.
#define AUTOREC_KERNEL_LEVEL baseline
#include "kernels_impl.hpp"
