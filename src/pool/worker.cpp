#include "pool/worker.hpp"

#include <cstdint>
#include <cstdio>
#include <stdio_ext.h>
#include <string>
#include <unistd.h>

#include <mproc/pool.hpp>

#include "base/cpu_relax.hpp"
#include "base/futex.hpp"
#include "base/spin_policy.hpp"
#include "pool/wire.hpp"

namespace mproc::detail::pool {
namespace {

// Polls this many times before sleeping: on a busy pool the next task usually arrives within
// microseconds, and a futex sleep + wake costs more than that.
constexpr int kSpins = 200;
// A sleeping worker wakes this often to check that its parent still exists.
constexpr int kSleepMs = 1000;
// Clock reads: a task's start time (running_since_ns) and run time (the result's elapsed) are read
// for a timed task always, for the first task of each batch read from the ring, for every
// kClockEvery-th task of a batch, and for every task while tasks take kClockAlwaysNs or more. A
// tiny task so pays a clock read every kClockEvery tasks instead of two per task (each costs
// ~30 ns on the VMs measured, a tenth of a tiny task's whole cost to the worker). Between reads
// running_since_ns keeps the last read start: a task seems to have run a little longer than it
// has, which only lets the dispatcher hand its queued successors to an idle worker a little
// sooner (its steal heuristic); timeouts read the clock of their own task.
constexpr uint32_t kClockEvery = 16;
constexpr uint64_t kClockAlwaysNs = 20'000;

class Worker {
 public:
  explicit Worker(const WorkerConfig& config)
      : config_(config), header_(config.channel->header()), tasks_(config.channel->tasks()),
        results_(config.channel->results()) {}

  int run() {
    if (*config_.initializer) {
      try {
        (*config_.initializer)();
      } catch (const SystemExit&) {
        throw;
      } catch (...) {
        out_.clear();
        const size_t at = start_message(out_, Kind::init_failed);
        out_ += describe_current_exception();
        finish_message(out_, at);
        send(out_);
        return 1;
      }
    }
    out_.clear();
    finish_message(out_, start_message(out_, Kind::ready));
    send(out_);

    size_t done = 0;
    for (;;) {
      bool filled = false;
      const size_t n = tasks_.read_all(in_, &filled);
      clock_countdown_ = 0;  // a new batch: its first task reads the clock
      if (n == Ring::kCorrupt) corrupt();
      // Room in the task ring is news only to a dispatcher that found it full: it then sleeps
      // until a read frees some (dispatcher.cpp's has_work). A read that found the ring not full
      // is no such read, and waking the dispatcher for it would add a wake-up to every round trip.
      if (filled) ring_doorbell(*config_.control, config_.doorbell);
      size_t consumed = 0;
      MessageView message{};
      bool ran = false;
      for (;;) {
        const Peek peek =
            peek_message(in_.data() + offset_, in_.data() + in_.size(), message, consumed);
        if (peek == Peek::incomplete) break;
        if (peek == Peek::malformed || message.kind != Kind::task) corrupt();
        offset_ += consumed;
        run_task(message);
        ran = true;
        if (config_.maxtasks != 0 && ++done >= config_.maxtasks) return 0;
      }
      if (offset_ == in_.size()) {
        in_.clear();
        offset_ = 0;
      } else if (offset_ > (size_t{1} << 20)) {
        in_.erase(0, offset_);
        offset_ = 0;
      }
      if (!ran) {
        if (header_.stop.load(std::memory_order_acquire) != 0 && tasks_.empty()) return 0;
        wait_for([this] {
          return !tasks_.empty() || header_.stop.load(std::memory_order_acquire) != 0;
        });
      }
    }
  }

 private:
  // Nothing in the channel can be trusted any more (the task that just ran may have written
  // over it): leave at once; the dispatcher fails what this worker had and replaces it.
  [[noreturn]] static void corrupt() { ::_exit(kExitChannelCorrupt); }

