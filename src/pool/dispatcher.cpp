// The dispatcher thread: the only code that touches the workers and their channels.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <unistd.h>

#include "base/cpu_relax.hpp"
#include "base/fork_handlers.hpp"
#include "base/spin_policy.hpp"
#include "log/logger.hpp"
#include "process/pidfd.hpp"
#include "pool/forkserver.hpp"
#include "pool/pool_impl.hpp"
#include "pool/wire.hpp"
#include "pool/worker.hpp"

namespace mproc::detail {

using namespace pool;

namespace {

// The dispatcher polls its rings this many times before it sleeps.
constexpr int kSpins = 100;
// Work queued per worker, in expected run time: enough to batch tiny tasks, little enough that a
// worker with long tasks does not hold back tasks another worker could start.
constexpr double kQueuedNsPerWorker = 2e6;
// How often a busy dispatcher checks for dead workers.
constexpr uint64_t kDeathCheckNs = 1'000'000;
// Finished job records kept for reuse, and the largest payload capacity worth keeping.
constexpr size_t kFreeJobsMax = 4096;
constexpr size_t kRecycledPayloadMax = 4096;
// A worker's queued tasks may move to an idle worker once its running task has run this long.
constexpr uint64_t kStealAfterNs = 2'000'000;
// The longest the dispatcher sleeps with tasks in flight (see sleep()).
constexpr int kBusySleepMs = 1'000;
// How long to wait for the forkserver's report of a worker's exit status.
constexpr int kServerReplyMs = 5'000;

std::string describe_exit(int code) {
  if (code >= 0) return "exited with code " + std::to_string(code);
  const char* name = sigabbrev_np(-code);
  return "killed by signal " + std::to_string(-code) +
         (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
}

uint64_t seconds_to_ns(Seconds s) {
  const double ns = s.count() * 1e9;
  return ns >= 9e18 ? UINT64_MAX / 2 : static_cast<uint64_t>(ns);
}

}  // namespace

WorkerRecord::~WorkerRecord() {
  if (!process && pidfd >= 0) ::close(pidfd);
}

void PoolCore::Impl::start_worker() {
  auto w = std::make_unique<WorkerRecord>();
  w->channel = std::make_unique<Channel>(served());
  w->slots.resize(kSlots);
  w->free_slots.reserve(kSlots);
  for (uint32_t s = kSlots; s > 0; --s) w->free_slots.push_back(s - 1);
  if (served()) {
    w->name = "ForkServerPoolWorker-" + std::to_string(++worker_serial);
    const ServedWorker s = forkserver_spawn(w->name, w->channel->fd(), control_fd, doorbell,
                                            served_initializer, options.maxtasksperchild);
    w->channel->close_fd();  // the worker has its own mapping
    w->pid = s.pid;
    w->pidfd = s.pidfd;
    w->server = s.server;
  } else {
    WorkerConfig config{w->channel.get(), control, doorbell, &options.initializer,
                        options.maxtasksperchild, owner};
    w->process = std::make_unique<Process>([config] {
      const int code = worker_main(config);
      if (code != 0) throw SystemExit(code);  // a Process's target gives its code explicitly
    });
    w->name = "ForkPoolWorker-" + std::to_string(++worker_serial);
    w->process->set_name(w->name);
    w->process->set_daemon(true);
    // A worker busy in a task leaves as soon as the pool's process dies (the idle one noticed it
    // within a second already, worker.cpp).
    w->process->set_die_with_parent(true);
    {
      // A worker takes no segment references at fork (it may be killed at any time).
      const PlainChildForks plain;
      w->process->start();
    }
    w->pid = *w->process->pid();
    w->pidfd = w->process->sentinel();
  }
  logger(LogCategory::pool).debug("pool: started {} (pid {})", w->name, w->pid);
  workers.push_back(std::move(w));
  stat_started.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex);
  pids.clear();
  for (const auto& x : workers) pids.push_back(x->pid);
}

size_t PoolCore::Impl::cap() const noexcept {
  if (avg_job_ns < 0) return 2;
  const double c = kQueuedNsPerWorker / std::max(avg_job_ns, 1.0);
  return std::clamp<size_t>(static_cast<size_t>(c) + 1, 1, kSlots);
}

bool PoolCore::Impl::take_inbox(bool guest) {
  if (!inbox_nonempty.load(std::memory_order_acquire)) return false;
  InboxBatch batch = pending.spare_batch();
  std::vector<uint64_t> groups;
  {
    std::lock_guard lock(mutex);
    if (guest && (!cancels.empty() || state != seen_state)) return false;
    std::swap(inbox, batch);
    groups.swap(cancels);
    seen_state = state;
    inbox_nonempty.store(false, std::memory_order_relaxed);
  }
  queue_batch(std::move(batch));
  for (uint64_t g : groups) cancel_group(g);
  return true;
}

void PoolCore::Impl::queue_batch(InboxBatch&& batch) {
  try {
    pending.append(std::move(batch));  // on failure `batch` is left as it was
  } catch (...) {
    for (size_t i = batch.next; i < batch.jobs.size(); ++i) {
      InboxJob& entry = batch.jobs[i];
      if (!entry.sink) continue;
      fail_sink(*entry.sink, entry.items, errc::internal, "pool: out of memory queuing the task");
      entry.sink.reset();
    }
    throw;
  }
  if (broken) fail_pending(true, 0, errc::broken, broken_message);
}

JobPtr PoolCore::Impl::new_record() {
  if (free_jobs.empty()) return std::make_unique<JobRecord>();
  JobPtr job = std::move(free_jobs.back());
  free_jobs.pop_back();
  return job;
}

void PoolCore::Impl::fail(JobPtr job, errc code, const std::string& message) noexcept {
  fail_sink(*job->job.sink, job->job.items, code, message);
  recycle(std::move(job));
}

void PoolCore::Impl::fail(JobPtr job, errc code, const char* message) noexcept {
  std::string text;
  try {
    text = message;
  } catch (...) {  // out of memory: the code alone still resolves it
  }
  fail(std::move(job), code, text);
}

JobPtr PoolCore::Impl::take_slot(WorkerRecord& w, uint32_t slot) noexcept {
  JobPtr job = std::move(w.slots[slot]);
  --w.in_flight;
  --in_flight;
  return job;
}

void PoolCore::Impl::fail_slots(WorkerRecord& w, errc code, const char* message) noexcept {
  for (uint32_t s = 0; s < kSlots; ++s)
    if (w.slots[s]) fail(take_slot(w, s), code, message);
}

void PoolCore::Impl::fail_sink(JobSink& sink, uint32_t items, errc code,
                               const std::string& message) noexcept {
  add_completed(items);
  sink.on_failure(make_error_code(code), message);
}

// Fails the queued jobs of `group`, or all of them.
void PoolCore::Impl::fail_pending(bool all, uint64_t group, errc code,
                                  const std::string& message) noexcept {
  pending.remove(
      all, group, [&](JobSink& sink, uint32_t items) { fail_sink(sink, items, code, message); },
      [&](JobPtr job) { fail(std::move(job), code, message); });
}

// Finished records are reused (their payload keeps its capacity): no allocation per task.
void PoolCore::Impl::recycle(JobPtr job) noexcept {
  job->job.sink.reset();
  if (free_jobs.size() >= kFreeJobsMax || job->job.payload.capacity() > kRecycledPayloadMax)
    return;
  job->job.payload.clear();
  job->job.timeout.reset();
  job->kill_reason.reset();
  try {
    free_jobs.push_back(std::move(job));
  } catch (...) {
  }
}

void PoolCore::Impl::fail_everything(errc code, const std::string& message) noexcept {
  fail_pending(true, 0, code, message);
  for (auto& w : workers)
    for (uint32_t s = 0; s < kSlots; ++s)
      if (w->slots[s]) fail(take_slot(*w, s), code, message);
}

void PoolCore::Impl::kill_worker(WorkerRecord& w) noexcept {
  if (w.killed) return;
  w.killed = true;
  try {
    if (w.process)
      w.process->kill();
    else if (pidfd_send_signal(w.pidfd, SIGKILL) != 0 && errno != ESRCH)
      throw_errno(errno, "pidfd_send_signal");
  } catch (const std::exception& e) {
    logger(LogCategory::pool)
        .error("pool: could not kill {} (pid {}): {}", w.name, w.pid, e.what());
  }
}

void PoolCore::Impl::break_pool(const std::string& message) noexcept {
  broken = true;
  try {
    broken_message = message;
    logger(LogCategory::pool).error("pool: {}", message);
  } catch (...) {  // out of memory: the code alone still says it
  }
  fail_everything(errc::broken, broken_message);
  for (auto& w : workers) kill_worker(*w);
}

// Out of memory or a failing system call in the loop: do not leave results hanging.
void PoolCore::Impl::dispatcher_error(const char* what) noexcept {
  std::string message;
  try {
    logger(LogCategory::pool).error("pool dispatcher: {}", what);
    message = std::string("pool broken: dispatcher error: ") + what;
  } catch (...) {
  }
  break_pool(message);
}

// The channel of `w` has shown a value no correct worker writes: `w` is treated as dead (killed
// now, its tasks failed with `reason` once it is reaped, replaced), and nothing more of that
// channel is read or written.
void PoolCore::Impl::distrust(WorkerRecord& w, const char* reason) noexcept {
  if (w.distrusted == nullptr) {
    w.distrusted = reason;
    try {
      logger(LogCategory::pool).error("pool: worker {} (pid {}) killed: {}", w.name, w.pid, reason);
    } catch (...) {
    }
  }
  w.in.clear();
  w.in_offset = 0;
  w.out.clear();
  w.out_offset = 0;
  kill_worker(w);
}

// Reads and handles what `w` has written; true if there was anything. Never throws: whatever
// goes wrong there (out of memory buffering a huge result included) is that worker's end.
bool PoolCore::Impl::collect(WorkerRecord& w) noexcept {
  if (w.distrusted != nullptr) return false;
  try {
    return read_results(w);
  } catch (...) {
    distrust(w, "its results could not be read (out of memory)");
    return true;
  }
}

bool PoolCore::Impl::read_results(WorkerRecord& w) {
  Ring results = w.channel->results();
  const size_t n = results.read_all(w.in);
  if (n == Ring::kCorrupt) {
    distrust(w, "it corrupted its channel (result ring index out of range)");
    return true;
  }
  if (n == 0) return false;
  w.channel->wake_worker();  // it may be waiting for room to write
  size_t consumed = 0;
  MessageView message{};
  while (w.distrusted == nullptr) {
    const Peek peek =
        peek_message(w.in.data() + w.in_offset, w.in.data() + w.in.size(), message, consumed);
    if (peek == Peek::incomplete) break;
    if (peek == Peek::malformed) {
      distrust(w, "it corrupted its channel (a message of size 0)");
      return true;
    }
    w.in_offset += consumed;
    handle_message(w, message);
  }
  if (w.distrusted != nullptr) return true;
  if (w.in_offset == w.in.size()) {
    w.in.clear();
    w.in_offset = 0;
  } else if (w.in_offset > (size_t{1} << 20)) {
    w.in.erase(0, w.in_offset);
    w.in_offset = 0;
  }
  return true;
}

// Every field is checked against what this dispatcher sent before it is used: a message that no
// correct worker writes makes the worker distrusted (see distrust).
void PoolCore::Impl::handle_message(WorkerRecord& w, const MessageView& message) {
  switch (message.kind) {
    case Kind::ready:
      if (message.size != 0) return distrust(w, "it corrupted its channel (a malformed message)");
      w.ready = true;
      init_failures = 0;
      return;
    case Kind::init_failed:
      w.init_error.assign(message.body, message.size);
      return;
    case Kind::result:
      break;
    default:
      return distrust(w, "it corrupted its channel (a message of an unknown kind)");
  }
  if (message.size < kResultHeader)
    return distrust(w, "it corrupted its channel (a result shorter than its header)");
  const char* p = message.body;
  const auto slot = take<uint32_t>(p);
  const auto id = take<uint64_t>(p);
  const auto elapsed = take<uint64_t>(p);
  const auto count = take<uint32_t>(p);
  if (slot >= kSlots) return distrust(w, "it corrupted its channel (a result for no slot)");
  if (!w.slots[slot] || w.slots[slot]->id != id) return;  // cancelled, or taken back
  if (count != w.slots[slot]->job.items)
    return distrust(w, "it corrupted its channel (a result whose item count is not its task's)");
  JobPtr job = take_slot(w, slot);
  w.channel->header().slots[slot].store(kSlotFree, std::memory_order_relaxed);
  w.free_slots.push_back(slot);  // capacity kSlots: never allocates
  if (elapsed != kElapsedUnknown) {  // the worker times a sample of the tasks (worker.cpp)
    const double ns = static_cast<double>(elapsed);
    avg_job_ns = avg_job_ns < 0 ? ns : 0.75 * avg_job_ns + 0.25 * ns;
  }
  const size_t done = add_completed(job->job.items);
  job->job.sink->on_items(p, message.size - kResultHeader, count);
  recycle(std::move(job));
  if (options.on_progress) {
    try {
      options.on_progress(done);
    } catch (const std::exception& e) {
      log_callback_exception(e.what());
    } catch (...) {
      log_callback_exception("on_progress threw");
    }
  }
}

bool PoolCore::Impl::check_deaths(int timeout_ms, bool hand_over) {
  std::vector<pollfd> fds;
  fds.reserve(workers.size() + 1);
  fds.push_back({doorbell, POLLIN, 0});
  for (const auto& w : workers) fds.push_back({w->pidfd, POLLIN, 0});
  // While it sleeps, a guest may hold the dispatcher's role: it adds and removes no worker, so
  // `fds` stays the workers' list.
  if (hand_over) drive.unlock();
  int rc = ::poll(fds.data(), fds.size(), timeout_ms);
  if (hand_over) {
    recall_guest();
    drive.lock();
    want_drive.store(false, std::memory_order_relaxed);
  }
  if (rc < 0) {
    if (errno != EINTR) logger(LogCategory::pool).error("pool: poll: {}", std::strerror(errno));
    return false;
  }
  last_death_check_ns = monotonic_ns();
  if (fds[0].revents != 0) {
    uint64_t value = 0;
    [[maybe_unused]] const ssize_t n = ::read(doorbell, &value, sizeof value);
  }
  bool any = false;
  // From the back, so that removing a worker does not shift the ones still to check.
  for (size_t i = workers.size(); i > 0; --i) {
    if (fds[i].revents != 0) {
      handle_death(i - 1);
      any = true;
    }
  }
  return any;
}

void PoolCore::Impl::handle_death(size_t index) {
  std::unique_ptr<WorkerRecord> w = std::move(workers[index]);
  workers.erase(workers.begin() + static_cast<std::ptrdiff_t>(index));
  collect(*w);  // results it finished before dying are good
  // The ring indices the dispatcher owns are written by the dispatcher only: a worker that
  // changed one (and then, typically, found its channel corrupt itself and exited) is named so.
  if (w->distrusted == nullptr &&
      !(w->channel->tasks().mine_intact(true) && w->channel->results().mine_intact(false)))
    w->distrusted = "it corrupted its channel (it overwrote a ring index the pool owns)";
  const std::optional<int> status = reap(*w);
  // Reaped (its status is known): what it held of the sync arena can go. Not from a channel it
  // corrupted: nothing of it is believed.
  if (status && w->distrusted == nullptr) arena::release_ledger(w->channel->header().arena_ledger);
  const int code = status.value_or(0);
  std::string how;
  std::string who;
  bool was_running = false;
  try {
    how = status ? describe_exit(code)
                 : std::string("ended (exit status unknown: its forkserver is gone, and took its "
                                 "workers along)");
    who = w->name + " (pid " + std::to_string(w->pid) + ")";
    was_running = resolve_slots(*w, who, how);
  } catch (...) {
    // Out of memory: whatever is left of its tasks fails rather than being lost.
    fail_slots(*w, errc::worker_died, "worker died (its tasks could not be re-queued)");
    throw;
  }

  const bool expected = w->stopping ||
                        (options.maxtasksperchild != 0 && w->sent >= options.maxtasksperchild &&
                         code == 0 && !was_running);
  if (!expected && !w->killed)
    logger(LogCategory::pool)
        .warn("pool: worker {} {}{}", who, how, was_running ? " while running a task" : "");
  if (!w->ready && options.initializer && !w->killed && !w->stopping) {
    ++init_failures;
    const std::string why = w->init_error.empty()
                                ? "its worker " + how + " during the initializer"
                                : w->init_error;
    if (!broken && init_failures >= static_cast<size_t>(nprocs) + 2)
      break_pool("pool broken: the initializer failed " + std::to_string(init_failures) +
                 " times in a row; last: " + why);
  }
  w.reset();
  {
    std::lock_guard lock(mutex);
    pids.clear();
    for (const auto& x : workers) pids.push_back(x->pid);
  }
  if (broken) fail_everything(errc::broken, broken_message);  // what it had been sent
  if (!broken && !shutting_down) {
    try {
      start_worker();
    } catch (const std::exception& e) {
      break_pool(std::string("pool broken: could not start a replacement worker: ") + e.what());
    }
  }
}

// The tasks of the dead worker `w`: the one it was running fails (every one, if it corrupted its
// channel: then even the slot table is not to be believed); those it had not started go back to
// the front of the queue, oldest first. Returns true if it was running one. If this throws, the
// jobs not yet handled are still in w's slots.
bool PoolCore::Impl::resolve_slots(WorkerRecord& w, const std::string& who,
                                   const std::string& how) {
  if (w.distrusted != nullptr) {
    const std::string message = "worker " + who + " was killed and replaced: " + w.distrusted;
    for (uint32_t s = 0; s < kSlots; ++s)
      if (w.slots[s]) fail(take_slot(w, s), errc::worker_died, message);
    return true;
  }
  bool was_running = false;
  std::vector<uint32_t> requeue;
  for (uint32_t s = 0; s < kSlots; ++s) {
    if (!w.slots[s]) continue;
    const uint64_t word = w.channel->header().slots[s].load(std::memory_order_acquire);
    if ((word & kStarted) == 0) {
      requeue.push_back(s);
      continue;
    }
    was_running = true;
    const JobRecord& job = *w.slots[s];
    std::string message;  // built first: if that throws, the job is still in its slot
    if (job.kill_reason == errc::timed_out) {
      message = fmt::format("task timed out after {:g} s; its worker ", job.job.timeout->count()) +
                who + " was killed and replaced";
    } else if (job.kill_reason == errc::cancelled) {
      message = "task cancelled while running; its worker " + who + " was killed and replaced";
    } else if (job.kill_reason == errc::terminated) {
      message = "pool terminated";
    } else {
      message = "worker " + who + " died while running the task: " + how;
    }
    const errc code = job.kill_reason.value_or(errc::worker_died);
    fail(take_slot(w, s), code, message);
  }
  std::sort(requeue.begin(), requeue.end(),
            [&](uint32_t a, uint32_t b) { return w.slots[a]->id < w.slots[b]->id; });
  for (auto it = requeue.rbegin(); it != requeue.rend(); ++it) {
    pending.push_front(std::move(w.slots[*it]));  // if it throws, the job stays in its slot
    --w.in_flight;
    --in_flight;
  }
  return was_running;
}

std::optional<int> PoolCore::Impl::reap(WorkerRecord& w) noexcept {
  try {
    if (!w.process) return forkserver_exit_code(w.pid, w.server, kServerReplyMs);
    const int code = w.process->exitcode().value_or(0);
    w.process->close();
    return code;
  } catch (const std::exception& e) {
    logger(LogCategory::pool).error("pool: reaping {} (pid {}): {}", w.name, w.pid, e.what());
    return 0;
  }
}

// Long tasks queued behind a running one on a worker while another worker is idle: take back the
// newest task that worker has not started (the same compare-and-swap as cancel, so a task is
// never both run and re-dispatched), so that it goes to the idle worker. This is what a shared
// queue (Python's) gets for free, and what keeps 2 workers at 2x on equal CPU-bound tasks when one
// of them is slowed down by other load. Only for tasks running longer than kStealAfterNs: tiny
// tasks are better left batched.
bool PoolCore::Impl::rebalance() {
  if (!pending.empty() || workers.size() < 2) return false;
  bool idle = false;
  for (const auto& w : workers)
    if (w->ready && w->in_flight == 0 && !w->killed && !w->stopping &&
        (options.maxtasksperchild == 0 || w->sent < options.maxtasksperchild))
      idle = true;
  if (!idle) return false;
  uint64_t now = 0;
  bool moved = false;
  for (auto& w : workers) {
    if (w->in_flight < 2 || w->killed) continue;
    ChannelHeader& h = w->channel->header();
    if (now == 0) now = monotonic_ns();
    if (now - h.running_since_ns.load(std::memory_order_acquire) < kStealAfterNs) continue;
    uint32_t newest = kSlots;
    for (uint32_t s = 0; s < kSlots; ++s) {
      if (!w->slots[s]) continue;
      if ((h.slots[s].load(std::memory_order_acquire) & kStarted) != 0) continue;
      if (newest == kSlots || w->slots[s]->id > w->slots[newest]->id) newest = s;
    }
    if (newest == kSlots) continue;
    uint64_t expected = w->slots[newest]->id & kSlotIdMask;
    if (!h.slots[newest].compare_exchange_strong(expected, expected | kCancelled)) continue;
    w->free_slots.push_back(newest);  // capacity kSlots: never allocates
    try {
      pending.push_front(std::move(w->slots[newest]));
    } catch (...) {
      fail(take_slot(*w, newest), errc::internal, "pool: out of memory re-queuing the task");
      throw;
    }
    --w->in_flight;
    --in_flight;
    moved = true;
  }
  return moved;
}

bool PoolCore::Impl::dispatch() {
  rebalance();
  if (pending.empty() || workers.empty()) return false;
  const size_t limit = cap();
  bool progress = false;
  bool any = true;
  while (any && !pending.empty()) {
    any = false;
    for (size_t k = 0; k < workers.size() && !pending.empty(); ++k) {
      WorkerRecord& w = *workers[(round_robin + k) % workers.size()];
      if (w.killed || w.stopping || w.in_flight >= limit || w.free_slots.empty()) continue;
      if (options.maxtasksperchild != 0 && w.sent >= options.maxtasksperchild) continue;
      if (w.out.size() - w.out_offset > kRingBytes) continue;
      JobPtr job = pending.pop_record();
      if (!job) {
        job = new_record();
        pending.pop_into(*job);
      }
      const uint32_t slot = w.free_slots.back();
      const size_t at = w.out.size();
      try {
        start_message(w.out, Kind::task);
        put(w.out, slot);
        put(w.out, job->id);
        put(w.out, static_cast<uint8_t>(job->job.timeout ? kNotifyStart : 0));
        w.out += job->job.payload;
        finish_message(w.out, at);
      } catch (...) {
        w.out.resize(at);
        fail(std::move(job), errc::internal, "pool: out of memory sending the task");
        throw;
      }
      w.free_slots.pop_back();
      w.channel->header().slots[slot].store(job->id & kSlotIdMask, std::memory_order_release);
      w.slots[slot] = std::move(job);
      ++w.in_flight;
      ++w.sent;
      ++in_flight;
      any = progress = true;
    }
    ++round_robin;
  }
  return progress;
}

bool PoolCore::Impl::flush(WorkerRecord& w) {
  if (w.out_offset == w.out.size() || w.distrusted != nullptr) return false;
  const size_t n =
      w.channel->tasks().write_some(w.out.data() + w.out_offset, w.out.size() - w.out_offset);
  if (n == Ring::kCorrupt) {
    distrust(w, "it corrupted its channel (task ring index out of range)");
    return true;
  }
  if (n == 0) return false;
  w.out_offset += n;
  if (w.out_offset == w.out.size()) {
    w.out.clear();
    w.out_offset = 0;
  }
  w.channel->wake_worker();
  return true;
}

// Kills the workers whose running task is past its deadline; returns the time to the next
// deadline (ns), or -1 if none.
int64_t PoolCore::Impl::check_timeouts() {
  int64_t next = -1;
  uint64_t now = 0;
  for (auto& w : workers) {
    if (w->killed || w->in_flight == 0) continue;
    ChannelHeader& h = w->channel->header();
    const uint32_t slot = h.running_slot.load(std::memory_order_acquire);
    if (slot >= kSlots || !w->slots[slot]) continue;
    JobRecord& job = *w->slots[slot];
    if (!job.job.timeout || job.kill_reason) continue;
    const uint64_t word = h.slots[slot].load(std::memory_order_acquire);
    if ((word & kStarted) == 0 || (word & kSlotIdMask) != (job.id & kSlotIdMask)) continue;
    if (now == 0) now = monotonic_ns();
    const uint64_t deadline =
        h.running_since_ns.load(std::memory_order_acquire) + seconds_to_ns(*job.job.timeout);
    if (now >= deadline) {
      job.kill_reason = errc::timed_out;
      kill_worker(*w);
    } else {
      const auto left = static_cast<int64_t>(deadline - now);
      next = next < 0 ? left : std::min(next, left);
    }
  }
  return next;
}

void PoolCore::Impl::cancel_group(uint64_t group) {
  fail_pending(false, group, errc::cancelled, "task cancelled before it started");
  for (auto& w : workers) {
    for (uint32_t s = 0; s < kSlots; ++s) {
      if (!w->slots[s] || w->slots[s]->job.group != group) continue;
      uint64_t expected = w->slots[s]->id & kSlotIdMask;
      if (w->channel->header().slots[s].compare_exchange_strong(expected, expected | kCancelled)) {
        JobPtr job = std::move(w->slots[s]);
        w->free_slots.push_back(s);
        --w->in_flight;
        --in_flight;
        fail(std::move(job), errc::cancelled, "task cancelled before it started");
      } else if ((expected & kStarted) != 0) {
        w->slots[s]->kill_reason = errc::cancelled;
        kill_worker(*w);
      }
    }
  }
}

bool PoolCore::Impl::finished_work() const {
  return pending.empty() && in_flight == 0;
}

// Stores only what changed: the loop runs this on every turn, and a store dirties the line that
// stats() readers share.
void PoolCore::Impl::publish_stats() {
  auto publish = [](std::atomic<size_t>& stat, size_t value) {
    if (stat.load(std::memory_order_relaxed) != value) stat.store(value, std::memory_order_relaxed);
  };
  publish(stat_workers, workers.size());
  publish(stat_queued, pending.size());
  publish(stat_in_flight, in_flight);
}

bool PoolCore::Impl::has_work() {
  if (inbox_nonempty.load(std::memory_order_seq_cst)) return true;
  for (auto& w : workers) {
    if (w->distrusted != nullptr) continue;  // killed: only its death is news
    if (!w->channel->results().empty()) return true;
    if (w->out_offset != w->out.size() && w->channel->tasks().free_space() != 0) return true;
  }
  return false;
}

void PoolCore::Impl::sleep(int64_t timeout_ns) {
  // No spin where it cannot help: the workers share our one CPU, or spins kept failing.
  thread_local SpinAdvisor advisor;
  for (int i = 0, spins = advisor.should_spin() ? kSpins : 0; i < spins; ++i) {
    if (has_work()) {
      advisor.spun(true);
      return;
    }
    cpu_relax();
  }
  advisor.spun(false);
  sleeping.store(true, std::memory_order_seq_cst);
  control->parent_sleeping.store(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (has_work()) {
    control->parent_sleeping.store(0, std::memory_order_relaxed);
    sleeping.store(false, std::memory_order_relaxed);
    return;
  }
  // A timed task may have started since the caller looked: either its worker saw our flag (and
  // rings the doorbell) or we see the task running here.
  timeout_ns = check_timeouts();
  int timeout_ms = -1;
  if (timeout_ns >= 0) timeout_ms = static_cast<int>(std::min<int64_t>(timeout_ns / 1'000'000 + 1, 60'000));
  // The flag that makes workers ring is in memory they all share: one that cleared it (a task
  // scribbling over it) must slow this pool down, not hang it. So look again at least once a
  // second: tasks may be in flight, now or by the time a guest has sent some (guest.cpp).
  if (timeout_ms < 0 || timeout_ms > kBusySleepMs) timeout_ms = kBusySleepMs;
  check_deaths(timeout_ms, true);
  control->parent_sleeping.store(0, std::memory_order_relaxed);
  sleeping.store(false, std::memory_order_relaxed);
}

// Every step is guarded: whatever a worker left in its channel, or however short of memory the
// process is, every result is resolved before this returns (it runs on the way out of run()).
void PoolCore::Impl::do_terminate() noexcept {
  for (auto& w : workers) collect(*w);
  for (auto& w : workers) {
    for (auto& job : w->slots)
      if (job) job->kill_reason = errc::terminated;
    kill_worker(*w);
  }
  shutting_down = true;
  while (!workers.empty()) {
    pollfd pfd{workers.back()->pidfd, POLLIN, 0};
    while (::poll(&pfd, 1, -1) < 0 && errno == EINTR) {
    }
    try {
      handle_death(workers.size() - 1);  // resolves what it finished, fails what it ran
    } catch (...) {  // it removed the worker and failed its tasks before letting this through
    }
  }
  try {
    InboxBatch batch;
    {
      std::lock_guard lock(mutex);
      std::swap(inbox, batch);
    }
    queue_batch(std::move(batch));  // if this throws, it has failed what it could not queue
  } catch (...) {
  }
  fail_everything(errc::terminated, "pool terminated");
  publish_stats();
}

void PoolCore::Impl::run() noexcept {
  // The dispatcher's role: held but while sleep() polls (when a guest may take it).
  std::lock_guard role(drive);
  for (;;) {
    try {
      bool progress = take_inbox();
      const pool::State st = seen_state;
      if (st == pool::State::terminate) {
        do_terminate();
        return;
      }
      for (auto& w : workers) progress |= collect(*w);
      if (monotonic_ns() - last_death_check_ns > kDeathCheckNs) progress |= check_deaths(0);
      const int64_t next_deadline = check_timeouts();
      progress |= dispatch();
      for (auto& w : workers) progress |= flush(*w);
      publish_stats();
      if (st == pool::State::close && finished_work()) {
        bool no_feeders;
        {
          std::lock_guard lock(mutex);
          no_feeders = feeders == 0 || join_requested;
        }
        if (no_feeders && !inbox_nonempty.load()) {
          if (!shutting_down) {
            shutting_down = true;
            for (auto& w : workers) {
              w->stopping = true;
              w->channel->header().stop.store(1, std::memory_order_release);
              w->channel->wake_worker();
            }
          }
          if (workers.empty()) return;
        }
      }
      if (!progress) sleep(next_deadline);
    } catch (const std::exception& e) {
      dispatcher_error(e.what());
    } catch (...) {
      dispatcher_error("an exception not derived from std::exception");
    }
  }
}

}  // namespace mproc::detail
