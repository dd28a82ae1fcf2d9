// Queues between processes: Python's multiprocessing.Queue, SimpleQueue and JoinableQueue, in
// shared memory.
//
// The messages live in a ring of bytes in a named shared-memory segment. Many producers and many
// consumers, in any processes, may use one queue at once; each producer's messages come out in the
// order it put them, and every message is delivered once. While the other side is awake a put or a
// get makes no system call; a process that must wait spins a few microseconds, then yields its CPU
// between checks, and sleeps (futex) only when the queue stayed empty or full for ~50 us.
//
// Sharing: a queue created before fork() is inherited by the child (use it there as is). A process
// that already runs attaches by handle: `Queue::attach(q.handle())` — the handle is a short string
// (the segment's name) that can travel in a task's arguments, so pool workers need no Manager.
//
// Crashes. A producer or consumer killed at any moment — holding the queue's lock, half-way through
// copying a message — leaves the queue usable: the locks are robust (the next user repairs them)
// and every change commits with a single store after its data is in place. The guarantee:
//  - a message whose put() returned is delivered exactly once, unless the consumer that took it
//    was killed before its get() returned (that consumer loses at most that one message);
//  - a message whose producer was killed during put() is delivered whole, or not at all;
//  - no consumer ever receives a torn message; nobody blocks forever because another process died
//    (a sleeper re-checks at least every 100 ms).
//
// Lifetime of the segment: its name (what attach() needs) exists until the creating object is
// closed or destroyed; if the creating process dies first, a tracker process removes it. Objects
// that attached or were inherited through fork keep working after that — the memory lives while
// any process maps it — but new attach() calls fail with ENOENT. So keep the creating Queue alive
// while other processes may still attach.
// Capacity: `maxsize` bounds the count (0: no limit). By default a queue is otherwise bounded only
// by memory, as Python's: small messages travel in a 1 MiB ring that chains larger rings (in the
// same segment file) when it fills, and messages above 256 KiB in their own region of that file,
// whose pages go back once the message is taken (rings and regions up to 4 MiB are kept for reuse
// instead, a few of them). A put that finds the rings in memory full waits up to ~1 ms for a
// consumer to make room before it grows into fresh pages (put_nowait grows at once), so a stream
// that the consumers keep up with stays in warm memory. `capacity_bytes` (non-zero) makes a fixed ring of
// that size instead: each message then takes 8 bytes of header plus its size rounded up to 8, a
// message larger than max_message_size() is refused with errc::too_big, and a put into a full
// ring waits for room (errc::full when non-blocking or at the timeout).
//
// Errors are thrown as mproc::Error: errc::full / errc::empty (non-blocking call, or a blocking
// call that timed out, as Python's queue.Full / queue.Empty), errc::timed_out (the queue's lock
// was held by another process, stopped or starved, until the timeout: the queue was not looked
// at; a non-blocking call waits about a millisecond for it), errc::closed (use after close()),
// errc::too_big, EINVAL (bad sizes or timeouts).
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/codec.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>

#include <bit>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace mproc {

namespace detail::queue {
class QueueCore;
}

/// Thread-safety: a value.
/// Errors: Queue's constructor throws EINVAL for out-of-range values.
/// Fork-safety: a value.
struct QueueOptions {
  std::size_t maxsize = 0;                            // messages; 0 = no limit (at most 2^31)
  // 0: bounded only by memory (the default). Otherwise one fixed ring of this size, 64 B .. 1 GiB,
  // rounded up to 8.
  std::size_t capacity_bytes = 0;
};

// What put<T>/get<T> carry: any type the codec encodes (<mproc/codec.hpp>: trivially copyable
// values, std::string, vectors of plain values without any extra header; every other type — maps,
// vectors of strings, your own types with serialize() — once <mproc/cereal_codec.hpp> is
// included, or through a Codec<T> specialisation of yours). Pointers are refused at compile time
// (their value means nothing in another process), except C strings, which travel as their text.
template <class T>
concept QueueValue = !std::is_pointer_v<T> || std::is_same_v<T, const char*> ||
                     std::is_same_v<T, char*>;

namespace detail {

// The operations every queue kind shares. Not used directly.
// Thread-safety: all methods may be called concurrently from any thread, except destruction.
class MPROC_API QueueBase {
 public:
  QueueBase(QueueBase&&) noexcept;
  QueueBase& operator=(QueueBase&&) noexcept;
  QueueBase(const QueueBase&) = delete;
  QueueBase& operator=(const QueueBase&) = delete;
  ~QueueBase();

