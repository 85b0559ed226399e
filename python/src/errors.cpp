#include "errors.hpp"

#include "autorec/error.hpp"

namespace py = pybind11;

namespace autorec::python {
namespace {

// The exception types, created once with the module (the interpreter owns them; never freed).
struct Types {
  PyObject *error = nullptr, *bad_input = nullptr, *corrupt = nullptr, *unsupported = nullptr, *diverged = nullptr;
};
Types types;

PyObject* make(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string full = std::string("autorec.") + name;
  PyObject* t = PyErr_NewExceptionWithDoc(full.c_str(), doc, bases, nullptr);
  if (!t) throw py::error_already_set();
  m.add_object(name, py::handle(t));  // add_object steals nothing: the module holds its own reference
  return t;
}

PyObject* type_of(Status s) {
  switch (s) {
    case Status::BadInput: return types.bad_input;
    case Status::Corrupt: return types.corrupt;
    case Status::Unsupported: return types.unsupported;
    case Status::Io: return PyExc_OSError;
    case Status::OutOfMemory: return PyExc_MemoryError;
    case Status::Diverged: return types.diverged;
    case Status::Ok:
    case Status::Internal: break;
  }
  return types.error;
}

}  // namespace

void register_errors(py::module_& m) {
  types.error = make(m, "Error", PyExc_RuntimeError, "An error of the autorec library (the base of its own errors).");
  const py::tuple bad_bases = py::make_tuple(py::handle(types.error), py::handle(PyExc_ValueError));
  types.bad_input = make(m, "BadInputError", bad_bases.ptr(),
                         "Malformed data or arguments: the message names the file or argument, row, field and value.");
  types.corrupt = make(m, "CorruptModelError", types.error, "A model file (or checkpoint) that fails a check.");
  types.unsupported = make(m, "UnsupportedError", types.error,
                           "A valid request this build or machine cannot serve (a newer file, no CUDA device).");
  types.diverged = make(m, "DivergedError", types.error,
                        "Training stopped: the loss or a weight stopped being finite (the learning rate is too high "
                        "for the data); the last good checkpoint stays.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(type_of(e.status()), e.what());
    }
  });
}

void bad_input(const std::string& message) { throw Error(Status::BadInput, message); }

}  // namespace autorec::python
