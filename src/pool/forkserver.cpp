#include "pool/forkserver.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <poll.h>
#include <pthread.h>
#include <stdio_ext.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <mproc/pool.hpp>

#include "base/fork_handlers.hpp"
#include "base/guarded_fork.hpp"
#include "base/shared_mapping.hpp"
#include "pool/channel.hpp"
#include "pool/worker.hpp"
#include "process/current_process.hpp"
#include "process/pidfd.hpp"

namespace mproc {
namespace detail::pool {
namespace {

// standby: server -> parent, Reply{standby, twin's pid} + fd [the parent's end of its socket].
enum class Op : uint32_t { spawn = 1, spawned = 2, spawn_failed = 3, exited = 4, standby = 5 };

struct SpawnRequest {
  Op op = Op::spawn;
  uint64_t maxtasks = 0;
  uintptr_t initializer = 0;
  char name[48] = {};
};

struct Reply {
  Op op = Op::exited;
  pid_t pid = 0;
  int32_t value = 0;  // errno (spawn_failed) or exit code (exited; negative: signal)
};

constexpr int kMaxFds = 3;
constexpr int kReplyTimeoutMs = 10'000;
constexpr int kStopTimeoutMs = 5'000;
// How often a wait for the server also checks that it is not stopped (see server_stopped).
constexpr int kStoppedCheckMs = 50;

bool send_message(int sock, const void* data, size_t size, const int* fds, int nfds) {
  iovec iov{const_cast<void*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * static_cast<size_t>(nfds));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * static_cast<size_t>(nfds));
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * static_cast<size_t>(nfds));
  }
  for (;;) {
    const ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n >= 0) return static_cast<size_t>(n) == size;
    if (errno != EINTR) return false;
  }
}

// One datagram; received fds are O_CLOEXEC. Returns its size, 0 at end of file, -1 on error.
ssize_t recv_message(int sock, void* data, size_t size, int* fds, int& nfds) {
  iovec iov{data, size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  nfds = 0;
  ssize_t n = 0;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (nfds < kMaxFds)
        fds[nfds++] = fd;
      else
        ::close(fd);
    }
  }
  return n;
}

void close_all(const int* fds, int n) {
  for (int i = 0; i < n; ++i) ::close(fds[i]);
}

int exit_code_of(const siginfo_t& info) {
  return info.si_code == CLD_EXITED ? info.si_status : -info.si_status;
}

void wait_pidfd(int pidfd, siginfo_t& info) {
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED) < 0 &&
         errno == EINTR) {
  }
}

// ---- the server (a forked child: single-threaded, never returns)

