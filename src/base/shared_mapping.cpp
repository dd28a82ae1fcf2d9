#include "base/shared_mapping.hpp"

#include <mproc/error.hpp>

#include <cerrno>
#include <string>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace mproc::detail {

void* map_shared_fd(int fd, std::size_t size, off_t offset) noexcept {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  return p == MAP_FAILED ? nullptr : p;
}

void* map_shared_anonymous(std::size_t size, const char* what) {
  // MAP_SHARED: children forked later see the same pages, which is what makes the memory shared.
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw_errno(errno, std::string("mmap of a ") + what);
  return p;
}

void* map_shared_memfd(std::size_t size, int* fd, const char* what) {
  const int m = ::memfd_create(what, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (m < 0) throw_errno(errno, std::string("memfd_create for a ") + what);
  // Sealed at its size: a process the descriptor reaches (a worker, an attacher) cannot shrink
  // it, which would make every process's next access to the lost pages a SIGBUS.
  if (::ftruncate(m, static_cast<off_t>(size)) != 0 ||
      ::fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    const int err = errno;
    ::close(m);
    throw_errno(err, std::string("ftruncate of a ") + what);
  }
  void* p = map_shared_fd(m, size);
  if (p == nullptr) {
    const int err = errno;
    ::close(m);
    throw_errno(err, std::string("mmap of a ") + what);
  }
  *fd = m;
  return p;
}

bool sealed_against_shrinking(int fd) noexcept {
  const int seals = ::fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_SHRINK) != 0;
}

std::size_t page_round_up(std::size_t size) noexcept {
  static const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return (size + page - 1) / page * page;
}

}  // namespace mproc::detail
