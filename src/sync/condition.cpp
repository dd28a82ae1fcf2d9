#include <mproc/condition.hpp>

#include <algorithm>
#include <cstring>
#include <string>

#include "shm/named_placement.hpp"
#include "sync/arena.hpp"

#include "sync/condition_state.hpp"
#include "base/futex.hpp"
#include "sync/mutex_state.hpp"

// Made without mproc::attachable, the state is a cell of the sync arena.
static_assert(sizeof(mproc::detail::ConditionState) <= mproc::detail::arena::kCellSize);

namespace mproc {
namespace detail {
namespace {

constexpr std::uint64_t kOneWaiter = std::uint64_t{1} << 32;

// An attachable condition's segment: its state, then the handle of its lock (NUL-terminated), so
// that an attaching process can attach the lock too.
constexpr std::size_t kLockNameOffset = 64;
constexpr std::size_t kLockNameSize = 256;
constexpr std::size_t kNamedConditionSize = kLockNameOffset + kLockNameSize;
static_assert(sizeof(ConditionState) <= kLockNameOffset);

// `name`: the lock's segment name, empty for a lock in the sync arena (its handle would need a
// live sharing process: an attachable condition keeps the promise of a plain name).
SharedPlacement named_condition(const std::string& name) {
  if (name.empty())
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "Condition(mproc::attachable, lock): the lock must be created with "
                "mproc::attachable too, so that other processes can attach it");
  SharedPlacement where = shm::create_named_placement(kNamedConditionSize, shm::kSyncSegment);
  std::memcpy(static_cast<char*>(where.address) + kLockNameOffset, name.data(), name.size());
  return where;
}

std::uint32_t waiting(std::uint64_t counts) { return static_cast<std::uint32_t>(counts >> 32); }
std::uint32_t tokens(std::uint64_t counts) { return static_cast<std::uint32_t>(counts); }

void require_held(const MutexState& lock, const char* operation) {
  if (!mutex_held_by_caller(lock))
    throw Error(errc::bad_state,
                std::string(operation) + ": the calling thread does not hold the lock");
}

}  // namespace
}  // namespace detail

Condition::Condition() : Condition(RLock()) {}
Condition::Condition(Lock lock)
    : Condition(detail::anonymous_placement(sizeof(detail::ConditionState)), std::move(lock)) {}
Condition::Condition(RLock lock)
    : Condition(detail::anonymous_placement(sizeof(detail::ConditionState)), std::move(lock)) {}
Condition::Condition(detail::SharedPlacement where, Lock lock)
    : Condition(std::move(where), static_cast<detail::MutexHandle>(std::move(lock))) {}
Condition::Condition(detail::SharedPlacement where, RLock lock)
    : Condition(std::move(where), static_cast<detail::MutexHandle>(std::move(lock))) {}

Condition::Condition(Attachable) : Condition(attachable, RLock(attachable)) {}
Condition::Condition(Attachable, Lock lock)
    // A copy, not a move: the order in which the two arguments are evaluated is unspecified.
    : Condition(detail::named_condition(lock.handle_),
                static_cast<const detail::MutexHandle&>(lock)) {}
Condition::Condition(Attachable, RLock lock)
    : Condition(detail::named_condition(lock.handle_),
                static_cast<const detail::MutexHandle&>(lock)) {}

Condition Condition::attach(std::string_view handle) {
  if (detail::arena::is_arena_handle(handle)) {
    // "<the condition's arena handle>#<its lock's handle>" (see handle()).
    const auto split = handle.find('#');
    if (split == std::string_view::npos)
      throw Error(std::make_error_code(std::errc::invalid_argument),
                  "Condition.attach: malformed handle");
    detail::SharedPlacement where = detail::arena::attach(handle.substr(0, split), "Condition");
    static_cast<const detail::ConditionState*>(where.address)
        ->header.check(detail::SyncKind::condition, "Condition");
    return Condition(std::move(where), detail::MutexHandle::attach_any(handle.substr(split + 1)));
  }
  detail::SharedPlacement where = detail::shm::attach_named_placement(
      handle, detail::kNamedConditionSize, detail::shm::kSyncSegment, "Condition");
  static_cast<const detail::ConditionState*>(where.address)
      ->header.check(detail::SyncKind::condition, "Condition");
  const char* name = static_cast<const char*>(where.address) + detail::kLockNameOffset;
  const std::string lock_name(name, ::strnlen(name, detail::kLockNameSize));
  return Condition(std::move(where), detail::MutexHandle::attach_any(lock_name));
}

