// The loaded network in the layout the CPU kernels want, and the backend seam every device implements.
#pragma once

#include <Eigen/Core>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "autorec/model.hpp"

namespace autorec {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ColMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;

struct DenseLayer {
  std::uint32_t in_size = 0, out_size = 0;
  Activation activation = Activation::Identity;
  float dropout = 0;
  // The first layer is kept [in, out] (a sparse input gathers whole rows); every other layer [out, in].
  RowMatrix weight;
  Eigen::VectorXf bias;
};

struct Network {
  std::vector<DenseLayer> layers;
  InputTransform input;  // what the first layer reads for an observed rating (Model.input_offset, input_norm_*)
  std::uint32_t code_size() const { return layers.back().in_size; }
  std::uint32_t output_size() const { return layers.back().out_size; }
};

// A compute device for inference, bound to one network at creation (a GPU backend uploads it once). Every
// function is const and safe to call from many threads.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Codes (the input of the last layer) of n sparse columns: codes is code_size x n, column-major.
  virtual void encode(std::span<const std::span<const Entry>> columns, float* codes) const = 0;
  // Outputs of the last layer for n codes: out is output_size x n, column-major.
  virtual void decode(const float* codes, std::size_t n, float* out) const = 0;
};

std::unique_ptr<Backend> make_cpu_backend(const Network& net);
// Chooses the backend for `device`; `notice` receives a line to report when Auto fell back to the CPU.
std::unique_ptr<Backend> make_backend(Device device, const Network& net, std::string& notice);

// The entry point the CUDA plugin (libautorec_infer_cuda.so) exports; on failure it returns nullptr and fills
// `status` (a Status: Unsupported when no usable device is present, OutOfMemory when the network does not fit)
// and `error`.
using CudaBackendFactory = Backend* (*)(const Network* net, int* status, char* error, std::size_t error_size);
inline constexpr const char* kCudaFactorySymbol = "autorec_cuda_backend_create";

// C++ objects (Network with its Eigen matrices, Backend's vtable, std::string) cross the plugin's extern "C"
// factory, so the library and the plugin must agree on their layouts, which no linker checks. Both sides
// compile plugin_abi() with their own view of those types and the library refuses a plugin whose answer
// differs (infer/src/backend.cpp). Raise kPluginAbiVersion whenever Network, DenseLayer, InputTransform or
// Backend change in a way sizeof cannot see (a member's meaning, the order of virtual functions).
#ifndef AUTOREC_PLUGIN_ABI_VERSION  // set otherwise only by the tests' fake plugin of another version
#define AUTOREC_PLUGIN_ABI_VERSION 3
#endif
inline constexpr int kPluginAbiVersion = AUTOREC_PLUGIN_ABI_VERSION;
using PluginAbiFunction = const char* (*)();
inline constexpr const char* kPluginAbiSymbol = "autorec_cuda_plugin_abi";

// One line that names every input of the layout: the version above, the sizes of the shared types, Eigen's
// version and alignment (which -march changes), and the C++ library's string ABI. Internal linkage on
// purpose: an inline function's static would be one object for the whole process (GCC makes it a
// STB_GNU_UNIQUE symbol, bound across RTLD_LOCAL), so the library and the plugin would read the same line
// and the check could never fail.
static inline const char* plugin_abi() {
  static const std::string abi = [] {
    std::string s = "abi " + std::to_string(kPluginAbiVersion);
    s += ", sizeof network " + std::to_string(sizeof(Network)) + " layer " + std::to_string(sizeof(DenseLayer)) +
         " input " + std::to_string(sizeof(InputTransform)) + " string " + std::to_string(sizeof(std::string));
    s += ", eigen " + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
         std::to_string(EIGEN_MINOR_VERSION) + " align " + std::to_string(EIGEN_MAX_ALIGN_BYTES);
#if defined(_GLIBCXX_USE_CXX11_ABI)
    s += ", libstdc++ cxx11-abi " + std::to_string(_GLIBCXX_USE_CXX11_ABI);
#endif
    return s;
  }();
  return abi.c_str();
}

}  // namespace autorec
