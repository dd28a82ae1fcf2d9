// Pool: Python's multiprocessing.Pool, natively, and without its hangs.
//
//   mproc::Pool pool(4);
//   auto r = pool.apply_async(square, 7);                // AsyncResult<int>
//   std::vector<int> v = pool.map(square, inputs);       // input order
//   for (int x : pool.imap_unordered(square, inputs))    // completion order, streamed
//   pool.close(); pool.join();
//
// Tasks. Workers are forked from the parent, so a task is a plain function or a lambda whose
// closure is trivially copyable and holds no address (captures by value of ints, doubles, plain
// structs): the closure's bytes travel with each task. A lambda capturing a std::string or another
// owning type, or a pointer or a reference, is rejected at compile time: a worker's memory is a
// copy made when it started, where an object made later (a Queue created after the Pool) does not
// exist. Pass such data as an argument instead. Arguments and results travel through the codec
// (<mproc/codec.hpp>: trivially copyable types, std::string, vectors of plain types; include
// <mproc/cereal_codec.hpp> for the rest); `const char*` arguments travel as std::string. Shared
// objects (Queue, attachable locks, Value, Array, SharedMemory, Manager containers) travel by
// handle and are attached in the worker (<mproc/by_handle.hpp>); `std::ref(x)` travels as x. A
// task may take such an argument by reference or, for a move-only one, by value. Until it ends, a
// task holds a copy of each copyable one (a lock, a Value, an Array) and takes over a temporary
// move-only one (`apply_async(f, mproc::Queue())`), so their handles stay valid whatever the
// caller drops; a move-only object passed by name (a Queue, SharedMemory, a Manager container)
// must outlive the task, as its handle names nothing once the object that created it is gone.
//
// Faults. A task that throws resolves its result with errc::task_failed ("std::runtime_error:
// boom"); the worker lives on. A worker that dies (signal, _exit, crash) while running a task fails
// that task with errc::worker_died and a message naming the signal or exit code; tasks it had been
// sent but had not started are re-dispatched; it is replaced; join() returns. A worker killed
// while idle is just replaced. An initializer that fails (throws, or kills its worker) makes the
// pool broken after a bounded number of consecutive failures: outstanding and new tasks fail with
// errc::broken and the initializer's error, instead of endless respawning.
//
// Threads. Each pool has one dispatcher thread in the parent: it sends tasks to the workers (per
// worker shared-memory rings, several tasks per write), collects results, resolves AsyncResults,
// runs callbacks, watches the workers and forks their replacements. Forking from that thread is
// safe for mproc's own state (its fork hooks), but not for locks that *your* other threads may
// hold at that moment (see the README, "Fork"): in a program with many threads, keep tasks away
// from such locks, or use StartMethod::forkserver.
//
// Lifetime. close() stops new submissions; join() (after close() or terminate()) waits until every
// submitted task has finished and the workers have exited. terminate() kills the workers at once
// and resolves every outstanding result — with its value if it had finished, else with
// errc::terminated. The destructor calls terminate() if the pool was not joined: it never waits
// for a task, never hangs, and never leaves a result unresolved (Python's context manager also
// terminates, but leaves results hanging: cpython #126743). Call close() and join() to wait.
//
// Workers are daemon processes (named ForkPoolWorker-N, or ForkServerPoolWorker-N): as in Python,
// a task may not start Processes or Pools of its own. End a pool (destroy, terminate or join it)
// before the program exits: a pool that outlives main() has its workers stopped by the at-exit
// handler while its dispatcher still runs.
//
// Start methods: StartMethod::fork (default) or StartMethod::forkserver, for programs with many
// threads (see below).
//
// Thread-safety: a Pool may be used from several threads at once (submissions, close, terminate,
// join); a Pool belongs to the process that created it (in a forked child, its methods throw
// errc::bad_state).
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/async_result.hpp>
#include <mproc/by_handle.hpp>
#include <mproc/codec.hpp>
#include <mproc/detail/job_shares.hpp>
#include <mproc/detail/pool_core.hpp>
#include <mproc/detail/pool_inputs.hpp>
#include <mproc/detail/pool_invoke.hpp>
#include <mproc/detail/pool_results.hpp>
#include <mproc/detail/pool_wire.hpp>
#include <mproc/detail/task_registry.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace mproc {

