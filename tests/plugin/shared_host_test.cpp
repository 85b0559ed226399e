// The plugin checks from a host of the shared libautorec_infer.so, the way products link it. Run by CTest
// as unit.plugin_shared_host with the fake plugins' folder and a model file (tests/CMakeLists.txt). The
// static-library tests (unit.plugin) cannot see a defect that only the shared library has: an ABI line
// held in a symbol that the dynamic loader makes one for the library and the plugin would always match.
#define BOOST_TEST_MODULE autorec_plugin_shared_host
#include <boost/test/included/unit_test.hpp>
#include <cstdlib>
#include <string>

#include "autorec/error.hpp"
#include "autorec/model.hpp"

using namespace autorec;

namespace {

std::string arg(int k) {
  auto& m = boost::unit_test::framework::master_test_suite();
  BOOST_REQUIRE_MESSAGE(m.argc > k, "usage: autorec-plugin-host-tests -- PLUGIN_DIR MODEL");
  return m.argv[k];
}

// Loads the model on cuda through the fake plugin `name`; returns the error (status and text).
std::string load_with(const std::string& name, Status& status) {
  setenv("AUTOREC_CUDA_PLUGIN", (arg(1) + "/libautorec-test-plugin-" + name + ".so").c_str(), 1);
  LoadOptions o;
  o.device = Device::Cuda;
  std::string what;
  try {
    (void)Model::load_file(arg(2), o);
  } catch (const Error& e) {
    status = e.status();
    what = e.what();
  }
  unsetenv("AUTOREC_CUDA_PLUGIN");
  return what;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_plugin_of_another_version_is_refused) {
  Status status = Status::Ok;
  const std::string e = load_with("old-abi", status);
  BOOST_TEST_INFO(e);
  BOOST_TEST(int(status) == int(Status::Unsupported));
  BOOST_TEST(e.find("built for another version of libautorec_infer (plugin: abi 1,") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_plugin_of_this_version_reaches_its_factory_and_its_status_is_kept) {
  Status status = Status::Ok;
  setenv("AUTOREC_FAKE_PLUGIN_STATUS", std::to_string(int(Status::OutOfMemory)).c_str(), 1);
  const std::string e = load_with("good", status);
  unsetenv("AUTOREC_FAKE_PLUGIN_STATUS");
  BOOST_TEST_INFO(e);
  BOOST_TEST(int(status) == int(Status::OutOfMemory));
  BOOST_TEST(e == "device cuda: fake plugin: no device here");
}
