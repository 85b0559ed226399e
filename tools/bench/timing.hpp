// The benchmark's one timing rule: the best of `repeat` runs, the least disturbed one.
#pragma once

#include <algorithm>
#include <chrono>

namespace autorec::tools {

template <class F>
double best_of(int repeat, F&& f) {
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const auto t = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  return best;
}

}  // namespace autorec::tools
