// The owner's side of the tracker (see tracker.hpp for the design).
#include "shm/tracker.hpp"

#include <mproc/error.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>
#include <new>
#include <poll.h>
#include <pthread.h>
#include <map>
#include <string>
#include <utility>
#include <vector>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/deadline.hpp"
#include "base/fork_handlers.hpp"
#include "base/guarded_fork.hpp"
#include "base/library_thread.hpp"
#include "log/logger.hpp"
#include "process/pidfd.hpp"
#include "shm/tracker_process.hpp"

namespace mproc::detail::shm {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);

struct TrackerState {
  TrackerState();

  std::mutex mutex;
  int fd = -1;    // our end of the pair; -1 until started, and in a forked child
  pid_t pid = 0;  // the tracker's pid
  // The names this process registered (with their file's identity once known), to register again
  // with a restarted tracker. A pointer so that the forked child can drop the parent's map without
  // touching it (another thread may have been changing it at the fork).
  struct Identity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    bool known = false;
  };
  std::map<std::string, Identity>* names = nullptr;
  int pidfd = -1;         // the tracker's pidfd (readable once it has ended); -1 if none
  int watched_fd = -1;    // the pidfd the watcher thread waits on; it alone closes that one
  bool watching = false;  // the watcher thread runs (see watch_tracker)
};

TrackerState* g_state = nullptr;

// The child owns none of the parent's names and must not keep the parent's tracker from seeing
// EOF when the parent dies. Runs in the only thread of the child, where the mutex may have been
// copied locked; it is made anew.
void child_after_fork() {
  if (g_state == nullptr) return;
  if (g_state->fd >= 0) ::close(g_state->fd);
  if (g_state->pidfd >= 0) ::close(g_state->pidfd);
  if (g_state->watched_fd >= 0 && g_state->watched_fd != g_state->pidfd)
    ::close(g_state->watched_fd);
  g_state->fd = g_state->pidfd = g_state->watched_fd = -1;
  g_state->watching = false;  // the watcher thread is not copied into the child
  g_state->pid = 0;
  g_state->names = nullptr;  // the parent's copy is abandoned, not freed
  new (&g_state->mutex) std::mutex;
}

TrackerState::TrackerState() {
  register_fork_handlers(ForkStage::shm_tracker, {nullptr, nullptr, child_after_fork});
}

TrackerState& state() {
  // Never destroyed: segments may be closed by static destructors and atexit handlers.
  static TrackerState* s = g_state = new TrackerState;
  return *s;
}

void close_fd(int fd) noexcept {
  if (fd >= 0) ::close(fd);
}

// Log lines made while the tracker mutex is held, written when this object dies, after the mutex
// is released (declare it before the lock): a log handler (mproc_log_set_handler) may call the
// library back, and creating a segment there takes this mutex.
class DeferredLog {
 public:
  DeferredLog() = default;
  DeferredLog(const DeferredLog&) = delete;
  DeferredLog& operator=(const DeferredLog&) = delete;
  ~DeferredLog() {
    for (auto& [level, text] : lines_) {
      try {
        logger(LogCategory::shm).log(level, "{}", text);
      } catch (...) {
        // a log line is not worth an exception from a destructor
      }
    }
  }
  void add(spdlog::level::level_enum level, std::string text) {
    lines_.emplace_back(level, std::move(text));
  }

 private:
  std::vector<std::pair<spdlog::level::level_enum, std::string>> lines_;
};

void start_watching_locked(TrackerState& s) noexcept;

