#include "sync/shared_state.hpp"

#include <sys/mman.h>

#include "base/shared_mapping.hpp"
#include "shm/named_placement.hpp"
#include "sync/arena.hpp"

namespace mproc::detail {

SharedPlacement anonymous_placement(std::size_t size, std::function<void(void*)> before_unmap) {
  if (size <= arena::kCellSize) return arena::allocate(std::move(before_unmap));
  const std::size_t length = page_round_up(size);
  void* address = map_shared_anonymous(length, "synchronisation primitive");
  std::shared_ptr<void> keepalive(address,
                                  [length, before_unmap = std::move(before_unmap)](void* p) {
                                    if (before_unmap) before_unmap(p);
                                    ::munmap(p, length);
                                  });
  return SharedPlacement{address, std::move(keepalive), true};
}

std::string placement_handle(const std::string& name, const void* state, const char* type) {
  if (!name.empty()) return name;
  if (arena::contains(state)) return arena::handle_of(state);
  throw Error(errc::bad_state, std::string(type) +
                                   ".handle: its state is in memory only processes forked after "
                                   "it share");
}

SharedPlacement attach_placement(std::string_view handle, std::size_t size, const char* type,
                                 std::function<void(void*)> before_unmap) {
  if (arena::is_arena_handle(handle)) return arena::attach(handle, type, std::move(before_unmap));
  return shm::attach_named_placement(handle, size, shm::kSyncSegment, type,
                                     std::move(before_unmap));
}

}  // namespace mproc::detail
