/** @file
 * mproc's C ABI: the Manager and its dict, list and Namespace.
 * Part of <mproc.h>, the umbrella header, whose file comment gives the conventions every
 * function follows; this header may also be included on its own. */
#ifndef MPROC_MANAGER_H
#define MPROC_MANAGER_H

#include "mproc/base.h"
#include "mproc/shm.h"
#include "mproc/sync.h"
#include "mproc/queue.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Manager: Python's multiprocessing.Manager, without a server. Its dict, list and Namespace live
 * in shared memory (one growable segment each), so an operation costs a lock and a copy, not a
 * socket round trip. Keys, values and attributes' values are bytes (any length, 0 included, up
 * to 4 GiB - 1; an attribute name is a NUL-terminated string).
 *
 * Sharing: every container has a handle (a short string: mproc_dict_handle, ...) that any process
 * opens with mproc_dict_attach (...). A Manager has a name (mproc_manager_name) that any process
 * opens with mproc_manager_attach; containers created through the owning Manager with a name are
 * found by that name from any process (an attached Manager finds names but does not create them:
 * -ENOENT). Handles are inherited by forked children and work there.
 *
 * Crashes: every operation takes the container's robust process-shared lock. A process killed at
 * any moment, even inside an update, leaves the container consistent (each update is there or not)
 * and the lock is recovered by the next user: never a hang, never a torn value.
 *
 * Lifetime: a container made by mproc_dict_create (...) belongs to that handle: its _destroy
 * removes the name. What a Manager makes lives while any process holds a handle to it (since 0.2):
 * the last handle destroyed anywhere removes its name, so a Manager destroyed at once does not
 * take its queues and containers with it. mproc_manager_shutdown removes every name the Manager
 * made at once (Python's shutdown). The creating process's death removes them through its
 * tracker. Handles already open keep working; only later attach calls fail with -ENOENT.
 *
 * Bytes out: functions that return bytes store in *value a buffer that the caller releases with
 * mproc_buffer_free (never NULL on success, even for 0 bytes) and its length in *len. Lists of
 * byte strings (keys, items, snapshot) come packed in one such buffer: each string is a uint64_t
 * length (native byte order, unaligned) followed by its bytes; items alternate key and value.
 *
 * Errors common to every function below: MPROC_EBADHANDLE (NULL, destroyed or foreign handle),
 * -EINVAL (a NULL pointer argument, a NULL data pointer with a nonzero length), MPROC_ECLOSED
 * (after the owning Manager's shutdown, for the Manager itself), MPROC_ETOOBIG (a key or value of
 * 4 GiB or more), -ENOSPC / -ENOMEM (growing the shared memory failed).
 * Thread-safety: every function may be called from any thread at once on the same handle, except
 * _destroy (and mproc_manager_shutdown).
 * Since: 0.1.
 * --------------------------------------------------------------------------------------------- */

typedef struct mproc_manager_s mproc_manager_t;
typedef struct mproc_dict_s mproc_dict_t;
typedef struct mproc_list_s mproc_list_t;
typedef struct mproc_namespace_s mproc_namespace_t;

/** @deprecated Use MPROC_NAME_MAX (the same value), which holds a Manager's name or a container's
 * handle. */
#define MPROC_MANAGER_HANDLE_MAX MPROC_NAME_MAX

/** Creates a Manager owned by this handle. Errors: -ENOSPC, -EMFILE (shm_open / mmap). */
MPROC_API int mproc_manager_create(mproc_manager_t **out);
/** Opens the Manager named `name` (from mproc_manager_name, in any process). Errors: -ENOENT (no
 * such Manager, or it was shut down), -EINVAL (malformed name), MPROC_EBADHANDLE (not a
 * Manager). */
MPROC_API int mproc_manager_attach(const char *name, mproc_manager_t **out);
/** Copies the Manager's name, NUL-terminated, into buf (truncated to len - 1 bytes) and returns
 * its full length; buf may be NULL when len is 0. */
MPROC_API int mproc_manager_name(mproc_manager_t *manager, char *buf, size_t len);
/** The containers. `name` NULL or "": a new unnamed container, owned by this Manager handle. A
 * name: the container registered under it (created the first time, through the owning Manager
 * only). Errors: -ENOENT (an attached Manager and no such name), MPROC_EBADHANDLE (the name holds
 * another kind of container). The new handle is released with its own _destroy. */
MPROC_API int mproc_manager_dict(mproc_manager_t *manager, const char *name, mproc_dict_t **out);
MPROC_API int mproc_manager_list(mproc_manager_t *manager, const char *name, mproc_list_t **out);
MPROC_API int mproc_manager_namespace(mproc_manager_t *manager, const char *name,
                                      mproc_namespace_t **out);
/** A queue (see the Queues section; released with mproc_queue_destroy). maxsize: 0 = no limit;
 * a named queue keeps the maxsize it was created with. Errors: also -EINVAL (maxsize < 0). */
MPROC_API int mproc_manager_queue(mproc_manager_t *manager, const char *name, int64_t maxsize,
                                  mproc_queue_t **out);
/** A Value or Array (see the Arrays section: arguments as mproc_array_create's; a Value is an array
 * of count 1), or an attachable Lock (see the Locks section), owned and named like the containers;
 * released with mproc_array_destroy / mproc_lock_destroy. A named array keeps the shape it was
 * created with. Errors: also those of mproc_array_create. */
MPROC_API int mproc_manager_array(mproc_manager_t *manager, const char *name, size_t element_size,
                                  size_t element_align, size_t count, int flags,
                                  mproc_array_t **out);
MPROC_API int mproc_manager_lock(mproc_manager_t *manager, const char *name, mproc_lock_t **out);
/** Removes the names of everything this Manager handle created, and the Manager's own name. Open
 * handles keep working. Later calls on this Manager handle: MPROC_ECLOSED. Idempotent. */
MPROC_API int mproc_manager_shutdown(mproc_manager_t *manager);
/** Frees the handle. What the Manager made stays while any process holds it (before 0.2: this
 * shut the Manager down). NULL is a no-op. */
MPROC_API int mproc_manager_destroy(mproc_manager_t *manager);

/** Dict: Python's dict of bytes to bytes. _create makes one owned by the handle (no Manager). */
MPROC_API int mproc_dict_create(mproc_dict_t **out);
/** Errors: -ENOENT (no such dict), -EINVAL (malformed handle), MPROC_EBADHANDLE (not a dict). */
MPROC_API int mproc_dict_attach(const char *handle, mproc_dict_t **out);
/** As mproc_manager_name, for the dict's handle. */
MPROC_API int mproc_dict_handle(mproc_dict_t *dict, char *buf, size_t len);
/** d[key] = value. */
MPROC_API int mproc_dict_set(mproc_dict_t *dict, const void *key, size_t key_len,
                             const void *value, size_t value_len);
/** d[key] into a library-owned buffer. Errors: -ENOENT (no such key; *value is then NULL). */
MPROC_API int mproc_dict_get(mproc_dict_t *dict, const void *key, size_t key_len, void **value,
                             size_t *len);
/** d[key] into the caller's buffer: its size goes to *len and, if it fits in capacity bytes, its
 * bytes to buf (one copy, none allocated). buf may be NULL when capacity is 0.
 * Errors: -ENOENT (no such key), -ERANGE (the value is larger than capacity: nothing copied, *len
 * says how large; the value may change before a retry). Since: 0.2. */
MPROC_API int mproc_dict_get_into(mproc_dict_t *dict, const void *key, size_t key_len, void *buf,
                                  size_t capacity, size_t *len);
/** 1 if the key is there, 0 if not. */
MPROC_API int mproc_dict_contains(mproc_dict_t *dict, const void *key, size_t key_len);
/** Removes the key; its value goes to *value / *len unless value is NULL (then len may be NULL).
 * Errors: -ENOENT (no such key). */
MPROC_API int mproc_dict_pop(mproc_dict_t *dict, const void *key, size_t key_len, void **value,
                             size_t *len);
/** d.setdefault(key, default): the value for key, set to `default_value` first if missing (one
 * atomic step). */
MPROC_API int mproc_dict_setdefault(mproc_dict_t *dict, const void *key, size_t key_len,
                                    const void *default_value, size_t default_len, void **value,
                                    size_t *len);
/** The number of entries, in *size. */
MPROC_API int mproc_dict_size(mproc_dict_t *dict, size_t *size);
MPROC_API int mproc_dict_clear(mproc_dict_t *dict);
/** Every key (or key and value, alternating), packed (see above), and the entry count in *count.
 * In insertion order, as Python's dict: a replaced value keeps its key's place; a key erased and
 * set again comes last. */
MPROC_API int mproc_dict_keys(mproc_dict_t *dict, void **packed, size_t *len, size_t *count);
MPROC_API int mproc_dict_items(mproc_dict_t *dict, void **packed, size_t *len, size_t *count);
/** NULL is a no-op. The owning handle's destroy removes the dict's name. */
MPROC_API int mproc_dict_destroy(mproc_dict_t *dict);
/** How long each later call through this handle waits for the container's lock before it fails
 * with MPROC_ETIMEDOUT (MPROC_WAIT_FOREVER, the default: no limit; 0: only try). A live holder
 * keeps the lock for microseconds; a stopped one (SIGSTOP, a debugger) for as long as it is
 * stopped. Per handle: other handles of the same container keep their own. Thread-safe.
 * Errors: MPROC_EBADHANDLE, -EINVAL (timeout_ms < -1), MPROC_ECLOSED. */
MPROC_API int mproc_dict_set_timeout(mproc_dict_t *dict, int64_t timeout_ms);
/** The same for the Manager's own operations (finding or registering a name) and for every
 * container it returns afterwards. */
MPROC_API int mproc_manager_set_timeout(mproc_manager_t *manager, int64_t timeout_ms);
MPROC_API int mproc_list_set_timeout(mproc_list_t *list, int64_t timeout_ms);
MPROC_API int mproc_namespace_set_timeout(mproc_namespace_t *ns, int64_t timeout_ms);

/** List: Python's list of bytes. Indexes are Python's: 0 to size - 1, or negative counting from
 * the end (-1 is the last; since 0.2); any other index is -ERANGE (Python's IndexError) and
 * changes nothing. Elements compare by their bytes (remove, index, count, contains). */
MPROC_API int mproc_list_create(mproc_list_t **out);
/** Errors: -ENOENT, -EINVAL (malformed handle), MPROC_EBADHANDLE (not a list). */
MPROC_API int mproc_list_attach(const char *handle, mproc_list_t **out);
MPROC_API int mproc_list_handle(mproc_list_t *list, char *buf, size_t len);
MPROC_API int mproc_list_append(mproc_list_t *list, const void *value, size_t len);
/** l[index] into a library-owned buffer. Errors: -ERANGE. */
MPROC_API int mproc_list_get(mproc_list_t *list, int64_t index, void **value, size_t *len);
/** l[index] = value. Errors: -ERANGE. */
MPROC_API int mproc_list_set(mproc_list_t *list, int64_t index, const void *value, size_t len);
/** l.insert(index, value). As Python, a negative index counts from the end and any index is
 * clamped to [0, size] (since 0.2; before, -ERANGE). */
MPROC_API int mproc_list_insert(mproc_list_t *list, int64_t index, const void *value, size_t len);
/** l.pop(index) into a library-owned buffer (value NULL: just remove). Errors: -ERANGE. */
MPROC_API int mproc_list_pop(mproc_list_t *list, int64_t index, void **value, size_t *len);
MPROC_API int mproc_list_size(mproc_list_t *list, size_t *size);
MPROC_API int mproc_list_clear(mproc_list_t *list);
/** Every element at one instant, packed (see above); their number in *count. */
MPROC_API int mproc_list_snapshot(mproc_list_t *list, void **packed, size_t *len, size_t *count);
/** A slice bound given as this value is Python's omitted bound (l[:stop], l[start:], l[::-1]). */
#define MPROC_SLICE_OMITTED INT64_MIN
/** l[start:stop:step]: the elements packed (see above), their number in *count. Bounds are
 * Python's: negative counts from the end, beyond the list clamps; MPROC_SLICE_OMITTED for an
 * omitted one. Errors: -EINVAL (step 0). Since: 0.2. */
MPROC_API int mproc_list_slice(mproc_list_t *list, int64_t start, int64_t stop, int64_t step,
                               void **packed, size_t *len, size_t *count);
/** l[start:stop:step] = values, one atomic step: values[i] holds lens[i] bytes (values and lens
 * may be NULL when count is 0). With step 1 any number of values replaces the slice (an empty
 * slice: they are inserted at its start); another step needs exactly as many values as the slice
 * selects. Errors: -EINVAL (step 0, a count that does not match an extended slice). Since: 0.2. */
MPROC_API int mproc_list_set_slice(mproc_list_t *list, int64_t start, int64_t stop, int64_t step,
                                   const void *const *values, const size_t *lens, size_t count);
/** del l[start:stop:step], one atomic step. Errors: -EINVAL (step 0). Since: 0.2. */
MPROC_API int mproc_list_del_slice(mproc_list_t *list, int64_t start, int64_t stop, int64_t step);
/** Removes the first element equal to the value. Errors: -ENOENT (none: Python's ValueError).
 * Since: 0.2. */
MPROC_API int mproc_list_remove(mproc_list_t *list, const void *value, size_t len);
/** The position of the first element equal to the value within l[start:stop] (Python's
 * list.index bounds; MPROC_SLICE_OMITTED for stop means the end), in *index. Errors: -ENOENT
 * (none: Python's ValueError). Since: 0.2. */
MPROC_API int mproc_list_index(mproc_list_t *list, const void *value, size_t len, int64_t start,
                               int64_t stop, size_t *index);
/** How many elements equal the value, in *count. Since: 0.2. */
MPROC_API int mproc_list_count(mproc_list_t *list, const void *value, size_t len, size_t *count);
/** 1 if an element equals the value (Python's `value in l`), 0 if not. Since: 0.2. */
MPROC_API int mproc_list_contains(mproc_list_t *list, const void *value, size_t len);
/** Orders two elements for mproc_list_sort: negative if a goes before b, 0 if they are equal,
 * positive otherwise. */
typedef int (*mproc_list_compare_fn)(const void *a, size_t a_len, const void *b, size_t b_len,
                                     void *user_data);
/** Sorts the list in place, stable, as one atomic step: by compare, or by bytes when compare is
 * NULL (memcmp order, a prefix first). reverse nonzero: as Python's sort(reverse=True) (equal
 * elements keep their order). compare runs in the calling thread while the list's lock is held:
 * it must not use this list. Since: 0.2. */
MPROC_API int mproc_list_sort(mproc_list_t *list, mproc_list_compare_fn compare, void *user_data,
                              int reverse);
/** Reverses the list in place, one atomic step. Since: 0.2. */
MPROC_API int mproc_list_reverse(mproc_list_t *list);
MPROC_API int mproc_list_destroy(mproc_list_t *list);

/** Namespace: named attributes holding bytes (Python's Namespace; ns.attr = value). */
MPROC_API int mproc_namespace_create(mproc_namespace_t **out);
/** Errors: -ENOENT, -EINVAL (malformed handle), MPROC_EBADHANDLE (not a Namespace). */
MPROC_API int mproc_namespace_attach(const char *handle, mproc_namespace_t **out);
MPROC_API int mproc_namespace_handle(mproc_namespace_t *ns, char *buf, size_t len);
MPROC_API int mproc_namespace_set(mproc_namespace_t *ns, const char *attribute, const void *value,
                                  size_t len);
/** Errors: -ENOENT (the attribute was never set: Python's AttributeError). */
MPROC_API int mproc_namespace_get(mproc_namespace_t *ns, const char *attribute, void **value,
                                  size_t *len);
/** 1 if the attribute is set, 0 if not. */
MPROC_API int mproc_namespace_has(mproc_namespace_t *ns, const char *attribute);
/** del ns.attribute. Errors: -ENOENT (not set). */
MPROC_API int mproc_namespace_del(mproc_namespace_t *ns, const char *attribute);
MPROC_API int mproc_namespace_destroy(mproc_namespace_t *ns);

#ifdef __cplusplus
}
#endif

#endif /* MPROC_MANAGER_H */
