// CUDA runtime errors as autorec errors, shared by the two CUDA backends (the inference plugin and the
// trainer). The message names the call, the error's name and its text; the status says what kind of failure
// it is, so a host can tell a full GPU (OutOfMemory) or a missing or too old driver (Unsupported) from a bug
// in the library (Internal).
#pragma once

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <string>

#include "autorec/error.hpp"

namespace autorec::cuda {

inline Status status_of(cudaError_t e) {
  switch (e) {
    case cudaErrorMemoryAllocation: return Status::OutOfMemory;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorUnsupportedPtxVersion:
    case cudaErrorDevicesUnavailable: return Status::Unsupported;
    default: return Status::Internal;
  }
}

// "cudaErrorInsufficientDriver (CUDA driver version is insufficient for CUDA runtime version)"
inline std::string describe(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")";
}

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw Error(status_of(e), std::string("cuda: ") + what + ": " + describe(e));
}

// Whether the NVIDIA driver's user-space library can be loaded: the runtime reports its absence and a driver
// too old for it with the same error.
inline bool driver_installed() {
  void* lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (lib) dlclose(lib);
  return lib != nullptr;
}

// Why no CUDA device can be used, or "" when one can: the runtime's error is kept, so an old driver does not
// read as an absent GPU.
inline std::string device_problem() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver && !driver_installed())
    return "cudaGetDeviceCount failed: " + describe(e) + "; the NVIDIA driver (libcuda.so.1) is not installed";
  if (e != cudaSuccess) return "cudaGetDeviceCount failed: " + describe(e);
  if (count == 0) return "no CUDA device (cudaGetDeviceCount found 0)";
  return "";
}

}  // namespace autorec::cuda
