#include "process/parent_watch.hpp"

#include <cerrno>
#include <csignal>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/fork_handlers.hpp"
#include "process/pidfd.hpp"

namespace mproc::detail {
namespace {

// One parent per process, so one watch; its pidfd is closed in a child of this process (which
// has a parent of its own, and none of this thread).
int g_parent_pidfd = -1;

void forget_in_child() noexcept {
  if (g_parent_pidfd >= 0) ::close(g_parent_pidfd);
  g_parent_pidfd = -1;
}

[[noreturn]] void die() noexcept {
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);  // not reached
}

void* watch(void*) {
  pollfd p{g_parent_pidfd, POLLIN, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  die();
}

}  // namespace

bool die_with_parent(pid_t parent) noexcept {
  register_fork_handlers(ForkStage::parent_watch, {nullptr, nullptr, forget_in_child});
  forget_in_child();
  const int pidfd = pidfd_open(parent);
  // Opened after the parent ended (its pid may even be reused): our parent is no longer it.
  if (pidfd < 0 || ::getppid() != parent) die();
  g_parent_pidfd = pidfd;

  pthread_attr_t attr;
  if (::pthread_attr_init(&attr) != 0) return false;
  ::pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  ::pthread_attr_setstacksize(&attr, 64 * 1024);  // it only polls
  // Every signal blocked in the watcher, so that none meant for the program is delivered to it.
  sigset_t all;
  sigset_t saved;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &saved);
  pthread_t thread;
  const int rc = ::pthread_create(&thread, &attr, watch, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  ::pthread_attr_destroy(&attr);
  if (rc == 0) return true;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != parent) die();
  return false;
}

}  // namespace mproc::detail
