#include "shm/reserve.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/types.h>

namespace mproc::detail::shm {

int reserve_pages(int fd, std::size_t size) noexcept {
  int rc;
  // tmpfs stops a long fallocate when a signal is pending (EINTR); the pages it reserved stay,
  // so the retry is cheap.
  do {
    rc = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  } while (rc == EINTR);
  return rc;
}

}  // namespace mproc::detail::shm
