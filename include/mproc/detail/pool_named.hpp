// The local pool's one seam for a library that receives tasks as bytes from elsewhere and runs
// them by their registered names: libmproc_mpi (a serving rank's tasks, and rank 0's own workers).
// It is all such a library needs of the local pool: PoolCore, Job and the payload's head stay the
// pool's own, free to change with it.
// Shipped with the headers because libmproc_mpi is a library of its own; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/export.h>
#include <mproc/process.hpp>  // Seconds

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>

namespace mproc {

struct PoolStats;

namespace detail {

class TaskWriter;

// Runs tasks named by registration (register_task) on a local pool of forkserver workers.
// Thread-safety: every call from one thread; `Done` runs in the pool's dispatcher thread.
class MPROC_API NamedRunner {
 public:
  // The outcome of task `id`: code 0 and `count` item records (detail/pool_wire.hpp), or an error
  // (the C ABI's code: MPROC_E..., -errno) and its message. Must not throw.
  using Done = std::function<void(uint64_t id, uint32_t count, int32_t code,
                                  std::string_view bytes)>;

  // Forks `processes` workers through the forkserver. Errors: those of Pool.
  NamedRunner(int processes, Done done);
  // Terminates the workers unless close_and_join() ran.
  ~NamedRunner();
  NamedRunner(const NamedRunner&) = delete;
  NamedRunner& operator=(const NamedRunner&) = delete;

  // Queues task `id`: `items` is [u32 count][items] (items_payload). A task that cannot run (an
  // unknown name, a malformed payload) gets its failed outcome at once.
  void add(uint64_t id, std::string_view name, std::string_view items,
           std::optional<Seconds> timeout);
  // Submits what was added since the last flush, as one batch.
  void flush();
  // As AsyncResult::cancel: not started, removed; running, its worker killed and replaced.
  void cancel(uint64_t id);
  // Waits for every submitted task, then for the workers to exit.
  void close_and_join();
  // Kills the workers now; the outcomes of their tasks may still be reported (terminated).
  void terminate();
  PoolStats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The [u32 count][items] part of the payload of a TaskWriter(Invoker{}, "") (no invoker and no
// callable: the receiving side writes its own, found by the task's name).
MPROC_API std::string items_payload(TaskWriter& writer);
// Errors: EINVAL for an unknown name, or a registration with other argument or result types.
MPROC_API void check_registered_task(const std::string& name, const std::type_info& args,
                                     const std::type_info& result);

}  // namespace detail
}  // namespace mproc