std::string Condition::handle() const {
  if (!handle_.empty()) return handle_;
  // Made without mproc::attachable: its state is an arena cell; its lock travels beside it.
  return detail::placement_handle(handle_, state_, "Condition") + '#' + lock_.handle();
}

Condition::Condition(detail::SharedPlacement where, detail::MutexHandle lock)
    : lock_(std::move(lock)),
      keepalive_(std::move(where.keepalive)),
      state_(
          detail::place<detail::ConditionState>(where, detail::SyncKind::condition, "Condition")),
      handle_(where.name) {}

bool Condition::wait(std::optional<Seconds> timeout) {
  if (timeout) detail::check_timeout(*timeout, "Condition.wait");
  auto& lock = *lock_.state_;
  detail::require_held(lock, "Condition.wait");
  const detail::Deadline deadline = detail::Deadline::from(timeout);
  auto& s = *state_;
  s.counts.store(s.counts.load(std::memory_order_relaxed) + detail::kOneWaiter,
                 std::memory_order_relaxed);
  for (;;) {
    // The snapshot is taken with the lock held: a notify() after it changes seq, so the futex
    // wait below returns at once instead of missing it.
    const std::uint32_t seq = s.seq.load(std::memory_order_relaxed);
    const std::uint32_t depth = detail::mutex_release_all(lock);
    bool in_time = true;
    try {
      in_time = detail::futex_wait(s.seq, seq, deadline);
    } catch (...) {
      detail::mutex_restore(lock, depth);
      s.counts.store(s.counts.load(std::memory_order_relaxed) - detail::kOneWaiter,
                     std::memory_order_relaxed);
      throw;
    }
    detail::mutex_restore(lock, depth);
    const std::uint64_t counts = s.counts.load(std::memory_order_relaxed);
    if (detail::tokens(counts) > 0) {
      s.counts.store(counts - detail::kOneWaiter - 1, std::memory_order_relaxed);
      return true;
    }
    if (!in_time) {
      s.counts.store(counts - detail::kOneWaiter, std::memory_order_relaxed);
      return false;
    }
    // Woken without a token (another waiter took it, or a spurious wake-up): sleep again.
  }
}

bool Condition::wait_for_impl(bool (*predicate)(void*), void* context,
                              std::optional<Seconds> timeout) {
  if (timeout) detail::check_timeout(*timeout, "Condition.wait_for");
  const detail::Deadline deadline = detail::Deadline::from(timeout);
  bool result = predicate(context);
  while (!result) {
    std::optional<Seconds> left;
    if (!deadline.infinite()) {
      if (deadline.expired()) break;
      const timespec r = deadline.remaining();
      left = Seconds(static_cast<double>(r.tv_sec) + static_cast<double>(r.tv_nsec) * 1e-9);
    }
    wait(left);
    result = predicate(context);
  }
  return result;
}

void Condition::notify(int n) {
  detail::require_held(*lock_.state_, "Condition.notify");
  if (n <= 0) return;
  auto& s = *state_;
  const std::uint64_t counts = s.counts.load(std::memory_order_relaxed);
  const std::uint32_t unserved = detail::waiting(counts) - detail::tokens(counts);
  const std::uint32_t grant = std::min(static_cast<std::uint32_t>(n), unserved);
  if (grant == 0) return;
  s.counts.store(counts + grant, std::memory_order_relaxed);
  s.seq.fetch_add(1, std::memory_order_release);
  detail::futex_wake(s.seq, static_cast<int>(grant));
}

void Condition::notify_all() { notify(0x7fffffff); }

}  // namespace mproc
