// Listener / client over AF_UNIX SOCK_SEQPACKET sockets or TCP, and Python's challenge-response
// handshake (multiprocessing.connection.deliver_challenge / answer_challenge, Python 3.12's
// "{sha256}" form) on top of Connection messages.
#include <mproc/listener.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/deadline.hpp"
#include "transport/connection_state.hpp"
#include "transport/hmac.hpp"

namespace mproc {
namespace {

constexpr std::string_view kChallenge = "#CHALLENGE#";
constexpr std::string_view kWelcome = "#WELCOME#";
constexpr std::string_view kFailure = "#FAILURE#";
constexpr std::string_view kDigestPrefix = "{sha256}";
constexpr std::size_t kRandomLength = 40;     // Python's MESSAGE_LENGTH
constexpr std::size_t kMaxHandshakeMessage = 256;  // as Python's recv_bytes(256)
// A peer that connects and then says nothing must not hold accept() forever.
constexpr Seconds kHandshakeTimeout{30.0};

[[noreturn]] void refuse(const std::string& why) {
  throw Error(errc::authentication, why);
}

// Thrown inside a timed accept() when its deadline passes during the handshake: accept() then
// drops the silent peer and reports its own timeout.
struct HandshakeDeadlinePassed {};

// One handshake message: waits at most kHandshakeTimeout, and never past `deadline` (a timed
// accept()'s), so a peer that connects and says nothing holds no caller past its own timeout.
std::string handshake_recv(Connection& connection, const char* step,
                           const detail::Deadline& deadline) {
  Seconds wait = kHandshakeTimeout;
  bool cut_by_deadline = false;
  if (!deadline.infinite()) {
    const timespec left = deadline.remaining();
    const Seconds remaining{static_cast<double>(left.tv_sec) +
                            static_cast<double>(left.tv_nsec) / 1e9};
    if (remaining < wait) {
      wait = remaining;
      cut_by_deadline = true;
    }
  }
  std::optional<std::string> message;
  try {
    message = connection.recv_bytes(wait, kMaxHandshakeMessage);
  } catch (const BufferTooShort&) {
    refuse(std::string(step) + ": the peer sent a message too long for the handshake");
  } catch (const Error& e) {
    if (e.code() == make_error_code(errc::end_of_file))
      refuse(std::string(step) + ": the peer closed the connection during authentication");
    throw;
  }
  if (!message && cut_by_deadline) throw HandshakeDeadlinePassed{};
  if (!message)
    refuse(std::string(step) + ": no answer within " +
           std::to_string(static_cast<int>(kHandshakeTimeout.count())) + " s");
  return std::move(*message);
}

// The response Python's _create_response gives for a "{sha256}..." challenge.
std::string response_to(std::string_view authkey, std::string_view challenge) {
  return std::string(kDigestPrefix) + detail::hmac_sha256(authkey, challenge);
}

// Fills a sockaddr_un for `address` (a path, or an abstract name starting with '\0') and returns
// its length. Errors: EINVAL.
socklen_t unix_address(const std::string& address, sockaddr_un& out, const char* op) {
  out = {};
  out.sun_family = AF_UNIX;
  const bool abstract = !address.empty() && address[0] == '\0';
  if (address.empty() || (!abstract && address.find('\0') != std::string::npos))
    throw_errno(EINVAL, std::string(op) + ": the address must be a path or start with '\\0'");
  // A path needs its terminating NUL; an abstract name is exactly its bytes.
  const std::size_t room = sizeof(out.sun_path) - (abstract ? 0 : 1);
  if (address.size() > room)
    throw_errno(EINVAL, std::string(op) + ": the address is longer than " +
                            std::to_string(room) + " bytes");
  address.copy(out.sun_path, address.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() +
                                (abstract ? 0 : 1));
}

std::string printable(const std::string& address) {
  if (address.empty() || address[0] != '\0') return address;
  // append, not "@" + substr(1): GCC 12 at -O3 reports a false -Wrestrict overlap for that.
  std::string shown = "@";
  shown.append(address, 1);
  return shown;
}

std::string fresh_abstract_name() {
  static std::atomic<unsigned> counter{0};
  char name[96];
  const std::string nonce = detail::random_bytes(6);
  unsigned long long tail = 0;
  for (unsigned char c : nonce) tail = (tail << 8) | c;
  std::snprintf(name, sizeof name, "mproc-listener-%d-%u-%012llx", static_cast<int>(::getpid()),
                ++counter, tail);
  return std::string(1, '\0') + name;
}

int unix_socket(const char* op) {
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(errno, std::string(op) + ": socket");
  return fd;
}

std::string printable(const TcpAddress& address) {
  return address.host + ":" + std::to_string(address.port);
}

// Resolves `address` to an IPv4 socket address ("": every interface for a listener, the loopback
// for a client, as Python's). Errors: EINVAL.
sockaddr_in inet_address(const TcpAddress& address, bool passive, const char* op) {
  if (address.host.find('\0') != std::string::npos)
    throw_errno(EINVAL, std::string(op) + ": the host name contains a NUL byte");
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(address.port);
  if (address.host.empty()) {
    // getaddrinfo(3) refuses a NULL node without a service: say it directly.
    out.sin_addr.s_addr = htonl(passive ? INADDR_ANY : INADDR_LOOPBACK);
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;  // Python's AF_INET: IPv4 only
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(address.host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    const int error = rc == EAI_SYSTEM && errno != 0 ? errno : EINVAL;
    throw_errno(error, std::string(op) + ": cannot resolve host '" + address.host +
                           "' to an IPv4 address: " + ::gai_strerror(rc));
  }
  std::memcpy(&out, found->ai_addr, sizeof out);
  ::freeaddrinfo(found);
  out.sin_port = htons(address.port);
  return out;
}

int tcp_socket(const char* op) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(errno, std::string(op) + ": socket");
  return fd;
}

// Messages are request and answer: send each at once rather than wait for more (Nagle).
void send_without_delay(int fd) {
  const int on = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // a hint; no failure matters
}

// After connect(2) was interrupted or is in progress: waits until it completes and returns its
// errno (0: connected), as connect(2) describes for EINPROGRESS.
int finish_connect(int fd) {
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return errno;
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
    return error;
  }
}

std::optional<std::string> key_or_none(std::optional<std::string> authkey) {
  // As Python: an empty key means no authentication.
  if (authkey && authkey->empty()) return std::nullopt;
  return authkey;
}

void deliver_challenge_until(Connection& connection, std::string_view authkey,
                             const detail::Deadline& deadline) {
  const std::string challenge = std::string(kDigestPrefix) + detail::random_bytes(kRandomLength);
  connection.send_bytes(std::string(kChallenge) + challenge);
  const std::string response = handshake_recv(connection, "deliver_challenge", deadline);
  if (!detail::equal_in_constant_time(response, response_to(authkey, challenge))) {
    try {
      connection.send_bytes(kFailure);
    } catch (const Error&) {
      // the peer may already be gone; it is refused either way
    }
    refuse("deliver_challenge: the digest received was wrong (the peer has another key, or none)");
  }
  connection.send_bytes(kWelcome);
}

void answer_challenge_until(Connection& connection, std::string_view authkey,
                            const detail::Deadline& deadline) {
  const std::string message = handshake_recv(connection, "answer_challenge", deadline);
  if (message.compare(0, kChallenge.size(), kChallenge) != 0)
    refuse("answer_challenge: the peer did not send a challenge");
  const std::string_view challenge = std::string_view(message).substr(kChallenge.size());
  if (challenge.compare(0, kDigestPrefix.size(), kDigestPrefix) != 0)
    refuse("answer_challenge: the challenge does not ask for {sha256}");
  connection.send_bytes(response_to(authkey, challenge));
  if (handshake_recv(connection, "answer_challenge", deadline) != kWelcome)
    refuse("answer_challenge: the digest sent was rejected (the peer has another key)");
}

// A client's side of the handshake, in Python's order: answer the listener's challenge, then
// challenge it.
Connection authenticated(Connection connection, const std::optional<std::string>& authkey) {
  if (authkey) {
    answer_challenge_until(connection, *authkey, detail::Deadline());
    deliver_challenge_until(connection, *authkey, detail::Deadline());
  }
  return connection;
}

}  // namespace

