// The state behind a PoolCore: what user threads share with the dispatcher thread (under mutex),
// and what only the dispatcher thread touches (the workers, their channels, the task queue).
#pragma once

#include <mproc/pool.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pool/channel.hpp"
#include "pool/pending_queue.hpp"
#include "pool/wire.hpp"

namespace mproc::detail {

namespace pool {

struct WorkerRecord {
  WorkerRecord() = default;
  WorkerRecord(const WorkerRecord&) = delete;
  WorkerRecord& operator=(const WorkerRecord&) = delete;
  ~WorkerRecord();
  std::unique_ptr<Channel> channel;
  std::unique_ptr<Process> process;  // StartMethod::fork; null for a forkserver worker
  std::string name;
  pid_t pid = 0;
  int pidfd = -1;  // the Process's sentinel, or our own (forkserver) pidfd
  pid_t server = 0;  // forkserver: the server that forked it
  std::vector<JobPtr> slots;  // by slot index
  std::vector<uint32_t> free_slots;
  size_t in_flight = 0;
  size_t sent = 0;            // task messages sent (for maxtasksperchild)
  std::string out;            // bytes not yet written to the task ring
  size_t out_offset = 0;
  std::string in;             // bytes read from the result ring, not yet parsed
  size_t in_offset = 0;
  bool ready = false;         // its initializer succeeded
  bool stopping = false;      // told to exit
  bool killed = false;        // we sent SIGKILL
  // Why its channel is no longer trusted (a corrupt index or message; it has been killed), or
  // null: nothing more is read from or written to that channel.
  const char* distrusted = nullptr;
  std::string init_error;
};

enum class State { run, close, terminate };

}  // namespace pool

struct PoolCore::Impl {
  explicit Impl(PoolOptions opts);
  ~Impl();

  // ---- set up before the dispatcher starts, read-only after
  PoolOptions options;
  int nprocs = 1;
  pid_t owner = 0;
  pool::PoolControl* control = nullptr;  // MAP_SHARED page, inherited by workers
  int control_fd = -1;                   // its memfd (forkserver: sent to each worker)
  void (*served_initializer)() = nullptr;  // forkserver: options.initializer's function
  int doorbell = -1;                     // eventfd, inherited by workers

  // ---- shared with user threads (under mutex). The groups below start on cache lines of their
  // own: a submitting thread and the dispatcher write them at high rates, and sharing a line
  // would make every write of one a cache miss for the other.
  alignas(64) mutable std::mutex mutex;
  pool::State state = pool::State::run;
  bool join_requested = false;
  size_t feeders = 0;
  pool::InboxBatch inbox;
  std::vector<uint64_t> cancels;
  std::atomic<bool> inbox_nonempty{false};
  uint64_t next_id = 1;
  std::vector<pid_t> pids;  // snapshot for worker_pids()

  alignas(64) std::atomic<uint64_t> next_group{1};  // user threads only
  // Set while the dispatcher sleeps, as control->parent_sleeping is for the workers; user threads
  // look at this private copy, so that a worker scribbling over the shared page cannot make a
  // submission, close() or terminate() go unnoticed.
  std::atomic<bool> sleeping{false};

  // ---- written by the dispatcher, read by user threads (counters)
  alignas(64) std::atomic<size_t> completed{0};
  std::atomic<size_t> stat_workers{0}, stat_queued{0}, stat_in_flight{0}, stat_started{0};

  std::mutex thread_mutex;
  std::thread thread;
  std::thread::id thread_id;

  // ---- the dispatcher's role (guest.cpp). Whoever holds `drive` may touch the dispatcher's own
  // state below: the dispatcher thread holds it at all times but while it sleeps; a user thread
  // (a guest) may take it while the dispatcher sleeps, to send its task straight to a worker or
  // collect its own result, so that a round trip wakes two threads, not four. A guest never
  // forks, never handles a death, a timeout, a cancel, close or terminate, and never runs a
  // callback of another result: it hands back whenever one is due (want_drive).
  alignas(64) std::mutex drive;
  std::atomic<bool> want_drive{false};      // the dispatcher thread woke and waits for `drive`
  std::atomic<bool> guest_sleeping{false};  // a guest sleeps on control->guest_wake

  // ---- the dispatcher thread's own
  // The state as of the last take_inbox: every change of state also marks the inbox, so the
  // loop need not take the mutex on every turn to see it.
  alignas(64) pool::State seen_state = pool::State::run;
  pool::PendingQueue pending;
  std::vector<pool::JobPtr> free_jobs;  // finished records, reused (see recycle)
  std::vector<std::unique_ptr<pool::WorkerRecord>> workers;
  size_t worker_serial = 0;
  size_t in_flight = 0;
  double avg_job_ns = -1;
  size_t init_failures = 0;
  bool broken = false;
  std::string broken_message;
  bool shutting_down = false;
  size_t round_robin = 0;
  uint64_t last_death_check_ns = 0;

