// Backend selection: the one place that knows which devices exist. The CUDA backend is a plugin
// (libautorec_infer_cuda.so) loaded only when asked for, so this library never needs CUDA or a driver.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

#include "autorec/error.hpp"
#include "autorec/text.hpp"
#include "kernels/kernels.hpp"
#include "network.hpp"

namespace autorec {
namespace {

// Candidate paths of the plugin: $AUTOREC_CUDA_PLUGIN, next to the binary holding this code (and ../lib,
// where the build and the install put libraries), then the loader's search path.
std::vector<std::string> plugin_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("AUTOREC_CUDA_PLUGIN"); env && *env) out.emplace_back(env);
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&plugin_candidates), &info) && info.dli_fname) {
    const std::filesystem::path dir = std::filesystem::path(info.dli_fname).parent_path();
    out.push_back((dir / "libautorec_infer_cuda.so").string());
    out.push_back((dir / ".." / "lib" / "libautorec_infer_cuda.so").string());
  }
  out.emplace_back("libautorec_infer_cuda.so");
  return out;
}

// Opens the first candidate that exists. A candidate that is a path and is absent is skipped; one that
// exists but does not load (a CUDA library it needs is missing, another architecture) is the answer, with the
// loader's reason, which names the missing library.
void* open_plugin(std::string& why) {
  for (const std::string& path : plugin_candidates()) {
    const bool is_path = path.find('/') != std::string::npos;
    std::error_code ec;
    if (is_path && !std::filesystem::exists(path, ec)) continue;
    if (void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return lib;
    const char* e = dlerror();
    std::string reason = e ? e : "unknown reason";
    // A bare name that the loader cannot find anywhere is "not found", not a failure to load.
    if (!is_path && reason.find(path + ": cannot open shared object file") != std::string::npos) continue;
    // The loader's reason starts with the path again: said once, quoted and cut like any caller text.
    if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);
    if (reason.size() > kQuoteBytes) reason = reason.substr(0, kQuoteBytes) + "...";
    why = "the CUDA plugin " + autorec::quoted(path) + " failed to load: " + autorec::printable(reason);
    return nullptr;
  }
  why = "the CUDA plugin libautorec_infer_cuda.so was not found (built without AUTOREC_CUDA, or not installed next to "
        "libautorec_infer; AUTOREC_CUDA_PLUGIN names it)";
  return nullptr;
}

// Loads the plugin, checks that it was built with this library's layouts, and asks it for a backend; on
// failure returns nullptr, the reason in `why` and its kind in `status` (the plugin's own, once it runs).
std::unique_ptr<Backend> load_cuda(const Network& net, std::string& why, Status& status) {
  void* lib = open_plugin(why);
  if (!lib) return nullptr;
  // The plugin stays loaded for the life of the process: backends it created may outlive any one Model.
  auto abi = reinterpret_cast<PluginAbiFunction>(dlsym(lib, kPluginAbiSymbol));
  if (!abi || std::string(abi()) != plugin_abi()) {
    why = std::string("the CUDA plugin was built for another version of libautorec_infer (plugin: ") +
          (abi ? abi() : std::string("no ") + kPluginAbiSymbol) + "; library: " + plugin_abi() +
          "); install the plugin built with this library";
    dlclose(lib);
    return nullptr;
  }
  auto factory = reinterpret_cast<CudaBackendFactory>(dlsym(lib, kCudaFactorySymbol));
  if (!factory) {
    why = std::string("the CUDA plugin lacks ") + kCudaFactorySymbol;
    return nullptr;
  }
  char error[512] = "";
  int code = static_cast<int>(Status::Unsupported);
  std::unique_ptr<Backend> b(factory(&net, &code, error, sizeof error));
  if (!b) why = error, status = static_cast<Status>(code);
  return b;
}

}  // namespace

std::unique_ptr<Backend> make_backend(Device device, const Network& net, std::string& notice) {
  if (device == Device::Cpu) return make_cpu_backend(net);
  std::string why;
  Status status = Status::Unsupported;
  if (std::unique_ptr<Backend> cuda = load_cuda(net, why, status)) return cuda;
  if (device == Device::Cuda) throw Error(status, "device cuda: " + why);
  notice = "device auto: " + why + "; using the CPU";
  return make_cpu_backend(net);
}

const char* cpu_level() { return kernels::table().level; }
const char* cpu_level_notice() { return kernels::choice_notice(); }

}  // namespace autorec
