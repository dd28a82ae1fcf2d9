// mproc::mpi::Pool: the same Pool across hosts, on Open MPI (libmproc_mpi, target mproc::mpi).
//
//   int square(int x) { return x * x; }
//   int program(int, char**) {
//     mproc::mpi::Pool pool;                                    // every rank's workers
//     auto v = pool.map<int>(mproc::TaskName{"square"}, inputs); // input order
//     pool.close(); pool.join();
//     return 0;
//   }
//   int main(int argc, char** argv) {
//     mproc::register_task("square", square);                    // on every rank, before run()
//     return mproc::mpi::run(argc, argv, program);
//   }
//
// Launch with `mpirun -n N ./program` (one rank per host with a hostfile: `--map-by ppr:1:node`).
// Rank 0 runs `program`; every other rank serves tasks through a local mproc Pool of its own
// (RunOptions::processes workers, by default its host's cpu_count()), until rank 0's program
// returns; then every rank leaves MPI and run() returns the program's exit code on rank 0, 0 on
// the others. Without mpirun, run() calls the program with a one-rank pool of local workers and
// does not initialise MPI at all.
//
// Tasks are named: the same binary runs on every host, and a task is found by the name it was
// registered under (mproc::register_task, before run()); the caller names the result type R, and
// R and the argument types must be those of the registration (EINVAL otherwise). Arguments and
// results travel through the codec, as with the local Pool.
//
// Semantics are the local Pool's (pool.hpp): the same error codes, AsyncResult and its callbacks
// (run in the pool's MPI thread), timeouts, close / join / terminate, progress. Differences:
// a per-task timeout is enforced by the rank running the task
// (from its start, as locally) and also by rank 0 (from the moment the task was sent, plus a grace
// of one second and a quarter of the timeout), so it fires even if the rank stops answering.
// Faults: a worker killed on a remote host fails its task with errc::worker_died and is replaced.
// A whole rank that dies takes the job down: Open MPI aborts every rank (its default error
// handler), and each rank's local workers die with it (see the README, "Past one machine").
//
// Threads: each Pool has one thread in rank 0 that makes the pool's MPI calls (the threads of
// several live pools take turns, MPI_THREAD_SERIALIZED, and each receives only its own pool's
// messages: one MPI tag per pool); serving ranks make MPI calls from their main thread only. Workers are forked by the
// forkserver, which run() starts before MPI_Init on every rank: no worker is forked from a process
// that has initialised MPI.
//
// Thread-safety: as the local Pool. Only rank 0's program creates pools (several may be alive at
// once, each with its own local pools on the serving ranks), between run()'s start and the
// program's return; end each (destroy, join or terminate) before the program returns.
#pragma once

#include <mproc/cxx20.hpp>  // first: one clear error without C++20
#include <mproc/mpi/export.h>
#include <mproc/detail/pool_named.hpp>
#include <mproc/pool.hpp>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <typeinfo>
#include <utility>
#include <vector>

