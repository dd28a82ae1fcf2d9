#include "base/library_thread.hpp"

#include <csignal>
#include <pthread.h>

namespace mproc::detail {

int start_library_thread(void* (*body)(void*), std::size_t stack_size) noexcept {
  pthread_attr_t attr;
  int err = ::pthread_attr_init(&attr);
  if (err != 0) return err;
  ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (stack_size != 0) ::pthread_attr_setstacksize(&attr, stack_size);
  // The new thread inherits the creator's mask: block everything around its creation only.
  sigset_t all;
  sigset_t saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  pthread_t thread;
  err = ::pthread_create(&thread, &attr, body, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  ::pthread_attr_destroy(&attr);
  return err;
}

}  // namespace mproc::detail
