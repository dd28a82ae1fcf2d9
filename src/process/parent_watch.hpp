// Making a forked child end when its parent process ends, busy or not.
//
// PR_SET_PDEATHSIG alone is not enough in a threaded parent: it fires when the *thread* that
// forked the child exits (prctl(2)), not the process — a pool's first workers are forked by the
// thread that made the pool, which may end long before the pool does. So the child watches the
// parent *process* through a pidfd (readable once it has ended, pidfd_open(2)) from a small
// thread of its own, and kills itself then. Where the forking thread is the parent's only thread
// (the fork server's workers), PR_SET_PDEATHSIG is exact and used instead (see forkserver.cpp).
#pragma once

#include <sys/types.h>

namespace mproc::detail {

// Call in the child, first thing. Kills the calling process (SIGKILL) as soon as `parent` ends, or
// at once if it has already ended. Returns false if no watcher thread could be started; then
// PR_SET_PDEATHSIG (SIGKILL) is set as the fallback, which fires when the forking thread exits.
bool die_with_parent(pid_t parent) noexcept;

}  // namespace mproc::detail