enum class StartMethod {
  // Workers are forked from the pool's dispatcher thread: any task and initializer works (the
  // worker is a copy of the parent), but a lock another thread of yours holds at that moment stays
  // held forever in the worker. The default.
  fork,
  // Workers are forked by the forkserver: a small single-threaded process forked from this one
  // (no exec: the same binary, so function pointers and registered tasks stay valid) by
  // start_forkserver(), or on first use. Call start_forkserver() at the top of main(), before
  // starting threads: then no worker inherits a lock another thread held, however many threads
  // the program has when it creates pools. Workers are copies of the program as it was when the
  // server started: a task's closure bytes and arguments travel as usual, but pointers in them
  // refer to the server's copy of memory, and state set up later (globals, registrations made
  // after start_forkserver) is not there. The initializer must be a plain function
  // (void(*)(); a captureless lambda converts with a unary +): EINVAL otherwise. Worker deaths,
  // timeouts and cancels behave as with fork (the server passes each worker's pidfd back and
  // reports its exit status; it reaps its workers). Named ForkServerPoolWorker-N.
  forkserver,
};

// Starts the forkserver (see StartMethod::forkserver) if it is not running. Call it while the
// program is single-threaded. Each process has at most one; a forked child does not share its
// parent's. The server ends when stop_forkserver() is called or this process exits or dies.
// Errors: the errno of socketpair / fork / pidfd_open. Thread-safety: safe from any thread.
MPROC_API void start_forkserver();
// Ends the forkserver: it kills and reaps the workers it started (end forkserver pools first) and
// is reaped. The next forkserver pool starts a new one. No-op if none runs. Never hangs (bounded,
// then SIGKILL). Thread-safety: safe from any thread.
MPROC_API void stop_forkserver();
// The forkserver's pid, or 0 if none runs (for monitoring and tests).
MPROC_API pid_t forkserver_pid();

/// The options of a Pool.
/// Thread-safety: a value.
/// Errors: Pool's constructor throws EINVAL for bad values.
/// Fork-safety: a value.
struct PoolOptions {
  int processes = 0;  // 0: cpu_count()
  // Runs in each worker when it starts (Python's initializer + initargs: capture what you need).
  // The worker is a fork, so any callable works. If it throws, see "Faults" above.
  std::function<void()> initializer;
  // A worker exits after this many tasks (a map chunk counts as one) and is replaced; 0: never.
  size_t maxtasksperchild = 0;
  StartMethod start_method = StartMethod::fork;
  // Called in the dispatcher thread after each finished task (or chunk) with the number of task
  // items finished so far in this pool: a hook for progress bars. Keep it quick.
  std::function<void(size_t completed)> on_progress;
};

/// Per-call options for apply_async / map_async / imap.
/// Thread-safety: a value.
/// Errors: the Pool's methods throw EINVAL for bad values.
/// Fork-safety: a value.
struct TaskOptions {
  // A task (a chunk) running longer than this is stopped: its worker is killed and replaced, and
  // the task resolves with errc::timed_out. Measured from the moment the worker starts it.
  std::optional<Seconds> timeout;
};

/// Counters, for monitoring and tests. Taken at one instant by the dispatcher thread.
/// Thread-safety: a value.
/// Errors: none.
/// Fork-safety: a value.
struct PoolStats {
  size_t workers = 0;          // live worker processes
  size_t queued = 0;           // tasks (chunks) not yet sent to a worker
  size_t in_flight = 0;        // tasks sent to a worker and not finished
  size_t completed = 0;        // task items finished, successfully or not
  size_t workers_started = 0;  // including replacements
};

