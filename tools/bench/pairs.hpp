// autorec-bench MODEL --pairs FILE: the C++ side of bench/python_serving.py. predict_batch over given
// (user, item) pairs on one thread, and the top 10 of every user on `threads` threads, so that the Python
// package's predict and recommend_many are measured against the library on the same work in one run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "autorec/model.hpp"

namespace autorec::tools {

// `path` holds dense index pairs as little-endian uint32 (user, item, user, item, ...); an index past the
// model's counts is refused (Error BadInput naming the pair). Timings are the best of `repeat`.
nlohmann::json bench_pairs(const Model& model, const std::string& path, int repeat, unsigned threads);

}  // namespace autorec::tools
