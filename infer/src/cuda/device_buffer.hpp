// A typed buffer in GPU memory, shared by the two CUDA backends (the inference plugin and the trainer). It
// holds `size()` elements in an allocation that only grows, so the per-call buffers of inference reuse their
// memory; every CUDA error becomes an autorec::Error through cuda::check.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "cuda_check.hpp"

namespace autorec::cuda {

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(ptr_); }

  // Makes the buffer n elements long; the contents are kept only when no new allocation was needed. Always
  // allocates something, so get() is a valid device pointer even for n = 0.
  T* resize(std::size_t n) {
    if (n > capacity_ || !ptr_) {
      cudaFree(ptr_);
      ptr_ = nullptr;
      capacity_ = size_ = 0;
      check(cudaMalloc(&ptr_, std::max<std::size_t>(n, 1) * sizeof(T)), "cudaMalloc");
      capacity_ = std::max<std::size_t>(n, 1);
    }
    size_ = n;
    return ptr_;
  }
  void zero() {
    if (size_) check(cudaMemset(ptr_, 0, size_ * sizeof(T)), "cudaMemset");
  }
  T* upload(const T* host, std::size_t n) {
    T* p = resize(n);
    if (n) check(cudaMemcpy(p, host, n * sizeof(T), cudaMemcpyHostToDevice), "upload");
    return p;
  }
  T* upload(const std::vector<T>& v) { return upload(v.data(), v.size()); }
  std::vector<T> download() const {
    std::vector<T> v(size_);
    if (size_) check(cudaMemcpy(v.data(), ptr_, size_ * sizeof(T), cudaMemcpyDeviceToHost), "download");
    return v;
  }
  T* get() const { return ptr_; }
  std::size_t size() const { return size_; }

 private:
  T* ptr_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
};

}  // namespace autorec::cuda
