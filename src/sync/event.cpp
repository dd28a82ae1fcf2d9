#include <mproc/event.hpp>

#include <string>

#include "shm/named_placement.hpp"
#include "sync/arena.hpp"
#include "sync/event_state.hpp"
#include "base/futex.hpp"

// Made without mproc::attachable, the state is a cell of the sync arena.
static_assert(sizeof(mproc::detail::EventState) <= mproc::detail::arena::kCellSize);

namespace mproc {

Event::Event() : Event(detail::anonymous_placement(sizeof(detail::EventState))) {}

Event::Event(Attachable)
    : Event(detail::shm::create_named_placement(sizeof(detail::EventState),
                                                detail::shm::kSyncSegment)) {}

Event::Event(detail::SharedPlacement where)
    : keepalive_(std::move(where.keepalive)),
      state_(detail::place<detail::EventState>(where, detail::SyncKind::event, "Event")),
      handle_(where.name) {}

Event Event::attach(std::string_view handle) {
  return Event(detail::attach_placement(handle, sizeof(detail::EventState), "Event"));
}

std::string Event::handle() const {
  return detail::placement_handle(handle_, state_, "Event");
}

void Event::set() {
  std::uint32_t w = state_->word.load(std::memory_order_relaxed);
  do {
    if (w & 1u) return;
  } while (!state_->word.compare_exchange_weak(w, (w + 2u) | 1u, std::memory_order_seq_cst,
                                               std::memory_order_relaxed));
  if (state_->sleepers.load(std::memory_order_seq_cst) > 0) detail::futex_wake_all(state_->word);
}

void Event::clear() noexcept { state_->word.fetch_and(~1u, std::memory_order_seq_cst); }

bool Event::is_set() const noexcept {
  return (state_->word.load(std::memory_order_acquire) & 1u) != 0;
}

bool Event::wait(std::optional<Seconds> timeout) {
  if (timeout) detail::check_timeout(*timeout, "Event.wait");
  std::uint32_t w = state_->word.load(std::memory_order_acquire);
  if (w & 1u) return true;
  const std::uint32_t sets = w >> 1;
  const detail::Deadline deadline = detail::Deadline::from(timeout);
  auto& sleepers = state_->sleepers;
  sleepers.fetch_add(1, std::memory_order_seq_cst);
  struct Leave {
    std::atomic<std::uint32_t>& count;
    ~Leave() { count.fetch_sub(1, std::memory_order_relaxed); }
  } leave{sleepers};
  for (;;) {
    const bool in_time = detail::futex_wait(state_->word, w, deadline);
    w = state_->word.load(std::memory_order_acquire);
    if ((w & 1u) || (w >> 1) != sets) return true;
    if (!in_time) return false;
  }
}

}  // namespace mproc
