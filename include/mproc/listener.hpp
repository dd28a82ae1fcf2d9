// Listener / client: Python's multiprocessing.connection.Listener and Client, natively.
//
//   mproc::Listener listener("/tmp/my.sock", "secret");        // or "\0name": an abstract name
//   mproc::Connection c = listener.accept();
//   ... in another, unrelated process:
//   mproc::Connection c = mproc::client("/tmp/my.sock", "secret");
//
// Processes that share no ancestry meet by address: a Unix socket path, or an abstract name (a
// std::string starting with '\0', which lives in the network namespace rather than the file system
// and disappears with its listener). Each accepted or connected end is a Connection (SOCK_SEQPACKET,
// see connection.hpp), so send / recv / send_handle work as on a Pipe.
//
// Authentication, as Python's: when an authkey is given, accept() and client() run HMAC
// challenge-response both ways (Python's deliver_challenge / answer_challenge, with the "{sha256}"
// digest prefix of Python 3.12): each side sends 40 random bytes and checks the peer's
// HMAC-SHA256 of them under the key, compared in constant time. A peer without the key (or with
// another key) is refused with errc::authentication on both sides and its connection closed; the
// key never crosses the socket. HMAC-SHA256 is OpenSSL's (libcrypto). The wire format is mproc's
// Connection framing, so mproc and Python processes cannot talk to each other.
//
// TCP (Python's AF_INET family, an address (host, port)): Listener(TcpAddress{"127.0.0.1", 0})
// listens on IPv4 (port 0 picks a free port: see port()), client(TcpAddress{host, port}) connects.
// The messages are framed on the byte stream as on a pipe (an 8-byte size, then the bytes), so the
// same Connection calls work; descriptors cannot travel over TCP (send_handle: errc::bad_state).
// Use an authkey on any address that other machines can reach: without one, anybody connecting
// can send what the server unpickles or decodes.
//
// Differences from Python: an empty address picks a fresh abstract name (Python picks a temporary
// path); accept() has a timed variant; IPv4 only for TCP (as Python's AF_INET).
//
// Errors (mproc::Error): EINVAL (an address longer than sun_path, a path with an embedded NUL, a
// host name that does not resolve to an IPv4 address), ECONNREFUSED (no TCP listener at the port),
// EADDRINUSE (the address is taken), ENOENT / ECONNREFUSED (no listener at the address),
// errc::authentication (a key mismatch, or a peer that does not speak the protocol), errc::closed,
// errc::end_of_file (the peer went away during the handshake), EINVAL (a negative or NaN timeout).
//
// Fork: the listening socket is close-on-exec and inherited by fork(); only the process that
// created a path listener removes its socket file when it closes.
#pragma once

#include <mproc/cxx20.hpp>  // first: one clear error without C++20

#include <mproc/connection.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace mproc {

namespace detail {
class Deadline;
}  // namespace detail

/// A TCP address, Python's AF_INET (host, port): a host name or dotted IPv4 address ("" is every
/// interface for a Listener, this machine for client()) and a port (0: a Listener picks a free
/// one). A plain value: it is resolved (getaddrinfo) only by the Listener or client() given it.
/// Errors: none of its own (an unresolvable host is EINVAL where it is used).
/// Thread-safety: a value type, as std::string.
/// Fork-safety: a value type; nothing to do at fork.
struct TcpAddress {
  std::string host;
  std::uint16_t port = 0;
};

/// Listens at an address (a Unix socket path or an abstract name) for Connections from unrelated
/// processes, with optional HMAC authentication. Move-only; the destructor closes it.
/// Errors: mproc::Error — EINVAL (bad address), EADDRINUSE, errc::authentication (a peer without the
/// key), errc::closed, errc::timed_out (a timed accept()).
/// Thread-safety: accept() may be called from one thread at a time; close() must not race with it.
/// Fork-safety: the listening socket is inherited by fork(); only the creating process removes a
/// path listener's socket file.
class MPROC_API Listener {
 public:
  // Binds and listens. `address`: a path, an abstract name "\0...", or "" for a fresh abstract
  // name (see address()). `authkey`: empty means no authentication (as Python's authkey=None).
  explicit Listener(std::string address = {}, std::optional<std::string> authkey = std::nullopt,
                    int backlog = 16);
  // Binds and listens on TCP (IPv4, SO_REUSEADDR as Python's). Errors: EINVAL (a host that does
  // not resolve), EADDRINUSE, EADDRNOTAVAIL (not a local address), EACCES (a privileged port).
  explicit Listener(const TcpAddress& address, std::optional<std::string> authkey = std::nullopt,
                    int backlog = 16);
  ~Listener();
  Listener(Listener&& other) noexcept;
  Listener& operator=(Listener&& other) noexcept;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Waits for a process to connect, authenticates it if a key was given, and returns its end.
  // A peer that fails authentication throws errc::authentication (its connection is closed); the
  // listener stays usable. Errors: closed, authentication, end_of_file, the errno of accept4.
  Connection accept();
  // As above, waiting at most `timeout` for a connection: empty if none came in time. The timeout
  // covers the handshake too: a peer that connects and says nothing is dropped at the deadline
  // (empty result). Without a timeout, each handshake step waits at most 30 s.
  std::optional<Connection> accept(Seconds timeout);
  // Stops listening; removes the socket file of a path listener (in the creating process only).
  // Closing twice is a no-op.
  void close() noexcept;
  bool closed() const noexcept { return fd_ < 0; }
  // The address it listens at (an abstract name starts with '\0'; for TCP, the bound IPv4
  // address in dotted form).
  const std::string& address() const noexcept { return address_; }
  // The TCP port it listens at (the one picked for port 0); 0 for a Unix socket listener.
  std::uint16_t port() const noexcept { return port_; }
  // The listening socket, for poll/epoll: readable when a connection is waiting. Errors: closed.
  int fileno() const;

 private:
  std::optional<Connection> accept_until(const detail::Deadline& deadline);

  int fd_ = -1;
  std::string address_;
  std::optional<std::string> authkey_;
  pid_t owner_ = 0;  // the process that bound a path (and so removes it)
  std::uint16_t port_ = 0;  // nonzero: a TCP listener
};

// Connects to the Listener at `address`; with an authkey, authenticates both ways (see above).
// Errors: ENOENT / ECONNREFUSED (nobody listens there), EINVAL (bad address), authentication,
// end_of_file.
MPROC_API Connection client(const std::string& address,
                            std::optional<std::string> authkey = std::nullopt);
// Connects to the TCP Listener at `address` (IPv4). Errors: EINVAL (a host that does not resolve,
// port 0), ECONNREFUSED, ETIMEDOUT / EHOSTUNREACH (the network's), authentication, end_of_file.
MPROC_API Connection client(const TcpAddress& address,
                            std::optional<std::string> authkey = std::nullopt);

// Python's challenge / answer, for a Connection made any other way (a Pipe end, for instance).
// deliver_challenge sends a challenge and checks the answer; answer_challenge answers one. Both
// throw errc::authentication when the peer fails (and deliver_challenge tells the peer so).
MPROC_API void deliver_challenge(Connection& connection, std::string_view authkey);
MPROC_API void answer_challenge(Connection& connection, std::string_view authkey);

}  // namespace mproc
