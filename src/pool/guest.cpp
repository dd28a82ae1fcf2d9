// Guests: a user thread doing the dispatcher's work while the dispatcher thread sleeps, so that a
// round trip on an idle pool wakes two threads (caller -> worker -> caller), as a socketpair
// ping-pong does, instead of four (caller -> dispatcher -> worker -> dispatcher -> caller).
//
// One lock, `drive`, is the dispatcher's role: whoever holds it runs the dispatcher's own code
// on the dispatcher's own state (take_inbox, dispatch, flush, collect: the same functions, so a
// task is sent, claimed, taken back or resolved exactly as on the dispatcher's path). The
// dispatcher thread holds it at all times except inside poll() while it sleeps; a guest takes it
// only then (try_lock, never waiting). On waking, the dispatcher sets want_drive and wakes a
// sleeping guest, which hands the role back at once.
//
// What a guest never does, because it belongs to the dispatcher thread: fork (start or replace a
// worker: the threads and locks at fork stay those of ARCHITECTURE.md), handle a death, a
// timeout, a cancel, close or terminate, or run another result's callbacks. Each of these comes
// with a wake-up of the dispatcher (a pidfd, the doorbell, or a submitter that saw it sleeping),
// which recalls the guest. The guest itself wakes the dispatcher when it leaves anything behind
// (tasks not sent, a result not yet in, a worker it found corrupt).
//
// Trust: the guest reads the channels through the same checked rings and message checks as the
// dispatcher (issue 11). The flag and futex word that wake it (guest_sleeping, guest_wake) are in
// the page every worker shares, so a scribbling task can only make it sleep for a second before
// it looks again; the flags that recall it (want_drive, guest_sleeping in Impl) are private.
#include <algorithm>
#include <cstdint>
#include <ctime>
#include <exception>
#include <thread>

#include "base/cpu_relax.hpp"
#include "base/futex.hpp"
#include "base/spin_policy.hpp"
#include "pool/pool_impl.hpp"

