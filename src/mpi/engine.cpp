// Rank 0's engine, the callers' side: creating a pool, submitting, close / join / terminate.
// See engine_impl.hpp.
#include "mpi/engine_impl.hpp"

#include <algorithm>

#include "mpi/runtime.hpp"

namespace mproc::mpi::detail {

// ---- Engine: the callers' side

Engine::Engine() : impl_(std::make_unique<Impl>()) {}

std::shared_ptr<Engine> Engine::create(const PoolOptions& options) {
  if (runtime::rank() != 0)
    throw Error(errc::bad_state, "mpi::Pool: only rank 0 creates pools (the others serve)");
  if (options.local_processes < -1)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "mpi::Pool: local_processes must be -1, 0 or more");
  if (!(options.rank_timeout.count() > 0))
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "mpi::Pool: rank_timeout must be more than 0");
  std::shared_ptr<Engine> engine(new Engine());
  Impl& d = *engine->impl_;
  d.options = options;
  d.pool_id = runtime::next_pool_id();
  d.thread = std::thread([&d] { d.main(); });
  std::unique_lock lock(d.mutex);
  d.started.wait(lock, [&] { return d.ready || d.finished; });
  if (d.start_error || d.finished) {
    const Error e = d.start_error ? *d.start_error : Error(errc::internal, "mpi::Pool: start");
    lock.unlock();
    d.thread.join();
    d.joined = true;
    throw e;
  }
  return engine;
}

Engine::~Engine() { stop(); }

void Engine::stop() noexcept {
  Impl& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    if (!d.finished) d.state = State::terminating;
    d.rung = true;
  }
  d.wake.notify_one();
  if (!d.joined && d.thread.joinable() && d.thread.get_id() != std::this_thread::get_id()) {
    d.thread.join();
    d.joined = true;
  }
}

void Engine::submit(std::vector<RemoteJob>& jobs, bool feeder) {
  Impl& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    if (d.state == State::terminating)
      throw Error(errc::terminated, "Pool: the pool was terminated");
    if (d.state == State::closed && !(feeder && !d.finished))
      throw Error(errc::closed, "Pool: the pool is closed (close() was called)");
    for (auto& job : jobs) d.inbox.push_back(std::move(job));
    d.rung = true;
  }
  d.wake.notify_one();
}

void Engine::submit_one(RemoteJob&& job) {
  std::vector<RemoteJob> jobs;
  jobs.push_back(std::move(job));
  submit(jobs);
}

uint64_t Engine::new_group() noexcept { return ++impl_->groups; }

std::string Engine::spare_buffer() {
  Impl& d = *impl_;
  std::string out;
  std::lock_guard lock(d.spare_mutex);
  if (!d.spare.empty()) {
    out = std::move(d.spare.back());
    d.spare.pop_back();
    d.spare_bytes -= std::min(d.spare_bytes, out.capacity());
    out.clear();
  }
  return out;
}

void Engine::cancel(uint64_t group) {
  Impl& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    if (d.finished || d.state == State::terminating) return;
    d.cancels.push_back(group);
    d.rung = true;
  }
  d.wake.notify_one();
}

void Engine::add_feeder() {
  Impl& d = *impl_;
  std::lock_guard lock(d.mutex);
  if (d.state == State::terminating) throw Error(errc::terminated, "Pool: the pool was terminated");
  if (d.state == State::closed)
    throw Error(errc::closed, "Pool: the pool is closed (close() was called)");
  ++d.feeders;
}

void Engine::remove_feeder() noexcept {
  impl_->ring();
  std::lock_guard lock(impl_->mutex);
  if (impl_->feeders > 0) --impl_->feeders;
}

void Engine::close() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->state == State::running) impl_->state = State::closed;
  impl_->rung = true;
  impl_->wake.notify_one();
}

void Engine::join() {
  Impl& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    if (d.state == State::running)
      throw Error(errc::bad_state, "Pool::join: call close() or terminate() first");
    // An imap iterator made before close() feeds until join(): from here on, it no longer does.
    d.feeders = 0;
    d.rung = true;
  }
  d.wake.notify_one();
  if (d.thread.get_id() == std::this_thread::get_id())
    throw Error(errc::bad_state, "Pool::join: called from the pool's own thread (a callback)");
  if (!d.joined) {
    d.thread.join();
    d.joined = true;
  }
}

void Engine::terminate() {
  Impl& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    if (d.finished) return;
    d.state = State::terminating;
    d.rung = true;
  }
  d.wake.notify_one();
  if (d.thread.get_id() == std::this_thread::get_id()) return;  // from a callback: it will end
  if (!d.joined) {
    d.thread.join();
    d.joined = true;
  }
}

int Engine::processes() const noexcept { return impl_->processes; }

std::vector<RankInfo> Engine::ranks() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->ranks;
}

PoolStats Engine::stats() const {
  PoolStats s;
  s.workers = impl_->live_workers.load(std::memory_order_relaxed);
  s.queued = impl_->queued_count.load(std::memory_order_relaxed);
  s.in_flight = impl_->in_flight_count.load(std::memory_order_relaxed);
  s.completed = impl_->completed.load(std::memory_order_relaxed);
  s.workers_started = static_cast<size_t>(impl_->processes);
  return s;
}

size_t Engine::completed() const noexcept { return impl_->completed.load(); }

size_t Engine::imap_window() const noexcept {
  return std::max<size_t>(16, 4 * static_cast<size_t>(std::max(impl_->processes, 1)));
}

}  // namespace mproc::mpi::detail
