// The pool's MPI thread on rank 0: starting the ranks' pools, scheduling, results, timeouts,
// and ending the pool on every rank. See engine_impl.hpp.
#include "mpi/engine_impl.hpp"

#include <mproc/log.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace mproc::mpi::detail {

namespace {

// mproc's logger is the core's own (spdlog, not exported): a line on stderr at its level.
void log_warning(const std::string& text) {
  if (log_level() <= LogLevel::warn)
    std::fprintf(stderr, "[mproc] [%d] %s\n", static_cast<int>(::getpid()), text.c_str());
}

double seconds_of(const std::optional<Seconds>& t) { return t ? t->count() : 0.0; }

}  // namespace

bool Engine::Impl::start() {
  const int size = runtime::size();
  int local = options.local_processes;
  if (local < 0) local = size > 1 ? 0 : cpu_count();
  if (size == 1 && local == 0)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "mpi::Pool: rank 0 is alone and local_processes is 0: no worker would run tasks");
  const size_t per_worker = std::max<size_t>(options.tasks_per_worker, 1);
  for (int k = 1; k < size; ++k) {
    wire::Writer out;
    out.put(pool_id).put(int32_t{0}).put(static_cast<uint64_t>(per_worker));
    comm->send(k, wire::kOpen, out.take());
    Target t;
    t.info.rank = k;
    targets.push_back(std::move(t));
  }
  std::optional<Error> error;
  if (local > 0) {
    Target t;
    try {
      t.local = std::make_unique<Executor>(local, [this] { ring(); }, pool_id);
      t.info = RankInfo{0, local, static_cast<int>(::getpid()), ""};
      t.capacity = static_cast<size_t>(local) * per_worker;
      t.open = true;
      targets.push_back(std::move(t));
    } catch (const Error& e) {
      error = e;
    }
  }
  // Every serving rank answers OPEN with READY (its pool started, or why not), within the
  // rank timeout: a rank that does not is lost, and the pool fails to start.
  size_t waiting = static_cast<size_t>(size - 1);
  std::vector<bool> answered(targets.size(), false);
  const auto deadline = Clock::now() + rank_timeout();
  Comm::Message message;
  while (waiting > 0) {
    if (!comm->poll(message, -1, wire::pool_tag(pool_id))) {
      comm->progress();
      if (Clock::now() > deadline) {
        std::string silent;
        for (size_t i = 0; i < targets.size(); ++i) {
          if (targets[i].local || answered[i]) continue;
          targets[i].lost = true;
          silent += (silent.empty() ? "" : ", ") + std::to_string(targets[i].info.rank);
        }
        if (!error)
          error = Error(errc::timed_out, "mpi::Pool: rank(s) " + silent +
                                             " did not answer within the rank timeout (" +
                                             std::to_string(options.rank_timeout.count()) + " s)");
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      continue;
    }
    wire::Reader in(message.body.data(), message.body.size());
    if (in.get<uint64_t>() != pool_id) continue;  // an earlier pool's late message
    if (in.get<int32_t>() != wire::kReady) continue;
    if (message.source < 1 || message.source >= size) continue;
    const auto source = static_cast<size_t>(message.source - 1);
    if (answered[source]) continue;
    answered[source] = true;
    Target& t = targets[source];
    const auto code = in.get<int32_t>();
    t.info.processes = in.get<int32_t>();
    t.capacity = static_cast<size_t>(in.get<uint64_t>());
    t.info.pid = in.get<int32_t>();
    t.info.host = std::string(in.get_str());
    const auto text = in.get_str();
    t.open = code == 0;
    t.heard = Clock::now();
    if (code != 0 && !error)
      error = Error(wire::code_from_wire(code),
                    "mpi::Pool: rank " + std::to_string(t.info.rank) + ": " + std::string(text));
    --waiting;
  }
  if (error) {
    fail_start(*error);
    return false;
  }
  std::lock_guard lock(mutex);
  for (const Target& t : targets) {
    ranks.push_back(t.info);
    processes += t.info.processes;
  }
  live_workers.store(static_cast<size_t>(processes), std::memory_order_relaxed);
  ready = true;
  started.notify_all();
  return true;
}

void Engine::Impl::fail_start(const Error& e) {
  shut(false);
  std::lock_guard lock(mutex);
  start_error = e;
  ready = true;
  started.notify_all();
}

