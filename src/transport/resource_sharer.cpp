#include "transport/resource_sharer.hpp"

#include <mproc/connection.hpp>
#include <mproc/error.hpp>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <string_view>
#include <utility>
#include <vector>

#include "sync/arena.hpp"
#include "base/fork_handlers.hpp"
#include "base/deadline.hpp"
#include "base/library_thread.hpp"

namespace mproc::detail::sharer {
namespace {

// A collector waits this long for each step (connect, answer): the sharer answers at once unless
// its process is stopped or gone, and a task must fail rather than hang.
constexpr int kAnswerSeconds = 10;
// The server waits this long for a connected client's request. Clients are served as their
// requests arrive, so one that connects and says nothing (stopped, or not ours) delays nobody.
constexpr std::uint64_t kRequestWaitNs = 5'000'000'000;
// At most this many connected clients wait for their request to arrive; one more ends the
// oldest wait (each holds a descriptor of this process).
constexpr std::size_t kMaxWaiting = 128;
// After accept fails for want of descriptors or memory, the server stops accepting for this
// long (the connection stays queued; the listening socket would otherwise keep poll busy).
constexpr int kAcceptPauseMs = 100;
constexpr std::size_t kTokenSize = sizeof(std::uint64_t) * 2;

using Token = std::pair<std::uint64_t, std::uint64_t>;

// A client connected and not yet answered.
struct Waiting {
  int fd = -1;
  std::uint64_t until_ns = 0;  // monotonic_ns() after which it is dropped
};

struct State {
  std::mutex mutex;
  bool started = false;
  int listen_fd = -1;
  std::vector<Waiting> waiting;  // in the order they connected
  std::string address;
  std::map<Token, int> shares;  // token -> the sharer's own dup
};

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void lock_for_fork();
void unlock_after_fork();
void reset_in_child();

// Never destroyed: the server thread may run while static destructors do.
State& state() {
  static State* const s = [] {
    register_fork_handlers(ForkStage::resource_sharer,
                           {lock_for_fork, unlock_after_fork, reset_in_child});
    return new State;
  }();
  return *s;
}

void lock_for_fork() { state().mutex.lock(); }
void unlock_after_fork() { state().mutex.unlock(); }
// The forking thread holds the mutex: the state is whole. None of it is the child's: the server
// thread is not there, and a copy of a shared descriptor would keep its pipe open.
void reset_in_child() {
  State& s = state();
  close_fd(s.listen_fd);
  for (Waiting& w : s.waiting) close_fd(w.fd);
  s.waiting.clear();
  for (auto& [token, fd] : s.shares) ::close(fd);
  s.shares.clear();
  s.address.clear();
  s.started = false;
  s.mutex.unlock();
}

std::uint64_t random_u64() {
  std::uint64_t value = 0;
  std::size_t got = 0;
  while (got < sizeof value) {
    const ssize_t n = ::getrandom(reinterpret_cast<char*>(&value) + got, sizeof value - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "resource sharer: getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  return value;
}

socklen_t abstract_address(const std::string& name, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  const std::size_t n = std::min(name.size(), sizeof addr.sun_path - 1);
  std::memcpy(addr.sun_path + 1, name.data(), n);  // sun_path[0] = 0: the abstract namespace
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

// Answers a waiting client whose request has arrived (or that hung up): the descriptor for its
// token, or why not; then closes it. Called with the mutex held (every close of a client happens
// under it: see the header); nothing here blocks (the request is there, the answer is small).
void answer_locked(State& s, int client) {
  Connection conn;
  try {
    conn = Connection(client);
  } catch (...) {
    ::close(client);
    return;
  }
  try {
    const std::optional<std::string> request = conn.recv_bytes(Seconds(0), kTokenSize);
    if (request && request->size() == kTokenSize) {
      Token token;
      std::memcpy(&token.first, request->data(), sizeof token.first);
      std::memcpy(&token.second, request->data() + sizeof token.first, sizeof token.second);
      const auto found = s.shares.find(token);
      if (found != s.shares.end())
        conn.send_handle(found->second);
      else
        conn.send_bytes(std::string_view("the share is no longer held: the task it was given to "
                                         "has ended, or was cancelled"));
    }
  } catch (...) {
    // The client hung up, or sent garbage: nothing to tell it.
  }
  conn.close();
}

// Accepts every queued client of our user. Returns false if accept ran out of descriptors or
// memory (the server then pauses accepting).
bool accept_locked(State& s) {
  for (;;) {
    const int client = ::accept4(s.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);  // non-blocking
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM;
    }
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 ||
        peer.uid != ::geteuid()) {
      ::close(client);
      continue;
    }
    if (s.waiting.size() >= kMaxWaiting) {
      ::close(s.waiting.front().fd);
      s.waiting.erase(s.waiting.begin());
    }
    try {
      s.waiting.push_back(Waiting{client, monotonic_ns() + kRequestWaitNs});
    } catch (...) {
      ::close(client);
      return false;
    }
  }
}

void* serve(void*) {
  ::pthread_setname_np(::pthread_self(), "mproc-sharer");  // the library's, by name
  State& s = state();
  // No allocation in this loop (an exception here would end the program): s.waiting never
  // holds more than kMaxWaiting.
  std::array<pollfd, kMaxWaiting + 1> polled;
  std::uint64_t accept_paused_until = 0;
  for (;;) {
    int timeout_ms = -1;
    std::size_t count = 0;
    {
      std::lock_guard lock(s.mutex);
      const std::uint64_t now = monotonic_ns();
      // Drops the clients whose request did not come in time.
      std::erase_if(s.waiting, [now](const Waiting& w) {
        if (now < w.until_ns) return false;
        ::close(w.fd);
        return true;
      });
      const bool accepting = now >= accept_paused_until;
      polled[count++] = pollfd{accepting ? s.listen_fd : -1, POLLIN, 0};
      std::uint64_t next_ns = accepting ? 0 : accept_paused_until;
      for (const Waiting& w : s.waiting) {
        polled[count++] = pollfd{w.fd, POLLIN, 0};
        if (next_ns == 0 || w.until_ns < next_ns) next_ns = w.until_ns;
      }
      if (next_ns != 0) timeout_ms = static_cast<int>((next_ns - now) / 1'000'000 + 1);
    }
    if (::poll(polled.data(), count, timeout_ms) <= 0) continue;  // EINTR, or timed out
    std::lock_guard lock(s.mutex);
    // The waiting clients polled are the first count - 1 of s.waiting, in order: only this
    // thread adds or removes them.
    for (std::size_t i = count; i-- > 1;) {
      if (polled[i].revents == 0) continue;
      const int client = s.waiting[i - 1].fd;
      s.waiting.erase(s.waiting.begin() + static_cast<std::ptrdiff_t>(i - 1));
      answer_locked(s, client);
    }
    if (polled[0].revents != 0 && !accept_locked(s))
      accept_paused_until = monotonic_ns() + kAcceptPauseMs * 1'000'000ULL;
  }
}

void start_locked(State& s) {
  if (s.started) return;
  std::string name = "mproc-share-" + std::to_string(::getpid()) + "-" +
                     std::to_string(random_u64());
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw_errno(errno, "resource sharer: socket");
  sockaddr_un addr;
  const socklen_t length = abstract_address(name, addr);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), length) != 0 ||
      ::listen(fd, 64) != 0) {
    const int err = errno;
    ::close(fd);
    throw_errno(err, "resource sharer: bind/listen " + name);
  }
  s.listen_fd = fd;
  s.address = std::move(name);
  const int err = start_library_thread(serve);
  if (err != 0) {
    close_fd(s.listen_fd);
    s.address.clear();
    throw_errno(err, "resource sharer: pthread_create");
  }
  s.started = true;
}

}  // namespace