/// A task throws this to fail with exactly `message`: get() throws Error(errc::task_failed) whose
/// text is the message, without the exception type name other exceptions are described with. For
/// failures that are a plain sentence, and for bindings of other languages (the C ABI's tasks).
/// Thread-safety: an immutable value.
/// Errors: none: it is the error.
/// Fork-safety: a value.
class MPROC_API TaskFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The start method named as in Python ("fork", "forkserver", "spawn"). Errors: ENOTSUP for
// "spawn" (no interpreter to re-exec: use forkserver), EINVAL for an unknown name.
MPROC_API StartMethod start_method_from_name(std::string_view name);

/// The results of imap / imap_unordered, streamed: a single-pass input range.
/// At most `window` chunks are submitted and not yet consumed at any time, so memory grows with the
/// window, not with the input (which may be endless). The input is read in the consuming thread,
/// as results are taken.
/// Thread-safety: one thread at a time.
/// Errors: operator++ / * rethrow a failed task's error as mproc::Error (errc::task_failed,
/// worker_died, ...).
/// Fork-safety: as AsyncResult: belongs to the creating process.
/// `Core` and `JobT` are the pool that runs the chunks and its job type: the local Pool's by
/// default; mproc::mpi::Pool's streams are this class over its engine (one copy of the logic).
template <class V, class Core = detail::PoolCore, class JobT = detail::Job>
class ImapIterator {
 public:
  ImapIterator(ImapIterator&&) noexcept = default;
  ImapIterator& operator=(ImapIterator&&) noexcept = default;
  ~ImapIterator() {
    if (feeding_ && core_) core_->remove_feeder();
  }

  // The next result; std::nullopt at the end. Throws the item's Error if that task failed (the
  // iteration may go on after it, as in Python).
  std::optional<V> next() { return next_impl(std::nullopt); }
  // As next(), but throws Error(errc::timed_out) if no result is ready within `timeout`.
  std::optional<V> next(Seconds timeout) { return next_impl(timeout); }

  // Chunks submitted and not yet fully consumed, now and at most so far.
  size_t in_flight() const noexcept { return submitted_ - consumed_; }
  size_t max_in_flight() const noexcept { return max_in_flight_; }
  size_t window() const noexcept { return window_; }

  class iterator {
   public:
    using value_type = V;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(ImapIterator* owner) : owner_(owner) { advance(); }
    const V& operator*() const { return *current_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    void operator++(int) { advance(); }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return !it.current_; }

   private:
    void advance() { current_ = owner_->next(); }
    ImapIterator* owner_ = nullptr;
    std::optional<V> current_;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() { return {}; }

 private:
  friend class Pool;
  using Feed = std::function<std::optional<JobT>(uint64_t index)>;

 public:
  // Made by Pool::imap and mpi::Pool::imap (not for users): `feed(i)` builds chunk i, or nothing
  // at the end of the input; at most `window` chunks are submitted and not consumed.
  ImapIterator(std::shared_ptr<Core> core, std::shared_ptr<detail::ImapState> state, Feed feed,
               size_t window)
      : core_(std::move(core)), state_(std::move(state)), feed_(std::move(feed)),
        window_(std::max<size_t>(window, 1)) {
    core_->add_feeder();
    feeding_ = true;
    top_up();
  }

 private:
  void stop_feeding() {
    if (feeding_) core_->remove_feeder();
    feeding_ = false;
  }

  void top_up() {
    while (feeding_ && submitted_ - consumed_ < window_) {
      std::optional<JobT> job = feed_(submitted_);
      if (!job) {
        stop_feeding();
        break;
      }
      std::vector<JobT> jobs;
      jobs.push_back(std::move(*job));
      try {
        core_->submit(jobs, true);
      } catch (const Error& e) {
        stop_feeding();
        feed_error_ = e;
        break;
      }
      ++submitted_;
      max_in_flight_ = std::max(max_in_flight_, submitted_ - consumed_);
    }
  }

