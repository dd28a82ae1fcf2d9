// The C ABI for pipes, connections, wait and library-owned buffers: translation to
// mproc::Connection only.
#include "mproc.h"

#include <mproc/connection.hpp>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "base/deadline.hpp"
#include "capi_support.hpp"

namespace {

using mproc::Connection;
using mproc::detail::HandleKind;
using ConnectionHandles = mproc::detail::Handles<Connection, HandleKind::connection>;

Connection& connection_of(mproc_connection_t* handle, const char* function) {
  return mproc::capi::deref<Connection, HandleKind::connection>(handle, function,
                                                                "mproc_connection_t");
}

// The C timeout: MPROC_WAIT_FOREVER is none, and so is MPROC_WAIT_INTERRUPTIBLE (with the
// caller's Interruptible scope).
std::optional<mproc::Seconds> timeout_of(int64_t timeout_ms, const char* function) {
  if (timeout_ms == MPROC_WAIT_INTERRUPTIBLE) return std::nullopt;
  mproc::capi::check_timeout_ms(timeout_ms, function);
  if (timeout_ms == MPROC_WAIT_FOREVER) return std::nullopt;
  return std::chrono::milliseconds(timeout_ms);
}

// MPROC_WAIT_INTERRUPTIBLE: the receive's wait returns at a signal (EINTR) for the scope's life.
class Interruptible {
 public:
  explicit Interruptible(int64_t timeout_ms) {
    if (timeout_ms == MPROC_WAIT_INTERRUPTIBLE) scope_.emplace();
  }

 private:
  std::optional<mproc::detail::InterruptibleWaits> scope_;
};

// malloc'd memory for a received message, handed to the C caller (released by mproc_buffer_free);
// never zero-filled, and at least one byte, so that an empty message is not NULL.
class MallocBuffer {
 public:
  MallocBuffer() = default;
  ~MallocBuffer() { std::free(data_); }
  MallocBuffer(const MallocBuffer&) = delete;
  MallocBuffer& operator=(const MallocBuffer&) = delete;

  char* grow(std::size_t capacity) {
    void* grown = std::realloc(data_, capacity == 0 ? 1 : capacity);
    if (grown == nullptr) throw std::bad_alloc();
    data_ = static_cast<char*>(grown);
    return data_;
  }
  void* release() noexcept {
    void* data = data_;
    data_ = nullptr;
    return data;
  }

 private:
  char* data_ = nullptr;
};

int timed_out(const char* function, int64_t timeout_ms) {
  return mproc::capi::fail(MPROC_ETIMEDOUT, std::string(function) + ": no message within " +
                                                std::to_string(timeout_ms) + " ms");
}

mproc_connection_t* to_handle(Connection connection) {
  return reinterpret_cast<mproc_connection_t*>(
      ConnectionHandles::insert(std::make_unique<Connection>(std::move(connection))));
}

}  // namespace

