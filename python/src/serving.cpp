// autorec.Model's serving calls: load, predict, recommend, reconstruct, fold-in, metadata.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "autorec/container.hpp"
#include "autorec/text.hpp"
#include "autorec/train/model_writer.hpp"
#include "errors.hpp"
#include "py_model.hpp"

namespace py = pybind11;

namespace autorec::python {
namespace {

constexpr std::size_t kChunk = 4096;  // pairs per predict_batch call: the scratch stays in cache

Device parse_device(const std::string& name) {
  if (name == "auto") return Device::Auto;
  if (name == "cpu") return Device::Cpu;
  if (name == "cuda") return Device::Cuda;
  bad_input("device: " + quoted(name) + " is not one of auto, cpu, cuda");
}

std::unique_ptr<PyModel> load(py::handle source, const std::string& device, unsigned threads, const std::string& name) {
  LoadOptions options;
  options.device = parse_device(device);
  options.threads = threads;
  std::vector<std::byte> bytes;
  std::string label = name;
  if (PyObject_CheckBuffer(source.ptr()) && !py::isinstance<py::str>(source)) {
    const py::buffer_info b = py::reinterpret_borrow<py::buffer>(source).request();
    const auto* p = static_cast<const std::byte*>(b.ptr);
    bytes.assign(p, p + b.size * b.itemsize);
    if (label.empty()) label = "<bytes>";
  } else {
    const std::string path = py::module_::import("os").attr("fspath")(source).cast<std::string>();
    if (label.empty()) label = path;
    py::gil_scoped_release unlocked;
    bytes = read_file_bytes(path, options.max_decompressed_bytes + (options.max_decompressed_bytes >> 7) + (64 << 10));
  }
  py::gil_scoped_release unlocked;
  return std::make_unique<PyModel>(std::move(bytes), label, options);
}

// Rows k of users_idx/items_idx (-1 = unknown id) predicted into values (and sources when not null).
void predict_rows(const Model& model, const std::int64_t* users, const std::int64_t* items, std::size_t n,
                  bool clamp, float* values, std::uint8_t* sources) {
  std::vector<UserItem> pairs(std::min(n, kChunk));
  std::vector<Prediction> out(pairs.size());
  for (std::size_t b = 0; b < n; b += kChunk) {
    const std::size_t m = std::min(kChunk, n - b);
    for (std::size_t k = 0; k < m; ++k) {
      const std::int64_t u = users[b + k], i = items[b + k];
      pairs[k] = {u >= 0 ? std::optional<std::uint32_t>(std::uint32_t(u)) : std::nullopt,
                  i >= 0 ? std::optional<std::uint32_t>(std::uint32_t(i)) : std::nullopt};
    }
    model.predict_batch(std::span(pairs.data(), m), std::span(out.data(), m), clamp);
    for (std::size_t k = 0; k < m; ++k) {
      values[b + k] = out[k].value;
      if (sources) sources[b + k] = static_cast<std::uint8_t>(out[k].source);
    }
  }
}

// users and items broadcast against each other as numpy arrays (a scalar user with many items, a grid).
std::pair<py::array, py::array> broadcast(py::handle users, py::handle items) {
  const py::module_ np = py::module_::import("numpy");
  try {
    const py::tuple b = np.attr("broadcast_arrays")(np.attr("asarray")(users), np.attr("asarray")(items));
    return {b[0].cast<py::array>(), b[1].cast<py::array>()};
  } catch (const py::error_already_set& e) {
    if (!e.matches(PyExc_ValueError)) throw;
    bad_input(std::string("predict: users and items of shapes that do not broadcast: ") + e.what());
  }
}

// predict() at dense indices (-1 = unknown) into arrays of `shape`.
py::object predict_indices(const PyModel& self, const std::vector<std::int64_t>& users,
                           const std::vector<std::int64_t>& items, const std::vector<py::ssize_t>& shape, bool clamp,
                           bool return_source) {
  if (users.size() != items.size())
    bad_input("predict: " + std::to_string(users.size()) + " users but " + std::to_string(items.size()) + " items");
  py::array_t<float> values(shape);
  py::array_t<std::uint8_t> sources(return_source ? shape : std::vector<py::ssize_t>{0});
  float* v = values.mutable_data();
  std::uint8_t* s = return_source ? sources.mutable_data() : nullptr;
  {
    py::gil_scoped_release unlocked;
    std::shared_lock guard(self.lock);
    predict_rows(self.model, users.data(), items.data(), users.size(), clamp, v, s);
  }
  if (return_source) return py::make_tuple(values, sources);
  return values;
}

// Dense indices given as integers (negative = unknown), for predict_indices.
std::vector<std::int64_t> as_indices(py::handle a, std::uint32_t limit) {
  const auto v = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!v) bad_input("indices: not an array of integers");
  std::vector<std::int64_t> out(v.data(), v.data() + v.size());
  for (std::int64_t& x : out)
    if (x >= std::int64_t(limit)) x = -1;  // out of range: unknown, as predict treats it
  return out;
}

// (ids, scores) of recommendations, padded to k with index -1 and NaN.
py::tuple recommendation_arrays(const PyModel& self, const std::vector<Recommendation>& recs, bool return_indices) {
  std::vector<std::int64_t> index(recs.size());
  py::array_t<float> scores(py::ssize_t(recs.size()));
  for (std::size_t k = 0; k < recs.size(); ++k) index[k] = recs[k].item, scores.mutable_data()[k] = recs[k].rating;
  if (return_indices) return py::make_tuple(py::array_t<std::int64_t>(py::ssize_t(index.size()), index.data()), scores);
  return py::make_tuple(self.items.ids(index), scores);
}

std::uint32_t known_user(const PyModel& self, py::handle user) {
  const auto u = self.users.index(user, "user");
  if (!u)
    bad_input("user " + quoted(py::str(user).cast<std::string>()) +
              " is not in the model: recommend_for_ratings serves a user known only by ratings");
  return *u;
}

// rank_by as the C++ API takes it: "rule" (the model's ranking rule) or "rating".
RankBy rank_by_of(const std::string& name) {
  if (name == "rule") return RankBy::Rule;
  if (name == "rating") return RankBy::Rating;
  bad_input("rank_by: " + quoted(name) + " is not one of rule, rating");
}

py::tuple recommend_many(const PyModel& self, py::handle users, std::size_t k, bool exclude_rated, int threads,
                         const std::string& rank_by) {
  const RankBy by = rank_by_of(rank_by);
  const std::vector<std::int64_t> u = self.users.indices(users, "users");
  for (std::size_t j = 0; j < u.size(); ++j)
    if (u[j] < 0) bad_input("users[" + std::to_string(j) + "] is not in the model");
  const std::size_t n = u.size();
  std::vector<std::int64_t> items(n * k, -1);
  py::array_t<float> scores({py::ssize_t(n), py::ssize_t(k)});
  float* s = scores.mutable_data();
  std::fill(s, s + n * k, std::nanf(""));
  {
    py::gil_scoped_release unlocked;
    std::shared_lock guard(self.lock);
    const int t = threads > 0 ? threads : omp_get_num_procs();
    std::exception_ptr failure;  // an exception must not leave an OpenMP region: kept, rethrown after it
    std::mutex failure_lock;
#pragma omp parallel for num_threads(t) schedule(dynamic, 16)
    for (std::size_t j = 0; j < n; ++j) {
      try {
        const std::vector<Recommendation> r = self.model.recommend(std::uint32_t(u[j]), k, exclude_rated, by);
        for (std::size_t q = 0; q < r.size(); ++q) items[j * k + q] = r[q].item, s[j * k + q] = r[q].rating;
      } catch (...) {
        const std::lock_guard g(failure_lock);
        if (!failure) failure = std::current_exception();
      }
    }
    if (failure) std::rethrow_exception(failure);
  }
  py::array ids = self.items.ids(items);
  return py::make_tuple(ids.attr("reshape")(py::make_tuple(n, k)), scores);
}

// Fold-in ratings: the other side's ids and the values, as Entry{dense index, value}.
std::vector<Entry> entries(const IdSide& side, py::handle ids, py::handle ratings, const char* what) {
  const std::vector<std::int64_t> index = side.indices(ids, what);
  const auto v = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(ratings);
  if (!v) bad_input("ratings: not an array of numbers");
  if (std::size_t(v.size()) != index.size())
    bad_input(std::string(what) + ": " + std::to_string(index.size()) + " ids but " + std::to_string(v.size()) + " ratings");
  std::vector<Entry> out(index.size());
  for (std::size_t k = 0; k < index.size(); ++k) {
    if (index[k] < 0) {  // the given ids, as Python objects, only to name the missing one
      const py::list given = py::array::ensure(ids).attr("ravel")().attr("tolist")();
      bad_input(std::string(what) + "[" + std::to_string(k) + "]: " + quoted(py::str(given[k]).cast<std::string>()) +
                " is not in the model");
    }
    out[k] = {std::uint32_t(index[k]), v.data()[k]};
  }
  return out;
}

FoldInOptions fold_options(float lambda, bool clamp) {
  FoldInOptions o;
  o.lambda = lambda;
  o.clamp = clamp;
  return o;
}

py::array_t<float> to_array(std::vector<float>&& v) {
  auto* owner = new std::vector<float>(std::move(v));  // zero-copy: the array owns the vector
  py::capsule free_it(owner, [](void* p) { delete static_cast<std::vector<float>*>(p); });
  return py::array_t<float>(py::ssize_t(owner->size()), owner->data(), free_it);
}

}  // namespace

