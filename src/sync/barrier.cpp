#include <mproc/barrier.hpp>

#include <cerrno>
#include <chrono>
#include <poll.h>
#include <string>
#include <unistd.h>

#include "process/pidfd.hpp"
#include "shm/named_placement.hpp"
#include "sync/arena.hpp"
#include "sync/barrier_state.hpp"
#include "base/futex.hpp"

// Made without mproc::attachable, the state is a cell of the sync arena.
static_assert(sizeof(mproc::detail::BarrierState) <= mproc::detail::arena::kCellSize);

namespace mproc {
namespace detail {
namespace {

constexpr std::uint32_t kHistoryBits = 31;

struct Round {
  std::uint32_t count = 0;
  std::uint32_t number = 0;
  bool broken = false;
  std::uint32_t history = 0;

  static Round decode(std::uint64_t w) {
    return Round{static_cast<std::uint32_t>(w & 0xffff),
                 static_cast<std::uint32_t>((w >> 16) & 0xffff), ((w >> 32) & 1) != 0,
                 static_cast<std::uint32_t>(w >> 33)};
  }
  std::uint64_t encode() const {
    return std::uint64_t{count & 0xffff} | (std::uint64_t{number & 0xffff} << 16) |
           (std::uint64_t{broken ? 1u : 0u} << 32) |
           (std::uint64_t{history & ((1u << kHistoryBits) - 1)} << 33);
  }
  // The first round after this one, which ended broken or not.
  Round next(bool ended_broken) const {
    return Round{0, (number + 1) & 0xffff, false, (history << 1) | (ended_broken ? 1u : 0u)};
  }
};

enum class Outcome { pending, passed, broken };

Outcome outcome_of(std::uint32_t round, const Round& now) {
  if (now.number == round) return now.broken ? Outcome::broken : Outcome::pending;
  const std::uint32_t ago = (now.number - round) & 0xffff;
  // Beyond the history (a waiter that did not run while 32 rounds ended): most rounds pass.
  if (ago > kHistoryBits) return Outcome::passed;
  return ((now.history >> (ago - 1)) & 1) != 0 ? Outcome::broken : Outcome::passed;
}

void announce(BarrierState& s) {
  s.seq.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_all(s.seq);
}

// Applies `change` (Round -> optional new Round) until the CAS succeeds; returns whether it
// changed anything, and wakes the sleepers if so.
template <class Change>
bool update(BarrierState& s, Change change) {
  std::uint64_t w = s.word.load(std::memory_order_seq_cst);
  for (;;) {
    const std::optional<Round> next = change(Round::decode(w));
    if (!next) return false;
    if (s.word.compare_exchange_weak(w, next->encode(), std::memory_order_seq_cst)) break;
  }
  announce(s);
  return true;
}

// Breaks round `round` if it is still the current, unbroken one.
void break_round(BarrierState& s, std::uint32_t round) {
  update(s, [&](Round r) -> std::optional<Round> {
    if (r.number != round || r.broken) return std::nullopt;
    r.broken = true;
    return r;
  });
}

[[noreturn]] void throw_broken(const char* why) {
  throw Error(errc::broken, std::string("Barrier.wait: ") + why);
}

// A waiter wakes this often to check that the parties it waits with are alive.
constexpr auto kLivenessSlice = std::chrono::milliseconds(100);

void record_arrival(BarrierState& s, std::uint32_t round, std::uint32_t index) {
  if (index >= kWatchedParties) return;
  s.arrivals[index].store(kArrivalValid | (std::uint64_t{round} << 32) |
                              static_cast<std::uint32_t>(::getpid()),
                          std::memory_order_release);
}

// True if process `pid` has ended (a zombie included: its pidfd is readable, pidfd_open(2)).
bool has_ended(pid_t pid) {
  const int fd = pidfd_open(pid);
  if (fd < 0) return errno == ESRCH;
  pollfd p{fd, POLLIN, 0};
  const bool ended = ::poll(&p, 1, 0) > 0;
  ::close(fd);
  return ended;
}

// True if a process that arrived in round `round` (and still counts as waiting in it) has died:
// the round can then never complete, and is broken for the others.
bool a_waiting_party_died(const BarrierState& s, std::uint32_t round, std::uint32_t count) {
  const pid_t self = ::getpid();
  for (std::uint32_t i = 0; i < count && i < kWatchedParties; ++i) {
    const std::uint64_t a = s.arrivals[i].load(std::memory_order_acquire);
    if ((a & kArrivalValid) == 0 || ((a >> 32) & 0xffff) != round) continue;  // not yet recorded
    const auto pid = static_cast<pid_t>(a & 0xffffffffu);
    if (pid != self && has_ended(pid)) return true;
  }
  return false;
}

// Sleeps on seq for at most one liveness slice (and at most until `deadline`). Returns false once
// `deadline` has passed; true when woken, at the end of a slice, or spuriously.
bool wait_slice(BarrierState& s, std::uint32_t seq, const Deadline& deadline) {
  if (!deadline.infinite()) {
    const timespec left = deadline.remaining();
    if (left.tv_sec == 0 && left.tv_nsec < std::chrono::nanoseconds(kLivenessSlice).count())
      return futex_wait(s.seq, seq, deadline);  // the last slice
  }
  futex_wait(s.seq, seq, Deadline(kLivenessSlice));
  return !deadline.expired();
}

}  // namespace
}  // namespace detail

Barrier::Barrier(int parties, std::function<void()> action, std::optional<Seconds> timeout)
    : Barrier(detail::anonymous_placement(sizeof(detail::BarrierState)), parties, std::move(action),
              timeout) {}

Barrier::Barrier(Attachable, int parties, std::function<void()> action,
                 std::optional<Seconds> timeout)
    : Barrier(detail::shm::create_named_placement(sizeof(detail::BarrierState),
                                                  detail::shm::kSyncSegment),
              parties, std::move(action), timeout) {}

Barrier Barrier::attach(std::string_view handle, std::function<void()> action,
                        std::optional<Seconds> timeout) {
  detail::SharedPlacement where =
      detail::attach_placement(handle, sizeof(detail::BarrierState), "Barrier");
  auto* state = static_cast<detail::BarrierState*>(where.address);
  state->header.check(detail::SyncKind::barrier, "Barrier");
  const auto parties = static_cast<int>(state->parties);
  return Barrier(std::move(where), parties, std::move(action), timeout);
}

std::string Barrier::handle() const {
  return detail::placement_handle(handle_, state_, "Barrier");
}

Barrier::Barrier(detail::SharedPlacement where, int parties, std::function<void()> action,
                 std::optional<Seconds> timeout)
    : keepalive_(std::move(where.keepalive)),
      action_(std::move(action)),
      timeout_(timeout),
      handle_(where.name) {
  if (parties < 1 || parties > kMaxParties)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "Barrier: parties must be between 1 and " + std::to_string(kMaxParties));
  if (timeout) detail::check_timeout(*timeout, "Barrier");
  state_ = detail::place<detail::BarrierState>(where, detail::SyncKind::barrier, "Barrier",
                                               static_cast<std::uint32_t>(parties));
  if (!where.construct && state_->parties != static_cast<std::uint32_t>(parties))
    throw Error(errc::bad_handle, "Barrier: the shared barrier has " +
                                      std::to_string(state_->parties) + " parties, not " +
                                      std::to_string(parties));
}

