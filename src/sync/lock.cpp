#include <mproc/lock.hpp>

#include <string>

#include "shm/named_placement.hpp"
#include "sync/arena.hpp"
#include "sync/mutex_state.hpp"

// Made without mproc::attachable, the state is a cell of the sync arena.
static_assert(sizeof(mproc::detail::MutexState) <= mproc::detail::arena::kCellSize);

namespace mproc {
namespace detail {
namespace {

// A thread that drops the last handle while holding the lock releases it first (see
// mutex_release_if_held).
void release_before_unmap(void* p) { mutex_release_if_held(*static_cast<MutexState*>(p)); }

SharedPlacement anonymous_mutex() {
  return anonymous_placement(sizeof(MutexState), release_before_unmap);
}

SharedPlacement named_mutex() {
  return shm::create_named_placement(sizeof(MutexState), shm::kSyncSegment, release_before_unmap);
}

}  // namespace

MutexHandle::MutexHandle(SharedPlacement where, bool recursive, const char* type)
    : keepalive_(std::move(where.keepalive)),
      state_(
          place<MutexState>(where, recursive ? SyncKind::rlock : SyncKind::lock, type, recursive)),
      type_(type),
      handle_(where.name) {}

SharedPlacement MutexHandle::attach_placement(std::string_view handle, const char* type) {
  return detail::attach_placement(handle, sizeof(MutexState), type, release_before_unmap);
}

MutexHandle MutexHandle::attach_any(std::string_view handle) {
  SharedPlacement where = attach_placement(handle, "Lock");
  const auto* header = static_cast<const SyncHeader*>(where.address);
  const bool recursive = header->kind == static_cast<std::uint32_t>(SyncKind::rlock);
  return MutexHandle(std::move(where), recursive, recursive ? "RLock" : "Lock");
}

std::string MutexHandle::handle() const { return placement_handle(handle_, state_, type_); }

bool MutexHandle::acquire(bool block, std::optional<Seconds> timeout) {
  return mutex_acquire(*state_, block, timeout, type_) != Acquired::no;
}

void MutexHandle::release() { mutex_release(*state_, type_); }

bool MutexHandle::owner_died() const noexcept {
  return state_->owner_died.load(std::memory_order_relaxed) != 0;
}

bool MutexHandle::is_mine() const noexcept { return mutex_held_by_caller(*state_); }

}  // namespace detail

Lock::Lock() : Lock(detail::anonymous_mutex()) {}
Lock::Lock(Attachable) : Lock(detail::named_mutex()) {}
Lock::Lock(detail::SharedPlacement where) : MutexHandle(std::move(where), false, "Lock") {}
Lock Lock::attach(std::string_view handle) { return Lock(attach_placement(handle, "Lock")); }

RLock::RLock() : RLock(detail::anonymous_mutex()) {}
RLock::RLock(Attachable) : RLock(detail::named_mutex()) {}
RLock::RLock(detail::SharedPlacement where) : MutexHandle(std::move(where), true, "RLock") {}
RLock RLock::attach(std::string_view handle) { return RLock(attach_placement(handle, "RLock")); }

}  // namespace mproc