bool Engine::Impl::take_inbox(State& state_now, size_t& feeders_now) {
  std::vector<RemoteJob> jobs;
  std::vector<uint64_t> cancelled;
  {
    std::lock_guard lock(mutex);
    jobs.swap(inbox);
    cancelled.swap(cancels);
    rung = false;
    state_now = state;
    feeders_now = feeders;
  }
  for (auto& job : jobs) queue.push_back(std::move(job));
  if (!cancelled.empty()) cancel_groups(cancelled);
  return !jobs.empty() || !cancelled.empty();
}

// AsyncResult::cancel, as the local Pool: queued jobs of these groups fail at once; sent ones
// too (rank 0 does not wait for their rank), and each rank cancels them in its local pool, which
// removes those not started and kills (and replaces) the workers running the others. Their
// outcomes, when they come, only free the rank's credit.
void Engine::Impl::cancel_groups(const std::vector<uint64_t>& which) {
  auto listed = [&](uint64_t group) {
    return group != 0 && std::find(which.begin(), which.end(), group) != which.end();
  };
  size_t dropped = 0;
  for (auto it = queue.begin(); it != queue.end();) {
    if (!listed(it->group)) {
      ++it;
      continue;
    }
    it->sink->on_failure(make_error_code(errc::cancelled), "task cancelled before it started");
    dropped += it->items;
    it = queue.erase(it);
  }
  if (dropped > 0) count_done(dropped);
  std::vector<wire::Writer> to_rank(targets.size());
  for (auto& [id, p] : pending) {
    if (p.resolved || !listed(p.group)) continue;
    resolve_failure(p, make_error_code(errc::cancelled), "task cancelled after it was sent");
    Target& t = targets[p.target];
    if (t.local) {
      t.local->cancel(id);
    } else {
      if (to_rank[p.target].empty()) to_rank[p.target].put(pool_id);
      to_rank[p.target].put(id);
    }
  }
  for (size_t i = 0; i < targets.size(); ++i)
    if (!to_rank[i].empty() && targets[i].open)
      comm->send(targets[i].info.rank, wire::kCancel, to_rank[i].take());
}

void Engine::Impl::resolve_failure(Pending& p, std::error_code code, const std::string& message) {
  p.resolved = true;
  --unresolved;
  if (p.deadline != Clock::time_point::max()) --with_deadline;
  p.sink->on_failure(code, message);
  p.sink.reset();
  count_done(p.items);
}

// `items` more tasks are resolved: the count, and the caller's progress callback.
void Engine::Impl::count_done(size_t items) {
  const size_t done = completed.fetch_add(items) + items;
  if (options.on_progress) {
    try {
      options.on_progress(done);
    } catch (...) {
      mproc::detail::log_callback_exception("mpi::Pool on_progress threw");
    }
  }
}

void Engine::Impl::on_outcome(size_t target, uint64_t id, uint32_t count, int32_t code,
                              const char* data, size_t size) {
  auto it = pending.find(id);
  if (it == pending.end()) return;  // not ours (cannot happen but for a confused peer)
  Pending& p = it->second;
  if (p.target != target) return;
  Target& t = targets[target];
  if (t.in_flight > 0) --t.in_flight;
  if (p.fast && t.fast_in_flight > 0) --t.fast_in_flight;
  const auto trip = Clock::now() - p.sent;
  const double seconds = std::chrono::duration<double>(trip).count();
  t.rtt = t.rtt == 0 ? seconds : 0.8 * t.rtt + 0.2 * seconds;
  if (p.speed != nullptr) {
    Speed& s = *p.speed;
    s.fast = trip < kFast;
    s.rtt = s.known ? 0.8 * s.rtt + 0.2 * seconds : seconds;
    s.known = true;
  }
  if (!p.resolved) {
    if (code == 0) {
      p.resolved = true;
      --unresolved;
      if (p.deadline != Clock::time_point::max()) --with_deadline;
      p.sink->on_items(data, size, count);
      count_done(p.items);
    } else {
      resolve_failure(p, wire::code_from_wire(code), std::string(data, size));
    }
  }
  pending.erase(it);
}