namespace mproc::mpi {

struct RunOptions {
  // The number of workers of a serving rank's local pool, asked of each rank with its number;
  // empty, or a result <= 0: cpu_count() of its host. Also taken from the environment variable
  // MPROC_MPI_PROCESSES when set (it wins).
  std::function<int(int rank)> processes;
  // How long rank 0, once its program has returned, waits for every serving rank's goodbye. A
  // rank that has not answered by then (stopped, or stuck in a task that ignores its timeout) is
  // named on stderr and rank 0 aborts the job (MPI_Abort: mpirun ends every rank and returns
  // non-zero), since MPI_Finalize would wait for that rank forever.
  Seconds shutdown_timeout{60.0};
};

// Runs `program` on rank 0 and serves tasks on the others (see the file comment). Call it once,
// from main(), before starting threads. Returns the program's exit code on rank 0 and 0 elsewhere.
// Errors: bad_state if called twice or from a task; the errors of MPI_Init (errc::internal with
// MPI's text); an exception thrown by the program is rethrown on rank 0 after the other ranks
// were told to stop.
MPROC_MPI_API int run(int argc, char** argv, const std::function<int(int, char**)>& program,
                      const RunOptions& options = {});
// This process's rank and the number of ranks (0 and 1 outside an MPI launch, or before run()).
MPROC_MPI_API int rank() noexcept;
MPROC_MPI_API int size() noexcept;

struct PoolOptions {
  // Workers on rank 0 itself: -1 (default): none when other ranks serve, cpu_count() when rank 0
  // is alone; otherwise this many (0: none; an error when rank 0 is alone).
  int local_processes = -1;
  // Back-pressure: at most this many tasks (or map chunks) per worker of a rank are sent to it and
  // unfinished, for tasks that come back within 20 ms (tiny tasks: the depth hides the MPI round
  // trip); of slower tasks, at most one more than its workers (none more for tasks of 50 ms and
  // longer, nor for a task whose results have not been seen yet). Judged per task name. A rank
  // with more workers gets proportionally more. >= 1.
  size_t tasks_per_worker = 32;
  // Called in the pool's MPI thread after each finished task (or chunk) with the number of task
  // items finished so far. Keep it quick.
  std::function<void(size_t completed)> on_progress;
  // The longest rank 0 waits for a serving rank: for its answer when the pool starts (READY),
  // closes or terminates; and, while the rank has tasks, for any sign of life (a result, or the
  // answer to a probe rank 0 sends after a quarter of this silence). A rank silent that long is
  // lost to the pool: its unfinished tasks fail with errc::worker_died, it gets no more work, and
  // once no rank is left the queued tasks fail too. If it speaks again (resumed), it rejoins and
  // gets new work; its old tasks stay failed. > 0.
  Seconds rank_timeout{60.0};
};

// A rank serving a pool, as it reported itself.
struct RankInfo {
  int rank = 0;       // 0 for rank 0's own workers
  int processes = 0;  // its local pool's workers
  int pid = 0;        // the serving process (not a worker)
  std::string host;
};

namespace detail {

// A task as rank 0's engine sees it: a registered name, its items' argument bytes, a sink.
struct RemoteJob {
  std::string task;
  std::string payload;  // [u32 count][items], as mproc::detail::TaskWriter lays them out
  std::shared_ptr<mproc::detail::JobSink> sink;
  uint32_t items = 1;
  std::optional<Seconds> timeout;
  uint64_t group = 0;  // Engine::cancel(group) cancels every job of a group
};

using mproc::detail::items_payload;  // a RemoteJob's payload, from TaskWriter(Invoker{}, "")
using mproc::detail::check_registered_task;

// Refuses a Connection among a task's arguments at compile time: a descriptor belongs to this
// host's processes, and there is no path like the local Pool's SCM_RIGHTS share to a rank's
// worker (it would fail at run time, in the worker).
template <class Tuple>
inline constexpr bool args_reach_ranks = true;
template <class... A>
inline constexpr bool args_reach_ranks<std::tuple<A...>> =
    !(mproc::detail::shares_descriptors<A> || ...);
template <class Tuple>
constexpr void check_args_reach_ranks() {
  static_assert(args_reach_ranks<Tuple>,
                "mproc::mpi::Pool: a Connection cannot be a task argument (a descriptor cannot "
                "reach a rank's worker); send the data it would carry instead");
}

// Rank 0's side of a pool: the queue, the scheduling over the ranks, the MPI thread.
class MPROC_MPI_API Engine final : public mproc::detail::Canceller {
 public:
  static std::shared_ptr<Engine> create(const PoolOptions& options);
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Errors: closed, terminated (as the local Pool).
  void submit(std::vector<RemoteJob>& jobs, bool feeder = false);
  void submit_one(RemoteJob&& job);
  void add_feeder();
  void remove_feeder() noexcept;
  void close();
  void join();
  void terminate();
  int processes() const noexcept;
  std::vector<RankInfo> ranks() const;
  PoolStats stats() const;
  size_t completed() const noexcept;
  size_t imap_window() const noexcept;
  // A group for the jobs behind one result, and their cancellation (AsyncResult::cancel): queued
  // jobs fail with errc::cancelled at once; sent ones too, and their rank cancels them in its
  // local pool (a running task's worker is killed and replaced).
  uint64_t new_group() noexcept;
  // An empty string, with the capacity of a sent job's payload when one is spare (map chunks are
  // encoded into the buffers of chunks already sent: a stream of maps allocates, and faults in,
  // no fresh memory for each).
  std::string spare_buffer();
  void cancel(uint64_t group) override;
  // terminate() and the wait for the MPI thread, unless joined; never throws.
  void stop() noexcept;

