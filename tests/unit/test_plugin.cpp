// How libautorec_infer treats its CUDA plugin, on any machine: fake plugins (tests/plugin/fake_plugin.cpp)
// stand for one of another version (refused by the ABI check before any C++ object crosses; the same from a
// host of the shared library is tests/plugin/shared_host_test.cpp), one whose
// libraries are missing (the loader's reason, naming the library, reaches the caller), and a good one whose
// factory finds no device (its reason reaches the caller; Auto falls back to the CPU and says why).
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <string>

#include "autorec/error.hpp"
#include "helpers.hpp"
#include "network.hpp"

using namespace autorec;

namespace {

// Points AUTOREC_CUDA_PLUGIN at one fake plugin for the life of the object.
class PluginOverride {
 public:
  explicit PluginOverride(const std::string& name) {
    const std::string path = std::string(AUTOREC_TEST_PLUGIN_DIR) + "/libautorec-test-plugin-" + name + ".so";
    setenv("AUTOREC_CUDA_PLUGIN", path.c_str(), 1);
  }
  PluginOverride(const PluginOverride&) = delete;
  PluginOverride& operator=(const PluginOverride&) = delete;
  ~PluginOverride() { unsetenv("AUTOREC_CUDA_PLUGIN"); }
};

// The error of loading the small model on `device`, or "" when it loaded.
std::string load_error(Device device, Status& status) {
  LoadOptions o;
  o.device = device;
  try {
    (void)Model::load_buffer(test::small_trained().file, "m.fb", o);
  } catch (const Error& e) {
    status = e.status();
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin)

BOOST_AUTO_TEST_CASE(a_plugin_of_another_version_is_refused_before_its_factory_runs) {
  const PluginOverride fake("old-abi");
  Status status = Status::Ok;
  const std::string e = load_error(Device::Cuda, status);
  BOOST_TEST_INFO(e);
  BOOST_TEST(int(status) == int(Status::Unsupported));
  BOOST_TEST(e.find("built for another version of libautorec_infer") != std::string::npos);
  BOOST_TEST(e.find("(plugin: abi 1, sizeof network") != std::string::npos);
  BOOST_TEST(e.find(std::string("library: abi ") + std::to_string(kPluginAbiVersion)) != std::string::npos);
  BOOST_TEST(e.find("fake plugin: no device here") == std::string::npos);  // the factory never ran
}

BOOST_AUTO_TEST_CASE(a_plugin_whose_libraries_are_missing_names_the_missing_library) {
  const PluginOverride fake("missing-dep");
  Status status = Status::Ok;
  const std::string e = load_error(Device::Cuda, status);
  BOOST_TEST_INFO(e);
  BOOST_TEST(int(status) == int(Status::Unsupported));
  BOOST_TEST(e.find("libautorec-test-plugin-missing-dep.so' failed to load") != std::string::npos);
  BOOST_TEST(e.find("libautorec_test_absent.so") != std::string::npos);
  BOOST_TEST(e.find("not found") == std::string::npos);  // the plugin was found; what it needs was not
}

BOOST_AUTO_TEST_CASE(a_good_plugin_passes_the_check_and_its_reason_reaches_the_caller) {
  const PluginOverride fake("good");
  Status status = Status::Ok;
  const std::string e = load_error(Device::Cuda, status);
  BOOST_TEST_INFO(e);
  BOOST_TEST(int(status) == int(Status::Unsupported));
  BOOST_TEST(e == "device cuda: fake plugin: no device here");
  // The plugin's status is the caller's: a network that does not fit is OutOfMemory, not Unsupported.
  setenv("AUTOREC_FAKE_PLUGIN_STATUS", std::to_string(int(Status::OutOfMemory)).c_str(), 1);
  status = Status::Ok;
  (void)load_error(Device::Cuda, status);
  unsetenv("AUTOREC_FAKE_PLUGIN_STATUS");
  BOOST_TEST(int(status) == int(Status::OutOfMemory));
  // Auto falls back to the CPU and keeps the reason as the notice.
  LoadOptions o;
  const Model m = Model::load_buffer(test::small_trained().file, "m.fb", o);
  BOOST_TEST(m.info().backend == "cpu");
  BOOST_TEST(m.info().backend_notice == "device auto: fake plugin: no device here; using the CPU");
}

BOOST_AUTO_TEST_CASE(the_abi_line_names_the_shared_layouts) {
  const std::string abi = plugin_abi();
  BOOST_TEST(abi.find("abi " + std::to_string(kPluginAbiVersion) + ",") == 0u);
  BOOST_TEST(abi.find("sizeof network " + std::to_string(sizeof(Network))) != std::string::npos);
  BOOST_TEST(abi.find("eigen 3.") != std::string::npos);
  BOOST_TEST(abi.find("align " + std::to_string(EIGEN_MAX_ALIGN_BYTES)) != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
