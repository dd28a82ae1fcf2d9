// The C ABI for queues: translation to mproc::Queue / SimpleQueue / JoinableQueue only.
#include "mproc.h"

#include <mproc/queue.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <variant>

#include "capi_support.hpp"

namespace {

using mproc::Error;
using mproc::errc;
using mproc::JoinableQueue;
using mproc::Queue;
using mproc::SimpleQueue;
using mproc::detail::HandleKind;

// The object behind an mproc_queue_t: one of the three kinds.
struct CQueue {
  std::variant<Queue, SimpleQueue, JoinableQueue> queue;

  mproc::detail::QueueBase& base() {
    return std::visit([](auto& q) -> mproc::detail::QueueBase& { return q; }, queue);
  }
  int kind() const {
    if (std::holds_alternative<SimpleQueue>(queue)) return MPROC_QUEUE_SIMPLE;
    if (std::holds_alternative<JoinableQueue>(queue)) return MPROC_QUEUE_JOINABLE;
    return MPROC_QUEUE_QUEUE;
  }
  // The Queue interface (qsize, full), which a SimpleQueue does not have.
  Queue& counted(const char* function) {
    if (auto* q = std::get_if<Queue>(&queue)) return *q;
    if (auto* q = std::get_if<JoinableQueue>(&queue)) return *q;
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(function) + ": a SimpleQueue has no such operation");
  }
  JoinableQueue& joinable(const char* function) {
    if (auto* q = std::get_if<JoinableQueue>(&queue)) return *q;
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string(function) + ": not a joinable queue");
  }
};

using QueueHandles = mproc::detail::Handles<CQueue, HandleKind::queue>;

CQueue& queue_of(mproc_queue_t* handle, const char* function) {
  return mproc::capi::deref<CQueue, HandleKind::queue>(handle, function, "mproc_queue_t");
}

Error invalid(const char* function, const std::string& what) {
  return Error(std::make_error_code(std::errc::invalid_argument), std::string(function) + ": " + what);
}

// C timeouts: 0 = do not wait, MPROC_WAIT_FOREVER = no limit.
// Plain fields, returned in registers: as a std::optional (a double and a flag byte) it went
// through memory and was read back wider than written, a failed store-to-load forward per call.
struct Wait {
  bool block;
  bool timed;
  double seconds;  // when timed
  std::optional<mproc::Seconds> timeout() const {
    return timed ? std::optional<mproc::Seconds>(seconds) : std::nullopt;
  }
};
Wait wait_of(int64_t timeout_ms, const char* function) {
  mproc::capi::check_timeout_ms(timeout_ms, function);
  if (timeout_ms == 0) return {false, false, 0};
  if (timeout_ms == MPROC_WAIT_FOREVER) return {true, false, 0};
  return {true, true, mproc::Seconds(std::chrono::milliseconds(timeout_ms)).count()};
}

// A full or empty queue is the call's ordinary outcome here, so the core reports it without an
// exception (QueueBase::try_*) and it becomes the code directly.
int full_or_empty(int code, const Wait& wait, int64_t timeout_ms) {
  if (!wait.block)
    return mproc::capi::fail(code, code == MPROC_EFULL ? "the queue is full" : "the queue is empty");
  const char* what = code == MPROC_EFULL ? "full" : "empty";
  return mproc::capi::fail(code, std::string("the queue is still ") + what + " after " +
                                     std::to_string(timeout_ms) + " ms");
}

mproc_queue_t* publish(CQueue queue) {
  return reinterpret_cast<mproc_queue_t*>(
      QueueHandles::insert(std::make_unique<CQueue>(std::move(queue))));
}

mproc_queue_options_t read_options(const mproc_queue_options_t* given) {
  mproc_queue_options_t options;
  mproc_queue_options_init(&options);
  if (given == nullptr) return options;
  constexpr const char* fn = "mproc_queue_create";
  if (given->struct_size < sizeof(mproc_queue_options_t)) {
    if (given->struct_size == 0) throw invalid(fn, "options->struct_size is 0");
    throw invalid(fn, "options->struct_size " + std::to_string(given->struct_size) +
                          " is smaller than any version of mproc_queue_options_t");
  }
  // A newer caller's struct: accepted if the fields this library does not know are all zero.
  const auto* extra = reinterpret_cast<const unsigned char*>(given) + sizeof(mproc_queue_options_t);
  for (size_t i = 0; i < given->struct_size - sizeof(mproc_queue_options_t); ++i)
    if (extra[i] != 0)
      throw invalid(fn, "options set fields this library version does not know");
  std::memcpy(&options, given, sizeof options);
  return options;
}

}  // namespace

