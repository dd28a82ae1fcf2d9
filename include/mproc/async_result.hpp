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

namespace detail {

class PoolCore;

// The value type a task of result type R yields inside a map / imap (void -> std::monostate).
template <class R>
using item_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

// Logs an exception that escaped a user callback (callbacks must not stop the dispatcher).
MPROC_API void log_callback_exception(const char* what) noexcept;

// What cancels the tasks behind a result: the local pool's core, or an mpi::Pool's engine.
class MPROC_API Canceller {
 public:
  virtual ~Canceller();
  // Cancels every task of `group` that can be: see AsyncResult::cancel.
  virtual void cancel(uint64_t group) = 0;
};

// The untyped half of a result: resolution state, error, waiting, cancellation.
// Thread-safety: resolved by the dispatcher thread only; waited on by any thread.
class MPROC_API ResultCore {
 public:
  ResultCore() = default;
  virtual ~ResultCore();
  ResultCore(const ResultCore&) = delete;
  ResultCore& operator=(const ResultCore&) = delete;

  bool ready() const noexcept { return (word_.load(std::memory_order_acquire) & kDone) != 0; }
  void wait() const;
  // True if resolved within `timeout`. Errors: EINVAL for a negative or NaN timeout.
  bool wait_for(Seconds timeout) const;
  // Resolved and failed. Only meaningful once ready().
  bool failed() const noexcept { return static_cast<bool>(code_); }
  const std::error_code& error_code() const noexcept { return code_; }
  const std::string& error_message() const noexcept { return message_; }
  // Throws the stored Error if the result failed.
  void throw_if_failed() const;

  // Asks the pool to cancel the task(s) behind this result (no effect once resolved).
  void cancel();
  void attach(std::weak_ptr<Canceller> pool, uint64_t group) noexcept {
    pool_ = std::move(pool);
    group_ = group;
  }
  uint64_t group() const noexcept { return group_; }
  // Dispatcher side: true once a resolution has started (a second one is ignored).
  bool resolving() const noexcept { return resolving_; }

 protected:
  // Dispatcher side. begin_resolve() returns false if already resolved.
  bool begin_resolve() noexcept;
  void set_error(std::error_code code, std::string message) noexcept;
  // Marks the result done and wakes every waiter.
  void publish() noexcept;

 private:
  static constexpr uint32_t kDone = 1;
  static constexpr uint32_t kWaiters = 2;
  mutable std::atomic<uint32_t> word_{0};
  bool resolving_ = false;
  std::error_code code_;
  std::string message_;
  std::weak_ptr<Canceller> pool_;
  uint64_t group_ = 0;
};

// A result carrying a value of type V (std::monostate for void tasks) and its callbacks.
template <class V>
class ValueCore : public ResultCore {
 public:
  using ValueCallback = std::function<void(const V&)>;
  using ErrorCallback = std::function<void(const Error&)>;

  ValueCore() = default;
  ~ValueCore() override {
    Callbacks* callbacks = callbacks_.load(std::memory_order_acquire);
    if (callbacks != ran_marker()) delete callbacks;  // never resolved (its submission failed)
  }

  const V& value() const noexcept { return *value_; }

  void add_callbacks(ValueCallback on_value, ErrorCallback on_error) {
    auto fresh = std::make_unique<Callbacks>(Callbacks{std::move(on_value), std::move(on_error)});
    Callbacks* current = callbacks_.load(std::memory_order_acquire);
    while (current != ran_marker()) {
      if (callbacks_.compare_exchange_weak(current, fresh.get(), std::memory_order_acq_rel)) {
        fresh.release();
        delete current;  // set earlier, replaced before they ran
        return;
      }
    }
    // Already resolved: run now, in this thread.
    wait();
    run_callbacks(fresh->on_value, fresh->on_error);
  }

  // Dispatcher side.
  void resolve_value(V value) noexcept {
    if (!begin_resolve()) return;
    value_.emplace(std::move(value));
    finish();
  }
  void resolve_error(std::error_code code, std::string message) noexcept {
    if (!begin_resolve()) return;
    set_error(code, std::move(message));
    finish();
  }

 private:
  struct Callbacks {
    ValueCallback on_value;
    ErrorCallback on_error;
  };
  // The value of callbacks_ once finish() has taken them: add_callbacks then runs its own at once.
  static Callbacks* ran_marker() noexcept {
    return reinterpret_cast<Callbacks*>(alignof(Callbacks));
  }

  void finish() noexcept {
    // Whoever swaps a Callbacks pointer out of callbacks_ owns it: no lock, and no allocation
    // for results without callbacks (almost all of them).
    const std::unique_ptr<Callbacks> callbacks(
        callbacks_.exchange(ran_marker(), std::memory_order_acq_rel));
    if (callbacks) run_callbacks(callbacks->on_value, callbacks->on_error);
    publish();
  }

  void run_callbacks(const ValueCallback& on_value, const ErrorCallback& on_error) noexcept {
    try {
      if (failed()) {
        if (on_error) on_error(Error(error_code(), error_message()));
      } else if (on_value) {
        on_value(*value_);
      }
    } catch (const std::exception& e) {
      log_callback_exception(e.what());
    } catch (...) {
      log_callback_exception("an exception not derived from std::exception");
    }
  }

  std::optional<V> value_;
  std::atomic<Callbacks*> callbacks_{nullptr};  // see finish()
};

}  // namespace detail

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