size_t Engine::Impl::on_results(size_t target, wire::Reader& in) {
  size_t n = 0;
  for (; !in.done(); ++n) {
    const auto id = in.get<uint64_t>();
    const auto count = in.get<uint32_t>();
    const auto code = in.get<int32_t>();
    const auto bytes = in.get_str();
    on_outcome(target, id, count, code, bytes.data(), bytes.size());
  }
  Target& t = targets[target];
  if (n > 0 && !t.local) {
    const auto now = Clock::now();
    if (t.busy_since) {
      const double per = std::chrono::duration<double>(now - *t.busy_since).count() /
                         static_cast<double>(n);
      t.per_result = t.per_result > 0 ? 0.5 * t.per_result + 0.5 * per : per;
    }
    t.busy_since.reset();
    if (t.in_flight > 0) t.busy_since = now;
  }
  return n;
}

bool Engine::Impl::receive() {
  if (runtime::size() == 1) return false;
  bool any = false;
  Comm::Message& message = inbound;
  while (comm->poll(message, -1, wire::pool_tag(pool_id))) {
    any = true;
    if (message.source < 1 || static_cast<size_t>(message.source) > targets.size()) continue;
    Target& from = targets[static_cast<size_t>(message.source - 1)];
    from.heard = Clock::now();
    from.probing = false;
    wire::Reader in(message.body.data(), message.body.size());
    if (in.get<uint64_t>() != pool_id) continue;  // a late reply of an earlier pool
    if (from.lost) rejoin(static_cast<size_t>(message.source - 1));
    if (in.get<int32_t>() != wire::kResults) continue;  // a PONG
    on_results(static_cast<size_t>(message.source - 1), in);
  }
  return any;
}

bool Engine::Impl::take_local() {
  bool any = false;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!targets[i].local) continue;
    std::vector<std::string> messages;
    if (targets[i].local->take(messages) == 0) continue;
    any = true;
    for (const std::string& m : messages) {
      wire::Reader in(m.data(), m.size());
      in.get<uint64_t>();  // the pool: ours
      in.get<int32_t>();   // kResults
      on_results(i, in);
    }
  }
  return any;
}

bool Engine::Impl::schedule() {
  bool any = false;
  // Each target takes at most its share of what is queued now, in proportion to its workers: a
  // burst of a few chunks is split over the ranks rather than all sent to the first with room.
  size_t workers = 0;
  for (const Target& t : targets)
    if (t.open) workers += static_cast<size_t>(std::max(t.info.processes, 1));
  size_t queued = queue.size();
  std::vector<bool> served(targets.size(), false);  // in this round
  while (!queue.empty()) {
    // How many of the task at the front of the queue a target may hold depends on that task's
    // speed; a batch holds tasks of that one name.
    const std::string name = queue.front().task;
    Speed& speed = speeds[name];
    // The target with the most room takes a batch of up to its room and its share; once every
    // target with room has had its batch, a new round shares what is left.
    size_t best = targets.size();
    size_t room = 0;
    for (int pass = 0; pass < 2 && best == targets.size(); ++pass) {
      if (pass == 1) {
        if (!any) break;
        served.assign(targets.size(), false);
        queued = queue.size();
      }
      for (size_t i = 0; i < targets.size(); ++i) {
        const Target& t = targets[i];
        const size_t limit = t.limit(speed);
        if (served[i] || !t.open || t.in_flight >= limit) continue;
        if (limit - t.in_flight > room) {
          room = limit - t.in_flight;
          best = i;
        }
      }
    }
    if (best == targets.size()) break;
    served[best] = true;
    any = true;
    Target& t = targets[best];
    if (t.in_flight == 0) t.heard = Clock::now();
    if (!t.busy_since) t.busy_since = Clock::now();
    const size_t mine = static_cast<size_t>(std::max(t.info.processes, 1));
    const size_t share =
        std::max<size_t>(1, (queued * mine + workers - 1) / std::max<size_t>(workers, 1));
    const size_t n = std::min({room, queue.size(), share});
    const auto now = Clock::now();
    wire::Writer out;
    out.put(pool_id);
    std::vector<std::string> sent;  // payloads large enough to be worth keeping for spare_buffer
    for (size_t i = 0; i < n && !queue.empty() && (i == 0 || queue.front().task == name); ++i) {
      RemoteJob job = std::move(queue.front());
      queue.pop_front();
      const uint64_t id = ++next_id;
      Pending p;
      p.sink = std::move(job.sink);
      p.target = best;
      p.items = job.items;
      p.group = job.group;
      p.sent = now;
      p.speed = &speed;
      p.fast = speed.fast;
      if (job.timeout) {
        // The rank enforces the timeout from the task's start; rank 0 adds a grace for the trip
        // and the wait for a worker, and fires even if the rank stops answering.
        const double grace = 1.0 + job.timeout->count() / 4;
        p.deadline = now + std::chrono::duration_cast<Clock::duration>(
                               Seconds(job.timeout->count() + grace));
        ++with_deadline;
        next_deadline_check = std::min(next_deadline_check, p.deadline);
      }
      pending.emplace(id, std::move(p));
      ++unresolved;
      ++t.in_flight;
      if (speed.fast) ++t.fast_in_flight;
      if (t.local) {
        t.local->add(id, job.task, job.payload, job.timeout);
      } else {
        out.put(id).put(seconds_of(job.timeout)).put_str(job.task).put_str(job.payload);
      }
      const size_t capacity = job.payload.capacity();
      if (capacity >= kSpareMin && capacity <= kSpareMax) sent.push_back(std::move(job.payload));
    }
    if (t.local)
      t.local->flush();
    else
      comm->send(t.info.rank, wire::kTasks, out.take());
    if (!sent.empty()) {
      std::lock_guard lock(spare_mutex);
      for (auto& buffer : sent) {
        if (spare_bytes + buffer.capacity() > kSpareBytes) break;
        spare_bytes += buffer.capacity();
        spare.push_back(std::move(buffer));
      }
    }
  }
  return any;
}

