/** @file
 * mproc's C ABI: errors, version, logging, buffers, and the constants every topic uses.
 * Part of <mproc.h>, the umbrella header, whose file comment gives the conventions every
 * function follows; this header may also be included on its own. */
#ifndef MPROC_BASE_H
#define MPROC_BASE_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/platform.h" /* first: Linux 5.3+ and glibc, or one clear #error */
#include "mproc/errors.h"
#include "mproc/export.h"
#include "mproc/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Timeouts: wait without limit (any other negative timeout_ms is -EINVAL, but for
 * MPROC_WAIT_INTERRUPTIBLE where a function documents it). */
#define MPROC_WAIT_FOREVER (-1)

/** The timeout_ms of mproc_connection_recv_bytes and mproc_connection_recv_bytes_into that waits
 * without limit, like MPROC_WAIT_FOREVER, but returns -EINTR when a signal handler interrupts the
 * wait, instead of waiting on: for a caller that runs its signal handlers, then calls again (a
 * Python binding's main thread, where Ctrl-C must interrupt a blocked receive, as PEP 475's
 * blocking reads). A message partly received at that moment is kept for the next call. Other
 * functions refuse it (-EINVAL). Since: 0.2. */
#define MPROC_WAIT_INTERRUPTIBLE (-2)

/** The two size limits of the strings the library copies out: a buffer of MPROC_HANDLE_MAX bytes
 * always holds the handle of a lock, semaphore, event, condition, barrier, array or queue, and one
 * of MPROC_NAME_MAX bytes a segment's name, a Manager's name or the handle of a Manager's dict,
 * list or Namespace; both with the terminating NUL. Since: 0.2 for MPROC_NAME_MAX. MPROC_HANDLE_MAX
 * was 64 while only attachable objects had handles (theirs still fit in 64 bytes); the handles of
 * objects made by the plain create are longer. */
#define MPROC_HANDLE_MAX 256
#define MPROC_NAME_MAX 256

/* ------------------------------------------------------------------------------------------------
 * Errors and version
 * --------------------------------------------------------------------------------------------- */

/** mproc's own error codes, in the reserved range -1001 .. -1999 (see mproc/errors.h). */
enum mproc_error_code {
#define MPROC_ERROR_ENUM_(c_name, cpp_name, value, message) MPROC_##c_name = (value),
  MPROC_ERRNO_MAP(MPROC_ERROR_ENUM_)
#undef MPROC_ERROR_ENUM_
};

/** A sentence describing `code` (an MPROC_E* code, a negative errno, or 0). The string is static.
 * Never fails: an unknown code gives "unknown error". */
MPROC_API const char *mproc_strerror(int code);

/** The code's name: "MPROC_ETIMEDOUT", "EINVAL", "OK" for 0, "UNKNOWN" otherwise. Static. */
MPROC_API const char *mproc_err_name(int code);

/** The detailed message of the last call that failed on this thread ("" if none did). Valid until
 * the next failing mproc call on this thread. Never NULL. */
MPROC_API const char *mproc_last_error_message(void);

/** Records `message` (NULL: "") as this thread's last error message and returns `code`: for
 * libraries layered on mproc's C ABI (libmproc_mpi), so that mproc_last_error_message() gives
 * their errors' detail too. Never fails (without memory for the message, it is left empty).
 * Since: 0.2. */
MPROC_API int mproc_set_last_error(int code, const char *message);

/** The library's version at run time, as MPROC_VERSION_HEX (0xMMmmpp) and as "M.m.p". Compare with
 * the header's macros to detect a header/library mismatch. */
MPROC_API unsigned mproc_version(void);
MPROC_API const char *mproc_version_string(void);

/* ------------------------------------------------------------------------------------------------
 * Logging: the "mproc" logger on stderr, with the pid in every line. The initial level comes from
 * the MPROC_LOG_LEVEL environment variable (off, error, warn, info, debug, trace; default warn).
 * --------------------------------------------------------------------------------------------- */

enum mproc_log_level {
  MPROC_LOG_TRACE = 0,
  MPROC_LOG_DEBUG = 1,
  MPROC_LOG_INFO = 2,
  MPROC_LOG_WARN = 3,
  MPROC_LOG_ERROR = 4,
  MPROC_LOG_OFF = 6
};

