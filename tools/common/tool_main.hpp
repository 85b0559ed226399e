// The one exit path of every tool: usage errors and autorec::Error become a message on stderr and an exit
// code (2 = bad input or usage, 1 = a failed check or a runtime failure).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <functional>

#include "autorec/error.hpp"
#include "autorec/model.hpp"

namespace autorec::tools {

inline constexpr int kExitFailedCheck = 1;
inline constexpr int kExitBadInput = 2;

inline int exit_code_for(Status s) {
  switch (s) {
    case Status::BadInput:
    case Status::Corrupt:
    case Status::Unsupported: return kExitBadInput;
    default: return kExitFailedCheck;
  }
}

// Parses the command line, then runs `body`; returns the process exit code.
inline int tool_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  // AUTOREC_CPU that was not followed (a name that is not a level, one this CPU lacks) is said, not fatal.
  if (const char* notice = cpu_level_notice(); *notice) std::fprintf(stderr, "%s: notice: %s\n", app.get_name().c_str(), notice);
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", app.get_name().c_str(), e.what());
    return exit_code_for(e.status());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: error: out of memory\n", app.get_name().c_str());
    return kExitFailedCheck;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", app.get_name().c_str(), e.what());
    return kExitFailedCheck;
  }
}

}  // namespace autorec::tools