  // With the dispatcher's role (`drive`), the only writer of `completed`: counts `items` more
  // finished and returns the new count. A load and a store, not a locked read-modify-write: one
  // runs per result, and stats() readers only need to see the count (issue 17 item 6).
  size_t add_completed(size_t items) noexcept {
    const size_t done = completed.load(std::memory_order_relaxed) + items;
    completed.store(done, std::memory_order_relaxed);
    return done;
  }
  // User threads: wakes the dispatcher if it sleeps (after publishing what it should see).
  void wake_dispatcher() noexcept;
  // This is the process that created the pool (not a forked copy of it).
  bool owned_here() const noexcept;

  // dispatcher.cpp
  void start_worker();
  bool served() const noexcept { return options.start_method == StartMethod::forkserver; }
  // The worker's exit code (negative: signal), reaping it; nullopt if unknown.
  std::optional<int> reap(pool::WorkerRecord& w) noexcept;
  void run() noexcept;
  // `guest`: refuses (false, nothing taken) if cancels or a change of state are waiting.
  bool take_inbox(bool guest = false);
  // Results or task-ring room waiting to be handled (the dispatcher's reason not to sleep).
  bool has_work();
  // guest.cpp: after a submission, in the submitting thread: sends the inbox to the workers if
  // the dispatcher sleeps; false if the dispatcher must be woken instead. With a `waiter` (the
  // result this thread waits for next) it goes on collecting it as guest_wait does.
  bool guest_dispatch(const ResultCore* waiter) noexcept;
  // guest.cpp: before a wait for `result`: collects results in the waiting thread while the only
  // tasks out are that result's, until it is resolved, `until_ns` (CLOCK_MONOTONIC, UINT64_MAX:
  // never) passes, or the dispatcher wants its role back.
  void guest_wait(const ResultCore& result, uint64_t until_ns) noexcept;
  // guest.cpp, with the role held: may a guest wait for `result` here?
  bool only_tasks_of(const ResultCore& result) const noexcept;
  // True while some worker's ring has not yet taken all of a task sent to it (a task larger than
  // the ring's room): only the dispatcher thread, which the worker's doorbell wakes, sends the rest.
  bool has_unsent() const noexcept;
  // guest.cpp, with the role held and control->parent_sleeping cleared: the guest's loop.
  void drive_for(const ResultCore& result, uint64_t until_ns) noexcept;
  // The dispatcher thread, on waking: asks a guest to hand its role back.
  void recall_guest() noexcept;
  void queue_batch(pool::InboxBatch&& batch);
  pool::JobPtr new_record();
  bool collect(pool::WorkerRecord& w) noexcept;
  bool read_results(pool::WorkerRecord& w);
  void handle_message(pool::WorkerRecord& w, const pool::MessageView& message);
  void distrust(pool::WorkerRecord& w, const char* reason) noexcept;
  // `hand_over`: lets a guest hold the dispatcher's role while poll() waits.
  bool check_deaths(int timeout_ms, bool hand_over = false);
  void handle_death(size_t index);
  bool resolve_slots(pool::WorkerRecord& w, const std::string& who, const std::string& how);
  pool::JobPtr take_slot(pool::WorkerRecord& w, uint32_t slot) noexcept;
  void fail_slots(pool::WorkerRecord& w, errc code, const char* message) noexcept;
  bool dispatch();
  bool rebalance();
  bool flush(pool::WorkerRecord& w);
  int64_t check_timeouts();
  void cancel_group(uint64_t group);
  void fail(pool::JobPtr job, errc code, const std::string& message) noexcept;
  void fail(pool::JobPtr job, errc code, const char* message) noexcept;
  void fail_sink(JobSink& sink, uint32_t items, errc code, const std::string& message) noexcept;
  void fail_pending(bool all, uint64_t group, errc code, const std::string& message) noexcept;
  void recycle(pool::JobPtr job) noexcept;
  void fail_everything(errc code, const std::string& message) noexcept;
  void break_pool(const std::string& message) noexcept;
  void dispatcher_error(const char* what) noexcept;
  void kill_worker(pool::WorkerRecord& w) noexcept;
  void do_terminate() noexcept;
  bool finished_work() const;
  void sleep(int64_t timeout_ns);
  void publish_stats();
  size_t cap() const noexcept;
};

// True in a user thread that holds `d`'s dispatcher role as a guest (guest.cpp).
bool is_guest_of(const PoolCore::Impl& d) noexcept;

}  // namespace mproc::detail
