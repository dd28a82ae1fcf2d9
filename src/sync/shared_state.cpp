#include "sync/shared_state.hpp"

#include <sys/mman.h>

#include "base/shared_mapping.hpp"

namespace mproc::detail {

SharedPlacement anonymous_placement(std::size_t size, std::function<void(void*)> before_unmap) {
  const std::size_t length = page_round_up(size);
  void* address = map_shared_anonymous(length, "synchronisation primitive");
  std::shared_ptr<void> keepalive(address,
                                  [length, before_unmap = std::move(before_unmap)](void* p) {
                                    if (before_unmap) before_unmap(p);
                                    ::munmap(p, length);
                                  });
  return SharedPlacement{address, std::move(keepalive), true};
}

}  // namespace mproc::detail
