// The forkserver: a small single-threaded process forked from this one (no exec: the same binary,
// so function pointers stay valid), which forks pool workers on request. A parent with many
// threads thus never forks a worker itself: the worker is a copy of the server, which was a copy
// of the parent when it was still single-threaded (or at least when start_forkserver was called).
//
// Protocol, over one SOCK_SEQPACKET socketpair (one message per datagram, fds by SCM_RIGHTS):
//   parent -> server  SpawnRequest + fds [channel memfd, control memfd, doorbell eventfd]
//   server -> parent  Reply{spawned, pid} + fd [pidfd]  or  Reply{spawn_failed, errno}
//   server -> parent  Reply{exited, pid, code}  when a worker ends (the server reaps it)
//   server -> parent  Reply{standby, pid} + fd [the parent's end of the twin's socket]
// The standby twin: a server forks a copy of itself while idle (at its start, or when it was
// itself promoted), which waits on a socket of its own. When the server dies, the parent promotes
// the twin instead of forking a new server: no fork happens in the parent, so a replacement
// server never comes from the thread that noticed the death (a pool's dispatcher, which holds no
// Python GIL), and is as good a parent of workers as the first (a fork of a single-threaded copy
// of the program taken on the thread that started the first server). A new server is forked only
// when there is no live twin (both killed).
// The parent watches each worker through its pidfd (readable when it exits) and kills it with
// pidfd_send_signal; its exit code comes from the server. The server exits, killing and reaping
// its workers, when the parent closes the socket (stop_forkserver) or dies (watched through its
// pidfd, since a promoted twin's parent process is the dead server's parent, not ours).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <sys/types.h>

namespace mproc::detail::pool {

struct ServedWorker {
  pid_t pid = 0;
  int pidfd = -1;     // O_CLOEXEC, owned by the caller
  pid_t server = 0;   // the server that forked it (and alone can report its exit code)
};

// Starts the server if it is not running (or has died: a new one replaces it), then has it fork a
// worker running worker_main on the given channel. A served worker dies with its server
// (PR_SET_PDEATHSIG): a killed server takes its workers along, so that the pool replaces them all
// at once. Errors: errc::broken if the server is gone or does not answer; the errno of fork in
// the server.
ServedWorker forkserver_spawn(const std::string& name, int channel_fd, int control_fd,
                              int doorbell, void (*initializer)(), size_t maxtasks);

// The exit code of a worker that `server` started (negative: killed by that signal), once it has
// reaped it; nullopt at once if that server is gone (a later server never knew the worker), or if
// it does not report it within `timeout_ms`.
std::optional<int> forkserver_exit_code(pid_t pid, pid_t server, int timeout_ms);

// The pid of the standby twin this process holds for the running server, after taking the
// announcements the server sent meanwhile; 0 if it holds none. For tests, which wait for a twin.
pid_t forkserver_standby_pid();

}  // namespace mproc::detail::pool