  struct Impl;

 private:
  Engine();
  std::unique_ptr<Impl> impl_;
};

}  // namespace detail

// The results of Pool::imap / imap_unordered, streamed: mproc::ImapIterator over rank 0's engine
// (at most `window` chunks in flight: memory on rank 0 stays bounded whatever the input's length).
// Thread-safety: one thread at a time.
template <class V>
using ImapIterator = mproc::ImapIterator<V, detail::Engine, detail::RemoteJob>;

// Thread-safety: see the file comment.
class MPROC_MPI_API Pool {
 public:
  // Asks every serving rank to start a local pool and waits until each has (or failed: the
  // first rank's error). Errors: bad_state on a rank other than 0; EINVAL for bad options.
  Pool();
  explicit Pool(const PoolOptions& options);
  // If not joined: terminate(). Never hangs on a rank that answers.
  ~Pool();
  Pool(Pool&& other) noexcept;
  Pool& operator=(Pool&& other) noexcept;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // The task registered under `task.name`, with these arguments, on some rank's worker.
  template <class R, class... Args>
  AsyncResult<R> apply_async(const TaskName& task, Args&&... args) {
    return apply_async<R>(TaskOptions{}, task, std::forward<Args>(args)...);
  }
  template <class R, class... Args>
  AsyncResult<R> apply_async(const TaskOptions& options, const TaskName& task, Args&&... args) {
    using Tuple = std::tuple<mproc::detail::wire_t<Args>...>;
    detail::check_args_reach_ranks<Tuple>();
    detail::check_registered_task(task.name, typeid(Tuple), typeid(R));
    auto state = mproc::detail::ApplyState<R>::make();
    mproc::detail::TaskWriter writer(mproc::detail::Invoker{}, std::string_view{});
    writer.add(mproc::detail::wire_t<Args>(args)...);
    detail::RemoteJob job;
    job.task = task.name;
    job.payload = detail::items_payload(writer);
    job.sink = std::shared_ptr<mproc::detail::JobSink>(state, state.get());
    job.timeout = options.timeout;
    job.group = engine().new_group();
    state->attach(engine_, job.group);
    engine().submit_one(std::move(job));
    return AsyncResult<R>(
        std::shared_ptr<mproc::detail::ValueCore<mproc::detail::item_t<R>>>(std::move(state)));
  }
  template <class R, class... Args>
  R apply(const TaskName& task, Args&&... args) {
    return apply_async<R>(task, std::forward<Args>(args)...).get();
  }

  // As Pool::map: results in input order; chunksize 0: Python's heuristic over every rank's
  // workers (len / (4 * workers), rounded up), with at least 32 chunks, and for a sized input at
  // most 16 KiB of arguments per chunk (judged by the first input). A sized input is sent at
  // once (as map_async: every chunk queued, each rank taking its share at its pace); another is
  // sent as it is consumed (at most the imap window in flight).
  template <class R, class Input>
  auto map(const TaskName& task, Input&& inputs, size_t chunksize = 0,
           const TaskOptions& options = {}) {
    if constexpr (std::ranges::sized_range<Input>) {
      return map_async_impl<R, false>(task, inputs, chunksize, options).get();
    } else {
      return collect(map_stream<R, false, true>(task, std::forward<Input>(inputs),
                                                std::max<size_t>(chunksize, 1), options));
    }
  }
  template <class R, class Input>
  auto starmap(const TaskName& task, Input&& inputs, size_t chunksize = 0,
               const TaskOptions& options = {}) {
    if constexpr (std::ranges::sized_range<Input>) {
      return map_async_impl<R, true>(task, inputs, chunksize, options).get();
    } else {
      return collect(map_stream<R, true, true>(task, std::forward<Input>(inputs),
                                               std::max<size_t>(chunksize, 1), options));
    }
  }
  // Submits every input now (a sized range); the result resolves with every value, or the first
  // error.
  template <class R, std::ranges::sized_range Input>
  auto map_async(const TaskName& task, Input&& inputs, size_t chunksize = 0,
                 const TaskOptions& options = {}) {
    return map_async_impl<R, false>(task, inputs, chunksize, options);
  }
  template <class R, std::ranges::sized_range Input>
  auto starmap_async(const TaskName& task, Input&& inputs, size_t chunksize = 0,
                     const TaskOptions& options = {}) {
    return map_async_impl<R, true>(task, inputs, chunksize, options);
  }
  // Streamed, in input order (imap) or completion order (imap_unordered); window 0: the pool's
  // default (4 chunks per worker of every rank, at least 16).
  template <class R, class Input>
  auto imap(const TaskName& task, Input&& inputs, size_t chunksize = 1, size_t window = 0,
            const TaskOptions& options = {}) {
    return map_stream<R, false, true>(task, std::forward<Input>(inputs), chunksize, options,
                                      window);
  }
  template <class R, class Input>
  auto imap_unordered(const TaskName& task, Input&& inputs, size_t chunksize = 1,
                      size_t window = 0, const TaskOptions& options = {}) {
    return map_stream<R, false, false>(task, std::forward<Input>(inputs), chunksize, options,
                                       window);
  }