ShareTicket share(int fd) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  start_locked(s);
  ShareTicket ticket;
  ticket.token[0] = random_u64();
  ticket.token[1] = random_u64();
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw_errno(errno, "resource sharer: dup of descriptor " + std::to_string(fd));
  try {
    s.shares.emplace(Token{ticket.token[0], ticket.token[1]}, copy);
  } catch (...) {
    ::close(copy);
    throw;
  }
  ticket.address = s.address;
  ticket.pid = static_cast<std::int32_t>(::getpid());
  return ticket;
}

void withdraw(const std::uint64_t (&token)[2]) noexcept {
  State& s = state();
  std::lock_guard lock(s.mutex);
  const auto found = s.shares.find(Token{token[0], token[1]});
  if (found == s.shares.end()) return;
  ::close(found->second);
  s.shares.erase(found);
}

std::size_t outstanding() noexcept {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.shares.size();
}

int collect(const ShareTicket& ticket, const char* what) {
  const std::string gone = std::string(what) + ": the process that shared it (pid " +
                           std::to_string(ticket.pid) + ") is gone or no longer shares descriptors";
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(errno, std::string(what) + ": socket");
  // A full backlog makes connect wait; SO_SNDTIMEO bounds that wait (unix(7)).
  const timeval bound{kAnswerSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
  sockaddr_un addr;
  const socklen_t length = abstract_address(ticket.address, addr);
  while (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), length) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    if (err == ECONNREFUSED || err == ENOENT)
      throw Error(std::make_error_code(std::errc::connection_refused), gone);
    if (err == EAGAIN || err == EINPROGRESS)
      throw Error(std::make_error_code(std::errc::timed_out),
                  std::string(what) + ": no answer from the process that shared it (pid " +
                      std::to_string(ticket.pid) + ")");
    throw_errno(err, std::string(what) + ": connect");
  }
  Connection conn(fd);
  try {
    conn.send_bytes(ticket.token, kTokenSize);
    const std::optional<int> received = conn.recv_handle(Seconds(kAnswerSeconds));
    if (!received)
      throw Error(std::make_error_code(std::errc::timed_out),
                  std::string(what) + ": no answer from the process that shared it (pid " +
                      std::to_string(ticket.pid) + ")");
    // The sharer closes its side right after answering: wait for that, so that no descriptor of
    // this exchange is still open in the sharing process when the task runs (bounded).
    try {
      conn.poll(Seconds(kAnswerSeconds));
    } catch (...) {
      ::close(*received);
      throw;
    }
    return *received;
  } catch (const Error& e) {
    if (e.code() == errc::codec) {  // not a descriptor: the sharer says why
      const std::optional<std::string> why = conn.recv_bytes(Seconds(kAnswerSeconds), 4096);
      conn.poll(Seconds(kAnswerSeconds));
      throw Error(errc::bad_handle, std::string(what) + ": " + why.value_or("refused"));
    }
    if (e.code() == errc::end_of_file || e.code() == std::errc::broken_pipe ||
        e.code() == std::errc::connection_reset)
      throw Error(std::make_error_code(std::errc::connection_refused), gone);
    throw;
  }
}