  // Bytes in and out. `block` false: fail at once (errc::full / errc::empty) instead of waiting.
  // `timeout` (seconds, >= 0) bounds a blocking wait; none waits without limit.
  void put_bytes(const void* data, std::size_t size, bool block = true,
                 std::optional<Seconds> timeout = std::nullopt) {
    put_raw(data, size, block, timeout ? &*timeout : nullptr);
  }
  std::vector<std::byte> get_bytes(bool block = true,
                                   std::optional<Seconds> timeout = std::nullopt) {
    return get_bytes_raw(block, timeout ? &*timeout : nullptr);
  }
  // Copies the next message into buffer[0, size) and returns its length. If it is longer than
  // `size`, nothing is taken: the message stays first in the queue, *needed (if given) receives
  // its length, and errc::too_big is thrown.
  std::size_t get_into(void* buffer, std::size_t size, bool block = true,
                       std::optional<Seconds> timeout = std::nullopt,
                       std::size_t* needed = nullptr) {
    return get_into_raw(buffer, size, block, timeout ? &*timeout : nullptr, needed, false);
  }
  // The next message, copied to allocate(size, context) (called once, under the consumers' lock;
  // returning nullptr leaves the message in the queue and throws ENOMEM). Returns its length.
  std::size_t get_with(void* (*allocate)(std::size_t size, void* context), void* context,
                       bool block = true, std::optional<Seconds> timeout = std::nullopt) {
    return get_with_raw(allocate, context, block, timeout ? &*timeout : nullptr);
  }

  // put_bytes, get_into and get_with for callers to whom a full or an empty queue is ordinary
  // control flow (the C ABI, polling loops): a queue still full (non-blocking, or at the
  // timeout) gives false, one still empty gives std::nullopt, and no exception is made for them
  // (a throw and catch costs more than the call). Every other error is thrown as above. Unlike
  // the calls above, these do not wait unless `block` is true.
  bool try_put_bytes(const void* data, std::size_t size, bool block = false,
                     std::optional<Seconds> timeout = std::nullopt) {
    return try_put_raw(data, size, block, timeout ? &*timeout : nullptr);
  }
  std::optional<std::size_t> try_get_into(void* buffer, std::size_t size, bool block = false,
                                          std::optional<Seconds> timeout = std::nullopt,
                                          std::size_t* needed = nullptr) {
    return try_get_into_raw(buffer, size, block, timeout ? &*timeout : nullptr, needed, false);
  }
  std::optional<std::size_t> try_get_with(void* (*allocate)(std::size_t size, void* context),
                                          void* context, bool block = false,
                                          std::optional<Seconds> timeout = std::nullopt) {
    return try_get_with_raw(allocate, context, block, timeout ? &*timeout : nullptr);
  }

  // Typed messages (see QueueValue), encoded with Codec<T>. get<T>() of a trivially copyable T
  // requires a message of exactly sizeof(T) bytes: another size is errc::codec, and the message
  // stays in the queue. For other types the message is taken first and then decoded: bytes that
  // are not a T give errc::codec and that message is gone (as Python's unpickling error in get()).
  template <QueueValue T>
  void put(const T& value, bool block = true, std::optional<Seconds> timeout = std::nullopt) {
    if constexpr (codec_has_view<T>) {
      const std::string_view bytes = Codec<T>::view(value);
      put_bytes(bytes.data(), bytes.size(), block, timeout);
    } else {
      const std::string bytes = encode(value);
      put_bytes(bytes.data(), bytes.size(), block, timeout);
    }
  }
  void put(std::string_view text, bool block = true, std::optional<Seconds> timeout = std::nullopt) {
    put_bytes(text.data(), text.size(), block, timeout);
  }
  void put(const char* text, bool block = true, std::optional<Seconds> timeout = std::nullopt) {
    put(std::string_view(text), block, timeout);
  }
  template <QueueValue T>
  T get(bool block = true, std::optional<Seconds> timeout = std::nullopt) {
    if constexpr (std::is_same_v<T, std::string>) {
      return get_string_raw(block, timeout ? &*timeout : nullptr);
    } else if constexpr (codec_is_bitwise<T>) {
      struct Raw {
        alignas(T) unsigned char bytes[sizeof(T)];
      } raw;
      get_into_raw(raw.bytes, sizeof(T), block, timeout ? &*timeout : nullptr, nullptr, true);
      return std::bit_cast<T>(raw);
    } else {
      const std::string bytes = get_string_raw(block, timeout ? &*timeout : nullptr);
      return decode<T>(bytes.data(), bytes.size());
    }
  }

  bool empty() const;
  // Makes this object unusable (errc::closed) and drops its reference to the shared segment (on
  // the creating object: removes the segment's name). Other objects and processes keep working.
  // Calls blocked in other threads on this object fail with errc::closed within 100 ms.
  // Closing twice is a no-op.
  void close();
  bool closed() const noexcept;
  // The handle another process passes to attach(). Errors: closed.
  std::string handle() const;
  // The longest message this queue accepts (2^46 bytes when it is bounded only by memory).
  std::size_t max_message_size() const noexcept;
  // The ring's size: the fixed capacity given, or the first ring's (1 MiB) when unbounded.
  std::size_t capacity_bytes() const noexcept;

 protected:
  explicit QueueBase(std::unique_ptr<queue::QueueCore> core) noexcept;
  queue::QueueCore& core() const;

