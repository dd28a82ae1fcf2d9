#include "base/library_thread.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <new>
#include <pthread.h>

#include "base/deadline.hpp"
#include "base/futex.hpp"

namespace mproc::detail {
namespace {

// How long the creator waits for the new thread to run its first instruction of ours.
constexpr Seconds kStartWait{10.0};

struct StartRecord {
  void* (*body)(void*);
  std::atomic<std::uint32_t> running{0};
};

void* run_started(void* arg) {
  auto* record = static_cast<StartRecord*>(arg);
  void* (*body)(void*) = record->body;
  record->running.store(1, std::memory_order_release);
  // The creator may free the record as soon as it sees the store: the wake only names the
  // address (a private futex reads no memory).
  futex_wake_all(record->running, FutexScope::process_private);
  return body(nullptr);
}

// Returns once the thread runs `body`, or after kStartWait; true if it runs.
bool wait_until_running(StartRecord& record) noexcept {
  const Deadline deadline(kStartWait);
  while (record.running.load(std::memory_order_acquire) == 0) {
    if (deadline.expired()) return false;
    const timespec left = deadline.remaining();
    futex_wait_once(record.running, 0, &left, FutexScope::process_private);
  }
  return true;
}

}  // namespace

int start_library_thread(void* (*body)(void*), std::size_t stack_size) noexcept {
  auto* record = new (std::nothrow) StartRecord{body};
  if (record == nullptr) return ENOMEM;
  pthread_attr_t attr;
  int err = ::pthread_attr_init(&attr);
  if (err != 0) {
    delete record;
    return err;
  }
  ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (stack_size != 0) ::pthread_attr_setstacksize(&attr, stack_size);
  // The new thread inherits the creator's mask: block everything around its creation only.
  sigset_t all;
  sigset_t saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  pthread_t thread;
  err = ::pthread_create(&thread, &attr, run_started, record);
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  ::pthread_attr_destroy(&attr);
  if (err != 0) {
    delete record;
    return err;
  }
  // Waited for, so that no fork can copy the thread's start half done. A sanitizer runtime
  // (GCC 12's libasan) lets pthread_create return before the new thread has set itself up, which
  // allocates under a lock of its allocator, and takes no lock around fork: a fork at that moment
  // gave the child that lock held for ever, and the first thread the child started hung on it (a
  // die-with-parent child forked just after the tracker watcher started; 1 in ~40 loaded runs).
  // A thread that has not run within the wait keeps its record, which it then reads: leaked.
  if (wait_until_running(*record)) delete record;
  return 0;
}

}  // namespace mproc::detail
