// The resource sharer: this process's server of descriptors to processes that were not forked
// from it after the descriptor existed (a pool worker forked earlier, a forkserver worker), as
// Python's multiprocessing.resource_sharer. A share is a descriptor (a dup, owned by the sharer)
// under a random 128-bit token; the collector connects to the sharer's abstract unix socket
// (SOCK_SEQPACKET, same user only: SO_PEERCRED), sends the token as a Connection message and gets
// the descriptor back by SCM_RIGHTS (Connection::send_handle), or a message saying why not.
// A share may be collected any number of times until it is withdrawn.
//
// Thread: one server thread ("mproc-sharer"), started at the first share, all signals blocked.
// It answers each client as soon as its request arrives, so a client that connects and says
// nothing (stopped, or not ours) delays no other; it drops such a client after 5 s, or when 128
// wait at once (the oldest first). It lives as long as the process (its state is never
// destroyed, so it may outlive static destructors). Every descriptor the sharer makes (the listening socket, accepted connections,
// the shares' dups) is created while holding its mutex, and the mutex is held across fork
// (ForkStage::resource_sharer), so a forked child sees a whole state and closes all of it: the
// child has no server thread, must not keep a shared pipe end open (its peer would never see
// end-of-file), and starts a sharer of its own (a new address) if it shares.
#pragma once

#include <cstdint>
#include <string>

namespace mproc::detail::sharer {

// Where and under what a descriptor was shared.
struct ShareTicket {
  std::string address;  // the abstract socket name, without its leading NUL
  std::uint64_t token[2] = {0, 0};
  std::int32_t pid = 0;  // the sharing process, for messages
};

// Shares a duplicate of `fd` (the caller's stays its own) until withdraw(). Starts the server on
// first use. Errors: the errno of fcntl (EMFILE), socket, bind, listen, pthread_create.
ShareTicket share(int fd);

// Closes the share's descriptor; later requests for it are refused. Unknown tokens (withdrawn, or
// shared by the parent of this forked child) are ignored. Never throws.
void withdraw(const std::uint64_t (&token)[2]) noexcept;

// Connects to the sharer at `ticket` and receives the descriptor (close-on-exec), waiting at most
// a few seconds. Errors: ECONNREFUSED (the sharing process is gone or no longer serves: "the
// process that shared it (pid N) is gone"), errc::bad_handle (the sharer no longer holds that
// share: its job ended), ETIMEDOUT (no answer), the errno of socket / connect.
int collect(const ShareTicket& ticket, const char* what);

// How many shares this process holds now (tests).
std::size_t outstanding() noexcept;

}  // namespace mproc::detail::sharer
