// Synchronisation between processes: Python's Lock, RLock, Semaphore, BoundedSemaphore, Event,
// Condition and Barrier. Each object is a handle to state in shared memory; see each header.
//
// Two placements, chosen at construction:
//  - X(...) (the default): a 640-byte cell of this process's sync arena (memfd chunks mapped
//    MAP_SHARED: no name, no file in /dev/shm; no system call once the first chunk exists), shared
//    with every process forked after it, as in Python (this process holds it for a Process child
//    until it has reaped the child, however the child ended; a pool worker or raw fork() child
//    uses what it inherited while this process holds it, as with a Manager's objects: they may
//    be killed at any time, and what a worker attached is given back by its pool when it ends).
//    handle() works too ("@..."): the first one
//    shares the chunk's descriptor through this process's resource sharer (a thread, as for a
//    Connection passed to a Pool task), and attach() in another process of the same user collects
//    it (once per chunk) and maps it. So a plain Lock passed to a Pool task reaches workers forked
//    before it. Such a handle is valid while some process holds the object and the process that
//    made the handle runs (it serves the chunk).
//  - X(mproc::attachable, ...): a named shared-memory segment. handle() returns a short string (the
//    segment's name) that can travel anywhere — in a pool task's arguments, a Queue, a pipe — and
//    X::attach(handle) opens the same object in a process that already runs. Creating one costs a
//    shm_open / ftruncate / mmap and a message to the shm tracker.
// Both stay: the default keeps creation cheap; the named placement needs no sharer process and
// its handle is a plain name that any process (of any user allowed by the file mode) may open.
//
// Lifetime of a handle (as for Queue): the name exists while the creating process holds a copy of
// the object (the last copy gone, or the process dead, the name is removed — by the shm tracker if
// it was killed). Processes that attached keep working after that; only new attach() calls fail
// with ENOENT. So keep the creator's object alive while others may still attach.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/barrier.hpp>
#include <mproc/condition.hpp>
#include <mproc/event.hpp>
#include <mproc/lock.hpp>
#include <mproc/semaphore.hpp>
