// The untyped and typed cores of an AsyncResult: resolution state, waiting, callbacks,
// cancellation, and the value. Resolved by a pool's dispatcher thread
// (<mproc/detail/pool_results.hpp>).
// Shipped with the headers because the templates of <mproc/async_result.hpp> use it; not API.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>  // Seconds

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace mproc::detail {

class PoolCore;

// The value type a task of result type R yields inside a map / imap (void -> std::monostate).
template <class R>
using item_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

// Logs an exception that escaped a user callback (callbacks must not stop the dispatcher).
MPROC_API void log_callback_exception(const char* what) noexcept;

class ResultCore;

// What cancels the tasks behind a result: the local pool's core, or an mpi::Pool's engine.
class MPROC_API Canceller {
 public:
  virtual ~Canceller();
  // Cancels every task of `group` that can be: see AsyncResult::cancel.
  virtual void cancel(uint64_t group) = 0;
  // Called by a thread about to wait for `result` until `until_ns` (CLOCK_MONOTONIC; UINT64_MAX:
  // no limit): the local pool may do work for it in this thread (see src/pool/guest.cpp) before
  // it sleeps. Default: nothing.
  virtual void help_wait(const ResultCore& result, uint64_t until_ns) noexcept;
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
  // Whether callbacks are registered and have not run (they run in the dispatcher thread).
  virtual bool has_callbacks() const noexcept { return false; }
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

  bool has_callbacks() const noexcept override {
    Callbacks* callbacks = callbacks_.load(std::memory_order_acquire);
    return callbacks != nullptr && callbacks != ran_marker();
  }

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

}  // namespace mproc::detail
