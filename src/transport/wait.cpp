// mproc::wait: Python's multiprocessing.connection.wait over Connections, Process sentinels and raw
// descriptors, with ppoll (no FD_SETSIZE limit) and a monotonic deadline that signals do not
// stretch.
#include <mproc/connection.hpp>

#include <cerrno>
#include <poll.h>
#include <string>
#include <vector>

#include "base/deadline.hpp"
#include "transport/connection_state.hpp"

namespace mproc {
namespace {

// ppoll until something is ready or the deadline passes, restarting on EINTR with the time left.
void poll_until(std::vector<pollfd>& fds, const detail::Deadline& deadline) {
  for (;;) {
    timespec left{};
    if (!deadline.infinite()) left = deadline.remaining();
    const int ready =
        ::ppoll(fds.data(), fds.size(), deadline.infinite() ? nullptr : &left, nullptr);
    if (ready >= 0) return;
    if (errno != EINTR) throw_errno(errno, "wait: ppoll");
    if (deadline.expired()) {
      for (auto& fd : fds) fd.revents = 0;
      return;
    }
  }
}

}  // namespace

std::vector<Waitable> wait(std::span<const Waitable> objects, std::optional<Seconds> timeout) {
  if (timeout) detail::check_timeout(*timeout, "wait");
  if (objects.empty() && !timeout)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "wait: no objects and no timeout: the wait could never end");

  std::vector<pollfd> fds(objects.size());
  std::vector<bool> held(objects.size(), false);  // a whole message already in the Connection
  bool any_held = false;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    const Waitable& object = objects[i];
    int fd = -1;
    if (Connection* connection = object.connection()) {
      auto& state = detail::ConnectionAccess::state(*connection, "wait");
      state.check_receiving("wait");
      fd = state.fd();
      held[i] = state.holds_whole_message();
      any_held = any_held || held[i];
    } else if (Process* process = object.process()) {
      fd = process->sentinel();
    } else {
      fd = object.raw_fd();
      if (fd < 0)
        throw Error(std::make_error_code(std::errc::bad_file_descriptor),
                    "wait: descriptor " + std::to_string(fd) + " is not valid");
    }
    fds[i] = pollfd{fd, POLLIN, 0};
  }

  // With a message already at hand, only look at what else is ready now.
  poll_until(fds, any_held ? detail::Deadline(Seconds(0)) : detail::Deadline::from(timeout));

  std::vector<Waitable> ready;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    if ((fds[i].revents & POLLNVAL) != 0)
      throw Error(std::make_error_code(std::errc::bad_file_descriptor),
                  "wait: descriptor " + std::to_string(fds[i].fd) + " is not open");
    if (held[i] || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
      ready.push_back(objects[i]);
  }
  return ready;
}

}  // namespace mproc
