// The choice of kernel level: once per process, from the CPU's features and AUTOREC_CPU.
#include <cstdlib>
#include <string>
#include <string_view>

#include "kernels.hpp"

namespace autorec::kernels {

#if defined(AUTOREC_KERNELS_NATIVE)
namespace native { extern const Table kTable; }
namespace {
const Table* const kLevels[] = {&native::kTable};
}
#else
namespace baseline { extern const Table kTable; }
namespace avx2 { extern const Table kTable; }
namespace avx512 { extern const Table kTable; }
namespace {
const Table* const kLevels[] = {&baseline::kTable, &avx2::kTable, &avx512::kTable};
}
#endif

Levels compiled_levels() { return {kLevels, std::size(kLevels)}; }

bool cpu_supports(const char* level) {
  const std::string_view l = level;
  // GCC's CPU model checks the operating system's support of the wider registers too (XGETBV).
  if (l == "baseline") return __builtin_cpu_supports("x86-64-v2");
  if (l == "avx2") return __builtin_cpu_supports("x86-64-v3");
  if (l == "avx512") return __builtin_cpu_supports("x86-64-v4");
  return l == "native";  // the build machine's: the library was built to run there
}

namespace {

struct Choice {
  const Table* table = nullptr;
  std::string notice;
};

// AUTOREC_CPU as a message may quote it: at most 32 bytes, printable ASCII.
std::string quoted(std::string_view v) {
  std::string out = "'";
  for (std::size_t i = 0; i < v.size() && i < 32; ++i) out += v[i] >= 0x20 && v[i] < 0x7F ? v[i] : '?';
  return out + (v.size() > 32 ? "...'" : "'");
}

Choice choose(const char* requested) {
  Choice c;
  for (const Table* t : kLevels)
    if (cpu_supports(t->level)) c.table = t;
  if (c.table == nullptr) c.table = kLevels[0];  // a CPU below x86-64-v2 cannot have loaded the library
  if (requested == nullptr || *requested == '\0') return c;
  const std::string_view want = requested;
#if defined(AUTOREC_KERNELS_NATIVE)
  c.notice = "AUTOREC_CPU=" + quoted(want) + " is ignored: this build (AUTOREC_NATIVE=ON) has one level, native";
  return c;
#else
  for (const Table* t : kLevels)
    if (want == t->level) {
      if (cpu_supports(t->level)) return {t, ""};
      c.notice = "AUTOREC_CPU=" + quoted(want) + ": this CPU lacks that level; using " + c.table->level;
      return c;
    }
  c.notice = "AUTOREC_CPU=" + quoted(want) + " is not a level (baseline, avx2, avx512); using " + c.table->level;
  return c;
#endif
}

const Choice& choice() {
  static const Choice c = choose(std::getenv("AUTOREC_CPU"));
  return c;
}

}  // namespace

const Table& table() { return *choice().table; }
const char* choice_notice() { return choice().notice.c_str(); }

}  // namespace autorec::kernels
