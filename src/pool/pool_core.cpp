// PoolCore: the user threads' side (submissions, close / join / terminate, counters). All work on
// the workers happens in the dispatcher thread (dispatcher.cpp).
#include <atomic>
#include <cerrno>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/fork_handlers.hpp"
#include "base/shared_mapping.hpp"
#include "log/logger.hpp"
#include "pool/pool_impl.hpp"
#include "pool/worker.hpp"

namespace mproc::detail {

using namespace pool;

namespace {

// getpid() is a system call (glibc stopped caching it), and every submission checks the owner:
// cache it, refreshed in the child of every fork.
std::atomic<pid_t> g_pid{0};
void refresh_pid() noexcept { g_pid.store(::getpid(), std::memory_order_relaxed); }
pid_t current_pid() noexcept {
  static const bool installed = [] {
    refresh_pid();
    register_fork_handlers(ForkStage::pool_pid, {nullptr, nullptr, refresh_pid});
    return true;
  }();
  (void)installed;
  return g_pid.load(std::memory_order_relaxed);
}

}  // namespace

PoolCore::Impl::Impl(PoolOptions opts) : options(std::move(opts)), owner(current_pid()) {
  if (options.processes < 0)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "Pool: the number of processes must be at least 1");
  nprocs = options.processes == 0 ? cpu_count() : options.processes;
  if (options.start_method == StartMethod::forkserver && options.initializer) {
    // The server's workers do not share this process's memory: only a function's address is
    // meaningful there, not a std::function's captured state.
    auto* const* fn = options.initializer.target<void (*)()>();
    if (fn == nullptr || *fn == nullptr)
      throw Error(std::make_error_code(std::errc::invalid_argument),
                  "Pool: with StartMethod::forkserver the initializer must be a plain function "
                  "(void(*)(); a captureless lambda converts with a unary +)");
    served_initializer = *fn;
  }
  void* page = served() ? map_shared_memfd(sizeof(PoolControl), &control_fd, "pool control page")
                        : map_shared_anonymous(sizeof(PoolControl), "pool control page");
  control = new (page) PoolControl();
  doorbell = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (doorbell < 0) {
    const int err = errno;
    ::munmap(control, sizeof(PoolControl));
    if (control_fd >= 0) ::close(control_fd);
    throw_errno(err, "Pool: eventfd");
  }
}

PoolCore::Impl::~Impl() {
  if (control_fd >= 0) ::close(control_fd);
  if (doorbell >= 0) ::close(doorbell);
  if (control != nullptr) ::munmap(control, sizeof(PoolControl));
}

std::shared_ptr<PoolCore> PoolCore::create(PoolOptions options) {
  std::shared_ptr<PoolCore> core(new PoolCore(std::move(options)));
  return core;
}

PoolCore::PoolCore(PoolOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& d = *impl_;
  try {
    for (int i = 0; i < d.nprocs; ++i) d.start_worker();
  } catch (...) {
    for (auto& w : d.workers) {
      try {
        d.kill_worker(*w);
        if (w->process)
          w->process->join();
        else
          (void)d.reap(*w);
      } catch (...) {
      }
    }
    throw;
  }
  d.publish_stats();
  d.thread = std::thread([&d] {
    ::pthread_setname_np(::pthread_self(), "mproc-pool");  // the library's, by name
    d.run();
  });
  d.thread_id = d.thread.get_id();
}

PoolCore::~PoolCore() {
  Impl& d = *impl_;
  if (d.owner != current_pid()) {
    // A forked copy: the dispatcher thread and the workers belong to the parent.
    if (d.thread.joinable()) new std::thread(std::move(d.thread));  // leaked on purpose
    d.workers.clear();
    (void)impl_.release();
    return;
  }
  try {
    terminate();
  } catch (const std::exception& e) {
    try {
      logger(LogCategory::pool).error("pool: terminate in destructor: {}", e.what());
    } catch (...) {
    }
  } catch (...) {
  }
}

uint64_t PoolCore::new_group() noexcept {
  return impl_->next_group.fetch_add(1, std::memory_order_relaxed);
}

namespace {

void check_owner(const PoolCore::Impl& d, const char* what) {
  if (d.owner != current_pid())
    throw Error(errc::bad_state,
                std::string(what) + ": a Pool belongs to the process that created it");
}

constexpr size_t kCopyPayloadMax = 4096;

// Under the mutex: queues `job` for the dispatcher (see InboxJob).
void add_to_inbox(PoolCore::Impl& d, Job& job) {
  InboxJob& entry = d.inbox.jobs.emplace_back();
  entry.id = d.next_id++;
  if (job.payload.size() > kCopyPayloadMax) {
    entry.large = std::move(job.payload);  // a large block: moving beats copying
  } else {
    entry.offset = d.inbox.bytes.size();
    entry.size = static_cast<uint32_t>(job.payload.size());
    d.inbox.bytes += job.payload;
  }
  entry.sink = std::move(job.sink);
  entry.group = job.group;
  entry.items = job.items;
  entry.timeout = job.timeout;
}

}  // namespace

bool PoolCore::Impl::owned_here() const noexcept { return owner == current_pid(); }

void PoolCore::Impl::wake_dispatcher() noexcept {
  if (sleeping.load(std::memory_order_seq_cst) &&
      sleeping.exchange(false, std::memory_order_seq_cst)) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(doorbell, &one, sizeof one);
  }
}