void Engine::Impl::check_deadlines() {
  if (with_deadline == 0) {
    next_deadline_check = Clock::time_point::max();
    return;
  }
  const auto now = Clock::now();
  if (now < next_deadline_check) return;
  next_deadline_check = Clock::time_point::max();
  for (auto& [id, p] : pending) {
    if (p.resolved || p.deadline == Clock::time_point::max()) continue;
    if (p.deadline <= now) {
      resolve_failure(p, make_error_code(errc::timed_out),
                      "mpi::Pool: no answer from rank " +
                          std::to_string(targets[p.target].info.rank) +
                          " within the task's timeout (and a grace)");
    } else {
      next_deadline_check = std::min(next_deadline_check, p.deadline);
    }
  }
}

// A serving rank with tasks that has been silent for a quarter of the rank timeout gets a PING
// (answered by its serving loop, however busy its workers); silent for the whole timeout, it is
// lost: stopped (SIGSTOP, a debugger), its serving loop stuck, or unreachable. Open MPI aborts the
// job when a rank dies, but a stopped one would hold its tasks, and join(), forever.
void Engine::Impl::check_ranks() {
  if (runtime::size() == 1) return;
  const auto now = Clock::now();
  if (now < next_rank_check) return;
  next_rank_check = now + std::chrono::milliseconds(50);
  const auto limit = rank_timeout();
  for (size_t i = 0; i < targets.size(); ++i) {
    Target& t = targets[i];
    if (t.local || !t.open || t.in_flight == 0) continue;
    const auto silent = now - t.heard;
    if (silent >= limit) {
      lose(i, "mpi::Pool: rank " + std::to_string(t.info.rank) + " (pid " +
                  std::to_string(t.info.pid) + " on " + t.info.host + ") gave no sign of life for " +
                  std::to_string(options.rank_timeout.count()) +
                  " s: its tasks fail and it gets no more work");
    } else if (silent >= limit / 4 && !t.probing) {
      wire::Writer out;
      out.put(pool_id);
      comm->send(t.info.rank, wire::kPing, out.take());
      t.probing = true;
    }
  }
  fail_queue_without_targets();
}

void Engine::Impl::lose(size_t target, const std::string& why) {
  Target& t = targets[target];
  log_warning(why);
  t.open = false;
  t.lost = true;
  t.in_flight = 0;
  t.fast_in_flight = 0;
  t.busy_since.reset();
  count_live_workers();  // before the failures wake anybody
  for (auto it = pending.begin(); it != pending.end();) {
    Pending& p = it->second;
    if (p.target != target) {
      ++it;
      continue;
    }
    if (!p.resolved) resolve_failure(p, make_error_code(errc::worker_died), why);
    it = pending.erase(it);  // a late answer of the rank finds nothing and is dropped
  }
}

