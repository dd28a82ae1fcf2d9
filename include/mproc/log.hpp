// Logging: mproc writes through the spdlog logger named "mproc" (registered with spdlog's
// registry when the name is free), to stderr, one write(2) per line so that lines from many
// processes never interleave, with the pid in every line. The level comes from the environment
// variable MPROC_LOG_LEVEL (off, error, warn, info, debug, trace; default warn) and from
// set_log_level(). Logging is fork-safe: the sink's lock is held across fork() and released in
// both processes, so a child can log even if another thread was logging when it was forked.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/export.h>

namespace mproc {

// The numeric values match the C ABI's MPROC_LOG_* constants.
enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 6 };

// Thread-safety: both are safe from any thread.
MPROC_API void set_log_level(LogLevel level);
MPROC_API LogLevel log_level();

}  // namespace mproc
