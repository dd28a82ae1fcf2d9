// AsyncResult: the future returned by Pool::apply_async and Pool::map_async (Python's
// multiprocessing.pool.AsyncResult).
//
//   auto r = pool.apply_async(square, 7);
//   r.wait(1s);          // true once resolved
//   int v = r.get();     // the value, or throws mproc::Error
//
// Every AsyncResult is resolved exactly once, by the pool's dispatcher thread: with the task's
// value, or with an Error whose code says why (errc::task_failed with "<exception type>: <what>"
// when the task threw, worker_died, timed_out, cancelled, terminated, broken, codec). A pool never
// leaves a result unresolved: terminate() and the Pool destructor resolve every outstanding
// result before they return. A resolved AsyncResult does not need its pool: it may outlive it.
//
// Callbacks (on_done) run in the pool's dispatcher thread before waiters are woken, as Python's
// callbacks run in its result-handler thread; or at once in the calling thread if the result is
// already resolved. They must be quick and must not wait for another result of the same pool (the
// dispatcher would be waiting for itself). An exception escaping a callback is logged and dropped.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/detail/result_core.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace mproc {

/// The future of one apply_async (R = the task's return type) or one map_async
/// (R = std::vector<...>). Copies share the same result.
/// Thread-safety: every method may be called from any thread, concurrently.
/// Errors: get() rethrows the task's failure as mproc::Error: errc::task_failed, worker_died,
/// timed_out, cancelled, terminated, broken.
/// Fork-safety: belongs to the process that created the pool: a forked child's copy never resolves
/// and must not be waited on.
template <class R>
class AsyncResult {
 public:
  using value_type = detail::item_t<R>;

  AsyncResult() = default;
  explicit AsyncResult(std::shared_ptr<detail::ValueCore<value_type>> core)
      : core_(std::move(core)) {}

  bool valid() const noexcept { return static_cast<bool>(core_); }
  // True once resolved (with a value or an error).
  bool ready() const { return checked().ready(); }
  // True if resolved with a value. Errors: bad_state if not ready (Python's ValueError).
  bool successful() const {
    if (!ready()) throw Error(errc::bad_state, "AsyncResult::successful: the result is not ready");
    return !core_->failed();
  }
  void wait() const { checked().wait(); }
  // True if resolved within `timeout`; a timeout is not an error here.
  bool wait(Seconds timeout) const { return checked().wait_for(timeout); }

  // Waits and returns the value (a copy: get() may be called again), or throws the task's Error.
  R get() const {
    checked().wait();
    return value();
  }
  // As get(), but throws Error(errc::timed_out) if not resolved within `timeout` (as Python's
  // TimeoutError); the task keeps running.
  R get(Seconds timeout) const {
    if (!checked().wait_for(timeout))
      throw Error(errc::timed_out, "AsyncResult::get: the result was not ready in time");
    return value();
  }

  // Asks the pool to cancel the task. A task not started yet is removed; a running task's worker
  // is killed (and replaced). Either way the result resolves with errc::cancelled — unless the
  // task finished first, in which case it keeps its value. Returns at once; wait() to see which.
  void cancel() const { checked().cancel(); }

  // Calls on_value(value) or on_error(error) once the result is resolved: in the pool's
  // dispatcher thread, or at once in this thread if it already is (see the file comment).
  // Replaces callbacks set earlier that have not run.
  void on_done(std::function<void(const value_type&)> on_value,
               std::function<void(const Error&)> on_error = {}) const {
    checked();
    core_->add_callbacks(std::move(on_value), std::move(on_error));
  }

 private:
  detail::ValueCore<value_type>& checked() const {
    if (!core_) throw Error(errc::bad_state, "AsyncResult: empty (default-constructed)");
    return *core_;
  }
  R value() const {
    core_->throw_if_failed();
    if constexpr (!std::is_void_v<R>) return core_->value();
  }

  std::shared_ptr<detail::ValueCore<value_type>> core_;
};

}  // namespace mproc