// A lost rank that speaks again (it was stopped and resumed, or slow past the rank timeout: its
// answer to the probe, or late results, arrive) gets work again. What it was given before it was
// lost stays failed (worker_died): those results find no pending task and are dropped, and its
// local pool finishes them beside its new work (its credit starts from 0, so for a while it may
// hold more than its capacity). A rank that died does not come back: Open MPI ends the job.
void Engine::Impl::rejoin(size_t target) {
  Target& t = targets[target];
  t.lost = false;
  t.open = true;
  t.in_flight = 0;
  t.fast_in_flight = 0;
  t.busy_since.reset();
  log_warning("mpi::Pool: rank " + std::to_string(t.info.rank) + " (pid " +
              std::to_string(t.info.pid) + " on " + t.info.host +
              ") answers again after it was lost: it gets work again");
  count_live_workers();
}

void Engine::Impl::count_live_workers() {
  size_t n = 0;
  for (const Target& t : targets)
    if (t.open) n += static_cast<size_t>(t.info.processes);
  live_workers.store(n, std::memory_order_relaxed);
}

// Queued tasks with no target left to run them fail (every rank was lost).
void Engine::Impl::fail_queue_without_targets() {
  if (queue.empty()) return;
  for (const Target& t : targets)
    if (t.open) return;
  for (auto& job : queue)
    job.sink->on_failure(make_error_code(errc::worker_died),
                         "mpi::Pool: no rank is left to run tasks (every serving rank was lost)");
  const size_t n = queue.size();
  queue.clear();
  count_done(n);
}

