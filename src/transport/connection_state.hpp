// The state behind a Connection, and the receive/send machinery that the C++ API and the C ABI
// share. See framing.hpp for the wire format.
#pragma once

#include <mproc/connection.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/deadline.hpp"

namespace mproc::detail {

// Where a received message goes: a caller's fixed buffer, a std::string, or memory the caller
// manages (recv_with).
class RecvSink {
 public:
  virtual ~RecvSink() = default;
  // The largest message accepted; a larger one throws BufferTooShort and stays queued.
  virtual std::size_t limit() const noexcept = 0;
  // Memory that the first record's payload may land in directly, before its size is known.
  virtual std::span<char> first_area() noexcept { return {}; }
  // Storage for at least `capacity` bytes of the message (capacity <= its size <= limit()),
  // keeping the bytes stored so far. Returns the message's first byte. Called with growing
  // capacities, at least once per message (with 0 for an empty one).
  virtual char* grow(std::size_t capacity) = 0;
  // Optional shortcuts that avoid copying a partial message between the sink and the
  // Connection's keep area: take `kept` as the sink's storage / give the first `received` bytes
  // of the sink's storage to `kept`. Return false to let the caller copy.
  virtual bool adopt(std::string& kept) {
    (void)kept;
    return false;
  }
  virtual bool give(std::string& kept, std::size_t received) {
    (void)kept;
    (void)received;
    return false;
  }
};

class ConnectionState {
 public:
  // `stream`: a byte stream (TCP) rather than a SEQPACKET socket; see framing.hpp.
  ConnectionState(int fd, bool readable, bool writable, bool stream = false) noexcept
      : fd_(fd), readable_(readable), writable_(writable), stream_(stream) {}
  ~ConnectionState();  // closes the descriptor
  ConnectionState(const ConnectionState&) = delete;
  ConnectionState& operator=(const ConnectionState&) = delete;

  int fd() const noexcept { return fd_; }
  bool readable() const noexcept { return readable_; }
  bool writable() const noexcept { return writable_; }
  bool stream() const noexcept { return stream_; }
  std::uint64_t max_message_size() const noexcept { return max_message_size_; }
  void set_max_message_size(std::uint64_t max_size) noexcept { max_message_size_ = max_size; }

  // Sends one message. `op` names the operation in error messages.
  void send(const void* data, std::size_t size, const char* op);

  // Receives the next message into `sink` and returns its size, or nothing if the deadline
  // passed first (a message begun is then kept for the next call).
  std::optional<std::size_t> receive(RecvSink& sink, const Deadline& deadline, const char* op);

  // Drains the message kept after BufferTooShort without storing it, one record at a time (for a
  // message that cannot be a T). Returns its size, or nothing if the deadline passed first (the
  // rest is then drained by the next receive, which reports it).
  std::optional<std::size_t> discard_kept(const Deadline& deadline, const char* op);

  // Throws unless this end can receive now: closed, bad_state (send-only, or broken).
  void check_receiving(const char* op) const;
  // Descriptor passing (connection_handles.cpp): one message whose record carries the descriptor
  // as SCM_RIGHTS ancillary data. recv_handle returns nothing if the deadline passed first.
  void send_handle(int fd, const char* op);
  std::optional<int> recv_handle(const Deadline& deadline, const char* op);
  // True when a whole message is already held here (kept after BufferTooShort), so a receive
  // needs no system call.
  bool holds_whole_message() const noexcept { return keeping_ && kept_.size() == kept_total_; }

 private:
  [[noreturn]] void fail_protocol(const char* op, const std::string& what);
  // One recvmsg, restarted on EINTR; waits for readability against `deadline` when the socket
  // has nothing (blocking in recvmsg itself when the deadline is infinite). Returns the bytes
  // received (0: end-of-file), or nothing on timeout.
  // `may_spin`: false within a message, where the sender is streaming its records and a
  // spinning receiver only contends with it for the socket (see recv_spinning).
  std::optional<std::size_t> recv_record(struct msghdr& message, const Deadline& deadline,
                                         const char* op, bool may_spin = true);
  // Asks for a record again and again for a few tens of microseconds (the caller has asked the
  // spin advisor) and tells the advisor whether one came; nullopt if none did.
  std::optional<std::size_t> recv_spinning(struct msghdr& message, const Deadline& deadline,
                                           const char* op);
  // One sendmsg of a whole record of `size` bytes, restarted on EINTR; false on EMSGSIZE.
  bool send_record(struct msghdr& message, std::size_t size, const char* op);
  std::size_t record_payload_max();
  // A byte stream's send: header and payload, in as many sendmsg calls as the kernel needs.
  void send_stream(const char* bytes, std::size_t size, const char* op);
  // A byte stream's header: its 8 bytes, in as many reads as they take (a part read before a
  // timeout is kept here). Returns false if the deadline passed first.
  bool receive_stream_header(std::uint64_t& header, const Deadline& deadline, const char* op);
  // Keeps the part of a message received so far for the next receive: the bytes first + second,
  // or the first `received` bytes of the sink's storage (at base). If even that fails for lack of
  // memory, the receiving side is broken (lost_message).
  void keep(std::string_view first, std::string_view second, std::size_t total) noexcept;
  void keep(RecvSink& sink, const char* base, std::size_t received, std::size_t total) noexcept;
  void lost_message() noexcept;
  // After recvmsg returned 0: end-of-file if the peer has gone, else (an empty record from a live
  // peer) a protocol error.
  void check_end_of_file(const char* op);

  int fd_;
  bool readable_;
  bool writable_;
  bool stream_;
  // A byte stream's header read in part before a timeout.
  std::uint64_t stream_header_ = 0;
  std::size_t stream_header_got_ = 0;
  std::uint64_t max_message_size_ = Connection::kDefaultMaxMessageSize;
  // Receiving side unusable after an oversized or malformed message (say why).
  std::string receive_broken_;
  // Sending side unusable after a failure in the middle of a multi-record message.
  std::string send_broken_;
  // The largest record the kernel accepts here; 0 until the first large send asks.
  std::size_t record_max_ = 0;
  // A message begun but not delivered (BufferTooShort or a timeout): its announced size and the
  // bytes received so far.
  bool keeping_ = false;
  std::uint64_t kept_total_ = 0;
  std::string kept_;
  // A message being discarded (discard_kept timed out): its bytes are not kept, only how many
  // have been drained.
  bool discarding_ = false;
  std::uint64_t discarded_ = 0;
  // Where the first record's payload lands when the sink offers no room of its own.
  std::unique_ptr<char[]> scratch_;
};

// Access to a Connection's state for the library's own code (wait(), the C ABI).
struct ConnectionAccess {
  // The state; errc::closed if the Connection is closed (or moved from). `op` names the caller.
  static ConnectionState& state(Connection& connection, const char* op);
  // A Connection owning `fd` (already known to be a SEQPACKET socket, or with `stream` a
  // connected TCP socket). Closes fd if it throws.
  static Connection adopt(int fd, bool readable, bool writable, bool stream = false);
};

}  // namespace mproc::detail
