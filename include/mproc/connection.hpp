// Pipes and connections: Python's multiprocessing.Pipe / Connection / connection.wait, natively.
//
//   auto [parent_end, child_end] = mproc::pipe();
//   mproc::Process child([&] { child_end.send(42); });
//   child.start();
//   child_end.close();                     // so that the parent sees end-of-file if the child dies
//   int answer = parent_end.recv<int>();
//
// A Connection is one end of a Unix socketpair (SOCK_SEQPACKET) carrying whole messages: a message
// is never merged with another or split, an empty message is delivered as such, and any size up to
// max_message_size() works (4 GiB by default, settable per end). Large messages travel in several
// kernel records that the receiver reassembles; it never allocates more than the announced size,
// and for messages over 64 MiB it grows its buffer as the data arrives rather than trusting the
// announced size.
//
// Differences from Python, all on the safe side:
//  - recv_bytes_into() with a buffer that is too short throws BufferTooShort and keeps the message:
//    a later call with a large enough buffer (or recv_bytes) receives it.
//  - recv_bytes(max_size) likewise keeps a message that is too long (Python closes the connection).
//  - Receiving has timed variants; a timeout that expires in the middle of a large message keeps
//    the part received, and the next call continues it.
//  - A write to an end whose peer is closed throws EPIPE; the process never gets SIGPIPE and its
//    SIGPIPE disposition is not touched (MSG_NOSIGNAL).
//  - A signal never surfaces as EINTR, and never shortens or stretches a timeout (monotonic clock).
//
// Errors (mproc::Error): errc::closed (this end was closed), errc::end_of_file (the peer closed its
// end and no message is left), EPIPE (sending to a closed peer), errc::too_big (a message over the
// maximum size: when sending, nothing is sent and the connection stays usable; when an incoming
// message announces more than this end's maximum, the receiving side is unusable afterwards and
// every later receive throws errc::bad_state), errc::bad_state (wrong direction on a one-way pipe,
// or a broken receiving/sending side), errc::codec (recv<T> got bytes that are not a T; the
// message is consumed), EPROTO (bytes on the socket that did not come from a Connection),
// EINVAL (a negative or NaN timeout).
//
// Fork: the descriptors are close-on-exec and inherited by fork(): a forked child may use any
// Connection it inherited. As in Python, the end-of-file of an end is only seen once every copy of
// the peer end is closed, so close the ends a process does not use. A message kept after
// BufferTooShort or a timeout lives in the Connection object of the process that received it.
#pragma once

#include <mproc/cxx20.hpp>  // first: the C++20 and platform checks

#include <mproc/by_handle.hpp>
#include <mproc/codec.hpp>
#include <mproc/detail/descriptor_shares.hpp>
#include <mproc/error.hpp>
#include <mproc/export.h>
#include <mproc/process.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace mproc {

namespace detail {
class ConnectionState;
struct ConnectionAccess;
}  // namespace detail

/// The next message is larger than the space offered (recv_bytes_into's buffer or recv_bytes's
/// max_size). code() is errc::too_big. The message was not consumed.
/// Thread-safety: an immutable value.
/// Errors: none: it is the error.
/// Fork-safety: a value.
class MPROC_API BufferTooShort : public Error {
 public:
  BufferTooShort(std::size_t message_size, const std::string& what)
      : Error(errc::too_big, what), message_size_(message_size) {}
  // The size of the message that did not fit.
  std::size_t message_size() const noexcept { return message_size_; }

 private:
  std::size_t message_size_;
};

/// One end of a pipe. Move-only; the destructor closes it. A default-constructed or moved-from
/// Connection is closed.
/// Thread-safety: one thread may send while another receives on the same end; two threads sending
/// (or two receiving) on one end at the same time must be serialised by the caller. close() must
/// not race with any other call. Different Connections are independent.
/// Errors: throws mproc::Error (errno or mproc::errc code): errc::closed (this end was closed),
/// errc::end_of_file (the peer closed its end), EPIPE (never SIGPIPE), errc::too_big,
/// BufferTooShort (see the file comment).
/// Fork-safety: the descriptors are inherited by fork() and close-on-exec; a forked child may use
/// either end.
class MPROC_API Connection {
 public:
  // The default maximum message size of a new end: 4 GiB.
  static constexpr std::uint64_t kDefaultMaxMessageSize = std::uint64_t{4} << 30;
  // "No limit" for recv_bytes's max_size (the connection's own maximum still applies).
  static constexpr std::size_t kNoLimit = std::numeric_limits<std::size_t>::max();