void deliver_challenge(Connection& connection, std::string_view authkey) {
  deliver_challenge_until(connection, authkey, detail::Deadline());
}

void answer_challenge(Connection& connection, std::string_view authkey) {
  answer_challenge_until(connection, authkey, detail::Deadline());
}

Listener::Listener(std::string address, std::optional<std::string> authkey, int backlog)
    : address_(std::move(address)), authkey_(key_or_none(std::move(authkey))) {
  const bool fresh = address_.empty();
  for (int attempt = 0;; ++attempt) {
    if (fresh) address_ = fresh_abstract_name();
    sockaddr_un sa;
    const socklen_t length = unix_address(address_, sa, "Listener");
    const int fd = unix_socket("Listener");
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), length) != 0) {
      const int bind_errno = errno;
      ::close(fd);
      if (fresh && bind_errno == EADDRINUSE && attempt < 16) continue;
      throw_errno(bind_errno, "Listener: bind to " + printable(address_));
    }
    if (::listen(fd, backlog) != 0) {
      const int listen_errno = errno;
      ::close(fd);
      if (address_[0] != '\0') ::unlink(address_.c_str());
      throw_errno(listen_errno, "Listener: listen on " + printable(address_));
    }
    fd_ = fd;
    owner_ = ::getpid();
    return;
  }
}

