/* mproc's own error codes, shared by the C ABI and the C++ API. System errors are reported as
 * -errno; mproc's codes take the reserved range -1001 .. -1999. The values are pinned: a code is
 * never renumbered or reused, new codes are appended.
 *
 * XX(C name, C++ name, value, message) */
#ifndef MPROC_ERRORS_H
#define MPROC_ERRORS_H

#define MPROC_ERRNO_MAP(XX)                                                              \
  XX(EBADHANDLE, bad_handle, -1001, "invalid, destroyed or foreign handle")             \
  XX(ESTATE, bad_state, -1002, "operation not valid in the object's current state")     \
  XX(ETIMEDOUT, timed_out, -1003, "operation timed out")                                 \
  XX(EFULL, full, -1004, "full")                                                         \
  XX(EEMPTY, empty, -1005, "empty")                                                      \
  XX(ECLOSED, closed, -1006, "object is closed")                                         \
  XX(EEOF, end_of_file, -1007, "end of file: the peer closed its end")                   \
  XX(EWORKERDIED, worker_died, -1008, "worker process died")                             \
  XX(ETASKFAILED, task_failed, -1009, "task failed")                                     \
  XX(ECANCELLED, cancelled, -1010, "cancelled")                                          \
  XX(EOWNERDEAD, owner_dead, -1011, "the owner of a lock died; the lock was recovered")  \
  XX(ETOOBIG, too_big, -1012, "message too large")                                       \
  XX(ECODEC, codec, -1013, "value could not be encoded or decoded")                      \
  XX(EBROKEN, broken, -1014, "broken: the barrier or pool can no longer be used")        \
  XX(ETERMINATED, terminated, -1015, "pool terminated")                                  \
  XX(EINTERNAL, internal, -1016, "internal error")                                       \
  XX(EAUTH, authentication, -1017, "authentication failed")

#endif /* MPROC_ERRORS_H */
