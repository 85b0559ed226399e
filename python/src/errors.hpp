// The Python exceptions of autorec's statuses, and the translation of autorec::Error into them.
#pragma once

#include <pybind11/pybind11.h>

namespace autorec::python {

// Adds Error (the base, a RuntimeError), BadInputError (also a ValueError), CorruptModelError,
// UnsupportedError, DivergedError to the module and registers the translation: Io becomes OSError and
// OutOfMemory MemoryError, each with the library's message.
void register_errors(pybind11::module_& m);

// Raises BadInputError with `message` (for checks the binding itself makes on Python arguments).
[[noreturn]] void bad_input(const std::string& message);

}  // namespace autorec::python
