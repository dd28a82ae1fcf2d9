// mproc::pipe: a SOCK_SEQPACKET socketpair made into two Connections.
#include <mproc/connection.hpp>

#include <cerrno>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/connection_state.hpp"

namespace mproc {

std::pair<Connection, Connection> pipe(bool duplex) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
    throw_errno(errno, "pipe: socketpair");
  if (!duplex && ::shutdown(fds[0], SHUT_WR) != 0) {
    // One-way: the kernel enforces it too, for code that uses the descriptors directly (the
    // receiving end cannot write; the sending end reads end-of-file).
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw_errno(err, "pipe: shutdown");
  }
  Connection first;
  try {
    first = detail::ConnectionAccess::adopt(fds[0], true, duplex);
  } catch (...) {
    ::close(fds[1]);
    throw;
  }
  Connection second = detail::ConnectionAccess::adopt(fds[1], duplex, true);
  return {std::move(first), std::move(second)};
}

}  // namespace mproc