  Connection() noexcept;
  // Takes ownership of `fd`, an AF_UNIX SOCK_SEQPACKET socket whose peer is also a Connection
  // (for example a descriptor inherited across exec), or a connected TCP socket whose peer is a
  // Connection of a TCP Listener / client (listener.hpp). Errors: EINVAL (not such a socket, or
  // neither readable nor writable; the descriptor is then not closed), std::bad_alloc (the
  // descriptor is then closed: it is owned from the start).
  explicit Connection(int fd, bool readable = true, bool writable = true);
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // --- Values (see codec.hpp: trivially copyable types are copied bitwise; std::string and
  // vectors of trivially copyable types as their bytes; other types need <mproc/cereal_codec.hpp>).
  template <class T>
  void send(const T& value);
  // Blocks until a message arrives. Errors: as recv_bytes, and errc::codec.
  template <class T>
  T recv();
  // Waits at most `timeout`; empty if no message arrived in time.
  template <class T>
  std::optional<T> recv(Seconds timeout);

  // --- Bytes.
  // Sends one message (blocks while the peer's buffer is full). Errors: closed, bad_state (a
  // receive-only end), too_big (size > max_message_size()), EPIPE (the peer is closed).
  void send_bytes(const void* data, std::size_t size);
  void send_bytes(std::string_view bytes) { send_bytes(bytes.data(), bytes.size()); }

  // Blocks until a whole message has arrived and returns it. A message longer than max_size
  // throws BufferTooShort and stays queued. Errors: closed, bad_state (a send-only end, or a
  // receiving side broken by an oversized or malformed message), end_of_file, too_big.
  std::string recv_bytes(std::size_t max_size = kNoLimit);
  // As above, waiting at most `timeout`: empty if no whole message arrived in time.
  std::optional<std::string> recv_bytes(Seconds timeout, std::size_t max_size = kNoLimit);

  // Receives the next message into buffer[0, capacity) and returns its size. If it is larger than
  // capacity, throws BufferTooShort (with the size needed) and keeps the message; the buffer's
  // contents are then unspecified. `buffer` may be null when capacity is 0 (an empty message fits).
  std::size_t recv_bytes_into(void* buffer, std::size_t capacity);
  std::size_t recv_bytes_into(std::span<std::byte> buffer) {
    return recv_bytes_into(buffer.data(), buffer.size());
  }
  // As above, waiting at most `timeout`: empty if no whole message arrived in time.
  std::optional<std::size_t> recv_bytes_into(void* buffer, std::size_t capacity, Seconds timeout);

  // Receives the next message into memory the caller manages (a binding that hands the bytes on
  // without a copy, as the C ABI's malloc'd buffers). `grow(capacity)` returns storage for at
  // least `capacity` bytes that keeps the bytes stored through its previous results, as realloc
  // does; it is called with growing capacities as the message arrives, at least once (with 0 for
  // an empty message), and the storage it returned last holds the message. Waits at most
  // `timeout` (std::nullopt: no limit); returns the message's size, or empty if no whole message
  // arrived in time. Errors: as recv_bytes; an exception of `grow` (std::bad_alloc) propagates.
  std::optional<std::size_t> recv_with(const std::function<char*(std::size_t)>& grow,
                                       std::optional<Seconds> timeout = std::nullopt);

  // True if a message (or end-of-file) is ready to be received, waiting at most `timeout`
  // (Python's default: 0, do not wait); std::nullopt waits without limit. A true result means
  // recv will not block for the start of a message (a large message may still be arriving).
  // Errors: closed, bad_state (a send-only end), EINVAL.
  bool poll(std::optional<Seconds> timeout = Seconds(0));