  std::optional<V> next_impl(const std::optional<Seconds>& timeout) {
    for (;;) {
      if (pos_ < current_.count) {
        if (++pos_ == current_.count) {
          ++consumed_;
          top_up();  // does not touch current_
        }
        return decode_next();
      }
      top_up();
      if (consumed_ == submitted_) {
        if (feed_error_) {
          Error e = *feed_error_;
          feed_error_.reset();
          throw e;
        }
        return std::nullopt;
      }
      if (!state_->take(consumed_, current_, timeout))
        throw Error(errc::timed_out, "imap: no result within the timeout");
      pos_ = 0;
      cursor_ = current_.bytes.data();
      if (current_.count == 0) ++consumed_;
    }
  }

  // The value of the item at cursor_ (advanced past it), or its error.
  std::optional<V> decode_next() {
    if (current_.code) throw Error(current_.code, current_.message);
    detail::ItemView item{};
    if (!detail::next_item<V>(cursor_, current_.bytes.data() + current_.bytes.size(), item))
      throw Error(errc::internal, "imap: malformed result record");
    if (item.status != detail::ItemStatus::ok) throw detail::item_error(item);
    if constexpr (std::is_same_v<V, std::monostate>)
      return V{};
    else
      return Codec<V>::decode(item.data, item.size);
  }

  std::shared_ptr<Core> core_;
  std::shared_ptr<detail::ImapState> state_;
  Feed feed_;
  size_t window_ = 1;
  bool feeding_ = false;
  size_t submitted_ = 0;
  size_t consumed_ = 0;
  size_t max_in_flight_ = 0;
  detail::ImapChunk current_;
  uint32_t pos_ = 0;               // items of current_ taken
  const char* cursor_ = nullptr;   // the next item record in current_.bytes
  std::optional<Error> feed_error_;
};

// Registers `fn` (a function pointer or a lambda with trivially copyable captures, not a generic
// one) under `name`, for Pool::apply_async(TaskName{name}, args...). Names are the way to name
// code in a worker that is not a fork of the caller (start methods other than fork, planned);
// with fork they are a convenience. Register before creating pools (e.g. at start-up);
// registering a name again replaces it. Errors: EINVAL for an empty name.
// Thread-safety: safe from any thread.
template <class F>
void register_task(const std::string& name, F fn) {
  detail::check_task_callable<F>();
  using Fn = std::decay_t<F>;
  using Sig = detail::signature<Fn>;
  detail::RegisteredTask task;
  task.invoker = detail::tuple_invoker<typename Sig::args>::template get<Fn>();
  const Fn copy(fn);
  task.callable.assign(reinterpret_cast<const char*>(&copy), sizeof(Fn));
  task.args = &typeid(typename Sig::args);
  task.result = &typeid(typename Sig::result);
  detail::add_registered_task(name, std::move(task));
}

/// Names a registered task in Pool::apply_async.
/// Thread-safety: a value.
/// Errors: none (an unknown name fails the task: errc::task_failed).
/// Fork-safety: a value.
struct TaskName {
  std::string name;
};

/// Thread-safety: see the file comment.
/// Errors: throws mproc::Error (errno or mproc::errc code): errc::closed / errc::terminated
/// (submit after close / terminate), errc::bad_state (join before close; any call in a forked
/// child), EINVAL, the errno of fork.
/// Fork-safety: a Pool belongs to the process that created it: in a forked child its methods throw
/// errc::bad_state. Workers are forked from the dispatcher thread (StartMethod::fork) or from the
/// forkserver (StartMethod::forkserver, for programs with other threads).
class MPROC_API Pool {
 public:
  // processes = 0: cpu_count(). Forks the workers. Errors: EINVAL for processes < 0, the errno of
  // fork / mmap / eventfd.
  explicit Pool(int processes = 0);
  explicit Pool(PoolOptions options);
  // If not joined: terminate() (see the file comment). Never hangs.
  ~Pool();
  Pool(Pool&& other) noexcept;
  Pool& operator=(Pool&& other) noexcept;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // f(args...) in a worker, waited for. Errors: those of the task (see AsyncResult), closed or
  // terminated if the pool no longer accepts tasks.
  template <class F, class... Args>
  auto apply(F&& f, Args&&... args) {
    // The caller waits: on an idle pool it sends the task and collects the result itself.
    return start_apply(TaskOptions{}, true, std::forward<F>(f), std::forward<Args>(args)...).get();
  }

