// Rank 0's engine, shared by its two halves: engine.cpp (the callers' side: submissions,
// close / join / terminate) and engine_thread.cpp (the pool's MPI thread).
//
// Rank 0's side of a pool: submissions queue here; one thread (the pool's MPI thread, the only
// one of the process that calls MPI while the pool lives) sends them to the ranks that have room,
// collects their results and resolves the callers' results.
//
// Scheduling is by credit: each rank reported its capacity (workers x tasks_per_worker) when its
// local pool started; a task (or map chunk) takes one unit until its result is back. So a host
// with more workers gets proportionally more work, each rank pulls more as its pool frees room,
// and no rank holds more than its capacity (back-pressure: the rest waits in rank 0's queue,
// bounded itself for imap by the iterator's window).
#pragma once

#include <mproc/mpi/pool.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "mpi/comm.hpp"
#include "mpi/executor.hpp"
#include "mpi/runtime.hpp"
#include "mpi/wire.hpp"

namespace mproc::mpi::detail {

using Clock = std::chrono::steady_clock;

// What rank 0 has seen of a task's round trips (sent to answered, on any rank), by its name: the
// duration of a task is mostly the task's own, and a pool may run tasks of very different lengths
// one after the other (a tiny-task burst, then a CPU-bound map).
struct Speed {
  bool known = false;  // a result came back
  // Whether its round trips take under kFast: then a rank may hold its whole capacity of them,
  // which hides the trip's latency behind tiny tasks.
  bool fast = false;
  double rtt = 0;  // seconds, a moving average
};

// A target of tasks: a serving rank, or rank 0's own local pool (rank 0).
struct Target {
  RankInfo info;
  size_t capacity = 0;
  size_t in_flight = 0;  // sent and not answered (timed-out tasks still count until they are)
  size_t fast_in_flight = 0;  // of those, tasks known to be fast when sent (results are due soon)
  bool open = false;
  double rtt = 0;  // seconds, a moving average of its tasks' round trips (the polling cadence)
  // The time per result while it had tasks out (seconds, a moving average; 0 before the first),
  // and since when it has had tasks out without a result (unset while it has none): how soon it
  // runs out of work, hence how often rank 0 looks for its results (Impl::nap).
  double per_result = 0;
  std::optional<Clock::time_point> busy_since;
  std::unique_ptr<Executor> local;  // rank 0's own workers
  // Liveness (serving ranks): when rank 0 last heard from it (any message) or, if later, gave it
  // work while it had none; whether a PING is unanswered; whether it was given up on.
  Clock::time_point heard;
  bool probing = false;
  bool lost = false;

  // How many tasks like `task` it may hold. Fast ones: its whole capacity. Others: at most one
  // more than it has workers (none more for tasks of 50 ms and longer, nor for tasks not seen yet),
  // so that long tasks are spread as the ranks free up, as mpi4py's workers take them: an idle
  // worker then waits one round trip, under a millisecond, for its next task, while a queued one
  // could wait a whole task behind a slower rank at the end of a map. A task not seen yet starts
  // so (a CPU-bound map after a tiny-task burst must not be split into fixed shares up front):
  // its first results tell.
  size_t limit(const Speed& task) const noexcept {
    if (task.fast) return capacity;
    const size_t spare = task.known && task.rtt < 0.05 ? 1 : 0;
    return std::min(capacity, static_cast<size_t>(std::max(info.processes, 1)) + spare);
  }
};

inline constexpr auto kFast = std::chrono::milliseconds(20);

struct Pending {
  std::shared_ptr<mproc::detail::JobSink> sink;
  size_t target = 0;
  uint32_t items = 1;
  Clock::time_point deadline = Clock::time_point::max();
  Clock::time_point sent;
  uint64_t group = 0;
  Speed* speed = nullptr;  // its task's, in Impl::speeds
  bool fast = false;       // its task was known to be fast when it was sent
  bool resolved = false;  // by rank 0's own timeout; the rank's answer is still awaited
};

enum class State { running, closed, terminating };


struct Engine::Impl {
  PoolOptions options;
  uint64_t pool_id = 0;

  // Shared with the callers' threads.
  std::mutex mutex;
  std::condition_variable wake;      // the MPI thread's nap
  std::condition_variable started;   // the constructor's wait
  std::vector<RemoteJob> inbox;
  std::vector<uint64_t> cancels;  // groups to cancel
  std::atomic<uint64_t> groups{0};
  // Payload buffers of sent jobs, for Engine::spare_buffer: each of kSpareMin to kSpareMax bytes
  // of capacity, at most kSpareBytes in all.
  std::mutex spare_mutex;
  std::vector<std::string> spare;
  size_t spare_bytes = 0;
  static constexpr size_t kSpareMin = size_t{4} << 10;
  static constexpr size_t kSpareMax = size_t{1} << 20;
  static constexpr size_t kSpareBytes = size_t{8} << 20;
  bool rung = false;
  State state = State::running;
  size_t feeders = 0;
  bool ready = false;
  std::optional<Error> start_error;
  std::vector<RankInfo> ranks;
  int processes = 0;
  bool finished = false;
  std::atomic<size_t> completed{0};
  std::atomic<size_t> queued_count{0};
  std::atomic<size_t> in_flight_count{0};
  std::atomic<size_t> live_workers{0};  // of the targets not lost (PoolStats::workers)
  std::thread thread;
  bool joined = false;

  // The MPI thread's own.
  std::unique_ptr<Comm> comm;
  Comm::Message inbound;  // received messages (its buffer reused: results arrive in a stream)
  std::deque<RemoteJob> queue;
  std::unordered_map<uint64_t, Pending> pending;
  std::vector<Target> targets;
  std::unordered_map<std::string, Speed> speeds;  // by task name (nodes stay put: Pending points)
  uint64_t next_id = 0;
  size_t unresolved = 0;
  size_t with_deadline = 0;
  Clock::time_point next_deadline_check = Clock::time_point::max();
  Clock::time_point next_rank_check;

  void ring() {
    {
      std::lock_guard lock(mutex);
      rung = true;
    }
    wake.notify_one();
  }

  // ---- the MPI thread
  void main() noexcept;
  bool start();
  void fail_start(const Error& e);
  bool take_inbox(State& state, size_t& feeders_now);
  void cancel_groups(const std::vector<uint64_t>& which);
  bool receive();
  bool take_local();
  size_t on_results(size_t target, wire::Reader& in);
  void on_outcome(size_t target, uint64_t id, uint32_t count, int32_t code, const char* data,
                  size_t size);
  bool schedule();
  void check_deadlines();
  void check_ranks();
  void lose(size_t target, const std::string& why);
  void rejoin(size_t target);
  void count_live_workers();
  void fail_queue_without_targets();
  Clock::duration rank_timeout() const {
    return std::chrono::duration_cast<Clock::duration>(options.rank_timeout);
  }
  void resolve_failure(Pending& p, std::error_code code, const std::string& message);
  void count_done(size_t items);
  void shut(bool terminate);
  void wait_replies(int tag, Clock::duration limit);
  void nap(int idle);
  void publish_counts() {
    queued_count.store(queue.size(), std::memory_order_relaxed);
    in_flight_count.store(unresolved, std::memory_order_relaxed);
  }
};

}  // namespace mproc::mpi::detail
