// Stand-ins for libautorec_infer_cuda.so, so that the library's checks on a plugin run on any machine,
// without CUDA (tests/unit/test_plugin.cpp). One source, three builds (tests/CMakeLists.txt):
//   good          the ABI of this tree; its factory reports that it found no device
//   old-abi       answers another ABI line, as a plugin from another version of the library would
//   missing-dep   needs libautorec_test_absent.so, which the loader cannot find, as a plugin whose CUDA
//                 libraries are not installed
#include <cstdio>

#include "network.hpp"

#ifdef AUTOREC_FAKE_NEEDS_ABSENT
extern "C" int autorec_test_absent_function();
extern "C" __attribute__((visibility("default"))) int autorec_fake_uses_absent() { return autorec_test_absent_function(); }
#endif

extern "C" __attribute__((visibility("default"))) const char* autorec_cuda_plugin_abi() {
#ifdef AUTOREC_FAKE_OLD_ABI
  return "abi 0, from another version";
#else
  return autorec::plugin_abi();
#endif
}

extern "C" __attribute__((visibility("default"))) autorec::Backend* autorec_cuda_backend_create(
    const autorec::Network*, char* error, std::size_t error_size) {
  std::snprintf(error, error_size, "fake plugin: no device here");
  return nullptr;
}
