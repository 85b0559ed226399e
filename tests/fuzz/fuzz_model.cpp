// libFuzzer target: a model file from untrusted bytes. Loading either succeeds or throws autorec::Error;
// anything else (a crash, a sanitizer report, another exception, a hang) is a finding. A model that loads is
// also used once, so the checks the reader promises are the ones serving relies on. Each input is tried
// twice: as a whole file, and as the content of a container packed here, so that mutations reach the
// FlatBuffer verifier and the semantic checks instead of stopping at the zstd checksum (the corpus holds
// files and decompressed contents).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "autorec/container.hpp"
#include "autorec/error.hpp"
#include "autorec/model.hpp"

namespace {

void load_and_use(std::span<const std::byte> bytes) {
  autorec::LoadOptions options;
  options.device = autorec::Device::Cpu;
  options.threads = 1;
  options.max_decompressed_bytes = std::uint64_t{64} << 20;  // the fuzzer's memory limit, not the library's
  try {
    const autorec::Model m = autorec::Model::load_buffer(bytes, "fuzz.fb", options);
    std::vector<float> column(m.column_length());
    m.reconstruct_column(0, column);
    (void)m.predict(std::optional<std::uint32_t>(0), std::optional<std::uint32_t>(0));
    if (m.info().num_users > 0) (void)m.recommend(0, 3);
  } catch (const autorec::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  load_and_use({reinterpret_cast<const std::byte*>(data), size});
  const std::span<const std::uint8_t> content(data, size);
  const std::vector<std::byte> file = autorec::pack_container({&content, 1}, 1);
  load_and_use(file);
  return 0;
}
