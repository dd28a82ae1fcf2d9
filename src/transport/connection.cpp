// mproc::Connection: the public face of ConnectionState (checks arguments, picks the sink).
#include <mproc/connection.hpp>

#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <new>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "base/deadline.hpp"
#include "transport/connection_sinks.hpp"
#include "transport/connection_state.hpp"

namespace mproc {
namespace {

using detail::ConnectionAccess;
using detail::Deadline;

Error invalid(const std::string& what) {
  return Error(std::make_error_code(std::errc::invalid_argument), what);
}

Deadline deadline_of(std::optional<Seconds> timeout, const char* op) {
  if (timeout) detail::check_timeout(*timeout, op);
  return Deadline::from(timeout);
}

enum class SocketKind { other, seqpacket, stream };

// A Connection's socket: an AF_UNIX SOCK_SEQPACKET one, or a TCP one (a Listener's over TCP).
SocketKind socket_kind(int fd) {
  int type = 0;
  int domain = 0;
  socklen_t length = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) return SocketKind::other;
  length = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0) return SocketKind::other;
  if (type == SOCK_SEQPACKET && domain == AF_UNIX) return SocketKind::seqpacket;
  if (type == SOCK_STREAM && (domain == AF_INET || domain == AF_INET6)) return SocketKind::stream;
  return SocketKind::other;
}

}  // namespace

namespace detail {

ConnectionState& ConnectionAccess::state(Connection& connection, const char* op) {
  if (!connection.state_) throw Error(errc::closed, std::string(op) + ": the connection is closed");
  return *connection.state_;
}

Connection ConnectionAccess::adopt(int fd, bool readable, bool writable, bool stream) {
  Connection connection;
  try {
    connection.state_ = std::make_unique<ConnectionState>(fd, readable, writable, stream);
  } catch (...) {
    ::close(fd);
    throw;
  }
  return connection;
}

}  // namespace detail

Connection::Connection() noexcept = default;
Connection::~Connection() = default;
Connection::Connection(Connection&& other) noexcept = default;
Connection& Connection::operator=(Connection&& other) noexcept = default;

// Out of memory anywhere in here closes `fd`: the Connection owns it from the first line (as
// mproc_connection_from_fd documents for -ENOMEM). A refused descriptor (EINVAL) stays the
// caller's.
Connection::Connection(int fd, bool readable, bool writable) try {
  if (!readable && !writable)
    throw invalid("Connection: an end must be readable, writable or both");
  const SocketKind kind = fd < 0 ? SocketKind::other : socket_kind(fd);
  if (kind == SocketKind::other)
    throw invalid("Connection: descriptor " + std::to_string(fd) +
                  " is neither an AF_UNIX SOCK_SEQPACKET socket nor a TCP one");
  state_ = std::make_unique<detail::ConnectionState>(fd, readable, writable,
                                                     kind == SocketKind::stream);
} catch (const std::bad_alloc&) {
  if (fd >= 0) ::close(fd);
}

void Connection::send_bytes(const void* data, std::size_t size) {
  ConnectionAccess::state(*this, "send_bytes").send(data, size, "send_bytes");
}

std::string Connection::recv_bytes(std::size_t max_size) {
  return std::move(*recv_string(std::nullopt, max_size));
}

std::optional<std::string> Connection::recv_bytes(Seconds timeout, std::size_t max_size) {
  return recv_string(timeout, max_size);
}

std::optional<std::string> Connection::recv_string(std::optional<Seconds> timeout,
                                                   std::size_t max_size) {
  const auto deadline = deadline_of(timeout, "recv_bytes");
  auto& state = ConnectionAccess::state(*this, "recv_bytes");
  std::string message;
  detail::StringSink sink(message, max_size);
  if (!state.receive(sink, deadline, "recv_bytes")) return std::nullopt;
  return message;
}

std::size_t Connection::recv_bytes_into(void* buffer, std::size_t capacity) {
  return *recv_bytes_into_impl(buffer, capacity, std::nullopt);
}

