#include "transport/queue_regions.hpp"

#include <mproc/error.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mproc::detail::queue {

std::uint64_t page_bytes() noexcept {
  static const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

std::uint64_t file_bytes(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(errno, "queue: fstat");
  return static_cast<std::uint64_t>(st.st_size);
}

int reserve_region(int fd, std::uint64_t offset, std::uint64_t bytes) noexcept {
  int rc;
  do {  // tmpfs stops a long fallocate when a signal is pending; the pages reserved stay
    rc = ::posix_fallocate(fd, static_cast<off_t>(offset), static_cast<off_t>(bytes));
  } while (rc == EINTR);
  return rc;
}

void free_region(int fd, std::uint64_t offset, std::uint64_t bytes) noexcept {
  if (bytes == 0) return;
  (void)::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                    static_cast<off_t>(bytes));
}

void write_region(int fd, std::uint64_t offset, const void* data, std::size_t size) {
  const auto* from = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, from, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(errno, "queue: pwrite of a large message");
    if (n == 0) throw_errno(EIO, "queue: pwrite of a large message wrote nothing");
    from += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::size_t>(n);
  }
}

void read_region(int fd, std::uint64_t offset, void* data, std::size_t size) {
  auto* to = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::pread(fd, to, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(errno, "queue: pread of a large message");
    if (n == 0) throw_errno(EIO, "queue: the file ends inside a large message");
    to += n;
    offset += static_cast<std::uint64_t>(n);
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace mproc::detail::queue