Listener::Listener(const TcpAddress& address, std::optional<std::string> authkey, int backlog)
    : authkey_(key_or_none(std::move(authkey))) {
  const sockaddr_in wanted = inet_address(address, true, "Listener");
  const int fd = tcp_socket("Listener");
  // As Python's SocketListener: a restarted server can bind its port while old connections
  // linger in TIME_WAIT.
  const int on = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in bound{};
  socklen_t length = sizeof bound;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&wanted), sizeof wanted) != 0 ||
      ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    const int bind_errno = errno;
    ::close(fd);
    throw_errno(bind_errno, "Listener: bind to " + printable(address));
  }
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &bound.sin_addr, text, sizeof text);
  address_ = text;
  port_ = ntohs(bound.sin_port);
  fd_ = fd;
  owner_ = ::getpid();
}

Listener::~Listener() { close(); }

Listener::Listener(Listener&& other) noexcept
    : fd_(other.fd_),
      address_(std::move(other.address_)),
      authkey_(std::move(other.authkey_)),
      owner_(other.owner_),
      port_(other.port_) {
  other.fd_ = -1;
}

Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    address_ = std::move(other.address_);
    authkey_ = std::move(other.authkey_);
    owner_ = other.owner_;
    port_ = other.port_;
    other.fd_ = -1;
  }
  return *this;
}

void Listener::close() noexcept {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  // The socket file is the creator's: a forked copy closing its inherited descriptor leaves it.
  if (port_ == 0 && !address_.empty() && address_[0] != '\0' && owner_ == ::getpid())
    ::unlink(address_.c_str());
}

int Listener::fileno() const {
  if (fd_ < 0) throw Error(errc::closed, "Listener.fileno: the listener is closed");
  return fd_;
}

Connection Listener::accept() { return *accept_until(detail::Deadline()); }

std::optional<Connection> Listener::accept(Seconds timeout) {
  detail::check_timeout(timeout, "Listener.accept");
  return accept_until(detail::Deadline(timeout));
}

std::optional<Connection> Listener::accept_until(const detail::Deadline& deadline) {
  if (fd_ < 0) throw Error(errc::closed, "Listener.accept: the listener is closed");
  int fd = -1;
  for (;;) {
    if (!detail::wait_readable(fd_, deadline)) return std::nullopt;
    fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) break;
    // EAGAIN: another process took it first; ECONNABORTED: the peer gave up. Wait again.
    if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
    throw_errno(errno, "Listener.accept: accept4");
  }
  // Blocking again: Connection waits with poll where it needs a deadline.
  if (::fcntl(fd, F_SETFL, 0) != 0) {
    const int fcntl_errno = errno;
    ::close(fd);
    throw_errno(fcntl_errno, "Listener.accept: fcntl");
  }
  const bool tcp = port_ != 0;
  if (tcp) send_without_delay(fd);
  Connection connection = detail::ConnectionAccess::adopt(fd, true, true, tcp);
  if (authkey_) {
    // Python's order: the listener challenges first, then answers the client's challenge. A
    // peer still silent at the caller's deadline is dropped (its Connection closes here) and the
    // timed accept() reports its timeout; the next accept() serves the next client.
    try {
      deliver_challenge_until(connection, *authkey_, deadline);
      answer_challenge_until(connection, *authkey_, deadline);
    } catch (const HandshakeDeadlinePassed&) {
      return std::nullopt;
    }
  }
  return connection;
}

Connection client(const std::string& address, std::optional<std::string> authkey) {
  authkey = key_or_none(std::move(authkey));
  sockaddr_un sa;
  const socklen_t length = unix_address(address, sa, "client");
  const int fd = unix_socket("client");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), length) != 0) {
    // connect(2) on a Unix socket completes or fails at once; EINTR cannot leave it half-done
    // except for a blocked full backlog, where the retry reports EISCONN once it went through.
    int connect_errno = errno;
    while (connect_errno == EINTR) {
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), length) == 0 || errno == EISCONN)
        connect_errno = 0;
      else
        connect_errno = errno;
    }
    if (connect_errno != 0) {
      ::close(fd);
      throw_errno(connect_errno, "client: connect to " + printable(address));
    }
  }
  return authenticated(detail::ConnectionAccess::adopt(fd, true, true), authkey);
}

Connection client(const TcpAddress& address, std::optional<std::string> authkey) {
  authkey = key_or_none(std::move(authkey));
  if (address.port == 0) throw_errno(EINVAL, "client: port 0 names no listener");
  const sockaddr_in sa = inet_address(address, false, "client");
  const int fd = tcp_socket("client");
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    // Interrupted, a TCP connect goes on in the background: wait for its outcome.
    const int connect_errno = errno == EINTR ? finish_connect(fd) : errno;
    if (connect_errno != 0) {
      ::close(fd);
      throw_errno(connect_errno, "client: connect to " + printable(address));
    }
  }
  send_without_delay(fd);
  return authenticated(detail::ConnectionAccess::adopt(fd, true, true, true), authkey);
}

}  // namespace mproc
