// The common part of every primitive's shared state: a header that lets an attaching process
// check it found the right kind of object, and the anonymous mapping that holds states by default.
#pragma once

#include <mproc/error.hpp>
#include <mproc/sync_placement.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <string>
#include <string_view>

namespace mproc::detail {

enum class SyncKind : std::uint32_t {
  lock = 1,
  rlock = 2,
  semaphore = 3,
  bounded_semaphore = 4,
  event = 5,
  condition = 6,
  barrier = 7,
};

// First member of every state. `magic` is written last (release) when construction completes, so
// an attacher that sees it also sees the initialised state.
struct SyncHeader {
  static constexpr std::uint32_t kMagic = 0x6d53594e;  // "mSYN"
  static constexpr std::uint32_t kLayoutVersion = 1;
  std::atomic<std::uint32_t> magic{0};
  std::uint32_t kind = 0;
  std::uint32_t layout_version = 0;
  std::uint32_t reserved = 0;

  void publish(SyncKind k) noexcept {
    kind = static_cast<std::uint32_t>(k);
    layout_version = kLayoutVersion;
    magic.store(kMagic, std::memory_order_release);
  }
  // Throws errc::bad_handle unless a `k` was published here.
  void check(SyncKind k, const char* type) const {
    if (magic.load(std::memory_order_acquire) != kMagic || kind != static_cast<std::uint32_t>(k) ||
        layout_version != kLayoutVersion)
      throw Error(errc::bad_handle,
                  std::string(type) + ": the shared memory does not hold an initialised " + type);
  }
};

// Fresh zeroed shared memory for a state of `size` bytes that is not named: a cell of this
// process's sync arena (sync/arena.hpp; every state fits), which processes forked later share and
// any other process may attach by handle; its reference goes when the last keepalive reference
// in this process goes. `before_unmap` (may be empty) runs first.
SharedPlacement anonymous_placement(std::size_t size, std::function<void(void*)> before_unmap = {});

// The handle of an object whose state is at `state`: its segment's name (`name`, when attachable),
// else its arena handle. `type` names the object in messages.
// Errors: errc::bad_state if the state is in neither; the arena's errors (sharing the chunk).
std::string placement_handle(const std::string& name, const void* state, const char* type);

// The placement a handle names: an arena cell ("@...") or a named sync segment of at least
// `size` bytes (construct = false). Errors: as arena::attach / shm::attach_named_placement.
SharedPlacement attach_placement(std::string_view handle, std::size_t size, const char* type,
                                 std::function<void(void*)> before_unmap = {});

// Validates a placement and either constructs a State there (forwarding `args` to its init) or
// attaches to the one that is there.
template <class State, class... Args>
State* place(const SharedPlacement& where, SyncKind kind, const char* type, Args&&... args) {
  if (where.address == nullptr || reinterpret_cast<std::uintptr_t>(where.address) % alignof(State))
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(type) + ": shared state address is null or misaligned");
  if (!where.construct) {
    auto* state = std::launder(static_cast<State*>(where.address));
    state->header.check(kind, type);
    return state;
  }
  auto* state = new (where.address) State();
  state->init(std::forward<Args>(args)...);
  state->header.publish(kind);
  return state;
}

}  // namespace mproc::detail
