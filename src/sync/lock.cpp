#include <mproc/lock.hpp>

#include "sync/mutex_state.hpp"

namespace mproc {
namespace detail {
namespace {

SharedPlacement anonymous_mutex() {
  // A thread that drops the last handle while holding the lock releases it first (see
  // mutex_release_if_held).
  return anonymous_placement(sizeof(MutexState),
                             [](void* p) { mutex_release_if_held(*static_cast<MutexState*>(p)); });
}

}  // namespace

MutexHandle::MutexHandle(SharedPlacement where, bool recursive, const char* type)
    : keepalive_(std::move(where.keepalive)),
      state_(
          place<MutexState>(where, recursive ? SyncKind::rlock : SyncKind::lock, type, recursive)),
      type_(type) {}

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
Lock::Lock(detail::SharedPlacement where) : MutexHandle(std::move(where), false, "Lock") {}

RLock::RLock() : RLock(detail::anonymous_mutex()) {}
RLock::RLock(detail::SharedPlacement where) : MutexHandle(std::move(where), true, "RLock") {}

}  // namespace mproc
