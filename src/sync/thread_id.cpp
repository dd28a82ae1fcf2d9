#include "sync/thread_id.hpp"

#include <unistd.h>

#include "base/fork_handlers.hpp"

namespace mproc::detail {
namespace {

thread_local pid_t cached_tid = 0;

// Runs in the child, on the thread that called fork(): the only thread whose cache survives.
void forget_tid_in_child() { cached_tid = 0; }

const bool g_fork_handlers_registered =
    (register_fork_handlers(ForkStage::thread_id, {nullptr, nullptr, forget_tid_in_child}), true);

}  // namespace

pid_t current_tid() noexcept {
  if (cached_tid == 0) cached_tid = ::gettid();
  return cached_tid;
}

}  // namespace mproc::detail