void bind_serving_calls(py::class_<PyModel>& c);
void bind_metadata(py::class_<PyModel>& c);

void bind_model(py::module_& m) {
  py::class_<PyModel> c(m, "Model", "A trained AutoRec model, loaded from model.fb: thread-safe for every query.");
  c.def_static("load", &load, py::arg("source"), py::kw_only(), py::arg("device") = "auto", py::arg("threads") = 0,
               py::arg("name") = "",
               "Loads a model file from a path or from bytes; every check of the file runs first (a damaged file raises "
               "CorruptModelError). device: auto, cpu or cuda.");
  c.def("predict", [](const PyModel& self, py::handle users, py::handle items, bool clamp, bool return_source) {
        const auto [bu, bi] = broadcast(users, items);
        const std::vector<std::int64_t> u = self.users.indices(bu, "users"), i = self.items.indices(bi, "items");
        return predict_indices(self, u, i, std::vector<py::ssize_t>(bu.shape(), bu.shape() + bu.ndim()), clamp,
                               return_source);
      }, py::arg("users"), py::arg("items"), py::kw_only(), py::arg("clamp") = true, py::arg("return_source") = false,
      "Predicted ratings (float32) of (user, item) id pairs, given as arrays, lists or scalars of the same length; "
      "an unknown id gets the cold-start rule. With return_source, also the source of each (autorec.Source codes).");
  c.def("predict_indices", [](const PyModel& self, py::handle users, py::handle items, bool clamp, bool return_source) {
        const auto [bu, bi] = broadcast(users, items);
        return predict_indices(self, as_indices(bu, self.users.size()), as_indices(bi, self.items.size()),
                               std::vector<py::ssize_t>(bu.shape(), bu.shape() + bu.ndim()), clamp, return_source);
      }, py::arg("users"), py::arg("items"), py::kw_only(), py::arg("clamp") = true, py::arg("return_source") = false,
      "predict() by dense indices (0..num_users-1, 0..num_items-1); a negative or larger index is an unknown id.");
  c.def("recommend", [](const PyModel& self, py::handle user, std::size_t k, bool exclude_rated, bool return_indices,
                        const std::string& rank_by) {
        const std::uint32_t u = known_user(self, user);
        const RankBy by = rank_by_of(rank_by);
        std::vector<Recommendation> r;
        {
          py::gil_scoped_release unlocked;
          std::shared_lock guard(self.lock);
          r = self.model.recommend(u, k, exclude_rated, by);
        }
        return recommendation_arrays(self, r, return_indices);
      }, py::arg("user"), py::arg("k") = 10, py::kw_only(), py::arg("exclude_rated") = true, py::arg("return_indices") = false,
      py::arg("rank_by") = "rule",
      "The k best items for a known user: (item ids, predicted ratings), best first, ranked by the model's ranking "
      "rule (rank_by='rating': by the predicted rating alone).");
  c.def("recommend_many", &recommend_many, py::arg("users"), py::arg("k") = 10, py::kw_only(),
        py::arg("exclude_rated") = true, py::arg("threads") = 0, py::arg("rank_by") = "rule",
        "recommend() for many users on `threads` threads (0 = all cores): (items [n, k], ratings [n, k]); a row "
        "with fewer than k items left is padded with -1 (None for string ids) and NaN.");
  bind_serving_calls(c);
  bind_metadata(c);
  bind_info(c);
}