namespace {

// Runs `add` (which queues jobs in the inbox) under the mutex if the pool takes submissions, then
// wakes the dispatcher. `feeder`: see PoolCore::submit.
// `waiter`: see PoolCore::submit_one.
template <class Add>
void enqueue(PoolCore::Impl& d, bool feeder, Add add, const ResultCore* waiter = nullptr) {
  check_owner(d, "Pool");
  {
    std::lock_guard lock(d.mutex);
    if (d.state == State::terminate) throw Error(errc::terminated, "Pool: the pool was terminated");
    if (d.state == State::close && !(feeder && !d.join_requested))
      throw Error(errc::closed, "Pool: the pool is closed (close() was called)");
    add();
    d.inbox_nonempty.store(true, std::memory_order_seq_cst);
  }
  // An idle pool: the task goes straight to a worker from this thread (guest.cpp).
  if (!d.guest_dispatch(waiter)) d.wake_dispatcher();
}

}  // namespace

void PoolCore::submit(std::vector<Job>& jobs, bool feeder) {
  Impl& d = *impl_;
  enqueue(d, feeder, [&] {
    for (auto& job : jobs) add_to_inbox(d, job);
  });
}

void PoolCore::submit_one(Job& job, const ResultCore* waiter) {
  Impl& d = *impl_;
  enqueue(d, false, [&] { add_to_inbox(d, job); }, waiter);
}

void PoolCore::submit_small(std::string_view payload, std::shared_ptr<JobSink> sink,
                            uint64_t group, const std::optional<Seconds>& timeout,
                            const ResultCore* waiter) {
  Impl& d = *impl_;
  enqueue(d, false, [&] {
    InboxJob& entry = d.inbox.jobs.emplace_back();
    entry.id = d.next_id++;
    entry.offset = d.inbox.bytes.size();
    entry.size = static_cast<uint32_t>(payload.size());
    d.inbox.bytes += payload;
    entry.group = group;
    entry.timeout = timeout;
    entry.sink = std::move(sink);  // last: an entry without a sink is skipped
  }, waiter);
}

void PoolCore::cancel(uint64_t group) {
  Impl& d = *impl_;
  if (d.owner != current_pid()) return;
  {
    std::lock_guard lock(d.mutex);
    if (d.state == State::terminate) return;
    d.cancels.push_back(group);
    d.inbox_nonempty.store(true, std::memory_order_seq_cst);
  }
  d.wake_dispatcher();
}

void PoolCore::add_feeder() {
  Impl& d = *impl_;
  check_owner(d, "Pool");
  std::lock_guard lock(d.mutex);
  // A new imap / map is a new submission: refused once the pool is closed, as in Python. (Only
  // iterators made before close() go on feeding, until join().)
  if (d.state == State::terminate) throw Error(errc::terminated, "Pool: the pool was terminated");
  if (d.state == State::close)
    throw Error(errc::closed, "Pool: the pool is closed (close() was called)");
  ++d.feeders;
}

void PoolCore::remove_feeder() noexcept {
  {
    std::lock_guard lock(impl_->mutex);
    --impl_->feeders;
    impl_->inbox_nonempty.store(true, std::memory_order_seq_cst);  // re-check for shutdown
  }
  impl_->wake_dispatcher();
}

void PoolCore::close() {
  Impl& d = *impl_;
  check_owner(d, "Pool::close");
  {
    std::lock_guard lock(d.mutex);
    if (d.state == State::run) d.state = State::close;
    d.inbox_nonempty.store(true, std::memory_order_seq_cst);
  }
  d.wake_dispatcher();
}

void PoolCore::join() {
  Impl& d = *impl_;
  check_owner(d, "Pool::join");
  if (std::this_thread::get_id() == d.thread_id || is_guest_of(d))
    throw Error(errc::bad_state, "Pool::join: called from the pool's own dispatcher thread "
                                 "(a callback); it would wait for itself");
  {
    std::lock_guard lock(d.mutex);
    if (d.state == State::run)
      throw Error(errc::bad_state, "Pool::join: call close() or terminate() first");
    d.join_requested = true;
    d.inbox_nonempty.store(true, std::memory_order_seq_cst);
  }
  d.wake_dispatcher();
  std::lock_guard lock(d.thread_mutex);
  if (d.thread.joinable()) d.thread.join();
}

void PoolCore::terminate() {
  Impl& d = *impl_;
  check_owner(d, "Pool::terminate");
  if (std::this_thread::get_id() == d.thread_id || is_guest_of(d))
    throw Error(errc::bad_state, "Pool::terminate: called from the pool's own dispatcher thread "
                                 "(a callback); it would wait for itself");
  {
    std::lock_guard lock(d.mutex);
    d.state = State::terminate;
    d.inbox_nonempty.store(true, std::memory_order_seq_cst);
  }
  d.wake_dispatcher();
  std::lock_guard lock(d.thread_mutex);
  if (d.thread.joinable()) d.thread.join();
}

int PoolCore::processes() const noexcept { return impl_->nprocs; }

PoolStats PoolCore::stats() const {
  const Impl& d = *impl_;
  PoolStats s;
  s.workers = d.stat_workers.load(std::memory_order_relaxed);
  s.queued = d.stat_queued.load(std::memory_order_relaxed);
  s.in_flight = d.stat_in_flight.load(std::memory_order_relaxed);
  s.completed = d.completed.load(std::memory_order_relaxed);
  s.workers_started = d.stat_started.load(std::memory_order_relaxed);
  return s;
}

size_t PoolCore::completed() const noexcept {
  return impl_->completed.load(std::memory_order_relaxed);
}

std::vector<pid_t> PoolCore::worker_pids() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pids;
}

size_t PoolCore::imap_window() const noexcept {
  return std::max<size_t>(16, 4 * static_cast<size_t>(impl_->nprocs));
}

}  // namespace mproc::detail