namespace {

// The sync arena's chunks (sync/arena.hpp) travel through this sharer: shared once per chunk for
// the life of the process, as "<pid>:<token hex>:<token hex>:<address>".
std::string share_arena_chunk(int fd) {
  const ShareTicket ticket = share(fd);
  char buffer[40];
  std::string where = std::to_string(ticket.pid);
  for (const std::uint64_t t : ticket.token) {
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, t, 16);
    where += ':';
    where.append(buffer, r.ptr);
  }
  return where + ':' + ticket.address;
}

int collect_arena_chunk(std::string_view where, const char* what) {
  ShareTicket ticket;
  const auto number = [&where](auto& out, int base) {
    const auto stop = where.find(':');
    if (stop == std::string_view::npos) return false;
    const auto r = std::from_chars(where.data(), where.data() + stop, out, base);
    where.remove_prefix(stop + 1);
    return r.ec == std::errc() && r.ptr == where.data() - 1;
  };
  if (!number(ticket.pid, 10) || !number(ticket.token[0], 16) || !number(ticket.token[1], 16) ||
      where.empty() || where.size() > 100)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(what) + ".attach: malformed handle");
  ticket.address.assign(where);
  return collect(ticket, what);
}

[[maybe_unused]] const bool g_arena_sharer_registered = [] {
  arena::Sharer sharer;
  sharer.share = share_arena_chunk;
  sharer.collect = collect_arena_chunk;
  arena::set_sharer(sharer);
  return true;
}();

}  // namespace

}  // namespace mproc::detail::sharer