[[noreturn]] void run_worker(SpawnRequest& request, const int* fds, pid_t server) {
  int code = 1;
  // Mapped until _exit: the worker's arena ledger lives in it, read by run_exit_handlers below.
  std::unique_ptr<Channel> channel;
  try {
    ::prctl(PR_SET_NAME, request.name, 0, 0, 0);
    // Die with the server (its one thread forked us, so the signal comes when the server process
    // ends: PR_SET_PDEATHSIG fires on the exit of the forking *thread*, see prctl(2)). A server
    // that died before this line is caught by the parent check.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != server) ::_exit(1);
    channel = Channel::attach(fds[0]);
    void* page = map_shared_fd(fds[1], sizeof(PoolControl));
    if (page == nullptr) ::_exit(1);
    ::close(fds[0]);
    ::close(fds[1]);
    become_child(request.name, "", true, server, "ForkServer");
    std::function<void()> initializer;
    if (request.initializer != 0) initializer = reinterpret_cast<void (*)()>(request.initializer);
    const WorkerConfig config{channel.get(), static_cast<PoolControl*>(page), fds[2],
                              &initializer, static_cast<size_t>(request.maxtasks), server};
    code = worker_main(config);
  } catch (const SystemExit& e) {
    code = e.code();
  } catch (...) {
    code = 1;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  run_exit_handlers();  // what it holds of its own and its ledger does not record, as a fork worker
  ::_exit(code);
}

struct Child {
  pid_t pid;
  int pidfd;
};

// Serves one request; false when the parent closed its end (or the socket broke): stop.
// `twin` is the server's standby twin's pidfd (or -1), closed in the worker like the others.
bool spawn_in_server(int sock, std::vector<Child>& children, int twin) {
  SpawnRequest request;
  int fds[kMaxFds];
  int nfds = 0;
  const ssize_t n = recv_message(sock, &request, sizeof request, fds, nfds);
  if (n <= 0) return false;
  Reply reply;
  if (static_cast<size_t>(n) != sizeof request || nfds != kMaxFds || request.op != Op::spawn) {
    close_all(fds, nfds);
    reply.op = Op::spawn_failed;
    reply.value = EPROTO;
    send_message(sock, &reply, sizeof reply, nullptr, 0);
    return true;
  }
  request.name[sizeof request.name - 1] = '\0';
  const pid_t server = ::getpid();
  ForkGuard guard(ForkGuard::Stdio::leave);  // the server prints nothing
  const pid_t pid = guard.fork();
  if (pid == 0) {
    guard.restore_signals();
    ::close(sock);
    for (const Child& c : children) ::close(c.pidfd);
    if (twin >= 0) ::close(twin);
    run_worker(request, fds, server);
  }
  int err = errno;
  close_all(fds, nfds);
  int pidfd = -1;
  if (pid > 0) {
    pidfd = pidfd_open(pid);
    if (pidfd < 0) {
      err = errno;
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  if (pidfd < 0) {
    reply.op = Op::spawn_failed;
    reply.value = err;
    send_message(sock, &reply, sizeof reply, nullptr, 0);
    return true;
  }
  children.push_back({pid, pidfd});
  reply.op = Op::spawned;
  reply.pid = pid;
  send_message(sock, &reply, sizeof reply, &pidfd, 1);
  return true;
}

[[noreturn]] void server_main(int sock, int parent_pidfd, bool active);

// The standby twin (see forkserver.hpp): a fork of this server, idle and single-threaded, with a
// socket of its own whose other end goes to the parent (Op::standby). It serves once the parent
// promotes it, after this server died. Without a socket or a fork there is simply no twin.
// Returns the twin's pidfd (the server watches it: a twin that dies is reaped and replaced), or -1.
int fork_standby(int sock, int parent_pidfd, std::vector<Child>& children) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  ForkGuard guard(ForkGuard::Stdio::leave);
  const pid_t pid = guard.fork();
  if (pid == 0) {
    guard.restore_signals();
    ::close(sock);
    ::close(sv[0]);
    for (const Child& c : children) ::close(c.pidfd);  // this server's workers, not the twin's
    children.clear();
    server_main(sv[1], parent_pidfd, false);
  }
  ::close(sv[1]);
  int pidfd = -1;
  if (pid > 0) {
    pidfd = pidfd_open(pid);
    if (pidfd < 0) {
      ::kill(pid, SIGKILL);  // a twin the server could not watch is no twin
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    } else {
      Reply reply;
      reply.op = Op::standby;
      reply.pid = pid;
      send_message(sock, &reply, sizeof reply, &sv[0], 1);
    }
  }
  ::close(sv[0]);
  return pidfd;
}

// A server: `active` once the parent uses it (the first server at once, a twin once promoted);
// an active server keeps a standby twin. It ends with the parent (its pidfd readable) or when
// the parent closes the socket.
[[noreturn]] void server_main(int sock, int parent_pidfd, bool active) {
  ::prctl(PR_SET_NAME, active ? "mproc-forksrv" : "mproc-forktwin", 0, 0, 0);
  std::vector<Child> children;
  bool standby_wanted = active;
  int twin = -1;  // the standby twin's pidfd: this server's child, reaped here
  // Twins that died within a second of their fork, in a row: after three, no more twins (a
  // lasting cause, such as a process limit, would otherwise make this a fork loop).
  int quick_twin_deaths = 0;
  auto twin_forked = std::chrono::steady_clock::now();
  try {
    for (;;) {
      if (standby_wanted) {
        twin = fork_standby(sock, parent_pidfd, children);
        twin_forked = std::chrono::steady_clock::now();
        standby_wanted = false;
      }
      std::vector<pollfd> fds;
      fds.push_back({sock, POLLIN, 0});
      fds.push_back({parent_pidfd, POLLIN, 0});
      fds.push_back({twin, POLLIN, 0});  // poll skips it while it is -1
      for (const Child& c : children) fds.push_back({c.pidfd, POLLIN, 0});
      const int rc = ::poll(fds.data(), fds.size(), -1);
      if (rc < 0 && errno != EINTR) break;
      if (rc <= 0) continue;
      if (fds[1].revents != 0) break;  // the parent ended
      if (fds[2].revents != 0) {
        // The twin died (killed, say) while this server lives: reaped, and a new one announced,
        // which the parent takes in place of the dead one.
        siginfo_t info{};
        wait_pidfd(twin, info);
        ::close(twin);
        twin = -1;
        const bool quick = std::chrono::steady_clock::now() - twin_forked < std::chrono::seconds(1);
        quick_twin_deaths = quick ? quick_twin_deaths + 1 : 0;
        standby_wanted = active && quick_twin_deaths < 3;
      }
      for (size_t i = children.size(); i > 0; --i) {
        if (fds[i + 2].revents == 0) continue;
        const Child c = children[i - 1];
        siginfo_t info{};
        wait_pidfd(c.pidfd, info);
        ::close(c.pidfd);
        children.erase(children.begin() + static_cast<std::ptrdiff_t>(i - 1));
        Reply reply;
        reply.op = Op::exited;
        reply.pid = c.pid;
        reply.value = exit_code_of(info);
        send_message(sock, &reply, sizeof reply, nullptr, 0);
      }
      if (fds[0].revents != 0) {
        if (!spawn_in_server(sock, children, twin)) break;
        if (!active) {
          // Promoted: this twin now serves, and keeps a twin of its own.
          active = true;
          ::prctl(PR_SET_NAME, "mproc-forksrv", 0, 0, 0);
          standby_wanted = true;
        }
      }
    }
  } catch (...) {
    // Stop.
  }
  // No worker outlives its server, nor does its twin (which stands by only for a server that
  // dies abruptly, not for one that stops here): reaped here, not left to init.
  for (const Child& c : children) pidfd_send_signal(c.pidfd, SIGKILL);
  if (twin >= 0) pidfd_send_signal(twin, SIGKILL);
  for (const Child& c : children) {
    siginfo_t info{};
    wait_pidfd(c.pidfd, info);
  }
  if (twin >= 0) {
    siginfo_t info{};
    wait_pidfd(twin, info);
  }
  ::_exit(0);
}

// Closes every descriptor but stdio and `a`, `b`: the parent's other descriptors (pipe ends,
// sockets) must not be held open by the server or by the workers it forks.
void keep_only_descriptors(int a, int b) {
  const unsigned low = static_cast<unsigned>(std::min(a, b));
  const unsigned high = static_cast<unsigned>(std::max(a, b));
  if (low > 3) ::close_range(3, low - 1, 0);
  if (high > low + 1) ::close_range(low + 1, high - 1, 0);
  ::close_range(high + 1, ~0U, 0);
}

// ---- the client (in the parent)

struct Client {
  std::mutex mutex;
  pid_t owner = 0;  // the process that started the server
  pid_t pid = 0;    // the server
  int pidfd = -1;
  int sock = -1;
  // The server's standby twin (Op::standby), promoted when the server dies: not a child of this
  // process, so a replacement needs no fork here (the pool's dispatcher thread calls in, and a
  // Python process cannot run a child forked from a thread without the GIL).
  pid_t standby = 0;
  int standby_pidfd = -1;
  int standby_sock = -1;
  std::map<pid_t, int> exited;  // exit codes reported and not yet asked for
};

void forget_after_fork();

Client& client() {
  // Leaked on purpose: pools may still use it from at-exit handlers.
  static Client* c = [] {
    register_fork_handlers(ForkStage::forkserver_client, {nullptr, nullptr, forget_after_fork});
    return new Client;
  }();
  return *c;
}

// In a forked child: the server belongs to the parent. The child's copies of its descriptors are
// closed; the mutex may have been held by another thread at the fork, so it is made anew.
void forget_after_fork() {
  Client& c = client();
  new (&c.mutex) std::mutex;
  if (c.sock >= 0) ::close(c.sock);
  if (c.pidfd >= 0) ::close(c.pidfd);
  if (c.standby_sock >= 0) ::close(c.standby_sock);
  if (c.standby_pidfd >= 0) ::close(c.standby_pidfd);
  c.sock = c.pidfd = c.standby_sock = c.standby_pidfd = -1;
  c.pid = c.owner = c.standby = 0;
  c.exited.clear();
}

bool running(const Client& c) { return c.sock >= 0 && c.owner == ::getpid(); }

// True if the server process has ended (killed, say): its pidfd is readable.
bool server_died(const Client& c) {
  pollfd p{c.pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

// True if the server is stopped (SIGSTOP, a debugger): state T or t in /proc/PID/stat
// (proc(5)). A stopped server can neither fork a worker nor report an exit, and a pool must not
// wait for it (it used to block the dispatcher up to 10 s per spawn): it is killed and replaced
// as a dead one is. Its workers die with it (PR_SET_PDEATHSIG).
bool server_stopped(const Client& c) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(c.pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char stat[512];
  const ssize_t n = ::read(fd, stat, sizeof stat - 1);
  ::close(fd);
  if (n <= 0) return false;
  stat[n] = '\0';
  const char* end_of_name = std::strrchr(stat, ')');  // the name may hold spaces and parentheses
  return end_of_name != nullptr && end_of_name[1] == ' ' &&
         (end_of_name[2] == 'T' || end_of_name[2] == 't');
}

void stop_locked(Client& c);
bool read_reply(Client& c, Reply& reply, int& fd, int timeout_ms);

// Lets the standby twin go: it sees end of file on its socket and exits (killed if it does not
// within kStopTimeoutMs). It is not our child: whoever it was reparented to reaps it.
void drop_standby_locked(Client& c) {
  if (c.standby_sock < 0) return;
  ::close(c.standby_sock);
  pollfd p{c.standby_pidfd, POLLIN, 0};
  int rc = 0;
  while ((rc = ::poll(&p, 1, kStopTimeoutMs)) < 0 && errno == EINTR) {
  }
  if (rc == 0) pidfd_send_signal(c.standby_pidfd, SIGKILL);
  ::close(c.standby_pidfd);
  c.standby_sock = c.standby_pidfd = -1;
  c.standby = 0;
}

// Reads what a dead server left in its socket (its standby's announcement, exit codes) up to its
// end of file, where read_reply forgets the server.
void drain_locked(Client& c) {
  for (int left = 1024; left > 0 && running(c); --left) {
    pollfd p{c.sock, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return;
    Reply reply;
    int fd = -1;
    if (!read_reply(c, reply, fd, 0)) continue;
    if (reply.op == Op::exited) c.exited[reply.pid] = reply.value;
    if (fd >= 0) ::close(fd);
  }
}

// Takes the standby twin a server announced (replacing an older one, which is let go).
void take_standby(Client& c, pid_t pid, int sock) {
  drop_standby_locked(c);
  const int pidfd = pidfd_open(pid);
  if (pidfd < 0) {
    ::close(sock);  // it sees end of file and exits
    return;
  }
  c.standby = pid;
  c.standby_pidfd = pidfd;
  c.standby_sock = sock;
}

// Makes the standby the server, if it is alive; true if it did.
bool promote_standby_locked(Client& c) {
  if (c.standby_sock < 0) return false;
  pollfd p{c.standby_pidfd, POLLIN, 0};
  if (::poll(&p, 1, 0) != 0) {
    drop_standby_locked(c);
    return false;
  }
  c.owner = ::getpid();
  c.pid = c.standby;
  c.pidfd = c.standby_pidfd;
  c.sock = c.standby_sock;
  c.exited.clear();
  c.standby = 0;
  c.standby_pidfd = c.standby_sock = -1;
  return true;
}

// Kills a stopped server and forgets it (reaped); the next spawn starts a new one.
void kill_stopped_locked(Client& c) {
  pidfd_send_signal(c.pidfd, SIGKILL);
  drain_locked(c);
  stop_locked(c);
}

void start_locked(Client& c) {
  if (running(c) && !server_died(c)) return;
  // A dead server is reaped and replaced (its workers died with it): by its standby twin if it
  // has one (whose announcement may still wait in the socket), else by a new fork.
  if (running(c)) drain_locked(c);
  if (running(c)) stop_locked(c);
  if (promote_standby_locked(c)) return;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw_errno(errno, "forkserver: socketpair");
  // As Process::start: what the parent printed so far is written once, by the parent.
  ForkGuard guard(ForkGuard::Stdio::flush);
  const pid_t parent = ::getpid();
  const pid_t pid = guard.fork();
  if (pid == 0) {
    ::__fpurge(stdout);
    ::__fpurge(stderr);
    guard.restore_signals();
    // The parent watched through a pidfd: a twin's parent process is the server, not ours.
    const int parent_pidfd = pidfd_open(parent);
    if (parent_pidfd < 0) ::_exit(1);
    keep_only_descriptors(sv[1], parent_pidfd);
    // The server and its workers use none of the parent's objects, and the arena chunks they
    // inherited have lost their descriptors just now: the exit handlers retire those chunks (no
    // cell of them is allocated or shared from here). No reference was taken for this child.
    run_exit_handlers();
    server_main(sv[1], parent_pidfd, true);
  }
  const int err = errno;
  ::close(sv[1]);
  if (pid < 0) {
    ::close(sv[0]);
    throw_errno(err, "forkserver: fork");
  }
  const int pidfd = pidfd_open(pid);
  if (pidfd < 0) {
    const int open_err = errno;
    ::close(sv[0]);  // the server sees end of file and exits
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw_errno(open_err, "forkserver: pidfd_open");
  }
  c.owner = parent;
  c.pid = pid;
  c.pidfd = pidfd;
  c.sock = sv[0];
  c.exited.clear();
}

// Closes the socket (the server then kills and reaps its workers, and exits) and reaps the
// server, killing it if it does not exit within kStopTimeoutMs.
void stop_locked(Client& c) {
  if (!running(c)) return;
  ::close(c.sock);
  c.sock = -1;
  if (server_stopped(c)) pidfd_send_signal(c.pidfd, SIGKILL);  // it would never see the EOF
  pollfd p{c.pidfd, POLLIN, 0};
  int rc = 0;
  while ((rc = ::poll(&p, 1, kStopTimeoutMs)) < 0 && errno == EINTR) {
  }
  if (rc == 0) pidfd_send_signal(c.pidfd, SIGKILL);
  // By its pidfd, not its pid: a promoted twin is the dead server's child, not ours (ECHILD at
  // once), and its pid may by now name a child of ours whose status is not this call's to take.
  siginfo_t info{};
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(c.pidfd), &info, WEXITED) < 0 &&
         errno == EINTR) {
  }
  ::close(c.pidfd);
  c.pidfd = -1;
  c.pid = c.owner = 0;
  c.exited.clear();
}

// Reads one reply within `timeout_ms`. False on timeout; on end of file (the server died) the
// server is reaped and forgotten (the next spawn starts a new one), and false is returned.
bool read_reply(Client& c, Reply& reply, int& fd, int timeout_ms) {
  fd = -1;
  pollfd p{c.sock, POLLIN, 0};
  const int rc = ::poll(&p, 1, timeout_ms);
  if (rc < 0 && errno == EINTR) return false;
  if (rc == 0) return false;
  int fds[kMaxFds];
  int nfds = 0;
  const ssize_t n = recv_message(c.sock, &reply, sizeof reply, fds, nfds);
  if (n <= 0) {
    close_all(fds, nfds);
    stop_locked(c);
    return false;
  }
  if (static_cast<size_t>(n) != sizeof reply || nfds > 1) {
    close_all(fds, nfds);
    reply.op = Op::spawn_failed;
    reply.value = EPROTO;
    return true;
  }
  if (nfds == 1) fd = fds[0];
  if (reply.op == Op::standby) {
    // Kept aside, not a reply to anyone: the caller reads on.
    if (fd >= 0) take_standby(c, reply.pid, fd);
    return false;
  }
  return true;
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// One request to the running server. nullopt if the server died before it answered (killed,
// say: a worker it may have forked died with it); throws if it is alive but does not answer in
// time, or could not fork.
std::optional<ServedWorker> spawn_once(Client& c, const SpawnRequest& request, const int* fds) {
  if (!send_message(c.sock, &request, sizeof request, fds, kMaxFds)) {
    drain_locked(c);  // its standby's announcement may wait there
    stop_locked(c);
    return std::nullopt;
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kReplyTimeoutMs);
  for (;;) {
    Reply reply;
    int fd = -1;
    if (!running(c)) return std::nullopt;  // read_reply saw it end, and reaped it
    if (remaining_ms(deadline) == 0)
      throw Error(errc::broken, "forkserver: the server does not answer");
    if (!read_reply(c, reply, fd, std::min(remaining_ms(deadline), kStoppedCheckMs))) {
      if (running(c) && server_stopped(c)) {
        kill_stopped_locked(c);
        return std::nullopt;  // as a server that died: the caller starts a new one
      }
      continue;
    }
    switch (reply.op) {
      case Op::exited:
        c.exited[reply.pid] = reply.value;
        if (fd >= 0) ::close(fd);
        break;
      case Op::spawned:
        if (fd < 0) throw Error(errc::internal, "forkserver: a worker without its pidfd");
        return ServedWorker{reply.pid, fd, c.pid};
      default:
        if (fd >= 0) ::close(fd);
        throw_errno(reply.value, "forkserver: fork of a worker");
    }
  }
}

}  // namespace

ServedWorker forkserver_spawn(const std::string& name, int channel_fd, int control_fd,
                              int doorbell, void (*initializer)(), size_t maxtasks) {
  Client& c = client();
  std::lock_guard lock(c.mutex);
  SpawnRequest request;
  request.maxtasks = maxtasks;
  request.initializer = reinterpret_cast<uintptr_t>(initializer);
  std::snprintf(request.name, sizeof request.name, "%s", name.c_str());
  const int fds[kMaxFds] = {channel_fd, control_fd, doorbell};
  // A server that dies during the request is replaced once, so that a killed server costs the
  // pool no more than its workers (which die with it).
  for (int attempt = 0; attempt < 2; ++attempt) {
    start_locked(c);
    if (auto worker = spawn_once(c, request, fds)) return *worker;
  }
  throw Error(errc::broken, "forkserver: the server died twice while starting a worker");
}

std::optional<int> forkserver_exit_code(pid_t pid, pid_t server, int timeout_ms) {
  Client& c = client();
  std::lock_guard lock(c.mutex);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (auto it = c.exited.find(pid); it != c.exited.end()) {
      const int code = it->second;
      c.exited.erase(it);
      return code;
    }
    // Only the server that forked the worker reaps it; a later one would never answer.
    if (!running(c) || c.pid != server || remaining_ms(deadline) == 0) return std::nullopt;
    Reply reply;
    int fd = -1;
    if (!read_reply(c, reply, fd, std::min(remaining_ms(deadline), kStoppedCheckMs))) {
      if (running(c) && server_stopped(c)) kill_stopped_locked(c);  // it would never answer
      continue;
    }
    if (fd >= 0) ::close(fd);
    if (reply.op == Op::exited) c.exited[reply.pid] = reply.value;
  }
}

pid_t forkserver_standby_pid() {
  Client& c = client();
  std::lock_guard lock(c.mutex);
  // Under the lock no reply is awaited, so whatever waits in the socket is unsolicited.
  if (running(c) && !server_died(c)) drain_locked(c);
  return c.standby_sock >= 0 ? c.standby : 0;
}

}  // namespace detail::pool

void start_forkserver() {
  auto& c = detail::pool::client();
  std::lock_guard lock(c.mutex);
  detail::pool::start_locked(c);
}

void stop_forkserver() {
  auto& c = detail::pool::client();
  std::lock_guard lock(c.mutex);
  detail::pool::stop_locked(c);
  detail::pool::drop_standby_locked(c);
}

pid_t forkserver_pid() {
  auto& c = detail::pool::client();
  std::lock_guard lock(c.mutex);
  // A killed server is not running, though nobody has reaped it yet.
  return detail::pool::running(c) && !detail::pool::server_died(c) ? c.pid : 0;
}

}  // namespace mproc
