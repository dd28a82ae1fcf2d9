// Synchronisation between processes: Python's Lock, RLock, Semaphore, BoundedSemaphore, Event,
// Condition and Barrier. Each object is a handle to state in shared memory; see each header.
//
// Two placements, chosen at construction:
//  - X(...) (the default): an anonymous MAP_SHARED mapping. Fast to create (one mmap, no name, no
//    file in /dev/shm), and shared with every process forked after it — Python's behaviour.
//  - X(mproc::attachable, ...): a named shared-memory segment. handle() returns a short string (the
//    segment's name) that can travel anywhere — in a pool task's arguments, a Queue, a pipe — and
//    X::attach(handle) opens the same object in a process that already runs. Creating one costs a
//    shm_open / ftruncate / mmap and a message to the shm tracker. handle() of a default-placed
//    object is errc::bad_state.
// Both stay: the default keeps creation cheap for the common fork-and-share case, and the named
// placement is the one to pick for objects shared with pool workers or unrelated processes.
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
