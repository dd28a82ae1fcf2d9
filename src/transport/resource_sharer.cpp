#include "transport/resource_sharer.hpp"

#include <mproc/connection.hpp>
#include <mproc/error.hpp>

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

#include "sync/arena.hpp"
#include "base/fork_handlers.hpp"
#include "base/library_thread.hpp"

namespace mproc::detail::sharer {
namespace {

// A collector waits this long for each step (connect, answer): the sharer answers at once unless
// its process is stopped or gone, and a task must fail rather than hang.
constexpr int kAnswerSeconds = 10;
// The server waits this long for a connected client's request.
constexpr Seconds kRequestWait{5};
constexpr std::size_t kTokenSize = sizeof(std::uint64_t) * 2;

using Token = std::pair<std::uint64_t, std::uint64_t>;

struct State {
  std::mutex mutex;
  bool started = false;
  int listen_fd = -1;
  int serving_fd = -1;  // the accepted connection being answered, -1 if none
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
  close_fd(s.serving_fd);
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

// Answers one accepted client: the descriptor for its token, or why not. Every close of the
// accepted socket happens under the mutex (see the header).
void answer(State& s, int client) {
  Connection conn;
  std::optional<std::string> request;
  try {
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0 &&
        peer.uid == ::geteuid()) {
      conn = Connection(client);
      client = -1;  // owned by conn
      request = conn.recv_bytes(kRequestWait, kTokenSize);
    }
  } catch (...) {
    request.reset();  // a client that hung up or sent garbage gets nothing
  }
  std::lock_guard lock(s.mutex);
  try {
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
    // The client went away: nothing to tell it.
  }
  conn.close();
  if (client >= 0) ::close(client);
  s.serving_fd = -1;
}

void* serve(void*) {
  ::pthread_setname_np(::pthread_self(), "mproc-sharer");  // the library's, by name
  State& s = state();
  int listen_fd = -1;
  {
    std::lock_guard lock(s.mutex);
    listen_fd = s.listen_fd;
  }
  for (;;) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, -1) < 0) continue;  // EINTR (every signal is blocked here anyway)
    int client = -1;
    {
      std::lock_guard lock(s.mutex);
      client = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);  // the socket is non-blocking
      if (client < 0) continue;
      s.serving_fd = client;
    }
    answer(s, client);
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