void Engine::Impl::wait_replies(int tag, Clock::duration limit) {
  size_t waiting = 0;
  for (const Target& t : targets) waiting += t.local || t.lost ? 0 : 1;
  const auto deadline = Clock::now() + limit;
  Comm::Message message;
  std::vector<bool> replied(targets.size(), false);
  while (waiting > 0) {
    take_local();
    if (!comm->poll(message, -1, wire::pool_tag(pool_id))) {
      comm->progress();
      if (Clock::now() > deadline) {
        std::string silent;
        for (size_t i = 0; i < targets.size(); ++i)
          if (!targets[i].local && !targets[i].lost && !replied[i])
            silent += (silent.empty() ? "" : ", ") + std::to_string(targets[i].info.rank);
        log_warning("mpi::Pool: rank(s) " + silent + " did not answer the pool's " +
                    (tag == wire::kClosed ? "close" : "end") + " within the rank timeout (" +
                    std::to_string(options.rank_timeout.count()) + " s); not waiting longer");
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    wire::Reader in(message.body.data(), message.body.size());
    if (in.get<uint64_t>() != pool_id) continue;
    const auto source = static_cast<size_t>(message.source - 1);
    if (source >= targets.size()) continue;
    const auto kind = in.get<int32_t>();
    if (kind == wire::kResults) {
      on_results(source, in);
    } else if (kind == tag && !replied[source] && !targets[source].lost) {
      replied[source] = true;
      --waiting;
    }
  }
}

// Ends the pool on every rank: CLOSE (after every task is done) or TERMINATE, and their replies.
void Engine::Impl::shut(bool terminate) {
  const int tag = terminate ? wire::kTerminate : wire::kClose;
  for (const Target& t : targets) {
    if (t.local) continue;
    wire::Writer out;
    out.put(pool_id);
    comm->send(t.info.rank, tag, out.take());
  }
  for (Target& t : targets) {
    if (!t.local) continue;
    if (terminate) {
      t.local->terminate();
    } else {
      t.local->close_and_join();
      take_local();
    }
  }
  // A rank that was asked to close has finished its tasks (rank 0 waited for their results), so
  // it answers at once; a terminated one kills its workers first. Neither should take long, but a
  // rank that stopped answering must not hang the caller forever: the rank timeout bounds both.
  wait_replies(terminate ? wire::kTerminated : wire::kClosed, rank_timeout());
  comm->flush(rank_timeout());
}

void Engine::Impl::nap(int idle) {
  // Results from other ranks arrive through MPI, which has no wait that our own threads can
  // interrupt (and Open MPI's blocking calls spin). So rank 0 looks as often as a result can
  // matter, and sleeps in between (on the condition variable that callers' submissions and its own
  // workers' outcomes ring, which end any wait at once); a thread that spins or polls every few
  // microseconds takes a core that, where ranks and workers outnumber the cores, a worker needs.
  // - Nothing out: nothing can arrive but late answers; looks every kIdleLook.
  // - A rank has tasks out known to be fast (tiny tasks, map chunks): the next tasks it needs are
  //   sent on its results, before it runs out of work: looks every quarter of the time its tasks
  //   out last (their number x the time per result seen while it had tasks out; before that, an
  //   eighth of its round trip), within [kMinLook, kFastLook]. Not its round trip alone: on a
  //   loaded machine every hop waits for a CPU, so a round trip takes far longer than the work a
  //   rank holds.
  // - Slower tasks out: a tenth of the shortest round trip, within [50 us, kSlowLook], so that a
  //   result waits for the next look at most about a tenth of its task's time.
  // The first few turns without anything to do only yield (a free core gets straight back).
  constexpr int kYields = 4;
  constexpr int64_t kMinLook = 20, kFastLook = 250, kSlowLook = 1000, kIdleLook = 5000;  // us
  int64_t look = kIdleLook;
  if (unresolved > 0 || comm->sending()) {
    if (idle < kYields) {
      std::this_thread::yield();
      return;
    }
    look = kSlowLook;
    for (const Target& t : targets) {
      if (t.in_flight == 0 || t.local) continue;
      const auto rtt_us = static_cast<int64_t>((t.rtt > 0 ? t.rtt : 5e-4) * 1e6);
      if (t.fast_in_flight > 0) {
        const auto lasts_us =
            t.per_result > 0
                ? static_cast<int64_t>(static_cast<double>(t.in_flight) * t.per_result * 1e6 / 4)
                : rtt_us / 8;
        look = std::min(look, std::clamp(lasts_us, kMinLook, kFastLook));
      } else {
        look = std::min(look, std::clamp(rtt_us / 10, int64_t{50}, kSlowLook));
      }
    }
  }
  std::unique_lock lock(mutex);
  wake.wait_for(lock, std::chrono::microseconds(look), [&] { return rung; });
}

void Engine::Impl::main() noexcept {
  try {
    comm = std::make_unique<Comm>();
    if (!start()) {
      comm.reset();
      return;
    }
    int idle = 0;
    for (;;) {
      State state_now = State::running;
      size_t feeders_now = 0;
      bool busy = take_inbox(state_now, feeders_now);
      if (state_now == State::terminating) {
        for (auto& job : queue)
          job.sink->on_failure(make_error_code(errc::terminated), "Pool: the pool was terminated");
        completed.fetch_add(queue.size());
        queue.clear();
        for (auto& [id, p] : pending)
          if (!p.resolved)
            resolve_failure(p, make_error_code(errc::terminated), "Pool: the pool was terminated");
        pending.clear();
        publish_counts();
        shut(true);
        break;
      }
      busy = receive() || busy;
      busy = take_local() || busy;
      busy = schedule() || busy;
      check_deadlines();
      check_ranks();
      if (runtime::size() > 1) comm->progress();
      publish_counts();
      if (state_now == State::closed && feeders_now == 0 && queue.empty() && unresolved == 0) {
        // Every task is answered or timed out; a timed-out one may still run on its rank, which
        // its rank's own timeout ends, and CLOSE waits for it there.
        shut(false);
        break;
      }
      idle = busy ? 0 : idle + 1;
      if (!busy) nap(idle);
    }
  } catch (const std::exception& e) {
    // Out of memory or a malformed message: nothing sensible is left to do for this pool. Fail
    // what is outstanding, so that no caller waits forever.
    log_warning(std::string("mpi::Pool: the MPI thread stops: ") + e.what());
    for (auto& job : queue)
      if (job.sink) job.sink->on_failure(make_error_code(errc::internal), e.what());
    for (auto& [id, p] : pending)
      if (!p.resolved && p.sink) p.sink->on_failure(make_error_code(errc::internal), e.what());
    std::lock_guard lock(mutex);
    if (!ready) {
      start_error = Error(errc::internal, e.what());
      ready = true;
      started.notify_all();
    }
  }
  for (Target& t : targets) t.local.reset();
  comm.reset();
  std::lock_guard lock(mutex);
  finished = true;
  started.notify_all();
}

}  // namespace mproc::mpi::detail
