// Logging: mproc writes through the spdlog logger named "mproc" (registered with spdlog's
// registry when the name is free), to stderr, one write(2) per line so that lines from many
// processes never interleave, with the pid in every line. The level comes from the environment
// variable MPROC_LOG_LEVEL (off, error, warn, info, debug, trace; default warn) and from
// set_log_level(). Logging is fork-safe: the sink's lock is held across fork() and released in
// both processes, so a child can log even if another thread was logging when it was forked.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/export.h>

#include <functional>
#include <optional>
#include <string_view>

namespace mproc {

// The numeric values match the C ABI's MPROC_LOG_* constants.
enum class LogLevel : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 6 };

// Thread-safety: both are safe from any thread.
MPROC_API void set_log_level(LogLevel level);
MPROC_API LogLevel log_level();

// The part of the library a log line comes from. Each has its own level, so a host can hear one
// part in detail (say pool=debug) and keep the rest quiet. The numeric values match the C ABI's
// MPROC_LOG_CATEGORY_* constants.
enum class LogCategory : int {
  process = 0,    // Process, children, reaping
  sync = 1,       // locks and the other synchronisation objects
  shm = 2,        // segments, SharedMemory, the segment tracker
  transport = 3,  // Connection, Listener, queues
  pool = 4,       // Pool, its workers and the fork server
  manager = 5,    // Manager and its containers
  mpi = 6,        // the MPI Pool (libmproc_mpi)
};

// Gives `category` its own level; std::nullopt makes it follow set_log_level() again (the
// default). A line is written when its level is at or above its category's.
// MPROC_LOG_LEVEL sets them too: "warn,pool=debug,shm=off" (the global level, then categories).
// Errors: EINVAL for a category that is not one of the above.
// Thread-safety: both are safe from any thread.
MPROC_API void set_log_level_for(LogCategory category, std::optional<LogLevel> level);
// The level that applies to `category`: its own, else the global one.
MPROC_API LogLevel log_level_for(LogCategory category);

// Receives each of the library's log lines at or above log_level(): its level and its message
// (without the time, "[mproc]" and pid prefix of the stderr format: the host's logger adds its
// own).
using LogHandler = std::function<void(LogLevel level, std::string_view message)>;

// Routes the library's log lines to `handler` instead of stderr; an empty handler restores stderr.
// The C ABI's mproc_log_set_handler() is the same for C and FFI callers.
// Which thread: the handler runs on the thread that logs (the caller of an mproc function, a pool's
// dispatcher thread, the thread that restarts a killed shared-memory tracker, or the main thread of
// a child process), one line at a time (calls never
// overlap), with the library's log lock held: it must not call set_log_handler() itself and should
// return quickly. An exception it throws is swallowed (that line is lost).
// Fork-safety: children forked by mproc (Process, pool workers) keep the handler, since a fork
// copies it, and the library's log lock is never held in a child. Locks the handler takes itself
// (the host logger's) must be fork-safe too, or children may block on them: a host logger that is
// not fork-safe should be installed after the children start, or used with the forkserver.
// Thread-safety: safe from any thread; a line being logged when the handler changes goes to either
// the old handler or the new one, whole.
MPROC_API void set_log_handler(LogHandler handler);

}  // namespace mproc
