#include <mproc/semaphore.hpp>

#include <string>

#include "shm/named_placement.hpp"
#include "sync/arena.hpp"
#include "base/futex.hpp"
#include "sync/semaphore_state.hpp"

// Made without mproc::attachable, the state is a cell of the sync arena.
static_assert(sizeof(mproc::detail::SemaphoreState) <= mproc::detail::arena::kCellSize);

namespace mproc {
namespace detail {

namespace {

bool try_decrement(SemaphoreState& s) noexcept {
  std::uint32_t v = s.value.load(std::memory_order_relaxed);
  while (v > 0) {
    if (s.value.compare_exchange_weak(v, v - 1, std::memory_order_acquire,
                                      std::memory_order_relaxed))
      return true;
  }
  return false;
}

}  // namespace

bool semaphore_acquire(SemaphoreState& s, bool block, std::optional<Seconds> timeout) {
  if (timeout) check_timeout(*timeout, "Semaphore.acquire");
  if (try_decrement(s)) return true;
  if (!block) return false;
  const Deadline deadline = Deadline::from(timeout);
  for (;;) {
    // sleepers is raised before the value is re-checked by FUTEX_WAIT, and release() raises the
    // value before reading sleepers (both sequentially consistent): either release() sees a
    // sleeper and wakes it, or FUTEX_WAIT sees the new value and does not sleep.
    s.sleepers.fetch_add(1, std::memory_order_seq_cst);
    bool in_time = true;
    try {
      in_time = futex_wait(s.value, 0, deadline);
    } catch (...) {
      s.sleepers.fetch_sub(1, std::memory_order_relaxed);
      throw;
    }
    s.sleepers.fetch_sub(1, std::memory_order_relaxed);
    if (try_decrement(s)) return true;
    if (!in_time) return false;
  }
}

void semaphore_release(SemaphoreState& s, bool bounded) {
  std::uint32_t v = s.value.load(std::memory_order_relaxed);
  do {
    if (v >= s.max_value) {
      if (bounded)
        throw Error(errc::bad_state,
                    "BoundedSemaphore.release: released more often than "
                    "acquired (the value stays " +
                        std::to_string(v) + ")");
      throw Error(std::make_error_code(std::errc::value_too_large),
                  "Semaphore.release: the value would exceed Semaphore::kMaxValue");
    }
  } while (!s.value.compare_exchange_weak(v, v + 1, std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
  if (s.sleepers.load(std::memory_order_seq_cst) > 0) futex_wake(s.value, 1);
}

SharedPlacement named_semaphore() {
  return shm::create_named_placement(sizeof(SemaphoreState), shm::kSyncSegment);
}

SharedPlacement attach_semaphore(std::string_view handle, const char* type) {
  return attach_placement(handle, sizeof(SemaphoreState), type);
}

bool is_bounded(const SharedPlacement& where) {
  return static_cast<const SyncHeader*>(where.address)->kind ==
         static_cast<std::uint32_t>(SyncKind::bounded_semaphore);
}

}  // namespace detail

Semaphore::Semaphore(Attachable, int value) : Semaphore(detail::named_semaphore(), value, false) {}

Semaphore Semaphore::attach(std::string_view handle) {
  detail::SharedPlacement where = detail::attach_semaphore(handle, "Semaphore");
  const bool bounded = detail::is_bounded(where);
  return Semaphore(std::move(where), 0, bounded);
}

std::string Semaphore::handle() const {
  return detail::placement_handle(handle_, state_, "Semaphore");
}

Semaphore::Semaphore(int value)
    : Semaphore(detail::anonymous_placement(sizeof(detail::SemaphoreState)), value, false) {}

Semaphore::Semaphore(detail::SharedPlacement where, int value)
    : Semaphore(std::move(where), value, false) {}

Semaphore::Semaphore(detail::SharedPlacement where, int value, bool bounded)
    : keepalive_(std::move(where.keepalive)), handle_(where.name) {
  const char* type = bounded ? "BoundedSemaphore" : "Semaphore";
  if (value < 0)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(type) + ": the initial value must not be negative");
  const auto initial = static_cast<std::uint32_t>(value);
  state_ = detail::place<detail::SemaphoreState>(
      where, bounded ? detail::SyncKind::bounded_semaphore : detail::SyncKind::semaphore, type,
      initial, bounded ? initial : static_cast<std::uint32_t>(kMaxValue));
}

bool Semaphore::acquire(bool block, std::optional<Seconds> timeout) {
  return detail::semaphore_acquire(*state_, block, timeout);
}

void Semaphore::release() {
  detail::semaphore_release(
      *state_,
      state_->header.kind == static_cast<std::uint32_t>(detail::SyncKind::bounded_semaphore));
}

int Semaphore::get_value() const noexcept {
  return static_cast<int>(state_->value.load(std::memory_order_relaxed));
}

BoundedSemaphore::BoundedSemaphore(int value)
    : Semaphore(detail::anonymous_placement(sizeof(detail::SemaphoreState)), value, true) {}

BoundedSemaphore::BoundedSemaphore(detail::SharedPlacement where, int value)
    : Semaphore(std::move(where), value, true) {}

BoundedSemaphore::BoundedSemaphore(Attachable, int value)
    : Semaphore(detail::named_semaphore(), value, true) {}

BoundedSemaphore BoundedSemaphore::attach(std::string_view handle) {
  return BoundedSemaphore(detail::attach_semaphore(handle, "BoundedSemaphore"), 0);
}

}  // namespace mproc