// Starts the tracker; returns our end of the pair and its pid.
void start_locked(TrackerState& s, DeferredLog& log) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    throw_errno(errno, "shm tracker: socketpair");
  const pid_t owner = ::getpid();
  ForkGuard guard(ForkGuard::Stdio::leave);
  const pid_t child = guard.fork();
  if (child < 0) {
    const int err = errno;
    close_fd(pair[0]);
    close_fd(pair[1]);
    throw_errno(err, "shm tracker: fork");
  }
  if (child == 0) {
    // The intermediate child: fork the tracker and exit at once, so that the tracker is
    // re-parented and never becomes a zombie of ours. Signals stay blocked in both until the
    // tracker restores the caller's mask.
    ForkGuard inner(ForkGuard::Stdio::leave);
    const pid_t grandchild = inner.fork();
    if (grandchild == 0) {
      guard.restore_signals();
      run_tracker(pair[1], pair[0], owner);
    }
    ::_exit(grandchild < 0 ? 1 : 0);
  }
  close_fd(pair[1]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  auto give_up = [&](const std::string& why) {
    close_fd(pair[0]);
    throw Error(errc::internal, "shm tracker did not start: " + why);
  };
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) give_up("fork failed in the helper child");

  TrackerRecord hello{};
  if (!wait_readable(pair[0], Deadline(kStartTimeout))) give_up("no answer");
  ssize_t n;
  while ((n = ::recv(pair[0], &hello, sizeof hello, 0)) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof hello) || hello.op != kOpHello)
    give_up("it ended before answering");
  hello.name[sizeof hello.name - 1] = '\0';
  s.fd = pair[0];
  s.pid = static_cast<pid_t>(std::atol(hello.name));
  log.add(spdlog::level::debug, "shm tracker started: pid " + std::to_string(s.pid));
  // Without a pidfd the tracker is still replaced, lazily, by the next track() or untrack().
  s.pidfd = pidfd_open(s.pid);
  if (s.pidfd >= 0) start_watching_locked(s);
}

// Sends one record; false if the tracker is gone.
bool send_locked(TrackerState& s, char op, const std::string& name,
                 const TrackerState::Identity& identity = {}) {
  TrackerRecord record{};
  record.op = op;
  std::memcpy(record.name, name.data(), name.size());
  record.device = identity.device;
  record.inode = identity.inode;
  record.identified = identity.known ? 1 : 0;
  for (;;) {
    if (::send(s.fd, &record, sizeof record, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof record))
      return true;
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) return false;
    throw_errno(errno, "shm tracker: send");
  }
}

// Tells a tracker that has just started every name this process owns, with its file's identity
// when known.
void register_all_locked(TrackerState& s) {
  for (const auto& [owned, owned_identity] : *s.names)
    if (!send_locked(s, kOpRegister, owned) ||
        (owned_identity.known && !send_locked(s, kOpIdentify, owned, owned_identity)))
      throw Error(errc::internal, "shm tracker (pid " + std::to_string(s.pid) +
                                      ") ended right after it started");
}

// Forgets a tracker that has ended and, if this process owns names, starts a new one and tells it
// every name.
void restart_locked(TrackerState& s, DeferredLog& log) {
  log.add(spdlog::level::warn,
          "shm tracker (pid " + std::to_string(s.pid) + ") has gone; starting a new one");
  close_fd(s.fd);
  if (s.pidfd != s.watched_fd) close_fd(s.pidfd);  // else the watcher closes it when it wakes
  s.fd = s.pidfd = -1;
  if (s.names == nullptr || s.names->empty()) return;  // nothing to track: start lazily later
  start_locked(s, log);
  register_all_locked(s);
}

// The watcher woke on `fd`, which it took for the tracker's pidfd. True if the tracker really
// ended. A program may have closed that descriptor (a close-every-fd loop, a stray close()), and
// its number may now name another file, readable or not: then the tracker lives on, `fd` is not
// ours to close, and the watch goes on with a fresh pidfd. A false restart would be harmful:
// closing our socket makes the old tracker remove every name it holds, live segments included.
bool tracker_ended_locked(TrackerState& s, int fd, short revents, DeferredLog& log) {
  if ((revents & POLLNVAL) == 0) {
    if (pidfd_send_signal(fd, 0) != 0 && errno == ESRCH) return true;  // a pidfd, its process gone
    // Else 0 (a pidfd of a live process: ours never wakes while the tracker lives) or EBADF /
    // EINVAL (not a pidfd at all): the number was closed and reused under us.
  }
  log.add(spdlog::level::warn,
          "shm tracker: its pidfd " + std::to_string(fd) +
              " was closed by someone else; the tracker is watched through a new one");
  s.pidfd = -1;  // not ours any more: never closed by us
  const int fresh = pidfd_open(s.pid);
  // The tracker alive after the pidfd was opened means that pidfd is the tracker's: our socket to
  // it shows a hang-up once it has ended (it is the only holder of the other end).
  pollfd sock{s.fd, POLLIN, 0};
  const bool hung_up = s.fd < 0 || ::poll(&sock, 1, 0) < 0 || (sock.revents & (POLLHUP | POLLNVAL));
  if (fresh < 0 || hung_up) {
    close_fd(fresh);
    return true;
  }
  s.pidfd = fresh;
  return false;
}

