// The byte-level core of a Pool (src/pool): it takes Jobs (a payload of bytes and a sink for
// the outcome), runs them on the workers and hands their result records to the sinks, in the
// dispatcher thread. The typed layer of <mproc/pool.hpp> turns calls into Jobs and results back.
// Shipped with the headers because the templates of <mproc/pool.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/detail/result_core.hpp>  // Canceller
#include <mproc/export.h>
#include <mproc/process.hpp>  // Seconds

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace mproc {

struct PoolOptions;
struct PoolStats;

namespace detail {

// Receives the outcome of one job, in the dispatcher thread.
class MPROC_API JobSink {
 public:
  virtual ~JobSink();
  // The job's result items (`count` records; read them with next_item).
  virtual void on_items(const char* data, size_t size, uint32_t count) noexcept = 0;
  // The whole job failed (worker died, timeout, cancelled, terminated, broken pool).
  virtual void on_failure(std::error_code code, const std::string& message) noexcept = 0;
};

// A task as the core sees it: opaque bytes for the worker, a sink for the outcome.
struct Job {
  std::string payload;  // built by TaskWriter
  std::shared_ptr<JobSink> sink;
  uint64_t group = 0;   // cancel() cancels every job of a group
  uint32_t items = 1;
  std::optional<Seconds> timeout;
};

class MPROC_API PoolCore : public std::enable_shared_from_this<PoolCore>, public Canceller {
 public:
  static std::shared_ptr<PoolCore> create(PoolOptions options);
  ~PoolCore();
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;

  uint64_t new_group() noexcept;
  // Queues jobs for the dispatcher. `feeder` marks submissions by an imap iterator on behalf of a
  // call made before close(): accepted until join(). Errors: closed, terminated, bad_state.
  void submit(std::vector<Job>& jobs, bool feeder = false);
  // As submit, for one job. `waiter`: the result the calling thread waits for right after (its
  // job's), or null; then on an idle pool this thread may also collect it (src/pool/guest.cpp).
  void submit_one(Job& job, const ResultCore* waiter = nullptr);
  // As submit_one, for one job whose payload is small (copied).
  void submit_small(std::string_view payload, std::shared_ptr<JobSink> sink, uint64_t group,
                    const std::optional<Seconds>& timeout, const ResultCore* waiter = nullptr);
  void cancel(uint64_t group) override;
  // Sends or collects in the waiting thread while the dispatcher thread sleeps (guest.cpp).
  void help_wait(const ResultCore& result, uint64_t until_ns) noexcept override;
  // An imap iterator with input left registers as a feeder; see Pool::close. Errors: closed,
  // terminated (a new iterator on a pool that no longer runs), bad_state.
  void add_feeder();
  void remove_feeder() noexcept;

  void close();
  void join();
  void terminate();
  int processes() const noexcept;
  PoolStats stats() const;
  size_t completed() const noexcept;
  std::vector<pid_t> worker_pids() const;
  size_t imap_window() const noexcept;

  struct Impl;

 private:
  explicit PoolCore(PoolOptions options);
  std::unique_ptr<Impl> impl_;
};

}  // namespace detail
}  // namespace mproc
