#include "base/robust_mutex.hpp"

#include <mproc/error.hpp>

#include <cerrno>
#include <linux/futex.h>
#include <string>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace mproc::detail {
namespace {

void check(int rc, const char* what) {
  if (rc != 0) throw_errno(rc, what);
}

}  // namespace

void RobustMutex::init(bool error_check) {
  pthread_mutexattr_t attr;
  check(::pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
  int rc = ::pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = ::pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  if (rc == 0 && error_check) rc = ::pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  if (rc == 0) rc = ::pthread_mutex_init(&mutex_, &attr);
  ::pthread_mutexattr_destroy(&attr);
  check(rc, "pthread_mutex_init (process-shared, robust)");
}

Acquired RobustMutex::lock(const Deadline& deadline, OwnerDeath policy, const char* name) {
  if (deadline.infinite()) return took(::pthread_mutex_lock(&mutex_), policy, name);
  // pthread_mutex_clocklock takes an absolute CLOCK_MONOTONIC time; glibc retries after EINTR
  // itself, and the absolute deadline keeps the wait bounded.
  const timespec until = deadline.absolute_monotonic();
  return took(::pthread_mutex_clocklock(&mutex_, CLOCK_MONOTONIC, &until), policy, name);
}

// Turns the result of a lock call into the state of the acquisition. EOWNERDEAD: the previous
// owner died holding the lock; we now hold it, and mark it consistent so that it stays usable.
Acquired RobustMutex::took(int rc, OwnerDeath policy, const char* name) {
  switch (rc) {
    case 0:
      return Acquired::yes;
    case EOWNERDEAD:
      check(::pthread_mutex_consistent(&mutex_), "pthread_mutex_consistent");
      if (policy.tell != nullptr) policy.tell(name);
      return Acquired::recovered;
    case EBUSY:
    case ETIMEDOUT:
      return Acquired::no;
    case ENOTRECOVERABLE:
      throw Error(errc::internal, std::string(name) +
                                      ": the lock is unrecoverable (a previous owner died and the "
                                      "lock was released without repair)");
    default:
      throw_errno(rc, std::string(name) + ": pthread_mutex_lock");
  }
}

bool RobustMutex::linked_through_this_mapping() const noexcept {
  // The kernel's list (struct robust_list_head, futex(2)) holds the address of each held robust
  // mutex's list node as the thread saw it when it locked.
  robust_list_head* head = nullptr;
  std::size_t length = 0;
  if (::syscall(SYS_get_robust_list, 0, &head, &length) != 0 || head == nullptr) return true;
  // glibc links the address of __list.__next, and marks PI mutexes in the low bit.
  const auto node = reinterpret_cast<std::uintptr_t>(&mutex_.__data.__list.__next);
  const auto unmarked = [](const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) & ~std::uintptr_t{1};
  };
  if (unmarked(head->list_op_pending) == node) return true;
  const auto end = reinterpret_cast<std::uintptr_t>(&head->list);
  // Bounded: a thread holds few robust mutexes; the kernel itself stops at 2048 entries.
  auto entry = unmarked(head->list.next);
  for (int i = 0; i < 2048 && entry != 0 && entry != end; ++i) {
    if (entry == node) return true;
    entry = unmarked(reinterpret_cast<const robust_list*>(entry)->next);
  }
  return false;
}

}  // namespace mproc::detail
