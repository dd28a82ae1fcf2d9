// The kernel thread id of the calling thread, cached per thread. The cache is reset in the child
// of fork() (the child's only thread has a new id), by a fork handler (ForkStage::thread_id)
// registered when the library is loaded.
#pragma once

#include <sys/types.h>

namespace mproc::detail {

pid_t current_tid() noexcept;

}  // namespace mproc::detail
