// Synchronisation between processes: Python's Lock, RLock, Semaphore, BoundedSemaphore, Event,
// Condition and Barrier. Each object is a handle to state in shared memory; see each header.
#pragma once

#include <mproc/barrier.hpp>
#include <mproc/condition.hpp>
#include <mproc/event.hpp>
#include <mproc/lock.hpp>
#include <mproc/semaphore.hpp>
