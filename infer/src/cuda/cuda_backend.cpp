// The CUDA inference backend: the network lives on the GPU; the first layer is a sparse gather kernel, the
// other layers cuBLAS products. Built as a plugin (see ../backend.cpp) so libautorec_infer needs no CUDA.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "autorec/error.hpp"
#include "cuda_check.hpp"
#include "device_buffer.hpp"
#include "infer_kernels.hpp"
#include "network.hpp"

namespace autorec {
namespace {

using cuda::check;
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw Error(s == CUBLAS_STATUS_ALLOC_FAILED ? Status::OutOfMemory : Status::Internal,
                std::string("cublas: ") + what + ": " + cublasGetStatusName(s) + " (" + cublasGetStatusString(s) + ")");
}

using cuda::DeviceBuffer;

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const Network& net) : net_(net), layers_(net.layers.size()) {
    for (std::size_t l = 0; l < net.layers.size(); ++l) {
      layers_[l].weight.upload(net.layers[l].weight.data(), static_cast<std::size_t>(net.layers[l].weight.size()));
      layers_[l].bias.upload(net.layers[l].bias.data(), static_cast<std::size_t>(net.layers[l].bias.size()));
    }
    check(cublasCreate(&blas_), "cublasCreate");  // last: nothing after it can throw and leak the handle
  }
  ~CudaBackend() override { cublasDestroy(blas_); }
  const char* name() const override { return "cuda"; }

  void encode(std::span<const std::span<const Entry>> columns, float* codes) const override {
    const std::lock_guard<std::mutex> lock(mutex_);  // one stream and one cuBLAS handle: calls take turns
    const std::size_t n = columns.size();
    std::vector<std::uint32_t> start(n + 1, 0), row;
    std::vector<float> value;
    for (std::size_t c = 0; c < n; ++c) {
      const float s = net_.input.column_scale(columns[c].size());
      for (const Entry& e : columns[c]) row.push_back(e.index), value.push_back(net_.input.read(e.value, s));
      start[c + 1] = static_cast<std::uint32_t>(row.size());
    }
    const DenseLayer& first = net_.layers.front();
    float* h = act_a_.resize(std::size_t{first.out_size} * n);
    cuda::sparse_encode(start_.upload(start.data(), start.size()), row_.upload(row.data(), row.size()),
                        value_.upload(value.data(), value.size()), n, layers_[0].weight.get(), layers_[0].bias.get(),
                        first.out_size, first.activation, h);
    check(cudaGetLastError(), "sparse_encode");
    for (std::size_t l = 1; l + 1 < net_.layers.size(); ++l) h = dense(l, h, n, l % 2 ? act_b_ : act_a_);
    check(cudaMemcpy(codes, h, std::size_t{net_.code_size()} * n * sizeof(float), cudaMemcpyDeviceToHost), "download codes");
  }

  void decode(const float* codes, std::size_t n, float* out) const override {
    const std::lock_guard<std::mutex> lock(mutex_);
    const float* in = act_a_.upload(codes, std::size_t{net_.code_size()} * n);
    const float* y = dense(net_.layers.size() - 1, in, n, act_b_);
    check(cudaMemcpy(out, y, std::size_t{net_.output_size()} * n * sizeof(float), cudaMemcpyDeviceToHost), "download");
  }

 private:
  struct DeviceLayer {
    DeviceBuffer<float> weight, bias;
  };

  // y = act(W x + b) for n columns; W is row-major [out, in], which cuBLAS sees as the column-major [in, out]
  // matrix, hence the transpose.
  float* dense(std::size_t l, const float* x, std::size_t n, DeviceBuffer<float>& dst) const {
    const DenseLayer& layer = net_.layers[l];
    float* y = dst.resize(std::size_t{layer.out_size} * n);
    const float one = 1.0f, zero = 0.0f;
    check(cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(layer.out_size), int(n), int(layer.in_size), &one,
                      layers_[l].weight.get(), int(layer.in_size), x, int(layer.in_size), &zero, y, int(layer.out_size)),
          "sgemm");
    cuda::bias_activate(y, layers_[l].bias.get(), layer.out_size, n, layer.activation);
    check(cudaGetLastError(), "bias_activate");
    return y;
  }

  const Network& net_;
  std::vector<DeviceLayer> layers_;
  cublasHandle_t blas_ = nullptr;
  mutable std::mutex mutex_;
  mutable DeviceBuffer<std::uint32_t> start_, row_;
  mutable DeviceBuffer<float> value_, act_a_, act_b_;
};

}  // namespace
}  // namespace autorec

extern "C" __attribute__((visibility("default"))) autorec::Backend* autorec_cuda_backend_create(
    const autorec::Network* net, int* status, char* error, std::size_t error_size) {
  auto fail = [&](const std::string& why, autorec::Status s = autorec::Status::Unsupported) -> autorec::Backend* {
    if (status) *status = static_cast<int>(s);
    if (error && error_size) {
      std::strncpy(error, why.c_str(), error_size - 1);
      error[error_size - 1] = '\0';
    }
    return nullptr;
  };
  if (const std::string why = autorec::cuda::device_problem(); !why.empty()) return fail(why);
  try {
    return new autorec::CudaBackend(*net);
  } catch (const autorec::Error& ex) {
    return fail(ex.what(), ex.status());  // OutOfMemory when the network does not fit on the device
  } catch (const std::bad_alloc&) {
    return fail("cuda: out of host memory", autorec::Status::OutOfMemory);
  } catch (const std::exception& ex) {
    return fail(ex.what(), autorec::Status::Internal);
  }
}

// The layouts this plugin was compiled with (autorec/network.hpp); libautorec_infer compares them with its own
// before it calls the factory.
extern "C" __attribute__((visibility("default"))) const char* autorec_cuda_plugin_abi() { return autorec::plugin_abi(); }
