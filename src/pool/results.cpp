// The untyped parts of results: waiting (a futex on the result's state word), errors, and the
// helpers the typed layer calls in workers (exception descriptions, item records).
#include <mproc/pool.hpp>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cxxabi.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <typeinfo>
#include <unistd.h>

#include "common/deadline.hpp"
#include "log/logger.hpp"

namespace mproc::detail {
namespace {

// Private futex: a result's state word lives in the parent's memory only.
void futex_wait_private(std::atomic<uint32_t>* word, uint32_t expected, const timespec* timeout) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, timeout,
            nullptr, 0);
}

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

void ResultCore::wait() const {
  for (;;) {
    uint32_t w = word_.load(std::memory_order_acquire);
    if ((w & kDone) != 0) return;
    if ((w & kWaiters) == 0 && !word_.compare_exchange_weak(w, w | kWaiters)) continue;
    futex_wait_private(&word_, w | kWaiters, nullptr);
  }
}

bool ResultCore::wait_for(Seconds timeout) const {
  check_timeout(timeout, "AsyncResult::wait");
  const Deadline deadline(timeout);
  for (;;) {
    uint32_t w = word_.load(std::memory_order_acquire);
    if ((w & kDone) != 0) return true;
    if (deadline.expired()) return false;
    if ((w & kWaiters) == 0 && !word_.compare_exchange_weak(w, w | kWaiters)) continue;
    const timespec left = deadline.remaining();
    futex_wait_private(&word_, w | kWaiters, &left);
  }
}

void ResultCore::throw_if_failed() const {
  if (code_) throw Error(code_, message_);
}

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
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word_), FUTEX_WAKE_PRIVATE, INT_MAX,
              nullptr, nullptr, 0);
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

void append_failure(std::string& out, size_t at, ItemStatus status, const std::string& text) {
  out.resize(at);
  out.push_back(static_cast<char>(status));
  const auto size = static_cast<uint32_t>(text.size());
  out.append(reinterpret_cast<const char*>(&size), sizeof size);
  out += text;
}

void append_truncated(std::string& out, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i)
    append_failure(out, out.size(), ItemStatus::codec,
                   "task arguments: truncated or malformed bytes");
}

void throw_truncated_arguments() {
  throw Error(errc::codec, "task arguments: truncated or malformed bytes");
}

}  // namespace mproc::detail
