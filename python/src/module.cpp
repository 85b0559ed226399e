// The compiled part of the `autorec` Python package (autorec/_autorec): its Python layer is autorec/__init__.py.
#include <pybind11/pybind11.h>

#include "autorec/model.hpp"
#include "errors.hpp"
#include "py_model.hpp"

PYBIND11_MODULE(_autorec, m) {
  m.doc() = "AutoRec rating prediction: the engine under the autorec package.";
  autorec::python::register_errors(m);
  autorec::python::bind_model(m);
  autorec::python::bind_training(m);
  m.def("cpu_level", [] { return std::string(autorec::cpu_level()); },
        "The instruction-set level the kernels run at (baseline, avx2, avx512).");
}