 private:
  // The out-of-line halves of the calls above. The timeout travels as a pointer (nullptr: none)
  // rather than a std::optional, which GCC passes through memory in a way that stalls every call.
  void put_raw(const void* data, std::size_t size, bool block, const Seconds* timeout);
  std::vector<std::byte> get_bytes_raw(bool block, const Seconds* timeout);
  std::string get_string_raw(bool block, const Seconds* timeout);
  // exact: the message must be `size` bytes (else errc::codec, kept), as get<T> requires.
  std::size_t get_into_raw(void* buffer, std::size_t size, bool block, const Seconds* timeout,
                           std::size_t* needed, bool exact);
  std::size_t get_with_raw(void* (*allocate)(std::size_t, void*), void* context, bool block,
                           const Seconds* timeout);
  bool try_put_raw(const void* data, std::size_t size, bool block, const Seconds* timeout);
  std::optional<std::size_t> try_get_into_raw(void* buffer, std::size_t size, bool block,
                                              const Seconds* timeout, std::size_t* needed,
                                              bool exact);
  std::optional<std::size_t> try_get_with_raw(void* (*allocate)(std::size_t, void*),
                                              void* context, bool block, const Seconds* timeout);

  std::unique_ptr<queue::QueueCore> core_;
};

}  // namespace detail

/// Python's multiprocessing.Queue.
/// Thread-safety: all methods may be called concurrently from any thread, except destruction.
/// Errors: throws mproc::Error (errno or mproc::errc code): errc::full / errc::empty (non-blocking
/// or timed put / get), errc::closed, errc::too_big, errc::codec, EINVAL (see the file comment).
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
class MPROC_API Queue : public detail::QueueBase {
 public:
  // maxsize: 0 = no limit on the count. Errors: EINVAL, the errno of shm_open / ftruncate / mmap.
  explicit Queue(std::size_t maxsize = 0);
  explicit Queue(const QueueOptions& options);
  // Attaches to the queue with this handle (from handle()), created by any process.
  // Errors: ENOENT (no such queue, or its creator closed it), EINVAL (malformed handle),
  // errc::bad_handle (not a Queue: another kind, or not a queue at all).
  static Queue attach(std::string_view handle);

  template <QueueValue T>
  void put_nowait(const T& value) { put(value, false); }
  void put_nowait(std::string_view text) { put(text, false); }
  template <QueueValue T>
  T get_nowait() { return get<T>(false); }

  // The approximate number of messages (exact when nobody else is using the queue).
  std::size_t qsize() const;
  // True when a put would not fit now (the count reached maxsize, or a fixed ring has no free
  // byte).
  bool full() const;
  std::size_t maxsize() const noexcept;

 protected:
  explicit Queue(std::unique_ptr<detail::queue::QueueCore> core) noexcept;
};

/// Python's multiprocessing.JoinableQueue: a Queue that counts unfinished tasks.
/// Thread-safety: as Queue.
/// Errors: as Queue, plus errc::bad_state (task_done called more times than items were put).
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
class MPROC_API JoinableQueue : public Queue {
 public:
  explicit JoinableQueue(std::size_t maxsize = 0);
  explicit JoinableQueue(const QueueOptions& options);
  // Errors: as Queue::attach; errc::bad_handle if the handle is not a JoinableQueue's.
  static JoinableQueue attach(std::string_view handle);

  // Marks one item taken with get() as processed. Errors: errc::bad_state when called more times
  // than items were put (Python's ValueError), closed.
  void task_done();
  // Waits until every item put has been marked done. A consumer killed between get() and
  // task_done() never marks its item: use the timed form when consumers may die.
  void join();
  // As join(), at most `timeout`; true if every item was done.
  bool join(Seconds timeout);

 private:
  explicit JoinableQueue(std::unique_ptr<detail::queue::QueueCore> core) noexcept;
};

/// Python's multiprocessing.SimpleQueue: no count limit, put/get/empty/close. Bounded only by
/// memory unless `capacity_bytes` is given: then by that fixed ring, and when it is full put()
/// blocks until a consumer makes room (or the optional timeout passes: errc::full).
/// Thread-safety: as Queue.
/// Errors: as Queue.
/// Fork-safety: a child forked after it was made uses the same object in shared memory; any other
/// process attaches by handle().
class MPROC_API SimpleQueue : public detail::QueueBase {
 public:
  explicit SimpleQueue(std::size_t capacity_bytes = 0);
  // Errors: as Queue::attach; errc::bad_handle if the handle is not a SimpleQueue's.
  static SimpleQueue attach(std::string_view handle);

 private:
  explicit SimpleQueue(std::unique_ptr<detail::queue::QueueCore> core) noexcept;
};

// Passed to a Pool task or a Process, a queue travels by handle (see <mproc/by_handle.hpp>).
template <>
struct ByHandle<Queue> : ByHandleMembers<Queue> {};
template <>
struct ByHandle<JoinableQueue> : ByHandleMembers<JoinableQueue> {};
template <>
struct ByHandle<SimpleQueue> : ByHandleMembers<SimpleQueue> {};

}  // namespace mproc
