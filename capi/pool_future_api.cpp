// The C ABI of the pool's futures and iterators: translation to mproc::AsyncResult and
// mproc::ImapIterator only.
#include "pool_support.hpp"

#include <chrono>

using mproc::capi::guard;

namespace {

mproc::capi::CFuture& future_of(mproc_future_t* handle, const char* function) {
  return mproc::capi::deref<mproc::capi::CFuture, mproc::detail::HandleKind::future>(
      handle, function, "mproc_future_t");
}

mproc::ImapIterator<std::string>& iterator_of(mproc_pool_iterator_t* handle,
                                              const char* function) {
  auto& c = mproc::capi::deref<mproc::capi::CIterator, mproc::detail::HandleKind::pool_iterator>(
      handle, function, "mproc_pool_iterator_t");
  return *c.it;
}

void give(const std::string& bytes, void** out, size_t* len) {
  *out = mproc::capi::copy_to_buffer(bytes.data(), bytes.size());
  *len = bytes.size();
}

void require_out(const void* out, const size_t* len, const char* function) {
  mproc::capi::require(out, function, "out");
  mproc::capi::require(len, function, "len");
}

}  // namespace

extern "C" {

int mproc_future_wait(mproc_future_t* future, int64_t timeout_ms) {
  return guard("mproc_future_wait", [&] {
    constexpr const char* fn = "mproc_future_wait";
    auto& f = future_of(future, fn);
    mproc::capi::check_timeout_ms(timeout_ms, fn);
    if (timeout_ms == MPROC_WAIT_FOREVER) {
      f.result.wait();
      return 0;
    }
    if (f.result.wait(std::chrono::milliseconds(timeout_ms))) return 0;
    throw mproc::Error(mproc::errc::timed_out,
                       "not resolved within " + std::to_string(timeout_ms) + " ms");
  });
}

int mproc_future_ready(mproc_future_t* future) {
  return guard("mproc_future_ready",
               [&] { return future_of(future, "mproc_future_ready").result.ready() ? 1 : 0; });
}

int mproc_future_successful(mproc_future_t* future) {
  return guard("mproc_future_successful", [&] {
    return future_of(future, "mproc_future_successful").result.successful() ? 1 : 0;
  });
}

int mproc_future_get(mproc_future_t* future, int64_t timeout_ms, void** out, size_t* len) {
  return guard("mproc_future_get", [&] {
    constexpr const char* fn = "mproc_future_get";
    auto& f = future_of(future, fn);
    require_out(out, len, fn);
    mproc::capi::check_timeout_ms(timeout_ms, fn);
    give(timeout_ms == MPROC_WAIT_FOREVER ? f.result.get()
                                          : f.result.get(std::chrono::milliseconds(timeout_ms)),
         out, len);
    return 0;
  });
}

int mproc_future_cancel(mproc_future_t* future) {
  return guard("mproc_future_cancel", [&] {
    future_of(future, "mproc_future_cancel").result.cancel();
    return 0;
  });
}

int mproc_future_on_done(mproc_future_t* future, mproc_future_callback fn, void* user_data) {
  return guard("mproc_future_on_done", [&] {
    constexpr const char* name = "mproc_future_on_done";
    auto& f = future_of(future, name);
    mproc::capi::require(reinterpret_cast<const void*>(fn), name, "fn");
    f.result.on_done(
        [fn, user_data](const std::string& output) {
          fn(0, output.data(), output.size(), user_data);
        },
        [fn, user_data](const mproc::Error& error) {
          const std::string message = error.what();
          fn(mproc::to_c_code(error.code()), message.c_str(), message.size(), user_data);
        });
    return 0;
  });
}

int mproc_future_destroy(mproc_future_t* future) {
  if (future == nullptr) return 0;
  return guard("mproc_future_destroy", [&] {
    if (!mproc::capi::FutureHandles::remove(reinterpret_cast<std::uintptr_t>(future)))
      throw mproc::Error(mproc::errc::bad_handle, "not a live mproc_future_t");
    return 0;
  });
}

int mproc_pool_iterator_next(mproc_pool_iterator_t* it, int64_t timeout_ms, void** out,
                             size_t* len) {
  return guard("mproc_pool_iterator_next", [&] {
    constexpr const char* fn = "mproc_pool_iterator_next";
    auto& i = iterator_of(it, fn);
    require_out(out, len, fn);
    mproc::capi::check_timeout_ms(timeout_ms, fn);
    const std::optional<std::string> next =
        timeout_ms == MPROC_WAIT_FOREVER ? i.next() : i.next(std::chrono::milliseconds(timeout_ms));
    if (!next) throw mproc::Error(mproc::errc::end_of_file, "the iteration has ended");
    give(*next, out, len);
    return 0;
  });
}

int mproc_pool_iterator_destroy(mproc_pool_iterator_t* it) {
  if (it == nullptr) return 0;
  return guard("mproc_pool_iterator_destroy", [&] {
    if (!mproc::capi::IteratorHandles::remove(reinterpret_cast<std::uintptr_t>(it)))
      throw mproc::Error(mproc::errc::bad_handle, "not a live mproc_pool_iterator_t");
    return 0;
  });
}

}  // extern "C"
