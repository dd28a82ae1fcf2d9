// The untyped parts of results: waiting (a futex on the result's state word), errors, and the
// helpers the typed layer calls in workers (exception descriptions, item records).
#include <mproc/pool.hpp>

#include <cstdlib>
#include <cxxabi.h>
#include <typeinfo>

#include "base/cpu_relax.hpp"
#include "base/deadline.hpp"
#include "base/futex.hpp"
#include "base/spin_policy.hpp"
#include "log/logger.hpp"

namespace mproc::detail {
namespace {

std::string readable_type(const std::type_info& type) {
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string result = status == 0 && name != nullptr ? name : type.name();
  std::free(name);
  return result;
}

}  // namespace

ResultCore::~ResultCore() = default;
JobSink::~JobSink() = default;

// A waiter polls this many times before it sleeps on the result's futex: results of tiny tasks
// arrive microseconds apart, and a sleep costs the waiter a context switch and the resolving
// thread a wake-up call (issue 17 item 6). Not where spinning cannot help (spin_policy.hpp).
constexpr int kWaitSpins = 200;

void ResultCore::wait() const {
  if (!ready())
    if (auto pool = pool_.lock()) pool->help_wait(*this, UINT64_MAX);
  if (!ready()) {
    thread_local SpinAdvisor advisor;
    if (advisor.should_spin()) {
      bool arrived = false;
      for (int i = 0; i < kWaitSpins && !(arrived = ready()); ++i) cpu_relax();
      advisor.spun(arrived);
    }
  }
  for (;;) {
    uint32_t w = word_.load(std::memory_order_acquire);
    if ((w & kDone) != 0) return;
    if ((w & kWaiters) == 0 && !word_.compare_exchange_weak(w, w | kWaiters)) continue;
    // Private futex: a result's state word lives in the parent's memory only.
    futex_wait_once(word_, w | kWaiters, nullptr, FutexScope::process_private);
  }
}

bool ResultCore::wait_for(Seconds timeout) const {
  check_timeout(timeout, "AsyncResult::wait");
  const Deadline deadline(timeout);
  if (!ready() && timeout.count() > 0) {
    if (auto pool = pool_.lock()) {
      const double ns = timeout.count() * 1e9;
      pool->help_wait(*this, ns >= 1e18 ? UINT64_MAX : monotonic_ns() + static_cast<uint64_t>(ns));
    }
  }
  for (;;) {
    uint32_t w = word_.load(std::memory_order_acquire);
    if ((w & kDone) != 0) return true;
    if (deadline.expired()) return false;
    if ((w & kWaiters) == 0 && !word_.compare_exchange_weak(w, w | kWaiters)) continue;
    const timespec left = deadline.remaining();
    futex_wait_once(word_, w | kWaiters, &left, FutexScope::process_private);
  }
}

void ResultCore::throw_if_failed() const {
  if (code_) throw Error(code_, message_);
}

Canceller::~Canceller() = default;
void Canceller::help_wait(const ResultCore&, uint64_t) noexcept {}

void ResultCore::cancel() {
  if (ready()) return;
  if (auto pool = pool_.lock()) pool->cancel(group_);
}

bool ResultCore::begin_resolve() noexcept {
  if (resolving_) return false;
  resolving_ = true;
  return true;
}

void ResultCore::set_error(std::error_code code, std::string message) noexcept {
  code_ = code;
  message_ = std::move(message);
}

void ResultCore::publish() noexcept {
  const uint32_t old = word_.exchange(kDone, std::memory_order_acq_rel);
  if ((old & kWaiters) != 0)
    futex_wake_all(word_, FutexScope::process_private);
}

void log_callback_exception(const char* what) noexcept {
  try {
    logger(LogCategory::pool).error("pool: exception in a callback: {}", what);
  } catch (...) {
  }
}

Error item_error(const ItemView& item) {
  const std::string text(item.data, item.size);
  if (item.status == ItemStatus::codec) return Error(errc::codec, text);
  return Error(errc::task_failed, text);
}

std::string describe_current_exception() {
  try {
    throw;
  } catch (const TaskFailure& e) {
    return e.what();  // a plain message, by request: no type name in front
  } catch (const std::exception& e) {
    return readable_type(typeid(e)) + ": " + e.what();
  } catch (...) {
    const std::type_info* type = abi::__cxa_current_exception_type();
    return type != nullptr ? readable_type(*type) + " (not derived from std::exception)"
                           : std::string("unknown exception");
  }
}

void throw_truncated_arguments() {
  throw Error(errc::codec, "task arguments: truncated or malformed bytes");
}

}  // namespace mproc::detail
