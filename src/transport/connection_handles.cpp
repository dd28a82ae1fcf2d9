// Passing file descriptors over a Connection (SCM_RIGHTS, unix(7)). A handle travels as one
// ordinary message — the 8-byte header and a fixed marker as payload, in a single record — whose
// record also carries the descriptor as ancillary data. So it keeps its place among the other
// messages, and a receiver that calls recv_bytes on it gets the marker while the kernel closes the
// descriptor it carried (no control buffer was offered: MSG_CTRUNC), so nothing leaks.
#include <mproc/connection.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/connection_state.hpp"
#include "transport/framing.hpp"

namespace mproc::detail {
namespace {

constexpr char kHandleMarker[] = "\0mproc-handle\0";
constexpr std::size_t kMarkerSize = sizeof kHandleMarker - 1;  // the trailing NUL of the literal
constexpr std::size_t kRecordSize = kHeaderSize + kMarkerSize;

void fill_record(char (&record)[kRecordSize]) {
  const std::uint64_t size = kMarkerSize;
  std::memcpy(record, &size, kHeaderSize);
  std::memcpy(record + kHeaderSize, kHandleMarker, kMarkerSize);
}

bool is_handle_record(const char* data, std::size_t size) {
  char expected[kRecordSize];
  fill_record(expected);
  return size == kRecordSize && std::memcmp(data, expected, kRecordSize) == 0;
}

void refuse_on_stream(bool stream, const char* op) {
  if (stream)
    throw Error(errc::bad_state,
                std::string(op) + ": descriptors travel only over Unix sockets, not over TCP");
}

}  // namespace

void ConnectionState::send_handle(int fd, const char* op) {
  refuse_on_stream(stream_, op);
  if (!writable_)
    throw Error(errc::bad_state, std::string(op) + ": this end of a one-way pipe can only receive");
  if (!send_broken_.empty()) throw Error(errc::bad_state, std::string(op) + ": " + send_broken_);
  char record[kRecordSize];
  fill_record(record);
  iovec iov{record, kRecordSize};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
  for (;;) {
    if (::sendmsg(fd_, &message, MSG_NOSIGNAL) >= 0) return;
    if (errno == EINTR) continue;
    if (errno == EPIPE || errno == ECONNRESET)
      throw Error(std::make_error_code(std::errc::broken_pipe),
                  std::string(op) + ": the other end of the connection is closed");
    throw_errno(errno, std::string(op) + ": sendmsg of descriptor " + std::to_string(fd));
  }
}

std::optional<int> ConnectionState::recv_handle(const Deadline& deadline, const char* op) {
  refuse_on_stream(stream_, op);
  check_receiving(op);
  if (keeping_)
    throw Error(errc::bad_state,
                std::string(op) + ": a message is partly received; receive it with recv_bytes");
  for (;;) {
    if (!wait_readable(fd_, deadline)) return std::nullopt;
    // Look first, without a control buffer (so no descriptor is installed), to leave anything
    // that is not a handle queued. One byte more than a handle's record tells a longer one apart.
    char peeked[kRecordSize + 1];
    ssize_t n = ::recv(fd_, peeked, sizeof peeked, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw_errno(errno, std::string(op) + ": recv");
    }
    if (n == 0)
      throw Error(errc::end_of_file, std::string(op) + ": the other end closed the connection");
    if (!is_handle_record(peeked, static_cast<std::size_t>(n)))
      throw Error(errc::codec, std::string(op) +
                                   ": the next message is not a handle (it stays queued)");

    char record[kRecordSize];
    iovec iov{record, kRecordSize};
    // Room for a few descriptors: a peer that sends more than one has the extras closed here.
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)] = {};
    msghdr message{};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    n = ::recvmsg(fd_, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      throw_errno(errno, std::string(op) + ": recvmsg");
    }
    int received = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (received < 0)
          received = fd;
        else
          ::close(fd);
      }
    }
    if ((message.msg_flags & MSG_CTRUNC) != 0 || received < 0) {
      if (received >= 0) ::close(received);
      throw Error(std::make_error_code(std::errc::protocol_error),
                  std::string(op) + ": a handle message arrived without its descriptor");
    }
    return received;
  }
}

}  // namespace mproc::detail

namespace mproc {

void Connection::send_handle(int fd) {
  detail::ConnectionAccess::state(*this, "send_handle").send_handle(fd, "send_handle");
}

int Connection::recv_handle() {
  return *detail::ConnectionAccess::state(*this, "recv_handle")
              .recv_handle(detail::Deadline(), "recv_handle");
}

std::optional<int> Connection::recv_handle(Seconds timeout) {
  detail::check_timeout(timeout, "recv_handle");
  return detail::ConnectionAccess::state(*this, "recv_handle")
      .recv_handle(detail::Deadline(timeout), "recv_handle");
}

}  // namespace mproc
