// Backend selection: the one place that knows which devices this build has.
#include "autorec/error.hpp"
#include "network.hpp"

namespace autorec {

std::unique_ptr<Backend> make_backend(Device device, std::string& notice) {
  switch (device) {
    case Device::Cpu: return make_cpu_backend();
    case Device::Cuda:
      throw Error(Status::Unsupported, "device cuda: this build of libautorec_infer has no CUDA backend");
    case Device::Auto: break;
  }
  notice = "device auto: no CUDA backend in this build, using the CPU";
  return make_cpu_backend();
}

}  // namespace autorec