// The watcher thread: waits on the tracker's pidfd and replaces a tracker that ended (killed, say)
// at once, so that the names this process owns are always tracked — cleanup after a crash must
// not depend on this process creating another segment first. The pidfd it waits on stays open
// until it wakes (a restart by send() leaves it to the watcher), so its number cannot be reused
// under it. It ends when there is no tracker to watch; start_locked starts it again.
void* watch_tracker(void*) {
  // Named, so that a program can tell the library's threads from its own (the Python package
  // does before os.fork: see capi/python/mproc/process.py).
  ::pthread_setname_np(::pthread_self(), "mproc-tracker");
  TrackerState& s = state();
  for (;;) {
    int fd = -1;
    {
      std::lock_guard lock(s.mutex);
      fd = s.watched_fd = s.pidfd;
      if (fd < 0) {
        s.watching = false;
        return nullptr;
      }
    }
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    DeferredLog log;  // written after the lock below is released
    std::lock_guard lock(s.mutex);
    s.watched_fd = -1;
    if (fd != s.pidfd) {
      if ((p.revents & POLLNVAL) == 0) close_fd(fd);  // that tracker was already replaced by send()
      continue;
    }
    try {
      if (tracker_ended_locked(s, fd, p.revents, log)) restart_locked(s, log);  // closes our fd
    } catch (const std::exception& e) {
      // The next track() or untrack() tries again.
      log.add(spdlog::level::err, std::string("shm tracker: could not replace it: ") + e.what());
    }
  }
}

void start_watching_locked(TrackerState& s) noexcept {
  if (s.watching) return;
  s.watching = start_library_thread(watch_tracker) == 0;
}

// Sends, (re)starting the tracker when it is not running; a restarted tracker is told every name
// this process still owns.
void send(char op, const std::string& name, const TrackerState::Identity& identity = {}) {
  TrackerState& s = state();
  DeferredLog log;  // written after the lock below is released
  std::lock_guard lock(s.mutex);
  if (s.names == nullptr) s.names = new std::map<std::string, TrackerState::Identity>;
  if (op == kOpRegister) s.names->emplace(name, TrackerState::Identity{});
  else if (op == kOpIdentify) (*s.names)[name] = identity;
  else s.names->erase(name);

  if (s.fd >= 0 && send_locked(s, op, name, identity)) return;
  if (s.fd >= 0) {
    restart_locked(s, log);  // it ended, and the watcher has not replaced it yet
    return;
  }
  if (op == kOpUnregister && s.names->empty()) return;  // nothing to track: start lazily later
  start_locked(s, log);
  register_all_locked(s);
}

}  // namespace

void track(const std::string& name) {
  if (name.size() > kTrackedNameMax)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "shm tracker: name \"" + name + "\" is longer than " +
                    std::to_string(kTrackedNameMax) + " characters");
  send(kOpRegister, name);
}

void track_file(const std::string& name, int fd) {
  if (name.size() > kTrackedNameMax) return;  // track() refused it already
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(errno, "shm tracker: fstat(" + name + ")");
  send(kOpIdentify, name,
       {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino), true});
}

void untrack(const std::string& name) {
  if (name.size() > kTrackedNameMax) return;
  send(kOpUnregister, name);
}

pid_t tracker_pid() noexcept {
  TrackerState& s = state();
  std::lock_guard lock(s.mutex);
  return s.fd >= 0 ? s.pid : 0;
}

}  // namespace mproc::detail::shm