namespace mproc::detail {

using namespace pool;

namespace {

// A guest polls the result rings this many times before it sleeps (the worker's own figure).
constexpr int kGuestSpins = 200;
// The longest a guest sleeps before it looks again (only a scribbled wake flag needs it).
constexpr timespec kGuestSleep{1, 0};

// The pool whose role the calling thread holds as a guest (null: none). A guest thread is never
// the dispatcher, and must not wait for it (join, terminate) while it holds the role.
thread_local const PoolCore::Impl* t_guest_of = nullptr;

class GuestMark {
 public:
  explicit GuestMark(const PoolCore::Impl& d) noexcept { t_guest_of = &d; }
  ~GuestMark() { t_guest_of = nullptr; }
  GuestMark(const GuestMark&) = delete;
  GuestMark& operator=(const GuestMark&) = delete;
};

}  // namespace

bool is_guest_of(const PoolCore::Impl& d) noexcept { return t_guest_of == &d; }

void PoolCore::Impl::recall_guest() noexcept {
  want_drive.store(true, std::memory_order_seq_cst);
  if (guest_sleeping.load(std::memory_order_seq_cst)) {
    control->guest_wake.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(control->guest_wake);
  }
}

bool PoolCore::Impl::guest_dispatch(const ResultCore* waiter) noexcept {
  if (t_guest_of != nullptr || std::this_thread::get_id() == thread_id) return false;
  if (!sleeping.load(std::memory_order_seq_cst)) return false;  // awake: it takes the inbox
  std::unique_lock role(drive, std::try_to_lock);
  if (!role.owns_lock()) return false;
  if (want_drive.load(std::memory_order_seq_cst) || !sleeping.load(std::memory_order_seq_cst) ||
      broken || seen_state != State::run)
    return false;
  // Without a waiter, only the first task of a burst goes straight out: later ones are better
  // left to the dispatcher, which sends what has come meanwhile as one batch with one wake-up of
  // the worker (sent one by one, each could wake it, and on a shared CPU switch to it).
  if (waiter == nullptr && (in_flight != 0 || !pending.empty())) return false;
  const GuestMark mark(*this);
  bool waits = false;
  try {
    if (!take_inbox(true)) return false;  // cancels or a change of state: the dispatcher's
    dispatch();
    // A caller about to wait collects its result itself: the workers must wake it, not the
    // dispatcher, from the moment the task is out.
    waits = waiter != nullptr && only_tasks_of(*waiter);
    if (waits) control->parent_sleeping.store(0, std::memory_order_seq_cst);
    for (auto& w : workers) flush(*w);
    publish_stats();
    // A task larger than a ring's room is left partly unsent, and only the dispatcher thread
    // sends the rest (woken by the doorbell a worker rings when it frees room, which never wakes
    // a guest): the caller leaves the whole exchange to it, below.
    if (has_unsent()) waits = false;
  } catch (const std::exception& e) {
    dispatcher_error(e.what());  // what it could not send is failed, as the dispatcher would
    return false;
  } catch (...) {
    dispatcher_error("an exception not derived from std::exception");
    return false;
  }
  if (waits) {
    drive_for(*waiter, UINT64_MAX);
    return true;  // the dispatcher was woken there if anything is left for it
  }
  if (!pending.empty()) return false;  // no room for some (maxtasksperchild, a full ring): wake it
  for (auto& w : workers)
    if (w->killed || w->out_offset != w->out.size()) return false;
  // The sent tasks' results wake the dispatcher (parent_sleeping is still raised), or the guest
  // that waits for them.
  return true;
}

bool PoolCore::Impl::has_unsent() const noexcept {
  for (const auto& w : workers)
    if (w->out_offset != w->out.size()) return true;
  return false;
}

bool PoolCore::Impl::only_tasks_of(const ResultCore& result) const noexcept {
  // Only this result's tasks may be out: a guest resolves no other result (whose callbacks run in
  // the dispatcher thread), and none with a timeout (whose start rings only the dispatcher).
  if (options.on_progress || result.has_callbacks() || !pending.empty() || in_flight == 0)
    return false;
  for (const auto& w : workers) {
    if (w->killed || w->distrusted != nullptr) return false;
    size_t seen = 0;
    for (uint32_t s = 0; s < kSlots && seen < w->in_flight; ++s) {
      const JobPtr& job = w->slots[s];
      if (!job) continue;
      if (job->job.group != result.group() || job->job.timeout) return false;
      ++seen;
    }
  }
  return true;
}

void PoolCore::Impl::guest_wait(const ResultCore& result, uint64_t until_ns) noexcept {
  if (t_guest_of != nullptr || std::this_thread::get_id() == thread_id) return;
  if (!owned_here()) return;  // a forked copy of the pool's process: its `drive` is a copy too
  if (!sleeping.load(std::memory_order_seq_cst)) return;
  std::unique_lock role(drive, std::try_to_lock);
  if (!role.owns_lock()) return;
  if (want_drive.load(std::memory_order_seq_cst) || !sleeping.load(std::memory_order_seq_cst) ||
      broken || seen_state != State::run || result.ready() || !only_tasks_of(result) ||
      has_unsent())  // the rest of a large task: the dispatcher's, as in guest_dispatch
    return;
  const GuestMark mark(*this);
  // From here the workers wake this thread, not the dispatcher.
  control->parent_sleeping.store(0, std::memory_order_seq_cst);
  drive_for(result, until_ns);
}

void PoolCore::Impl::drive_for(const ResultCore& result, uint64_t until_ns) noexcept {
  thread_local SpinAdvisor advisor;
  bool recalled = false;
  for (;;) {
    bool progress = false;
    try {
      for (auto& w : workers) {  // both, every time: flush sends a large task's rest
        progress |= collect(*w);
        progress |= flush(*w);
      }
    } catch (...) {  // out of memory in flush: the dispatcher's to handle
      break;
    }
    if (result.ready()) break;
    recalled = want_drive.load(std::memory_order_seq_cst) ||
               !sleeping.load(std::memory_order_seq_cst);
    if (recalled) break;
    bool stranger = false;  // a worker found corrupt: its death is the dispatcher's
    for (auto& w : workers) stranger |= w->killed;
    if (stranger) break;
    if (progress) continue;
    bool arrived = false;
    for (int i = 0, spins = advisor.should_spin() ? kGuestSpins : 0; i < spins && !arrived; ++i) {
      for (auto& w : workers) arrived |= w->distrusted == nullptr && !w->channel->results().empty();
      if (!arrived) cpu_relax();
    }
    advisor.spun(arrived);
    if (arrived) continue;
    const uint32_t seen = control->guest_wake.load(std::memory_order_seq_cst);
    guest_sleeping.store(true, std::memory_order_seq_cst);
    control->guest_sleeping.store(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool ready = want_drive.load(std::memory_order_seq_cst);
    for (auto& w : workers) ready |= w->distrusted == nullptr && !w->channel->results().empty();
    if (!ready) {
      timespec slice = kGuestSleep;
      if (until_ns != UINT64_MAX) {
        const uint64_t now = monotonic_ns();
        const uint64_t left = now >= until_ns ? 0 : std::min<uint64_t>(until_ns - now, 1'000'000'000);
        slice = {static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
      }
      if (slice.tv_sec != 0 || slice.tv_nsec != 0) futex_wait_once(control->guest_wake, seen, &slice);
    }
    control->guest_sleeping.store(0, std::memory_order_relaxed);
    guest_sleeping.store(false, std::memory_order_relaxed);
    if (until_ns != UINT64_MAX && monotonic_ns() >= until_ns) break;  // the caller's time is up
  }
  publish_stats();
  if (recalled || want_drive.load(std::memory_order_seq_cst)) return;  // it takes over as it is
  // The dispatcher sleeps on: the workers ring it again, and whatever came in since it was told
  // not to be rung (or is left for it) wakes it now.
  control->parent_sleeping.store(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool left = !result.ready();
  for (auto& w : workers) left |= w->killed || w->out_offset != w->out.size();
  if (left || has_work()) wake_dispatcher();
}

void PoolCore::help_wait(const ResultCore& result, uint64_t until_ns) noexcept {
  impl_->guest_wait(result, until_ns);
}

}  // namespace mproc::detail