  void close();
  void join();
  void terminate();

  // Workers over every rank (rank 0's own included).
  int processes() const;
  std::vector<RankInfo> ranks() const;
  // As the local Pool's; `workers` counts the workers of the ranks not lost (see
  // PoolOptions::rank_timeout: a lost rank that answers again rejoins), `workers_started` all.
  PoolStats stats() const;
  size_t completed_tasks() const;

 private:
  static constexpr size_t kChunkBytes = size_t{16} << 10;
  template <class Input>
  size_t default_chunksize(const Input& inputs, size_t chunksize) const {
    if (chunksize != 0) return chunksize;
    if constexpr (std::ranges::sized_range<const Input>) {
      const size_t n = static_cast<size_t>(std::ranges::size(inputs));
      // Python's heuristic (4 chunks per worker), but at least 32 chunks: with few workers, a
      // map in 8 chunks leaves no chunk in flight to overlap one rank's transfer with its work.
      const size_t per = static_cast<size_t>(4 * std::max(processes(), 8));
      return std::max<size_t>(n / per + (n % per != 0 ? 1 : 0), 1);
    } else {
      return 1;
    }
  }
  template <class V>
  static std::vector<V> collect(ImapIterator<V>&& it) {
    std::vector<V> out;
    while (auto v = it.next()) out.push_back(std::move(*v));
    return out;
  }
  template <bool Star, class T>
  using args_of = typename mproc::detail::call_shape<Star, void, T>::args;
  // Whether a map's inputs can be packed as they lie in memory: one argument each, sent as its
  // own bytes (the bitwise codec), in a contiguous range.
  template <bool Star, class Input>
  static constexpr bool packs_raw = [] {
    using T = std::ranges::range_value_t<Input>;
    if constexpr (Star || !std::ranges::contiguous_range<Input>) {
      return false;
    } else {
      return std::is_same_v<mproc::detail::wire_t<T>, T> && codec_is_bitwise<T> &&
             std::is_same_v<std::remove_cvref_t<std::ranges::range_reference_t<Input>>, T> &&
             std::is_same_v<args_of<Star, T>, std::tuple<T>>;
    }
  }();

