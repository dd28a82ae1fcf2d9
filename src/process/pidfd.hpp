// Thin wrappers for the pidfd system calls, which glibc 2.36 declares but older ones do not.
#pragma once

#include <sys/types.h>

namespace mproc::detail {

// pidfd_open(2): an O_CLOEXEC descriptor for `pid`, or -1 with errno set.
int pidfd_open(pid_t pid);
// pidfd_send_signal(2): 0, or -1 with errno set.
int pidfd_send_signal(int pidfd, int signal);

}  // namespace mproc::detail