  // --- Descriptors (Python's multiprocessing.reduction.send_handle / recv_handle): passes an open
  // file descriptor to the process at the other end (SCM_RIGHTS). The receiver gets a new
  // descriptor of its own (close-on-exec) for the same open file; the sender's stays open, and is
  // still the sender's to close. A handle is one message in the stream: recv_bytes on it gets a
  // short marker (and the kernel closes the descriptor it carried). Errors: send_handle: closed,
  // bad_state (receive-only end), EBADF (fd is not open), EPIPE; recv_handle: closed, bad_state
  // (send-only end, or a message begun and kept), end_of_file, errc::codec (the next message is
  // not a handle: it stays queued for recv_bytes), EPROTO (a handle record without a descriptor).
  void send_handle(int fd);
  int recv_handle();
  // Waits at most `timeout`: empty if no message arrived in time.
  std::optional<int> recv_handle(Seconds timeout);

  // A second Connection on a duplicate of this end's descriptor (close-on-exec), with the same
  // direction and maximum message size; a message kept in this object is not in the copy.
  // Process(fn, conn) gives its child such a copy. Errors: closed, the errno of fcntl (EMFILE).
  Connection duplicate() const;

  // Closes this end (the descriptor) and drops any kept message. Closing twice is a no-op.
  void close() noexcept;
  bool closed() const noexcept;
  bool readable() const noexcept;
  bool writable() const noexcept;
  // The socket descriptor, for poll/epoll: readable when a message (or end-of-file) is waiting.
  // (mproc::wait also knows about a message kept after BufferTooShort; a bare poll does not.)
  // Errors: closed.
  int fileno() const;

  // The largest message this end sends or accepts. Errors: closed, EINVAL (0).
  void set_max_message_size(std::uint64_t max_size);
  std::uint64_t max_message_size() const;

 private:
  friend struct detail::ConnectionAccess;

  // Receives a message of exactly `size` bytes into `out`; false on timeout. A message of another
  // size is consumed and reported as errc::codec naming `type`.
  bool recv_bitwise(void* out, std::size_t size, const std::type_info& type,
                    std::optional<Seconds> timeout);
  std::optional<std::string> recv_string(std::optional<Seconds> timeout, std::size_t max_size);
  std::optional<std::size_t> recv_bytes_into_impl(void* buffer, std::size_t capacity,
                                                  std::optional<Seconds> timeout);

  std::unique_ptr<detail::ConnectionState> state_;
};

// A new pipe: two connected ends. duplex = true: both ends send and receive. duplex = false: the
// first end only receives and the second only sends (as Python's Pipe(duplex=False)); using an end
// the other way throws errc::bad_state. Errors: the errno of socketpair (EMFILE, ENFILE).
MPROC_API std::pair<Connection, Connection> pipe(bool duplex = true);

/// Something mproc::wait watches: a Connection (ready when a message or end-of-file can be
/// received), a Process (ready once it has ended: its sentinel), or a raw file descriptor (ready
/// when readable). It refers to the object, which must outlive the wait.
/// Thread-safety: a value.
/// Errors: none.
/// Fork-safety: a value.
class MPROC_API Waitable {
 public:
  Waitable(Connection& connection) noexcept : connection_(&connection) {}  // NOLINT: implicit
  Waitable(Process& process) noexcept : process_(&process) {}              // NOLINT: implicit
  static Waitable fd(int fd) noexcept { return Waitable(fd); }

  Connection* connection() const noexcept { return connection_; }
  Process* process() const noexcept { return process_; }
  // The raw descriptor given to fd(), or -1.
  int raw_fd() const noexcept { return fd_; }
  friend bool operator==(const Waitable&, const Waitable&) = default;

 private:
  explicit Waitable(int fd) noexcept : fd_(fd) {}
  Connection* connection_ = nullptr;
  Process* process_ = nullptr;
  int fd_ = -1;
};