void bind_serving_calls(py::class_<PyModel>& c) {
  c.def("reconstruct", [](const PyModel& self, py::handle column, bool clamp) {
        const IdSide& side = self.model.info().variant == Variant::ItemBased ? self.items : self.users;
        const auto col = side.index(column, "column");
        if (!col) bad_input("column " + quoted(py::str(column).cast<std::string>()) + " is not in the model");
        std::vector<float> out(self.model.column_length());
        {
          py::gil_scoped_release unlocked;
          std::shared_lock guard(self.lock);
          self.model.reconstruct_column(*col, out, clamp);
        }
        return to_array(std::move(out));
      }, py::arg("column"), py::kw_only(), py::arg("clamp") = true,
      "The network's reconstruction of a training column (an item of an item-based model: its predicted rating "
      "by every user, in user index order; a user of a user-based model: by every item).");
  c.def("fold_in_user", [](const PyModel& self, py::handle items, py::handle ratings, float lambda, bool clamp) {
        const std::vector<Entry> e = entries(self.items, items, ratings, "items");
        py::gil_scoped_release unlocked;
        std::shared_lock guard(self.lock);
        std::vector<float> out = self.model.fold_in_user(e, fold_options(lambda, clamp));
        py::gil_scoped_acquire locked;
        return to_array(std::move(out));
      }, py::arg("items"), py::arg("ratings"), py::kw_only(), py::arg("lambda_") = 0.5f, py::arg("clamp") = true,
      "Predictions for every item (by item index) of a new user known only by these ratings, without retraining.");
  c.def("recommend_for_ratings", [](const PyModel& self, py::handle items, py::handle ratings, std::size_t k,
                                    bool exclude_rated, float lambda, bool return_indices, const std::string& rank_by) {
        const std::vector<Entry> e = entries(self.items, items, ratings, "items");
        const RankBy by = rank_by_of(rank_by);
        std::vector<Recommendation> r;
        {
          py::gil_scoped_release unlocked;
          std::shared_lock guard(self.lock);
          r = self.model.recommend_for_ratings(e, k, exclude_rated, fold_options(lambda, true), by);
        }
        return recommendation_arrays(self, r, return_indices);
      }, py::arg("items"), py::arg("ratings"), py::arg("k") = 10, py::kw_only(), py::arg("exclude_rated") = true,
      py::arg("lambda_") = 0.5f, py::arg("return_indices") = false, py::arg("rank_by") = "rule",
      "The k best items for a new user known only by these ratings: (item ids, predicted ratings).");
  c.def("add_user", [](PyModel& self, const std::string& id, py::handle items, py::handle ratings, float lambda) {
        const std::vector<Entry> e = entries(self.items, items, ratings, "items");
        std::unique_lock guard(self.lock);
        const std::uint32_t index = self.model.add_user(id, e, fold_options(lambda, true));
        self.users = IdSide(self.model, true);
        return index;
      }, py::arg("id"), py::arg("items"), py::arg("ratings"), py::kw_only(), py::arg("lambda_") = 0.5f,
      "Folds a new user in under a new id, kept in this Model (not in save()); returns its dense index.");
}