  template <class R, bool Star, class Input>
  auto map_async_impl(const TaskName& task, Input& inputs, size_t chunksize,
                      const TaskOptions& options) {
    using T = std::ranges::range_value_t<Input>;
    using V = mproc::detail::item_t<R>;
    detail::check_args_reach_ranks<args_of<Star, T>>();
    detail::check_registered_task(task.name, typeid(args_of<Star, T>), typeid(R));
    const size_t n = static_cast<size_t>(std::ranges::size(inputs));
    if (chunksize == 0 && n > 0) {
      // The default: Python's heuristic, but no chunk larger than kChunkBytes of arguments
      // (judged by the first input's), so that a serving rank's local pool holds several chunks
      // in a worker's 64 KiB ring while the worker computes (one chunk filling the ring would
      // leave the worker idle while the next one is copied in).
      mproc::detail::TaskWriter probe(mproc::detail::Invoker{}, std::string_view{});
      mproc::detail::add_map_item<Star>(probe, *std::ranges::begin(inputs));
      const size_t item_bytes =
          std::max<size_t>(detail::items_payload(probe).size() - sizeof(uint32_t), 1);
      chunksize = std::clamp<size_t>(kChunkBytes / item_bytes, 1, default_chunksize(inputs, 0));
    }
    chunksize = default_chunksize(inputs, chunksize);
    const size_t chunks = n / chunksize + (n % chunksize != 0 ? 1 : 0);
    auto state = std::make_shared<mproc::detail::MapState<V>>(n, chunks);
    const uint64_t group = engine().new_group();
    state->attach(engine_, group);
    std::vector<detail::RemoteJob> jobs;
    jobs.reserve(chunks);
    auto it = std::ranges::begin(inputs);
    for (size_t offset = 0; offset < n; offset += chunksize) {
      detail::RemoteJob job;
      if constexpr (packs_raw<Star, Input>) {
        // Inputs that travel as their own bytes, side by side in memory: the chunk's items are
        // those bytes as they lie (the layout TaskWriter writes for them), one copy.
        const auto count = static_cast<uint32_t>(std::min(chunksize, n - offset));
        job.items = count;
        job.payload = engine().spare_buffer();
        job.payload.assign(reinterpret_cast<const char*>(&count), sizeof count);
        job.payload.append(reinterpret_cast<const char*>(std::ranges::data(inputs) + offset),
                           size_t{count} * sizeof(T));
      } else {
        mproc::detail::TaskWriter writer(mproc::detail::Invoker{}, std::string_view{});
        for (size_t i = 0; i < chunksize && offset + i < n; ++i, ++it)
          mproc::detail::add_map_item<Star>(writer, *it);
        job.items = writer.count();
        job.payload = detail::items_payload(writer);
      }
      job.task = task.name;
      job.sink = std::make_shared<mproc::detail::MapChunkSink<V>>(state, offset, job.items);
      job.timeout = options.timeout;
      job.group = group;
      jobs.push_back(std::move(job));
    }
    if (!jobs.empty()) engine().submit(jobs);
    return AsyncResult<std::vector<V>>(std::move(state));
  }

  template <class R, bool Star, bool Ordered, class Input>
  ImapIterator<mproc::detail::item_t<R>> map_stream(const TaskName& task, Input&& inputs,
                                                    size_t chunksize, const TaskOptions& options,
                                                    size_t window = 0) {
    using T = mproc::detail::input_value_t<Input>;
    using Source = mproc::detail::input_source_t<Input>;
    detail::check_args_reach_ranks<args_of<Star, T>>();
    detail::check_registered_task(task.name, typeid(args_of<Star, T>), typeid(R));
    if (chunksize == 0) chunksize = 1;
    auto state = std::make_shared<mproc::detail::ImapState>(Ordered);
    auto source = std::make_shared<Source>(std::forward<Input>(inputs));
    const std::optional<Seconds> timeout = options.timeout;
    auto feed = [source, state, chunksize, timeout,
                 name = task.name](uint64_t index) -> std::optional<detail::RemoteJob> {
      mproc::detail::TaskWriter writer(mproc::detail::Invoker{}, std::string_view{});
      for (size_t i = 0; i < chunksize; ++i) {
        auto x = source->next();
        if (!x) break;
        mproc::detail::add_map_item<Star>(writer, *x);
      }
      if (writer.count() == 0) return std::nullopt;
      detail::RemoteJob job;
      job.task = name;
      job.items = writer.count();
      job.payload = detail::items_payload(writer);
      job.sink = std::make_shared<mproc::detail::ImapChunkSink>(state, index, job.items);
      job.timeout = timeout;
      return job;
    };
    return ImapIterator<mproc::detail::item_t<R>>(
        engine_, state, std::move(feed), window != 0 ? window : engine().imap_window());
  }

  detail::Engine& engine() const;

  std::shared_ptr<detail::Engine> engine_;
};

}  // namespace mproc::mpi
