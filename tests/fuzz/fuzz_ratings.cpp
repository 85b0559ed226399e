// libFuzzer target: a ratings file from untrusted bytes, through the parser and the dataset builder that
// autorec-train runs. Either succeeds or throws autorec::Error; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "autorec/data/dataset.hpp"
#include "autorec/data/ratings.hpp"
#include "autorec/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool skip : {false, true}) {
    try {
      autorec::data::ReadOptions options;
      options.skip_bad_lines = skip;
      const autorec::data::RawRatings raw = autorec::data::parse_ratings(text, "fuzz.data", options);
      (void)autorec::data::make_dataset(raw, autorec::data::DuplicatePolicy::Mean);
    } catch (const autorec::Error&) {
    }
  }
  return 0;
}
