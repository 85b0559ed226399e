// The project's checks, as macros so that a message is built only when its check fails (the hot paths stay
// free of string work). Not installed: hosts see autorec::Error and the C statuses only.
//   AUTOREC_CHECK_INPUT(cond, message)           bad input from the caller: Error(BadInput, message)
//   AUTOREC_THROW_IF_NOT(cond, status, message)  any other status (Corrupt, Unsupported, ...)
//   AUTOREC_ASSERT(cond, message)                an invariant of our own code: Error(Internal) naming the
//                                                source line and the condition (a bug, to be reported)
#pragma once

#include <string>

#include "autorec/error.hpp"

#define AUTOREC_THROW_IF_NOT(cond, status, message)                  \
  do {                                                               \
    if (!(cond)) throw ::autorec::Error((status), (message));        \
  } while (false)

#define AUTOREC_CHECK_INPUT(cond, message) AUTOREC_THROW_IF_NOT(cond, ::autorec::Status::BadInput, message)

#define AUTOREC_ASSERT(cond, message)                                                       \
  do {                                                                                      \
    if (!(cond)) ::autorec::detail::assertion_failed(#cond, __FILE__, __LINE__, (message)); \
  } while (false)

namespace autorec::detail {

[[noreturn]] inline void assertion_failed(const char* condition, const char* file, int line,
                                          const std::string& message) {
  throw Error(Status::Internal, message + " (" + condition + " does not hold at " + file + ":" + std::to_string(line) +
                                    "; a bug in autorec: please report this message)");
}

}  // namespace autorec::detail