extern "C" {

int mproc_pipe_create(int duplex, mproc_connection_t** a, mproc_connection_t** b) {
  return mproc::capi::guard("mproc_pipe_create", [&] {
    mproc::capi::require(a, "mproc_pipe_create", "a");
    mproc::capi::require(b, "mproc_pipe_create", "b");
    if (a == b)
      return mproc::capi::fail(-EINVAL, "mproc_pipe_create: a and b point to the same place");
    auto [first, second] = mproc::pipe(duplex != 0);
    mproc_connection_t* first_handle = to_handle(std::move(first));
    try {
      *b = to_handle(std::move(second));
    } catch (...) {
      ConnectionHandles::remove(reinterpret_cast<std::uintptr_t>(first_handle));
      throw;
    }
    *a = first_handle;
    return 0;
  });
}

int mproc_connection_from_fd(int fd, int readable, int writable, mproc_connection_t** out) {
  constexpr const char* kFunction = "mproc_connection_from_fd";
  return mproc::capi::guard("mproc_connection_from_fd", [&] {
    mproc::capi::require(out, kFunction, "out");
    if (fd < 0) return mproc::capi::fail(-EBADF, std::string(kFunction) + ": fd is negative");
    *out = to_handle(Connection(fd, readable != 0, writable != 0));
    return 0;
  });
}

int mproc_connection_send_bytes(mproc_connection_t* c, const void* data, size_t len) {
  constexpr const char* kFunction = "mproc_connection_send_bytes";
  return mproc::capi::guard(kFunction, [&] {
    auto& connection = connection_of(c, kFunction);
    if (len > 0) mproc::capi::require(data, kFunction, "data");
    connection.send_bytes(data, len);
    return 0;
  });
}

int mproc_connection_recv_bytes(mproc_connection_t* c, int64_t timeout_ms, void** out,
                                size_t* len) {
  constexpr const char* kFunction = "mproc_connection_recv_bytes";
  return mproc::capi::guard(kFunction, [&] {
    auto& connection = connection_of(c, kFunction);
    mproc::capi::require(out, kFunction, "out");
    mproc::capi::require(len, kFunction, "len");
    const auto timeout = timeout_of(timeout_ms, kFunction);
    const Interruptible interruptible(timeout_ms);
    MallocBuffer buffer;
    const auto size = connection.recv_with(
        [&buffer](std::size_t capacity) { return buffer.grow(capacity); }, timeout);
    if (!size) return timed_out(kFunction, timeout_ms);
    *len = *size;
    *out = buffer.release();
    return 0;
  });
}

int mproc_connection_recv_bytes_into(mproc_connection_t* c, void* buf, size_t cap, size_t* len,
                                     int64_t timeout_ms) {
  constexpr const char* kFunction = "mproc_connection_recv_bytes_into";
  return mproc::capi::guard(kFunction, [&] {
    auto& connection = connection_of(c, kFunction);
    mproc::capi::require(len, kFunction, "len");
    if (cap > 0) mproc::capi::require(buf, kFunction, "buf");
    const auto timeout = timeout_of(timeout_ms, kFunction);
    const Interruptible interruptible(timeout_ms);
    try {
      const auto size = timeout ? connection.recv_bytes_into(buf, cap, *timeout)
                                : std::optional(connection.recv_bytes_into(buf, cap));
      if (!size) return timed_out(kFunction, timeout_ms);
      *len = *size;
    } catch (const mproc::BufferTooShort& e) {
      *len = e.message_size();
      throw;
    }
    return 0;
  });
}

int mproc_connection_poll(mproc_connection_t* c, int64_t timeout_ms) {
  return mproc::capi::guard("mproc_connection_poll", [&] {
    auto& connection = connection_of(c, "mproc_connection_poll");
    mproc::capi::check_timeout_ms(timeout_ms, "mproc_connection_poll");
    if (timeout_ms == MPROC_WAIT_FOREVER) return connection.poll(std::nullopt) ? 1 : 0;
    return connection.poll(std::chrono::milliseconds(timeout_ms)) ? 1 : 0;
  });
}

int mproc_connection_fileno(mproc_connection_t* c) {
  return mproc::capi::guard("mproc_connection_fileno", [&] { return connection_of(c, "mproc_connection_fileno").fileno(); });
}

int mproc_connection_set_max_message_size(mproc_connection_t* c, uint64_t max_size) {
  return mproc::capi::guard("mproc_connection_set_max_message_size", [&] {
    connection_of(c, "mproc_connection_set_max_message_size").set_max_message_size(max_size);
    return 0;
  });
}

int mproc_connection_max_message_size(mproc_connection_t* c, uint64_t* out) {
  return mproc::capi::guard("mproc_connection_max_message_size", [&] {
    auto& connection = connection_of(c, "mproc_connection_max_message_size");
    mproc::capi::require(out, "mproc_connection_max_message_size", "out");
    *out = connection.max_message_size();
    return 0;
  });
}

int mproc_connection_close(mproc_connection_t* c) {
  return mproc::capi::guard("mproc_connection_close", [&] {
    connection_of(c, "mproc_connection_close").close();
    return 0;
  });
}

int mproc_connection_destroy(mproc_connection_t* c) {
  if (c == nullptr) return 0;
  return mproc::capi::guard("mproc_connection_destroy", [&] {
    auto owned = ConnectionHandles::remove(reinterpret_cast<std::uintptr_t>(c));
    if (!owned)
      throw mproc::Error(mproc::errc::bad_handle,
                         "mproc_connection_destroy: not a live mproc_connection_t");
    return 0;
  });
}

int mproc_wait(mproc_wait_item_t* items, size_t count, int64_t timeout_ms) {
  constexpr const char* kFunction = "mproc_wait";
  return mproc::capi::guard("mproc_wait", [&] {
    if (count > 0) mproc::capi::require(items, kFunction, "items");
    if (count > static_cast<size_t>(INT_MAX))
      return mproc::capi::fail(-EINVAL, "mproc_wait: count is above INT_MAX");
    mproc::capi::check_timeout_ms(timeout_ms, kFunction);
    std::vector<mproc::Waitable> objects;
    objects.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (items[i].connection != nullptr)
        objects.emplace_back(connection_of(items[i].connection, kFunction));
      else
        objects.push_back(mproc::Waitable::fd(items[i].fd));
    }
    std::optional<mproc::Seconds> timeout;
    if (timeout_ms != MPROC_WAIT_FOREVER) timeout = std::chrono::milliseconds(timeout_ms);
    const auto ready = mproc::wait(objects, timeout);
    // wait() returns the ready objects in the order given: walk both lists together.
    size_t next = 0;
    for (size_t i = 0; i < count; ++i) {
      const bool is_ready = next < ready.size() && ready[next] == objects[i];
      items[i].ready = is_ready ? 1 : 0;
      if (is_ready) ++next;
    }
    return static_cast<int>(ready.size());
  });
}

int mproc_connection_closed(mproc_connection_t* c) {
  return mproc::capi::guard("mproc_connection_closed", [&] {
    return connection_of(c, "mproc_connection_closed").closed() ? 1 : 0;
  });
}

int mproc_connection_readable(mproc_connection_t* c) {
  return mproc::capi::guard("mproc_connection_readable", [&] {
    return connection_of(c, "mproc_connection_readable").readable() ? 1 : 0;
  });
}

int mproc_connection_writable(mproc_connection_t* c) {
  return mproc::capi::guard("mproc_connection_writable", [&] {
    return connection_of(c, "mproc_connection_writable").writable() ? 1 : 0;
  });
}

}  // extern "C"