/** Errors: -EINVAL for a level that is not one of the above. */
MPROC_API int mproc_log_set_level(int level);
/** The current level (an mproc_log_level value). Since: 0.2 (before: mproc_log_get_level). */
MPROC_API int mproc_log_level(void);
/** @deprecated The old name of mproc_log_level() (getters are named mproc_<noun>_<property>). */
MPROC_API int mproc_log_get_level(void) MPROC_DEPRECATED("use mproc_log_level");

/** The part of the library a log line comes from; each has a level of its own
 * (mproc_log_set_level_for), so that a host can hear one part in detail and keep the rest quiet. */
enum mproc_log_category {
  MPROC_LOG_CATEGORY_PROCESS = 0,   /**< processes, children, reaping */
  MPROC_LOG_CATEGORY_SYNC = 1,      /**< locks and the other synchronisation objects */
  MPROC_LOG_CATEGORY_SHM = 2,       /**< segments, shared memory, the segment tracker */
  MPROC_LOG_CATEGORY_TRANSPORT = 3, /**< connections, listeners, queues */
  MPROC_LOG_CATEGORY_POOL = 4,      /**< pools, their workers, the fork server */
  MPROC_LOG_CATEGORY_MANAGER = 5,   /**< the Manager and its containers */
  MPROC_LOG_CATEGORY_MPI = 6        /**< the MPI pool (libmproc_mpi) */
};

/** The level given to mproc_log_set_level_for() to make a category follow mproc_log_set_level()
 * again (every category's default). */
#define MPROC_LOG_FOLLOW_GLOBAL (-1)

/** Gives `category` (an mproc_log_category) a level of its own (an mproc_log_level): its lines are
 * written when at or above it, whatever mproc_log_set_level() says; MPROC_LOG_FOLLOW_GLOBAL makes
 * it follow that again. For example MPROC_LOG_CATEGORY_POOL at MPROC_LOG_DEBUG with the global
 * level at MPROC_LOG_WARN. The MPROC_LOG_LEVEL environment variable sets them too:
 * "warn,pool=debug,shm=off" (the global level, then CATEGORY=LEVEL parts).
 * Thread-safety: may be called from any thread.
 * Errors: -EINVAL (a category or level that is not one of the above). Since: 0.2. */
MPROC_API int mproc_log_set_level_for(int category, int level);
/** The level that applies to `category`: its own, else the global one (an mproc_log_level value).
 * Errors: -EINVAL (not a category). Since: 0.2. */
MPROC_API int mproc_log_level_for(int category);

/** Receives one of the library's log lines: `level` is an mproc_log_level, `message` the line's
 * text, NUL-terminated, without the time/pid prefix of the stderr format, valid only during the
 * call. `user_data` is the pointer given to mproc_log_set_handler(). */
typedef void (*mproc_log_handler_t)(int level, const char *message, void *user_data);

/** Routes the library's log lines (those at or above mproc_log_level()) to `handler` instead of
 * stderr, for a host program's own logger; handler NULL restores stderr. Since: 0.2.
 * Which thread: the handler runs on the thread that logs (the caller of an mproc function, a
 * pool's dispatcher thread, the thread that restarts a killed shared-memory tracker, or the main
 * thread of a child process), one line at a time (calls
 * never overlap), with the library's log lock held: it must not call mproc_log_set_handler() and
 * should return quickly.
 * Fork-safety: children forked by mproc (processes, pool workers) keep the handler (a fork copies
 * it) and never inherit the library's log lock held. Locks the handler takes itself must be
 * fork-safe too, or a child may block on one that another thread held at the fork (install such a
 * handler after starting children, or use the forkserver start method).
 * Thread-safety: may be called from any thread; each line goes whole to the old or the new handler.
 * Errors: none (returns 0). */
MPROC_API int mproc_log_set_handler(mproc_log_handler_t handler, void *user_data);

/* ------------------------------------------------------------------------------------------------
 * Buffers: memory that the library allocates and hands to the caller (a received message).
 * --------------------------------------------------------------------------------------------- */

/** Releases a buffer returned by the library (mproc_connection_recv_bytes, the queues' receive
 * functions, and the pool's outputs: mproc_future_get, mproc_pool_map, mproc_pool_iterator_next). NULL is a no-op. Never fails. Releasing anything else is undefined behaviour. */
MPROC_API void mproc_buffer_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_BASE_H */