void bind_metadata(py::class_<PyModel>& c) {
  c.def_property_readonly("num_users", [](const PyModel& self) { return self.users.size(); });
  c.def_property_readonly("num_items", [](const PyModel& self) { return self.items.size(); });
  c.def_property_readonly("user_ids", [](const PyModel& self) {
        std::vector<std::int64_t> all(self.users.size());
        for (std::size_t k = 0; k < all.size(); ++k) all[k] = std::int64_t(k);
        return self.users.ids(all);
      }, "Every user id, by dense index (int64 when the ids are integers, else str).");
  c.def_property_readonly("item_ids", [](const PyModel& self) {
        std::vector<std::int64_t> all(self.items.size());
        for (std::size_t k = 0; k < all.size(); ++k) all[k] = std::int64_t(k);
        return self.items.ids(all);
      }, "Every item id, by dense index.");
  c.def("user_index", [](const PyModel& self, py::handle id) { return self.users.index(id, "user"); }, py::arg("id"),
        "The dense index of a user id, or None.");
  c.def("item_index", [](const PyModel& self, py::handle id) { return self.items.index(id, "item"); }, py::arg("id"),
        "The dense index of an item id, or None.");
  c.def("to_bytes", [](const PyModel& self) {
        return py::bytes(reinterpret_cast<const char*>(self.file.data()), self.file.size());
      }, "The model file's bytes (users added by add_user are not in them).");
  c.def("save", [](const PyModel& self, py::handle path) {
        const std::string p = py::module_::import("os").attr("fspath")(path).cast<std::string>();
        py::gil_scoped_release unlocked;
        train::write_file_atomic(p, self.file);
      }, py::arg("path"), "Writes the model file (atomically: a crash leaves the old file or the new one).");
  c.def_property_readonly("training", [](const PyModel& self) { return self.training; },
                          "What autorec.train reported (history, test figures), or None for a loaded file.");
  c.def(py::pickle([](const PyModel& self) { return py::make_tuple(py::bytes(reinterpret_cast<const char*>(self.file.data()), self.file.size())); },
                   [](const py::tuple& t) {
                     const std::string b = t[0].cast<std::string>();
                     const auto* p = reinterpret_cast<const std::byte*>(b.data());
                     return std::make_unique<PyModel>(std::vector<std::byte>(p, p + b.size()), "<pickle>", LoadOptions{});
                   }));
}

}  // namespace autorec::python
