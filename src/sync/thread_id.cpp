#include "sync/thread_id.hpp"

#include <mutex>
#include <pthread.h>
#include <unistd.h>

namespace mproc::detail {
namespace {

thread_local pid_t cached_tid = 0;

// Runs in the child, on the thread that called fork(): the only thread whose cache survives.
void forget_tid_in_child() { cached_tid = 0; }

}  // namespace

pid_t current_tid() noexcept {
  if (cached_tid == 0) {
    static std::once_flag installed;
    std::call_once(installed, [] { ::pthread_atfork(nullptr, nullptr, forget_tid_in_child); });
    cached_tid = ::gettid();
  }
  return cached_tid;
}

}  // namespace mproc::detail
