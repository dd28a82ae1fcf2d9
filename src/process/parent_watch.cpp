#include "process/parent_watch.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/fork_handlers.hpp"
#include "base/library_thread.hpp"
#include "process/pidfd.hpp"

namespace mproc::detail {
namespace {

// One parent per process, so one watch; its pidfd is closed in a child of this process (which
// has a parent of its own, and none of this thread). Atomic: the watcher replaces it (see watch)
// while another thread may fork.
std::atomic<int> g_parent_pidfd{-1};
pid_t g_parent = 0;

// How often the watcher also compares getppid() with the parent: the bound on noticing a death
// when the pidfd's number was closed by the program and reused by a file that never wakes poll.
constexpr int kRecheckMs = 1000;

void forget_in_child() noexcept {
  const int fd = g_parent_pidfd.exchange(-1);
  if (fd >= 0) ::close(fd);
}

[[noreturn]] void die() noexcept {
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);  // not reached
}

// Waits for the parent's death and then kills this process. The pidfd waking is not proof of
// it: the program may have closed the descriptor (a close-every-fd loop in a task) or its number
// may now name another file. A dead parent re-parents us, so getppid() decides; a live one gets a
// fresh pidfd (the old number is the program's now, never closed by us). A healthy process is
// never killed.
void* watch(void*) {
  ::pthread_setname_np(::pthread_self(), "mproc-parent");  // the library's, by name
  for (;;) {
    pollfd p{g_parent_pidfd.load(), POLLIN, 0};
    int rc;
    while ((rc = ::poll(&p, 1, kRecheckMs)) < 0 && errno == EINTR) {
    }
    if (::getppid() != g_parent) die();
    if (rc == 0) continue;  // the periodic check
    // Woken, yet still our parent's child: the descriptor is no longer the parent's pidfd.
    const int fresh = pidfd_open(g_parent);
    if (fresh < 0 || ::getppid() != g_parent) die();  // it ended meanwhile
    g_parent_pidfd.store(fresh);
  }
}

}  // namespace

bool die_with_parent(pid_t parent) noexcept {
  register_fork_handlers(ForkStage::parent_watch, {nullptr, nullptr, forget_in_child});
  forget_in_child();
  const int pidfd = pidfd_open(parent);
  // Opened after the parent ended (its pid may even be reused): our parent is no longer it.
  if (pidfd < 0 || ::getppid() != parent) die();
  g_parent = parent;
  g_parent_pidfd.store(pidfd);

  if (start_library_thread(watch, 64 * 1024) == 0) return true;  // a small stack: it only polls
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != parent) die();
  return false;
}

}  // namespace mproc::detail
