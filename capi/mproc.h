/** @file mproc.h
 * mproc — Python's multiprocessing, natively: the C ABI.
 *
 * Conventions (the same for every function):
 *  - Names are `mproc_<noun>_<verb>`; objects are opaque `mproc_<noun>_t` handles, made by
 *    `mproc_<noun>_create(..., &out)` and released by `mproc_<noun>_destroy()`, which accepts NULL.
 *  - Every fallible function returns int: 0 (or a count, a pid, a file descriptor) on success, a
 *    negative code on failure: -errno for system errors (-EINVAL for bad arguments), or one of the
 *    MPROC_E* codes below. mproc_strerror() names the code for people, mproc_err_name() for
 *    programs, and mproc_last_error_message() gives the detail of the last failure on this thread.
 *  - A handle that is NULL, already destroyed, or not an mproc handle of the right type is
 *    rejected with MPROC_EBADHANDLE; the library never dereferences it.
 *  - Timeouts are int64_t milliseconds; MPROC_WAIT_FOREVER (-1) waits without limit; any other
 *    negative value is -EINVAL. Signals never shorten or stretch a wait.
 *  - No C++ exception ever crosses this boundary.
 *  - Thread-safety: functions may be called from any thread; a single handle may not be destroyed
 *    while another thread is using it.
 *
 * The declarations live in one header per topic, each usable on its own: mproc/base.h (errors,
 * version, logging, buffers), mproc/process.h, mproc/sync.h, mproc/shm.h (segments, Value and
 * Array), mproc/connection.h (pipes, listeners, wait), mproc/queue.h, mproc/manager.h and
 * mproc/pool.h. This header includes them all.
 *
 * Since: 0.1 for everything in these headers unless noted. */
#ifndef MPROC_H
#define MPROC_H

#include "mproc/base.h"
#include "mproc/process.h"
#include "mproc/sync.h"
#include "mproc/shm.h"
#include "mproc/connection.h"
#include "mproc/queue.h"
#include "mproc/manager.h"
#include "mproc/pool.h"

#endif /* MPROC_H */