std::optional<std::size_t> Connection::recv_bytes_into(void* buffer, std::size_t capacity,
                                                       Seconds timeout) {
  return recv_bytes_into_impl(buffer, capacity, timeout);
}

std::optional<std::size_t> Connection::recv_bytes_into_impl(void* buffer, std::size_t capacity,
                                                            std::optional<Seconds> timeout) {
  const auto deadline = deadline_of(timeout, "recv_bytes_into");
  auto& state = ConnectionAccess::state(*this, "recv_bytes_into");
  if (buffer == nullptr && capacity > 0) throw invalid("recv_bytes_into: buffer is NULL");
  detail::FixedSink sink(buffer, capacity);
  return state.receive(sink, deadline, "recv_bytes_into");
}

namespace {

// A sink whose storage is the caller's (recv_with).
class CallbackSink final : public detail::RecvSink {
 public:
  explicit CallbackSink(const std::function<char*(std::size_t)>& grow) noexcept : grow_(grow) {}
  std::size_t limit() const noexcept override { return static_cast<std::size_t>(-1); }
  char* grow(std::size_t capacity) override { return grow_(capacity); }

 private:
  const std::function<char*(std::size_t)>& grow_;
};

}  // namespace

std::optional<std::size_t> Connection::recv_with(const std::function<char*(std::size_t)>& grow,
                                                 std::optional<Seconds> timeout) {
  const auto deadline = deadline_of(timeout, "recv_with");
  auto& state = ConnectionAccess::state(*this, "recv_with");
  CallbackSink sink(grow);
  return state.receive(sink, deadline, "recv_with");
}

bool Connection::recv_bitwise(void* out, std::size_t size, const std::type_info& type,
                              std::optional<Seconds> timeout) {
  const auto deadline = deadline_of(timeout, "recv");
  auto& state = ConnectionAccess::state(*this, "recv");
  std::optional<std::size_t> received;
  try {
    detail::FixedSink sink(out, size);
    received = state.receive(sink, deadline, "recv");
  } catch (const BufferTooShort&) {
    // Too big to be a T: consume it (as any message that does not decode) and say so, draining
    // it a record at a time rather than buffering what could be gigabytes.
    received = state.discard_kept(deadline, "recv");
  }
  if (!received) return false;
  if (*received != size) detail::throw_codec_size(type, *received, size, true);
  return true;
}

bool Connection::poll(std::optional<Seconds> timeout) {
  const auto deadline = deadline_of(timeout, "poll");
  auto& state = ConnectionAccess::state(*this, "poll");
  state.check_receiving("poll");
  return state.holds_whole_message() || detail::wait_readable(state.fd(), deadline);
}

void Connection::close() noexcept { state_.reset(); }

bool Connection::closed() const noexcept { return !state_; }

bool Connection::readable() const noexcept { return state_ && state_->readable(); }

bool Connection::writable() const noexcept { return state_ && state_->writable(); }

Connection Connection::duplicate() const {
  if (!state_) throw Error(errc::closed, "duplicate: the connection is closed");
  const int fd = ::fcntl(state_->fd(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw_errno(errno, "duplicate: fcntl(F_DUPFD_CLOEXEC)");
  std::optional<Connection> copy;
  try {
    copy.emplace(fd, readable(), writable());
  } catch (...) {
    ::close(fd);  // not taken: the constructor leaves a refused descriptor open
    throw;
  }
  copy->set_max_message_size(max_message_size());
  return std::move(*copy);
}

int Connection::fileno() const {
  if (!state_) throw Error(errc::closed, "fileno: the connection is closed");
  return state_->fd();
}

void Connection::set_max_message_size(std::uint64_t max_size) {
  auto& state = ConnectionAccess::state(*this, "set_max_message_size");
  if (max_size == 0) throw invalid("set_max_message_size: the maximum must be at least 1 byte");
  state.set_max_message_size(max_size);
}

std::uint64_t Connection::max_message_size() const {
  if (!state_) throw Error(errc::closed, "max_message_size: the connection is closed");
  return state_->max_message_size();
}

}  // namespace mproc