  void run_task(const MessageView& message) {
    // The dispatcher is trusted, but a task of ours may have scribbled over the ring: check the
    // sizes before reading past the fixed fields.
    const char* const end = message.body + message.size;
    if (message.size < kTaskHeader) corrupt();
    const char* p = message.body;
    const auto slot = take<uint32_t>(p);
    const auto id = take<uint64_t>(p);
    const auto flags = take<uint8_t>(p);
    PayloadView payload;
    if (slot >= kSlots || !read_payload(p, end, payload)) corrupt();

    // See kClockEvery. Stored before the claim below, which publishes them.
    const bool timed = (flags & kNotifyStart) != 0;
    const bool clocked = timed || clock_countdown_ == 0 || last_elapsed_ >= kClockAlwaysNs;
    uint64_t start = 0;
    if (clocked) {
      start = monotonic_ns();
      header_.running_since_ns.store(start, std::memory_order_relaxed);
      clock_countdown_ = kClockEvery;
    }
    --clock_countdown_;
    header_.running_slot.store(slot, std::memory_order_relaxed);
    uint64_t expected = id & kSlotIdMask;
    // Claim the slot; failing means the dispatcher cancelled this task first.
    if (!header_.slots[slot].compare_exchange_strong(expected, expected | kStarted,
                                                     std::memory_order_acq_rel))
      return;
    if (timed) ring_doorbell(*config_.control, config_.doorbell);

    out_.clear();
    const size_t at = start_message(out_, Kind::result);
    put(out_, slot);
    put(out_, id);
    const size_t elapsed_at = out_.size();
    put(out_, kElapsedUnknown);
    put(out_, payload.count);
    payload.invoker(payload.callable, payload.items, end, payload.count, out_);
    if (clocked) {
      last_elapsed_ = monotonic_ns() - start;
      std::memcpy(out_.data() + elapsed_at, &last_elapsed_, sizeof last_elapsed_);
    }
    finish_message(out_, at);
    send(out_);
  }

  // Writes all of `bytes` to the result ring, waiting for the dispatcher to make room.
  void send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const size_t n = results_.write_some(bytes.data() + sent, bytes.size() - sent);
      if (n == Ring::kCorrupt) corrupt();
      sent += n;
      ring_doorbell(*config_.control, config_.doorbell, true);
      if (sent < bytes.size() && n == 0)
        wait_for([this] { return results_.free_space() != 0; });
    }
  }

  template <class Ready>
  void wait_for(Ready ready) {
    // No spin where it cannot help: the dispatcher shares our one CPU, or spins kept failing.
    thread_local SpinAdvisor advisor;
    for (int i = 0, spins = advisor.should_spin() ? kSpins : 0; i < spins; ++i) {
      if (ready()) {
        advisor.spun(true);
        return;
      }
      cpu_relax();
    }
    advisor.spun(false);
    const uint32_t seen = header_.worker_wake.load(std::memory_order_seq_cst);
    header_.worker_sleeping.store(1, std::memory_order_seq_cst);
    if (!ready()) config_.channel->worker_sleep(seen, kSleepMs);
    header_.worker_sleeping.store(0, std::memory_order_relaxed);
    // Orphaned (the parent died without killing us): nobody will ever read our results.
    if (::getppid() != config_.parent) ::_exit(1);
  }

  const WorkerConfig& config_;
  ChannelHeader& header_;
  Ring tasks_;
  Ring results_;
  std::string in_;
  size_t offset_ = 0;
  std::string out_;
  uint32_t clock_countdown_ = 0;  // tasks until the next clock read (see kClockEvery)
  uint64_t last_elapsed_ = 0;     // the run time of the last task timed
};

}  // namespace

void ring_doorbell(PoolControl& control, int doorbell, bool results) noexcept {
  if (control.parent_sleeping.load(std::memory_order_seq_cst) != 0 &&
      control.parent_sleeping.exchange(0, std::memory_order_seq_cst) != 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(doorbell, &one, sizeof one);
  }
  if (results && control.guest_sleeping.load(std::memory_order_seq_cst) != 0 &&
      control.guest_sleeping.exchange(0, std::memory_order_seq_cst) != 0) {
    control.guest_wake.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(control.guest_wake);
  }
}

namespace {
const WorkerConfig* g_current_worker = nullptr;
}  // namespace

const WorkerConfig* current_worker() noexcept { return g_current_worker; }

int worker_main(const WorkerConfig& config) {
  g_current_worker = &config;
  // The worker was forked at an arbitrary moment (from the dispatcher thread): output the parent
  // had buffered but not yet written is the parent's to write. Without this, the worker's exit
  // (which flushes stdio) would print it a second time.
  ::__fpurge(stdout);
  ::__fpurge(stderr);
  arena::keep_ledger(&config.channel->header().arena_ledger);
  Worker worker(config);
  return worker.run();
}

}  // namespace mproc::detail::pool
