// The segment tracker: removes the /dev/shm names a process created and did not unlink, once that
// process has gone — however it went (SIGKILL included).
//
// Design. On the first track() a process starts its own tracker: a grandchild (double fork, so it
// is never the caller's child and never a zombie the caller must reap) in its own session, holding
// one end of an AF_UNIX SOCK_SEQPACKET socket pair. The other end stays (O_CLOEXEC) in the process
// that started it, which sends "register <name>" / "unregister <name>" records (one datagram each,
// MSG_NOSIGNAL, so a dead tracker gives EPIPE and never SIGPIPE). When every copy of that end is
// closed — the process exited or was killed — the tracker reads end-of-file, unlinks every name
// still registered (reporting them on stderr as leaks), and exits. A name whose file was
// identified (track_file: device and inode) is unlinked only if it still names that file.
//
// Ownership across fork: one tracker per process. A fork handler (ForkStage::shm_tracker) closes the
// inherited end in every forked child, so the parent's tracker sees EOF exactly when the parent
// dies, and a child that creates segments starts a tracker of its own. Names belong to the
// process that created them, not to its children.
//
// The tracker itself is a fork of a possibly multi-threaded process: it uses only async-signal-
// safe calls, closes every inherited descriptor but its socket and stderr, unmaps the inherited
// MAP_SHARED mappings (so it never pins other segments' memory), and allocates with mmap only.
//
// If the tracker dies (someone killed it), the next track()/untrack() starts a new one and
// registers again every name this process still owns.
//
// Thread-safety: track/untrack are safe from any thread.
#pragma once

#include <string>
#include <sys/types.h>

namespace mproc::detail::shm {

// Longest name the tracker carries (the record size is fixed).
inline constexpr std::size_t kTrackedNameMax = 254;

// Registers `name` to be unlinked if this process ends without untrack(). Starts the tracker on
// first use. Errors: EINVAL (name longer than kTrackedNameMax), the errno of socketpair / fork,
// errc::internal if the tracker does not start.
void track(const std::string& name);
// Records which file `name` stands for (the one open as `fd`: its device and inode), once this
// process created it: the tracker then removes the name only while it still names that file, so
// a name unlinked by someone else and created anew by another process is left to that process.
// Errors: the errno of fstat, those of track().
void track_file(const std::string& name, int fd);
// Forgets `name` (its owner unlinked it). Never fails for an unknown name.
void untrack(const std::string& name);
// The pid of this process's tracker, 0 if none was started (for tests).
pid_t tracker_pid() noexcept;

}  // namespace mproc::detail::shm
