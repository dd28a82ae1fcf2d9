// The library's own threads (the tracker watcher, the parent watcher, the resource sharer): each
// is detached, runs with every signal blocked (none meant for the program is delivered to it) and
// names itself. One way to start them.
#pragma once

#include <cstddef>

namespace mproc::detail {

// Starts `body(nullptr)` on a new detached thread with every signal blocked; `stack_size` 0 keeps
// the default. Returns once the thread runs `body` (at most 10 s later): a fork after the call
// copies no half-started thread's state. Returns 0 or the error number of pthread_create /
// pthread_attr_init (ENOMEM if its start record could not be allocated).
int start_library_thread(void* (*body)(void*), std::size_t stack_size = 0) noexcept;

}  // namespace mproc::detail
