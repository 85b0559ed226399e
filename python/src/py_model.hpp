// autorec.Model: a loaded model with its file image and id lookups, shared by the serving and training
// bindings.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "autorec/model.hpp"
#include "ids.hpp"

namespace autorec::python {

struct PyModel {
  PyModel(std::vector<std::byte> file_image, const std::string& name, const LoadOptions& options)
      : file(std::move(file_image)), model(Model::load_buffer(file, name, options)), users(model, true), items(model, false) {}

  std::vector<std::byte> file;  // the model file's bytes: save() and pickling write them back
  Model model;
  IdSide users, items;
  // Queries take it shared (once per call, not per pair), add_user/add_item exclusive: the Model's const
  // calls are thread-safe, its additions are not, and queries run without the GIL.
  mutable std::shared_mutex lock;
  pybind11::object training = pybind11::none();  // what autorec.train reports (history, test figures), or None
};

// Binds autorec.Model (serving.cpp).
void bind_model(pybind11::module_& m);
// Adds Model.info and __repr__ (info.cpp).
void bind_info(pybind11::class_<PyModel>& c);
// Binds autorec._train and autorec._evaluate (training.cpp).
void bind_training(pybind11::module_& m);

}  // namespace autorec::python
