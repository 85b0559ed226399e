// The choice of kernel level: once per process, from the CPU's features and AUTOREC_CPU.
#include <cpuid.h>

#include <cstdint>
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

namespace {

// What this CPU and its operating system can run, from CPUID and XGETBV directly: the compilers' CPU models
// do not agree on the feature names (clang 14 knows neither f16c, movbe, lzcnt nor the x86-64-vN levels).
struct CpuFeatures {
  bool v2 = false, v3 = false, v4 = false;
};

CpuFeatures detect() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  CpuFeatures f;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const unsigned c1 = c;
  const auto bit = [](unsigned reg, int n) { return ((reg >> n) & 1u) != 0; };
  unsigned b7 = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) b7 = b;
  unsigned c81 = 0;
  if (__get_cpuid(0x80000001u, &a, &b, &c, &d)) c81 = c;
  // Registers the operating system saves on a context switch (XCR0): SSE and AVX state (bits 1-2), and the
  // AVX-512 opmask and upper ZMM state (bits 5-7). Read only when the OS enabled XSAVE (OSXSAVE, bit 27).
  std::uint64_t xcr0 = 0;
  if (bit(c1, 27)) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (std::uint64_t{hi} << 32) | lo;
  }
  // x86-64-v2: SSE3, SSSE3, CX16, SSE4.1, SSE4.2, POPCNT, LAHF/SAHF.
  f.v2 = bit(c1, 0) && bit(c1, 9) && bit(c1, 13) && bit(c1, 19) && bit(c1, 20) && bit(c1, 23) && bit(c81, 0);
  // x86-64-v3: AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE, and the OS saving YMM state.
  f.v3 = f.v2 && bit(c1, 28) && bit(b7, 5) && bit(b7, 3) && bit(b7, 8) && bit(c1, 29) && bit(c1, 12) &&
         bit(c81, 5) && bit(c1, 22) && (xcr0 & 0x6) == 0x6;
  // x86-64-v4: AVX-512 F, BW, CD, DQ, VL, and the OS saving the opmask and ZMM state.
  f.v4 = f.v3 && bit(b7, 16) && bit(b7, 30) && bit(b7, 28) && bit(b7, 17) && bit(b7, 31) && (xcr0 & 0xE6) == 0xE6;
  return f;
}

const CpuFeatures& features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace

bool cpu_supports(const char* level) {
  const std::string_view l = level;
  if (l == "baseline") return features().v2;
  if (l == "avx2") return features().v3;
  if (l == "avx512") return features().v4;
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