extern "C" {

void mproc_queue_options_init(mproc_queue_options_t* options) {
  if (options == nullptr) return;
  *options = mproc_queue_options_t{};
  options->struct_size = sizeof(mproc_queue_options_t);
  options->kind = MPROC_QUEUE_QUEUE;
  options->maxsize = 0;
  options->capacity_bytes = 0;
}

int mproc_queue_create(const mproc_queue_options_t* given, mproc_queue_t** out) {
  return mproc::capi::guard("mproc_queue_create", [&] {
    constexpr const char* fn = "mproc_queue_create";
    mproc::capi::require(out, fn, "out");
    const mproc_queue_options_t options = read_options(given);
    if (options.maxsize < 0)
      throw invalid(fn, "maxsize " + std::to_string(options.maxsize) + " is negative");
    if (options.capacity_bytes < 0)
      throw invalid(fn, "capacity_bytes " + std::to_string(options.capacity_bytes) + " is negative");
    mproc::QueueOptions cpp;
    cpp.maxsize = static_cast<std::size_t>(options.maxsize);
    if (options.capacity_bytes != 0)
      cpp.capacity_bytes = static_cast<std::size_t>(options.capacity_bytes);
    switch (options.kind) {
      case MPROC_QUEUE_QUEUE:
        *out = publish(CQueue{Queue(cpp)});
        return 0;
      case MPROC_QUEUE_JOINABLE:
        *out = publish(CQueue{JoinableQueue(cpp)});
        return 0;
      case MPROC_QUEUE_SIMPLE:
        if (options.maxsize != 0) throw invalid(fn, "a SimpleQueue has no maxsize");
        *out = publish(CQueue{SimpleQueue(cpp.capacity_bytes)});
        return 0;
      default:
        throw invalid(fn, "unknown queue kind " + std::to_string(options.kind));
    }
  });
}

int mproc_queue_attach(const char* handle, mproc_queue_t** out) {
  return mproc::capi::guard("mproc_queue_attach", [&] {
    constexpr const char* fn = "mproc_queue_attach";
    mproc::capi::require(handle, fn, "handle");
    mproc::capi::require(out, fn, "out");
    // Try the kinds in turn: only a kind mismatch (errc::bad_handle naming the segment's actual
    // kind, " is a ...") moves on to the next.
    auto attach_as = [&](auto attach) {
      try {
        *out = publish(CQueue{attach(handle)});
        return true;
      } catch (const Error& e) {
        if (e.code() != mproc::make_error_code(errc::bad_handle) ||
            std::string(e.what()).find(" is a ") == std::string::npos)
          throw;
        return false;
      }
    };
    if (attach_as([](const char* h) { return Queue::attach(h); })) return 0;
    if (attach_as([](const char* h) { return JoinableQueue::attach(h); })) return 0;
    *out = publish(CQueue{SimpleQueue::attach(handle)});
    return 0;
  });
}

int mproc_queue_handle(mproc_queue_t* queue, char* buf, size_t len) {
  return mproc::capi::guard("mproc_queue_handle", [&] {
    const std::string handle = queue_of(queue, "mproc_queue_handle").base().handle();
    if (len > 0) {
      mproc::capi::require(buf, "mproc_queue_handle", "buf");
      const size_t n = std::min(len - 1, handle.size());
      std::memcpy(buf, handle.data(), n);
      buf[n] = '\0';
    }
    return static_cast<int>(handle.size());
  });
}

int mproc_queue_kind(mproc_queue_t* queue) {
  return mproc::capi::guard("mproc_queue_kind", [&] { return queue_of(queue, "mproc_queue_kind").kind(); });
}

int mproc_queue_put(mproc_queue_t* queue, const void* data, size_t len, int64_t timeout_ms) {
  return mproc::capi::guard("mproc_queue_put", [&] {
    constexpr const char* fn = "mproc_queue_put";
    auto& q = queue_of(queue, fn);
    if (data == nullptr && len > 0) throw invalid(fn, "data is NULL");
    const Wait wait = wait_of(timeout_ms, fn);
    if (q.base().try_put_bytes(data, len, wait.block, wait.timeout())) return 0;
    return full_or_empty(MPROC_EFULL, wait, timeout_ms);
  });
}

int mproc_queue_get(mproc_queue_t* queue, int64_t timeout_ms, void** data, size_t* len) {
  return mproc::capi::guard("mproc_queue_get", [&] {
    constexpr const char* fn = "mproc_queue_get";
    auto& q = queue_of(queue, fn);
    mproc::capi::require(data, fn, "data");
    mproc::capi::require(len, fn, "len");
    const Wait wait = wait_of(timeout_ms, fn);
    void* buffer = nullptr;
    const std::optional<size_t> size = q.base().try_get_with(
        [](std::size_t n, void* context) -> void* {
          // malloc, as mproc_buffer_free expects; at least one byte, so that an empty message
          // still gives a non-NULL buffer.
          return *static_cast<void**>(context) = std::malloc(n == 0 ? 1 : n);
        },
        &buffer, wait.block, wait.timeout());
    if (!size) return full_or_empty(MPROC_EEMPTY, wait, timeout_ms);
    *data = buffer;
    *len = *size;
    return 0;
  });
}

int mproc_queue_get_into(mproc_queue_t* queue, void* buffer, size_t size, size_t* len,
                         int64_t timeout_ms) {
  return mproc::capi::guard("mproc_queue_get_into", [&] {
    constexpr const char* fn = "mproc_queue_get_into";
    auto& q = queue_of(queue, fn);
    mproc::capi::require(len, fn, "len");
    if (buffer == nullptr && size > 0) throw invalid(fn, "buffer is NULL");
    const Wait wait = wait_of(timeout_ms, fn);
    const std::optional<size_t> got = q.base().try_get_into(buffer, size, wait.block, wait.timeout(), len);
    if (!got) return full_or_empty(MPROC_EEMPTY, wait, timeout_ms);
    *len = *got;
    return 0;
  });
}

int mproc_queue_qsize(mproc_queue_t* queue) {
  return mproc::capi::guard("mproc_queue_qsize", [&] {
    return static_cast<int>(queue_of(queue, "mproc_queue_qsize").counted("mproc_queue_qsize").qsize());
  });
}

int mproc_queue_empty(mproc_queue_t* queue) {
  return mproc::capi::guard("mproc_queue_empty", [&] {
    return queue_of(queue, "mproc_queue_empty").base().empty() ? 1 : 0;
  });
}

int mproc_queue_full(mproc_queue_t* queue) {
  return mproc::capi::guard("mproc_queue_full", [&] {
    return queue_of(queue, "mproc_queue_full").counted("mproc_queue_full").full() ? 1 : 0;
  });
}

int mproc_queue_max_message_size(mproc_queue_t* queue) {
  return mproc::capi::guard("mproc_queue_max_message_size", [&] {
    auto& q = queue_of(queue, "mproc_queue_max_message_size").base();
    if (q.closed()) throw Error(errc::closed, "mproc_queue_max_message_size: the queue is closed");
    return static_cast<int>(std::min<std::size_t>(q.max_message_size(), INT_MAX));
  });
}

int mproc_queue_task_done(mproc_queue_t* queue) {
  return mproc::capi::guard("mproc_queue_task_done", [&] {
    queue_of(queue, "mproc_queue_task_done").joinable("mproc_queue_task_done").task_done();
    return 0;
  });
}

int mproc_queue_join(mproc_queue_t* queue, int64_t timeout_ms) {
  return mproc::capi::guard("mproc_queue_join", [&] {
    constexpr const char* fn = "mproc_queue_join";
    auto& q = queue_of(queue, fn).joinable(fn);
    mproc::capi::check_timeout_ms(timeout_ms, fn);
    if (timeout_ms == MPROC_WAIT_FOREVER) {
      q.join();
      return 0;
    }
    if (q.join(std::chrono::milliseconds(timeout_ms))) return 0;
    return mproc::capi::fail(MPROC_ETIMEDOUT, std::string(fn) + ": tasks still unfinished after " +
                                                  std::to_string(timeout_ms) + " ms");
  });
}

int mproc_queue_close(mproc_queue_t* queue) {
  return mproc::capi::guard("mproc_queue_close", [&] {
    queue_of(queue, "mproc_queue_close").base().close();
    return 0;
  });
}

int mproc_queue_destroy(mproc_queue_t* queue) {
  if (queue == nullptr) return 0;
  return mproc::capi::guard("mproc_queue_destroy", [&] {
    auto owned = QueueHandles::remove(reinterpret_cast<std::uintptr_t>(queue));
    if (!owned)
      throw Error(errc::bad_handle, "mproc_queue_destroy: not a live mproc_queue_t");
    return 0;
  });
}

}  // extern "C"
