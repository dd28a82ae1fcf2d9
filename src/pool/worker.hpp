// The worker process's side of a pool: runs in the forked child, touches only its channel, the
// pool's control page and the doorbell eventfd (nothing of the parent's pool object, whose locks
// another parent thread may have held at the fork).
#pragma once

#include <cstddef>
#include <functional>
#include <sys/types.h>

#include "pool/channel.hpp"

namespace mproc::detail::pool {

struct WorkerConfig {
  Channel* channel;
  PoolControl* control;
  int doorbell;                              // eventfd
  const std::function<void()>* initializer;  // may be empty
  size_t maxtasks;                           // 0: unlimited
  pid_t parent;
};

// The exit code of a worker that found its channel corrupt (its own task scribbled over it, or
// a malformed message): it trusts nothing more there and exits at once.
inline constexpr int kExitChannelCorrupt = 70;  // EX_SOFTWARE

// The worker's main loop; returns the worker's exit code.
int worker_main(const WorkerConfig& config);

// In a pool worker (while worker_main runs): its configuration; null elsewhere. For the tests
// that play a task which scribbles over its own channel.
const WorkerConfig* current_worker() noexcept;

// Wakes the parent's collector of results if it sleeps: the dispatcher thread (its doorbell; this
// is shared with user threads that submit) or a guest (guest.cpp).
// `results`: after publishing results (only those wake a guest; room in the task ring and a task
// start are the dispatcher thread's business).
void ring_doorbell(PoolControl& control, int doorbell, bool results = false) noexcept;

}  // namespace mproc::detail::pool
