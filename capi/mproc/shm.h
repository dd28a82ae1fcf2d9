/** @file
 * mproc's C ABI: shared memory, shared values and arrays.
 * Part of <mproc.h>, the umbrella header, whose file comment gives the conventions every
 * function follows; this header may also be included on its own. */
#ifndef MPROC_SHM_H
#define MPROC_SHM_H

#include "mproc/base.h"
#include "mproc/sync.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Shared memory: Python's multiprocessing.shared_memory.SharedMemory. A named POSIX segment
 * (shm_open), raw: the buffer is the whole file, with no header, so segments made by Python's
 * SharedMemory or by shm_open in any program attach alike. Names: "name" and "/name" are the same
 * segment; at most 251 characters, the slash included, and no other '/'.
 *
 * Lifetime, as in Python: mproc_shm_close drops this process's mapping; mproc_shm_unlink removes
 * the name (from any process; mappings stay valid). An attaching process never removes the name
 * by itself. The creating process's shm tracker removes a name its creator did not unlink when
 * that process ends, however it ends (a line on stderr reports it), so nothing is left in
 * /dev/shm; a child forked from the creator does not own the name.
 * Thread-safety: a handle is used by one thread at a time; the memory by anyone, synchronised by
 * the caller.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_shm_s mproc_shm_t;

/** @deprecated Use MPROC_NAME_MAX (the same value), which holds a segment name. */
#define MPROC_SHM_NAME_MAX MPROC_NAME_MAX

/** Creates a zero-filled segment of `size` bytes named `name`, or with a fresh unique name
 * ("/mproc-<pid>-<n>-<random>") when name is NULL or "". Errors: -EINVAL (out NULL, size <= 0,
 * malformed or too long name), -EEXIST (the name exists), -EACCES, -ENOSPC, -ENOMEM, -EMFILE.
 * On failure *out is untouched. */
MPROC_API int mproc_shm_create(const char *name, int64_t size, mproc_shm_t **out);

/** Maps the whole existing segment `name`. Errors: -EINVAL (name or out NULL, malformed name),
 * -ENOENT (no such segment), -EACCES, MPROC_ESTATE (the segment is empty: its creator never set
 * its size). On failure *out is untouched. */
MPROC_API int mproc_shm_attach(const char *name, mproc_shm_t **out);

/** *out = the start of the mapping, valid until mproc_shm_close / destroy of this handle.
 * Errors: MPROC_EBADHANDLE, MPROC_ECLOSED (closed), -EINVAL (out NULL). */
MPROC_API int mproc_shm_buf(mproc_shm_t *shm, void **out);

/** *out = the segment's size in bytes (also after close). Errors: MPROC_EBADHANDLE, -EINVAL. */
MPROC_API int mproc_shm_size(mproc_shm_t *shm, size_t *out);

/** Copies the name ("/name") as mproc_lock_handle copies a handle; shorter than
 * MPROC_NAME_MAX. Errors: MPROC_EBADHANDLE, -EINVAL (buf NULL with len > 0). */
MPROC_API int mproc_shm_name(mproc_shm_t *shm, char *buf, size_t len);

/** Unmaps; the handle stays valid (for name, size, unlink). Closing twice is a no-op.
 * Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_shm_close(mproc_shm_t *shm);

/** Removes the name now; mappings stay valid. Errors: MPROC_EBADHANDLE, -ENOENT (already removed:
 * a second unlink, or another process's), -EACCES. */
MPROC_API int mproc_shm_unlink(mproc_shm_t *shm);

/** Closes (but does not unlink) and frees the handle. NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_shm_destroy(mproc_shm_t *shm);

/* ------------------------------------------------------------------------------------------------
 * Shared values and arrays: Python's multiprocessing.Value / Array / RawValue / RawArray, as bytes.
 * An array is `count` elements of `element_size` bytes (a Value is an array of one element,
 * created with count 1), zero-filled, 64-byte aligned, in its own named segment, with an optional
 * recursive lock in the same segment. Any process attaches it by handle; the handle's lifetime is
 * that of the attachable locks above. get / set copy one element under the lock (when there is
 * one); mproc_array_data gives the memory itself, never locked: hold the lock with
 * mproc_array_acquire / mproc_array_release across several accesses. The lock is recovered when its
 * holder dies, as mproc_rlock's (MPROC_EOWNERDEAD). C++'s Value<T> / Array<T> attach the handles
 * made here when the element size and alignment match.
 * Thread-safety: every function may be called from any thread, except destroy.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_array_s mproc_array_t;

enum mproc_array_flags {
  MPROC_ARRAY_LOCK = 1 /**< give it a lock (Python's default); without it: RawValue / RawArray */
};

/** Creates an array. element_align is the alignment of one element (a power of two up to 64; 0
 * means the largest power of two dividing element_size, up to 16). flags: MPROC_ARRAY_LOCK or 0.
 * Errors: -EINVAL (out NULL, element_size 0, bad alignment, unknown flags, a total size over
 * 1 TiB), the -errno of shm_open / ftruncate / mmap. On failure *out is untouched. */
MPROC_API int mproc_array_create(size_t element_size, size_t element_align, size_t count,
                                 int flags, mproc_array_t **out);

/** Opens the array (or value) with this handle. Errors: -EINVAL (NULL, malformed handle), -ENOENT,
 * MPROC_EBADHANDLE (not a value or array). On failure *out is untouched. */
MPROC_API int mproc_array_attach(const char *handle, mproc_array_t **out);

/** As mproc_lock_handle. Errors: MPROC_EBADHANDLE, -EINVAL. */
MPROC_API int mproc_array_handle(mproc_array_t *array, char *buf, size_t len);

/** The element size, the count, and 1 if it has a lock (0 if not). Errors: MPROC_EBADHANDLE,
 * -EINVAL (out NULL). */
MPROC_API int mproc_array_element_size(mproc_array_t *array, size_t *out);
MPROC_API int mproc_array_count(mproc_array_t *array, size_t *out);
MPROC_API int mproc_array_has_lock(mproc_array_t *array);

/** Copies element `index` to out[0, size) / from data[0, size), under the lock if there is one.
 * size must be the element size. Errors: MPROC_EBADHANDLE, -EINVAL (NULL, size not the element
 * size), -ERANGE (index >= count). */
MPROC_API int mproc_array_get(mproc_array_t *array, size_t index, void *out, size_t size);
MPROC_API int mproc_array_set(mproc_array_t *array, size_t index, const void *data, size_t size);

/** *out = the first element in this process's mapping (valid until destroy). Not locked.
 * Errors: MPROC_EBADHANDLE, -EINVAL (out NULL). */
MPROC_API int mproc_array_data(mproc_array_t *array, void **out);

/** The array's lock, with mproc_rlock_acquire / release's results (MPROC_EOWNERDEAD included).
 * Errors: MPROC_EBADHANDLE, MPROC_ESTATE (created without a lock, or release by a thread that
 * does not hold it), -EINVAL. */
MPROC_API int mproc_array_acquire(mproc_array_t *array, int64_t timeout_ms);
MPROC_API int mproc_array_release(mproc_array_t *array);

/** Frees this process's handle. NULL is a no-op. Errors: MPROC_EBADHANDLE. */
MPROC_API int mproc_array_destroy(mproc_array_t *array);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_SHM_H */