  template <class F, class... Args>
    requires(!std::is_same_v<std::decay_t<F>, TaskOptions>)
  auto apply_async(F&& f, Args&&... args) {
    return apply_async(TaskOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  }

  template <class F, class... Args>
  auto apply_async(const TaskOptions& options, F&& f, Args&&... args) {
    return start_apply(options, false, std::forward<F>(f), std::forward<Args>(args)...);
  }

 private:
  // apply_async, and apply (`caller_waits`: the calling thread waits for the result at once, so
  // on an idle pool it may send the task and collect the result itself, src/pool/guest.cpp).
  template <class F, class... Args>
  auto start_apply(const TaskOptions& options, bool caller_waits, F&& f, Args&&... args) {
    using Fn = std::decay_t<F>;
    detail::check_task_callable<F>();
    using R = detail::stored_call_result_t<Fn, detail::wire_t<Args>...>;
    using V = detail::item_t<R>;
    using Small = detail::SmallTask<Fn, detail::wire_t<Args>...>;
    constexpr detail::Invoker invoker = &detail::invoke_items<Fn, detail::wire_t<Args>...>;
    auto state = detail::ApplyState<R>::make();
    const Fn fn(std::forward<F>(f));
    const uint64_t group = core().new_group();
    state->attach(core_, group);
    std::shared_ptr<detail::JobSink> sink(state, state.get());
    if constexpr (Small::fits) {
      const Small task(invoker, fn, detail::wire(args)...);
      core().submit_small(task.view(), std::move(sink), group, options.timeout,
                          caller_waits ? state.get() : nullptr);
    } else {
      detail::TaskWriter writer(invoker, fn);
      writer.add(detail::wire(args)...);
      (writer.hold_temporary(std::forward<Args>(args)), ...);
      detail::Job job;
      job.payload = writer.finish();
      job.sink = detail::bind_holds(std::move(sink), writer.take_holds());
      job.timeout = options.timeout;
      job.group = group;
      core().submit_one(job, caller_waits ? state.get() : nullptr);
    }
    return AsyncResult<R>(std::shared_ptr<detail::ValueCore<V>>(std::move(state)));
  }

 public:

  // Runs the task registered under `name` (see register_task). R and the argument types must be
  // those it was registered with. Errors: EINVAL for an unknown name or other types.
  template <class R, class... Args>
  AsyncResult<R> apply_async(const TaskName& task, Args&&... args) {
    const detail::RegisteredTask found = detail::find_registered_task(task.name);
    if (*found.args != typeid(std::tuple<detail::wire_t<Args>...>) ||
        *found.result != typeid(R))
      detail::throw_task_signature_mismatch(task.name);
    auto state = detail::ApplyState<R>::make();
    detail::TaskWriter writer(found.invoker, std::string_view(found.callable));
    writer.add(detail::wire(args)...);
    (writer.hold_temporary(std::forward<Args>(args)), ...);
    detail::Job job;
    job.payload = writer.finish();
    job.sink = detail::bind_holds(std::shared_ptr<detail::JobSink>(state, state.get()),
                                  writer.take_holds());
    const uint64_t group = core().new_group();
    state->attach(core_, group);
    job.group = group;
    core().submit_one(job);
    return AsyncResult<R>(std::shared_ptr<detail::ValueCore<detail::item_t<R>>>(std::move(state)));
  }
  template <class R, class... Args>
  R apply(const TaskName& task, Args&&... args) {
    return apply_async<R>(task, std::forward<Args>(args)...).get();
  }

  // f(x) for every x of `inputs`, in input order, as one vector. chunksize 0: Python's heuristic
  // (len / (4 * processes), rounded up) for sized inputs, 1 otherwise. The inputs are sent as they
  // are consumed (at most imap's window in flight).
  template <class F, class Input>
  auto map(F&& f, Input&& inputs, size_t chunksize = 0, const TaskOptions& options = {}) {
    const size_t size = size_hint(inputs);
    return collect(map_stream<false, true>(std::forward<F>(f), std::forward<Input>(inputs),
                                           default_chunksize(inputs, chunksize), options),
                   size);
  }
  template <class F, class Input>
  auto starmap(F&& f, Input&& inputs, size_t chunksize = 0, const TaskOptions& options = {}) {
    const size_t size = size_hint(inputs);
    return collect(map_stream<true, true>(std::forward<F>(f), std::forward<Input>(inputs),
                                          default_chunksize(inputs, chunksize), options),
                   size);
  }

  // Submits every input now; the result resolves with all values in input order, or with the first
  // error. A sized range (vector, array, iota view ...).
  template <class F, std::ranges::sized_range Input>
  auto map_async(F&& f, Input&& inputs, size_t chunksize = 0, const TaskOptions& options = {}) {
    return map_async_impl<false>(std::forward<F>(f), inputs, chunksize, options);
  }
  template <class F, std::ranges::sized_range Input>
  auto starmap_async(F&& f, Input&& inputs, size_t chunksize = 0,
                     const TaskOptions& options = {}) {
    return map_async_impl<true>(std::forward<F>(f), inputs, chunksize, options);
  }

  // Results streamed in input order (imap) or in completion order (imap_unordered). `inputs`:
  // any input range (lazy views stay lazy; an lvalue container is referenced, not copied, and
  // must outlive the iterator) or a generator callable returning std::optional<T>. window 0: the
  // pool's default (4 chunks per worker, at least 16).
  template <class F, class Input>
  auto imap(F&& f, Input&& inputs, size_t chunksize = 1, size_t window = 0,
            const TaskOptions& options = {}) {
    return map_stream<false, true>(std::forward<F>(f), std::forward<Input>(inputs), chunksize,
                                   options, window);
  }
  template <class F, class Input>
  auto imap_unordered(F&& f, Input&& inputs, size_t chunksize = 1, size_t window = 0,
                      const TaskOptions& options = {}) {
    return map_stream<false, false>(std::forward<F>(f), std::forward<Input>(inputs), chunksize,
                                    options, window);
  }

  // No more tasks; the workers exit once every submitted task is done. An imap iterator created
  // before close() still sends its remaining inputs as it is consumed, until join() is called;
  // after that it ends with errc::closed for inputs it had not sent.
  void close();
  // Waits for the workers to exit. Errors: bad_state unless close() or terminate() came first.
  void join();
  // Kills the workers now and resolves every outstanding result (errc::terminated unless it had
  // finished). Waits until that is done (bounded). Idempotent.
  void terminate();

  int processes() const;
  PoolStats stats() const;
  // Task items finished so far (successfully or not): poll it to draw a progress bar.
  size_t completed_tasks() const;
  // The pids of the live workers (changes as workers are replaced).
  std::vector<pid_t> worker_pids() const;

 private:
  template <class V>
  void submit(std::vector<detail::Job>& jobs, detail::ValueCore<V>& state) {
    const uint64_t group = core().new_group();
    state.attach(core_, group);
    for (auto& job : jobs) job.group = group;
    core().submit(jobs);
  }

  template <class Input>
  size_t default_chunksize(const Input& inputs, size_t chunksize) const {
    if (chunksize != 0) return chunksize;
    if constexpr (std::ranges::sized_range<const Input>) {
      const size_t n = static_cast<size_t>(std::ranges::size(inputs));
      const size_t per = static_cast<size_t>(4 * processes());
      const size_t size = n / per + (n % per != 0 ? 1 : 0);
      return std::max<size_t>(size, 1);
    } else {
      return 1;
    }
  }

  template <class Input>
  static size_t size_hint(const Input& inputs) {
    if constexpr (std::ranges::sized_range<const Input>)
      return static_cast<size_t>(std::ranges::size(inputs));
    else
      return 0;
  }

  template <class V>
  static std::vector<V> collect(ImapIterator<V>&& it, size_t size_hint) {
    std::vector<V> out;
    out.reserve(size_hint);
    try {
      while (auto v = it.next()) out.push_back(std::move(*v));
    } catch (const Error& e) {
      // Results come in input order, so the first one missing is the input that failed.
      throw Error(e.code(), "map: input " + std::to_string(out.size()) + ": " + e.what());
    }
    return out;
  }

  template <bool Star, class F, class Input>
  auto map_async_impl(F&& f, Input& inputs, size_t chunksize, const TaskOptions& options) {
    using Fn = std::decay_t<F>;
    detail::check_task_callable<F>();
    using T = std::ranges::range_value_t<Input>;
    using R = detail::map_result_t<Star, Fn, T>;
    using V = detail::item_t<R>;
    using Args = detail::map_args_t<Star, Fn, T>;
    const size_t n = static_cast<size_t>(std::ranges::size(inputs));
    chunksize = default_chunksize(inputs, chunksize);
    const size_t chunks = n / chunksize + (n % chunksize != 0 ? 1 : 0);
    auto state = std::make_shared<detail::MapState<V>>(n, chunks);
    const Fn fn(std::forward<F>(f));
    std::vector<detail::Job> jobs;
    jobs.reserve(chunks);
    auto it = std::ranges::begin(inputs);
    for (size_t offset = 0; offset < n; offset += chunksize) {
      detail::TaskWriter writer(detail::tuple_invoker<Args>::template get<Fn>(), fn);
      writer.reserve(std::min(chunksize, n - offset), detail::tuple_args_size<Args>::value);
      for (size_t i = 0; i < chunksize && offset + i < n; ++i, ++it)
        detail::add_map_item<Star>(writer, *it);
      detail::Job job;
      job.items = writer.count();
      job.payload = writer.finish();
      job.sink = detail::bind_holds(
          std::make_shared<detail::MapChunkSink<V>>(state, offset, job.items),
          writer.take_holds());
      job.timeout = options.timeout;
      jobs.push_back(std::move(job));
    }
    if (!jobs.empty()) submit(jobs, *state);
    return AsyncResult<std::vector<V>>(std::move(state));
  }

  template <bool Star, bool Ordered, class F, class Input>
  auto map_stream(F&& f, Input&& inputs, size_t chunksize, const TaskOptions& options,
                  size_t window = 0) {
    using Fn = std::decay_t<F>;
    detail::check_task_callable<F>();
    using T = detail::input_value_t<Input>;
    using R = detail::map_result_t<Star, Fn, T>;
    using V = detail::item_t<R>;
    using Args = detail::map_args_t<Star, Fn, T>;
    using Source = detail::input_source_t<Input>;
    if (chunksize == 0) chunksize = 1;
    auto state = std::make_shared<detail::ImapState>(Ordered);
    auto source = std::make_shared<Source>(std::forward<Input>(inputs));
    const uint64_t group = core().new_group();
    const Fn fn(std::forward<F>(f));
    std::optional<Seconds> timeout = options.timeout;
    auto feed = [source, state, fn, chunksize, group,
                 timeout](uint64_t index) -> std::optional<detail::Job> {
      detail::TaskWriter writer(detail::tuple_invoker<Args>::template get<Fn>(), fn);
      // A hint only: a generator may end sooner.
      writer.reserve(std::min<size_t>(chunksize, size_t{1} << 16),
                     detail::tuple_args_size<Args>::value);
      const auto add = [&writer](const auto& x) { detail::add_map_item<Star>(writer, x); };
      for (size_t i = 0; i < chunksize; ++i)
        if (!source->visit_next(add)) break;
      if (writer.count() == 0) return std::nullopt;
      detail::Job job;
      job.items = writer.count();
      job.payload = writer.finish();
      job.sink = detail::bind_holds(
          std::make_shared<detail::ImapChunkSink>(state, index, job.items), writer.take_holds());
      job.group = group;
      job.timeout = timeout;
      return job;
    };
    return ImapIterator<V>(core_, state, std::move(feed),
                           window != 0 ? window : core().imap_window());
  }
  detail::PoolCore& core() const;

  std::shared_ptr<detail::PoolCore> core_;
};

}  // namespace mproc
