// Large buffers filled once at load (the decompressed model, weights, the code cache): backed by 2 MiB pages
// where the system allows it, so filling 50+ MB costs a few dozen page faults rather than ten thousand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace autorec {

inline constexpr std::size_t kHugePage = std::size_t{2} << 20;

// Asks for huge pages on the 2 MiB-aligned part of [p, p + bytes), before it is first written. Only advice:
// without transparent huge pages (or off Linux) nothing changes.
inline void advise_huge_pages(const void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const auto begin = (reinterpret_cast<std::uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(kHugePage - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};

// Uninitialised, 2 MiB-aligned storage for `bytes` (rounded up), advised to huge pages.
template <class T>
std::unique_ptr<T[], FreeDeleter> huge_buffer(std::size_t bytes) {
  if (bytes > SIZE_MAX - kHugePage) throw std::bad_alloc();  // the rounding below would wrap
  const std::size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, size == 0 ? kHugePage : size);
  if (!p) throw std::bad_alloc();
  advise_huge_pages(p, size);
  return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(p));
}

}  // namespace autorec
