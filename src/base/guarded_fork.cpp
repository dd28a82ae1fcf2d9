#include "base/guarded_fork.hpp"

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <pthread.h>
#include <unistd.h>

namespace mproc::detail {

ForkGuard::ForkGuard(Stdio stdio) noexcept {
  if (stdio == Stdio::flush) {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(stdout);
    std::fflush(stderr);
  }
  sigemptyset(&saved_);
}

pid_t ForkGuard::fork() noexcept {
  sigset_t all;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved_);
  blocked_ = true;
  const pid_t pid = ::fork();
  if (pid != 0) {
    const int err = errno;
    restore_signals();
    errno = err;
  }
  return pid;
}

void ForkGuard::restore_signals() noexcept {
  if (!blocked_) return;
  ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
  blocked_ = false;
}

}  // namespace mproc::detail
