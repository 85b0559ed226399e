// The one level of an AUTOREC_NATIVE=ON build: the build machine's own instruction set.
// Its -march comes from CMakeLists.txt; the code is kernels_impl.hpp.
#define AUTOREC_KERNEL_LEVEL native
#include "kernels_impl.hpp"
