#include "base/guarded_fork.hpp"

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <ostream>
#include <pthread.h>
#include <stdio_ext.h>
#include <unistd.h>
#if defined(__GLIBCXX__)
#include <ext/stdio_sync_filebuf.h>
#endif

namespace mproc::detail {
namespace {

// True when `stream` writes straight into a C stream (libstdc++'s stdio_sync_filebuf, what
// std::cout and std::cerr use until sync_with_stdio(false)): it holds no bytes of its own.
bool writes_through_to_stdio(std::ostream& stream) noexcept {
#if defined(__GLIBCXX__)
  return dynamic_cast<__gnu_cxx::stdio_sync_filebuf<char>*>(stream.rdbuf()) != nullptr;
#else
  (void)stream;
  return false;
#endif
}

void flush_if_pending(FILE* stream) noexcept {
  // __fpending only reads the buffer's pointers: no lock taken, no page written.
  if (::__fpending(stream) != 0) std::fflush(stream);
}

}  // namespace

void flush_standard_streams() noexcept {
  try {
    if (!writes_through_to_stdio(std::cout)) std::cout.flush();
    if (!writes_through_to_stdio(std::cerr)) std::cerr.flush();
  } catch (...) {
    // A stream whose exceptions() were enabled by the program: its output is its own concern.
  }
  flush_if_pending(stdout);
  flush_if_pending(stderr);
}

ForkGuard::ForkGuard(Stdio stdio) noexcept {
  if (stdio == Stdio::flush) flush_standard_streams();
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
