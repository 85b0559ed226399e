// Stand-ins for libautorec_infer_cuda.so, so that the library's checks on a plugin run on any machine,
// without CUDA (tests/unit/test_plugin.cpp). One source, three builds (tests/CMakeLists.txt):
//   good          the ABI of this tree; its factory reports that it found no device
//   old-abi       built with another AUTOREC_PLUGIN_ABI_VERSION, as a plugin of another version would be
//   missing-dep   needs libautorec_test_absent.so, which the loader cannot find, as a plugin whose CUDA
//                 libraries are not installed
#include <cstdio>
#include <cstdlib>

#include "network.hpp"

#ifdef AUTOREC_FAKE_NEEDS_ABSENT
extern "C" int autorec_test_absent_function();
extern "C" __attribute__((visibility("default"))) int autorec_fake_uses_absent() { return autorec_test_absent_function(); }
#endif

// The real line, computed as the real plugin does; the old-abi build compiles it with another
// AUTOREC_PLUGIN_ABI_VERSION (tests/CMakeLists.txt).
extern "C" __attribute__((visibility("default"))) const char* autorec_cuda_plugin_abi() { return autorec::plugin_abi(); }

// Fails as a plugin without a device would; AUTOREC_FAKE_PLUGIN_STATUS picks the status it reports.
extern "C" __attribute__((visibility("default"))) autorec::Backend* autorec_cuda_backend_create(
    const autorec::Network*, int* status, char* error, std::size_t error_size) {
  const char* s = std::getenv("AUTOREC_FAKE_PLUGIN_STATUS");
  *status = s ? std::atoi(s) : static_cast<int>(autorec::Status::Unsupported);
  std::snprintf(error, error_size, "fake plugin: no device here");
  return nullptr;
}
