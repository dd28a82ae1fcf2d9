// Runs tasks that arrived by name through a local mproc pool (the local pool's seam,
// <mproc/detail/pool_named.hpp>: forkserver workers), and collects their outcomes as RESULTS
// messages for the MPI thread to send back. Used by every serving rank, and by rank 0 for its own
// workers.
// Thread-safety: add / flush / take / close_and_join / terminate from one thread (the MPI-owning
// one); outcomes are pushed by the local pool's dispatcher thread.
#pragma once

#include <mproc/detail/pool_named.hpp>
#include <mproc/pool.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mproc::mpi {

class Executor {
 public:
  // Forks `processes` workers (forkserver). `wake` is called, from the local pool's dispatcher
  // thread, whenever an outcome is ready. Outcomes are written as RESULTS messages of pool `pool`
  // (wire.hpp), straight from the local pool's ring: the bytes are copied once on their way from a
  // worker to MPI. Errors: those of the local Pool.
  Executor(int processes, std::function<void()> wake, uint64_t pool);
  ~Executor();  // terminates the local pool if it was not joined
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  int processes() const noexcept { return processes_; }
  // Queues a task (see wire.hpp for the payload) for the next flush. A task that cannot run (an
  // unknown name, a malformed payload) gets a failed outcome at once.
  void add(uint64_t id, std::string_view name, std::string_view payload,
           std::optional<Seconds> timeout);
  // Submits the tasks added since the last flush, in one batch.
  void flush();
  // Cancels task `id` in the local pool (as AsyncResult::cancel): its outcome is errc::cancelled.
  void cancel(uint64_t id);
  // Moves the RESULTS messages ready so far (whole, each at most about 4 MiB unless one result is
  // larger) to the end of `out`; returns how many outcomes they hold.
  size_t take(std::vector<std::string>& out);
  // Waits for every submitted task, then for the workers to exit.
  void close_and_join();
  // Kills the workers now; their tasks' outcomes are dropped.
  void terminate();
  // Tasks added whose outcome was not taken yet.
  size_t outstanding() const noexcept { return outstanding_; }
  // The local pool's counters.
  PoolStats stats() const { return runner_->stats(); }

  struct Outbox;

 private:
  int processes_;
  std::shared_ptr<Outbox> outbox_;
  std::unique_ptr<mproc::detail::NamedRunner> runner_;
  size_t outstanding_ = 0;
  bool joined_ = false;
};

}  // namespace mproc::mpi
