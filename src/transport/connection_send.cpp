// Sending a message: a header and the first payload bytes in one sendmsg, then continuation
// records (framing.hpp). Every send uses MSG_NOSIGNAL: a closed peer gives EPIPE, never SIGPIPE.
#include <algorithm>
#include <cerrno>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>

#include "base/spin_policy.hpp"
#include "transport/connection_state.hpp"
#include "transport/framing.hpp"

namespace mproc::detail {
namespace {

// Waits without limit until `fd` accepts more data; only needed when someone made the (shared)
// descriptor non-blocking behind our back.
void wait_writable(int fd, const char* op) {
  for (;;) {
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, -1) >= 0) return;
    if (errno != EINTR) throw_errno(errno, std::string(op) + ": poll");
  }
}

}  // namespace

std::size_t ConnectionState::record_payload_max() {
  if (record_max_ == 0) {
    // An AF_UNIX datagram or seqpacket record must fit in the sender's buffer: unix_dgram_sendmsg
    // (net/unix/af_unix.c) fails with EMSGSIZE when len > sk_sndbuf - 32. Leave some room.
    int sndbuf = 0;
    socklen_t length = sizeof sndbuf;
    std::size_t fit = kRecordMax;
    if (::getsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, &length) == 0 && sndbuf > 256)
      fit = static_cast<std::size_t>(sndbuf) - 256;
    record_max_ = std::clamp(fit, kRecordMin, kRecordMax);
  }
  // A record as large as the send buffer fills it: the sender then sleeps until the receiver has
  // copied out the whole record, so the two copies never overlap. Where the receiver may run on
  // another CPU, a quarter of the buffer per record lets the sender write the next record while
  // the receiver copies the last. Where this thread may run on one CPU only, the receiver most
  // likely shares it (nothing overlaps), and whole-buffer records cost fewer switches between
  // the two. (1 MiB messages / a raw stream socketpair, unpinned on two CPUs: 0.46x with whole
  // records, 0.88x with quarters; both on one CPU: 1.1x with whole records, 0.65x with quarters.)
  if (!spinning_can_help()) return record_max_;
  return std::max(record_max_ / kRecordsInFlight, kRecordMin);
}

// Sends one record; returns false on EMSGSIZE (the record is too big for the socket buffer).
bool ConnectionState::send_record(msghdr& message, std::size_t size, const char* op) {
  for (;;) {
    const ssize_t sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (sent >= 0) {
      // Records are sent whole or not at all.
      if (static_cast<std::size_t>(sent) != size)
        throw Error(errc::internal, std::string(op) + ": the kernel split a record");
      return true;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_writable(fd_, op);
      continue;
    }
    if (errno == EMSGSIZE) return false;
    if (errno == EPIPE || errno == ECONNRESET)
      throw Error(std::make_error_code(std::errc::broken_pipe),
                  std::string(op) + ": the other end of the connection is closed");
    throw_errno(errno, std::string(op) + ": sendmsg");
  }
}

void ConnectionState::send(const void* data, std::size_t size, const char* op) {
  if (!writable_)
    throw Error(errc::bad_state, std::string(op) + ": this end of a one-way pipe can only receive");
  if (!send_broken_.empty()) throw Error(errc::bad_state, std::string(op) + ": " + send_broken_);
  if (size > max_message_size_)
    throw Error(errc::too_big, std::string(op) + ": a message of " + std::to_string(size) +
                                   " bytes exceeds the maximum of " +
                                   std::to_string(max_message_size_) + " bytes");
  if (size > 0 && data == nullptr)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(op) + ": data is NULL");

  const char* bytes = static_cast<const char*>(data);
  if (stream_) {
    send_stream(bytes, size, op);
    return;
  }
  std::uint64_t header = size;
  std::size_t first = std::min(size, kFirstPayloadMax);
  // Small messages never need to ask how big a record may be.
  if (first + kHeaderSize > kRecordMin) first = std::min(first, record_payload_max() - kHeaderSize);
  for (;;) {
    iovec parts[2] = {{&header, kHeaderSize}, {const_cast<char*>(bytes), first}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = first == 0 ? 1 : 2;
    if (send_record(message, kHeaderSize + first, op)) break;
    if (record_max_ <= kRecordMin)
      throw_errno(EMSGSIZE, std::string(op) + ": the socket's send buffer is too small");
    record_max_ = std::max(record_max_ / 2, kRecordMin);
    first = std::min(first, record_max_ - kHeaderSize);
  }

  std::size_t sent = first;
  try {
    while (sent < size) {
      const std::size_t chunk = std::min(size - sent, record_payload_max());
      iovec part{const_cast<char*>(bytes + sent), chunk};
      msghdr message{};
      message.msg_iov = &part;
      message.msg_iovlen = 1;
      if (send_record(message, chunk, op)) {
        sent += chunk;
      } else if (record_max_ > kRecordMin) {
        record_max_ = std::max(record_max_ / 2, kRecordMin);
      } else {
        throw_errno(EMSGSIZE, std::string(op) + ": the socket's send buffer is too small");
      }
    }
  } catch (const Error& e) {
    // The peer has the start of a message whose end will never come: no later message could be
    // framed correctly. (A closed peer needs no such note: every later send fails with EPIPE.)
    if (e.code() != std::errc::broken_pipe)
      send_broken_ = "the sending side is unusable: a send failed in the middle of a message (" +
                     std::string(e.what()) + ")";
    throw;
  }
}

void ConnectionState::send_stream(const char* bytes, std::size_t size, const char* op) {
  // One sendmsg of header and payload when the kernel takes it all (a small message is one
  // segment); a stream may take less, and the rest follows from where it stopped.
  std::uint64_t header = size;
  iovec parts[2] = {{&header, kHeaderSize}, {const_cast<char*>(bytes), size}};
  std::size_t first = 0;  // the first part not yet wholly sent
  std::size_t done = 0;   // bytes of all parts sent
  for (;;) {
    msghdr message{};
    message.msg_iov = parts + first;
    message.msg_iovlen = (size == 0 ? 1 : 2) - first;
    const ssize_t sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_writable(fd_, op);
        continue;
      }
      const int send_errno = errno;
      if (done != 0)
        send_broken_ = "the sending side is unusable: a send failed in the middle of a message";
      if (send_errno == EPIPE || send_errno == ECONNRESET)
        throw Error(std::make_error_code(std::errc::broken_pipe),
                    std::string(op) + ": the other end of the connection is closed");
      throw_errno(send_errno, std::string(op) + ": sendmsg");
    }
    done += static_cast<std::size_t>(sent);
    if (done == kHeaderSize + size) return;
    std::size_t left = static_cast<std::size_t>(sent);
    while (left >= parts[first].iov_len) {
      left -= parts[first].iov_len;
      ++first;
    }
    parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + left;
    parts[first].iov_len -= left;
  }
}

}  // namespace mproc::detail
