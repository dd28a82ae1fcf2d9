#include "sync/shared_state.hpp"

#include <cerrno>
#include <sys/mman.h>
#include <unistd.h>

namespace mproc::detail {

SharedPlacement anonymous_placement(std::size_t size, std::function<void(void*)> before_unmap) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t length = (size + page - 1) / page * page;
  // MAP_SHARED: children forked later see the same pages, which is what makes the state shared.
  void* address =
      ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (address == MAP_FAILED) throw_errno(errno, "mmap(MAP_SHARED | MAP_ANONYMOUS)");
  std::shared_ptr<void> keepalive(address,
                                  [length, before_unmap = std::move(before_unmap)](void* p) {
                                    if (before_unmap) before_unmap(p);
                                    ::munmap(p, length);
                                  });
  return SharedPlacement{address, std::move(keepalive), true};
}

}  // namespace mproc::detail