// Python's multiprocessing.connection.wait: waits until at least one object is ready or the
// timeout passes (std::nullopt: no limit) and returns the ready ones, in the order given (empty
// after a timeout). Uses poll(2), so any number of objects and any descriptor value work.
// Thread-safety: for each Connection listed, the wait counts as a receive (no other thread may
// receive on it meanwhile); wait itself may run in several threads over different objects.
// Errors: closed (a closed Connection or Process), bad_state (a send-only Connection, or a Process
// not started), EBADF (a raw descriptor that is not open), EINVAL (a negative or NaN timeout, or no
// objects and no timeout: that wait could never end).
MPROC_API std::vector<Waitable> wait(std::span<const Waitable> objects,
                                     std::optional<Seconds> timeout = std::nullopt);
inline std::vector<Waitable> wait(std::initializer_list<Waitable> objects,
                                  std::optional<Seconds> timeout = std::nullopt) {
  return wait(std::span<const Waitable>(objects.begin(), objects.size()), timeout);
}

// ------------------------------------------------------------------------------------------------
// Template definitions.

template <class T>
void Connection::send(const T& value) {
  if constexpr (codec_has_view<T>) {
    const std::string_view bytes = Codec<T>::view(value);
    send_bytes(bytes.data(), bytes.size());
  } else {
    const std::string bytes = encode(value);
    send_bytes(bytes.data(), bytes.size());
  }
}

template <class T>
T Connection::recv() {
  if constexpr (std::is_same_v<T, std::string>) {
    return recv_bytes();
  } else if constexpr (codec_is_bitwise<T>) {
    struct Raw {
      alignas(T) unsigned char bytes[sizeof(T)];
    } raw;
    recv_bitwise(raw.bytes, sizeof(T), typeid(T), std::nullopt);
    return std::bit_cast<T>(raw);
  } else {
    const std::string bytes = recv_bytes();
    return decode<T>(bytes.data(), bytes.size());
  }
}

template <class T>
std::optional<T> Connection::recv(Seconds timeout) {
  if constexpr (std::is_same_v<T, std::string>) {
    return recv_string(timeout, kNoLimit);
  } else if constexpr (codec_is_bitwise<T>) {
    struct Raw {
      alignas(T) unsigned char bytes[sizeof(T)];
    } raw;
    if (!recv_bitwise(raw.bytes, sizeof(T), typeid(T), timeout)) return std::nullopt;
    return std::bit_cast<T>(raw);
  } else {
    const auto bytes = recv_string(timeout, kNoLimit);
    if (!bytes) return std::nullopt;
    return decode<T>(bytes->data(), bytes->size());
  }
}

/// Process(fn, conn): the forked child gets its own descriptor of the same end (duplicate()).
/// Errors: as duplicate(). Thread-safety: as duplicate(). Fork-safety: made before the fork.
template <>
struct ShareInFork<Connection> {
  static Connection share(const Connection& end) { return end.duplicate(); }
};

/// A Connection as a Pool task argument: its descriptor is shared by this process's resource sharer
/// (a thread that serves it by SCM_RIGHTS, as Python's resource_sharer) for as long as the job
/// that carries it runs, and the worker that decodes it receives a descriptor of its own for the
/// same end (closed when the task's argument is). Encoding it anywhere else (a Queue message,
/// Connection::send) is refused with errc::bad_state: use send_handle there. A message kept in
/// the sender's object (after BufferTooShort or a timeout) does not travel.
/// Errors: encode: closed, bad_state, EMFILE; decode (in the worker, failing that task):
/// ECONNREFUSED (the sending process is gone), errc::bad_handle (its job ended), ETIMEDOUT.
/// Thread-safety: as Connection's send. Fork-safety: see src/transport/resource_sharer.hpp.
template <>
struct MPROC_API Codec<Connection> {
  static void encode(const Connection& end, std::string& out);
  static Connection decode(const void* data, std::size_t size);
};
namespace detail {
template <>
inline constexpr bool shares_descriptors<Connection> = true;
}  // namespace detail

}  // namespace mproc