int Barrier::wait(std::optional<Seconds> timeout) {
  using detail::Outcome;
  using detail::Round;
  if (!timeout) timeout = timeout_;
  if (timeout) detail::check_timeout(*timeout, "Barrier.wait");
  const detail::Deadline deadline = detail::Deadline::from(timeout);
  auto& s = *state_;

  // Arrive: take the next index of the current round.
  std::uint32_t index = 0;
  std::uint32_t round = 0;
  for (;;) {
    const std::uint32_t seq = s.seq.load(std::memory_order_seq_cst);
    std::uint64_t w = s.word.load(std::memory_order_seq_cst);
    Round r = Round::decode(w);
    if (r.broken) detail::throw_broken("the barrier is broken");
    if (r.count == s.parties) {
      // The previous round's last caller is running the action: wait for the next round.
      if (!detail::wait_slice(s, seq, deadline)) {
        detail::break_round(s, r.number);
        detail::throw_broken("timed out (the barrier is now broken)");
      }
      if (detail::a_waiting_party_died(s, r.number, r.count)) detail::break_round(s, r.number);
      continue;
    }
    index = r.count;
    round = r.number;
    ++r.count;
    if (s.word.compare_exchange_weak(w, r.encode(), std::memory_order_seq_cst)) break;
  }
  detail::record_arrival(s, round, index);

  if (index + 1 == s.parties) {
    // The last to arrive runs the action, then releases everyone.
    if (action_) {
      try {
        action_();
      } catch (...) {
        detail::break_round(s, round);
        throw;
      }
    }
    const bool passed = detail::update(s, [&](Round r) -> std::optional<Round> {
      if (r.number != round || r.broken) return std::nullopt;  // aborted or reset meanwhile
      return r.next(false);
    });
    if (!passed) detail::throw_broken("aborted or reset while the action ran");
    return static_cast<int>(index);
  }

  for (;;) {
    const std::uint32_t seq = s.seq.load(std::memory_order_seq_cst);
    switch (detail::outcome_of(round, Round::decode(s.word.load(std::memory_order_seq_cst)))) {
      case Outcome::passed:
        return static_cast<int>(index);
      case Outcome::broken:
        detail::throw_broken("the barrier was broken, aborted or reset");
      case Outcome::pending:
        break;
    }
    if (!detail::wait_slice(s, seq, deadline)) {
      detail::break_round(s, round);
      // The round may have passed just before we broke it.
      if (detail::outcome_of(round, Round::decode(s.word.load())) == Outcome::passed)
        return static_cast<int>(index);
      detail::throw_broken("timed out (the barrier is now broken)");
    }
    const Round now = Round::decode(s.word.load(std::memory_order_seq_cst));
    if (now.number == round && !now.broken && detail::a_waiting_party_died(s, round, now.count)) {
      detail::break_round(s, round);
      if (detail::outcome_of(round, Round::decode(s.word.load())) == Outcome::passed)
        return static_cast<int>(index);
      detail::throw_broken("a party died while waiting (the barrier is now broken)");
    }
  }
}

void Barrier::abort() {
  detail::update(*state_, [](detail::Round r) -> std::optional<detail::Round> {
    if (r.broken) return std::nullopt;
    r.broken = true;
    return r;
  });
}

void Barrier::reset() {
  detail::update(*state_, [](detail::Round r) -> std::optional<detail::Round> {
    if (!r.broken && r.count == 0) return std::nullopt;  // already empty
    return r.next(true);
  });
}

int Barrier::parties() const noexcept { return static_cast<int>(state_->parties); }

int Barrier::n_waiting() const noexcept {
  const auto r = detail::Round::decode(state_->word.load(std::memory_order_relaxed));
  return r.broken ? 0 : static_cast<int>(r.count);
}

bool Barrier::broken() const noexcept {
  return detail::Round::decode(state_->word.load(std::memory_order_relaxed)).broken;
}

}  // namespace mproc
