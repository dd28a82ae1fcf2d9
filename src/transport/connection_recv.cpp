// Receiving a message: the first record (header + first payload bytes) with one recvmsg, then the
// continuation records straight into the destination (framing.hpp).
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/spin_policy.hpp"
#include "transport/connection_state.hpp"
#include "transport/framing.hpp"

namespace mproc::detail {
namespace {

// How long a receive asks for a record again before it sleeps (see recv_spinning): about one
// turn-around of a Python peer (unpickle, pickle, two ctypes calls), so that neither side of a
// ping-pong falls asleep. 50 us: a Python small-object round trip with one CPU per side went from
// 107-132 us to 12-14 us (multiprocessing: 55-63 us).
constexpr std::uint64_t kRecvSpinNs = 50'000;

static_assert(sizeof(std::size_t) >= sizeof(std::uint64_t),
              "message sizes are 64-bit: mproc needs a 64-bit target");

// How much room to ask a sink for at the start of a message of `total` bytes of which `received`
// are already there: all of it for ordinary sizes, a bounded first step for huge announcements.
std::size_t initial_capacity(std::size_t total, std::size_t received) {
  return std::min(total, std::max(received + kRecordMax, kEagerAllocation));
}

std::string size_text(std::uint64_t bytes) { return std::to_string(bytes) + " bytes"; }

// Whether a receive that finds nothing spins before it sleeps (see recv_spinning). On one CPU a
// probe's spin cannot succeed and costs 50 us, more than a whole round trip there: one probe per
// 1024 asks keeps that under 0.1 us a receive.
thread_local SpinAdvisor t_receive_advisor(1024);

}  // namespace

ConnectionState::~ConnectionState() {
  // close(2) releases the descriptor even when interrupted (Linux), so it is never retried.
  if (fd_ >= 0) ::close(fd_);
}

void ConnectionState::check_receiving(const char* op) const {
  if (!readable_)
    throw Error(errc::bad_state, std::string(op) + ": this end of a one-way pipe can only send");
  if (!receive_broken_.empty())
    throw Error(errc::bad_state, std::string(op) + ": " + receive_broken_);
}

void ConnectionState::fail_protocol(const char* op, const std::string& what) {
  receive_broken_ = "the receiving side is unusable: " + what;
  throw Error(std::make_error_code(std::errc::protocol_error),
              std::string(op) + ": not a Connection's message: " + what);
}

std::optional<std::size_t> ConnectionState::recv_record(msghdr& message, const Deadline& deadline,
                                                        const char* op, bool may_spin) {
  // Without a deadline the advisor is asked up front: where it says no (one CPU shared with the
  // peer, an idle peer) the first recvmsg blocks, and returns at once if a record is there,
  // rather than asking once without blocking and failing first (a system call per receive). With
  // a deadline it is asked once nothing is there, and not for a poll, whose spin would only spend
  // the advisor's credit.
  const bool asked = may_spin && deadline.infinite();
  bool spun = !may_spin || (asked && !t_receive_advisor.should_spin());
  for (;;) {
    // Never block before the spin below had its chance; with a finite deadline, never block in
    // recvmsg at all: poll waits against the deadline instead.
    const bool block = deadline.infinite() && spun;
    const ssize_t received = ::recvmsg(fd_, &message, MSG_CMSG_CLOEXEC | (block ? 0 : MSG_DONTWAIT));
    if (received >= 0) return static_cast<std::size_t>(received);
    if (errno == EINTR) {
      if (deadline.infinite() && InterruptibleWaits::active())
        throw_errno(EINTR, std::string(op) + ": recvmsg");
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Nothing yet (or the shared descriptor was made non-blocking by someone else).
      if (!spun) {
        spun = true;
        if (deadline.expired()) return std::nullopt;
        if (asked || t_receive_advisor.should_spin())
          if (const auto got = recv_spinning(message, deadline, op)) return got;
        continue;
      }
      if (!wait_readable(fd_, deadline)) return std::nullopt;
      continue;
    }
    if (errno == ECONNRESET) return 0;
    throw_errno(errno, std::string(op) + ": recvmsg");
  }
}

std::optional<std::size_t> ConnectionState::recv_spinning(msghdr& message, const Deadline& deadline,
                                                          const char* op) {
  // A peer that runs on another CPU usually answers within microseconds, while falling asleep
  // and being woken costs 15-80 us on these VMs (a socketpair round trip with one CPU per side:
  // most of it). So, for a while, the record is asked for again rather than waited for; the
  // advisor (asked by the caller) stops that where it does not pay.
  SpinAdvisor& advisor = t_receive_advisor;
  const std::uint64_t start = monotonic_ns();
  for (;;) {
    const ssize_t received = ::recvmsg(fd_, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (received >= 0) {
      advisor.spun(true);
      return static_cast<std::size_t>(received);
    }
    if (errno == EINTR && deadline.infinite() && InterruptibleWaits::active())
      throw_errno(EINTR, std::string(op) + ": recvmsg");
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return std::nullopt;  // the caller's recvmsg meets the same error and reports it
    if (monotonic_ns() - start >= kRecvSpinNs || deadline.expired()) {
      advisor.spun(false);
      return std::nullopt;
    }
  }
}

void ConnectionState::keep(std::string_view first, std::string_view second,
                           std::size_t total) noexcept {
  try {
    kept_.assign(first);
    kept_.append(second);
    keeping_ = true;
    kept_total_ = total;
  } catch (...) {
    lost_message();
  }
}

void ConnectionState::keep(RecvSink& sink, const char* base, std::size_t received,
                           std::size_t total) noexcept {
  if (sink.give(kept_, received)) {
    keeping_ = true;
    kept_total_ = total;
  } else {
    keep(std::string_view(base, received), {}, total);
  }
}

bool ConnectionState::receive_stream_header(std::uint64_t& header, const Deadline& deadline,
                                            const char* op) {
  while (stream_header_got_ < kHeaderSize) {
    iovec part{reinterpret_cast<char*>(&stream_header_) + stream_header_got_,
               kHeaderSize - stream_header_got_};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    const auto got = recv_record(message, deadline, op);
    if (!got) return false;
    if (*got == 0) {
      const bool between_messages = stream_header_got_ == 0;
      stream_header_got_ = 0;
      throw Error(errc::end_of_file,
                  std::string(op) + (between_messages
                                         ? ": the other end of the connection is closed and no "
                                           "message is left"
                                         : ": the other end of the connection closed in the "
                                           "middle of a message header"));
    }
    stream_header_got_ += *got;
  }
  header = stream_header_;
  stream_header_got_ = 0;
  return true;
}

void ConnectionState::check_end_of_file(const char* op) {
  if (stream_) return;  // a byte stream reads 0 bytes only at its end
  // SEQPACKET reports both end-of-file and an empty record as 0 bytes; a closed peer also makes
  // the socket report a hang-up, which an empty record from a live peer does not.
  pollfd p{fd_, POLLRDHUP, 0};
  int ready;
  do ready = ::poll(&p, 1, 0);
  while (ready < 0 && errno == EINTR);
  if (ready < 0) throw_errno(errno, std::string(op) + ": poll");
  if ((p.revents & (POLLHUP | POLLRDHUP)) == 0) fail_protocol(op, "an empty record");
}

std::optional<std::size_t> ConnectionState::discard_kept(const Deadline& deadline,
                                                         const char* op) {
  const std::uint64_t total = kept_total_;
  std::uint64_t received = discarding_ ? discarded_ : kept_.size();
  kept_ = std::string();
  keeping_ = false;
  discarding_ = false;
  // One record at most: the sender never sends more than kRecordMax bytes per record.
  const auto chunk = std::make_unique_for_overwrite<char[]>(kRecordMax);
  while (received < total) {
    iovec part{chunk.get(), static_cast<std::size_t>(std::min<std::uint64_t>(total - received,
                                                                             kRecordMax))};
    msghdr message{};
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    const auto got = recv_record(message, deadline, op, false);
    if (!got) {
      keeping_ = discarding_ = true;
      discarded_ = received;
      return std::nullopt;
    }
    if (*got == 0) {
      check_end_of_file(op);
      throw Error(errc::end_of_file, std::string(op) + ": the other end of the connection "
                                                       "closed in the middle of a message");
    }
    if ((message.msg_flags & MSG_TRUNC) != 0)
      fail_protocol(op, "a record longer than the message it belongs to");
    received += *got;
  }
  return static_cast<std::size_t>(total);
}

void ConnectionState::lost_message() noexcept {
  // Without the start of the message, its remaining records could not be framed.
  kept_ = std::string();
  keeping_ = false;
  receive_broken_ = "out of memory";  // short enough not to allocate
}

std::optional<std::size_t> ConnectionState::receive(RecvSink& sink, const Deadline& deadline,
                                                    const char* op) {
  check_receiving(op);
  const auto too_short = [&](std::size_t total) {
    return BufferTooShort(total, std::string(op) + ": the next message has " + size_text(total) +
                                     ", more than the " + size_text(sink.limit()) + " offered");
  };
  std::size_t total = 0;
  std::size_t received = 0;
  std::size_t capacity = 0;
  char* base = nullptr;

  if (discarding_) {
    // The rest of a message that a recv<T> was draining when it timed out.
    const auto drained = discard_kept(deadline, op);
    if (!drained) return std::nullopt;
    throw Error(errc::codec, std::string(op) + ": a message of " + size_text(*drained) +
                                 " that was too large for the type expected was discarded");
  }
  if (keeping_) {
    // A message begun earlier: it continues here, or stays kept if it still does not fit.
    total = kept_total_;
    if (total > sink.limit()) throw too_short(total);
    received = kept_.size();
    capacity = initial_capacity(total, received);
    if (sink.adopt(kept_)) {
      try {
        base = sink.grow(capacity);
      } catch (...) {
        if (!sink.give(kept_, received)) lost_message();  // take the bytes back
        throw;
      }
    } else {
      base = sink.grow(capacity);  // on failure the message simply stays kept
      if (received != 0) std::memcpy(base, kept_.data(), received);
    }
    kept_ = std::string();
    keeping_ = false;
  } else {
    // The first record: header plus up to kFirstPayloadMax bytes, straight into the sink's own
    // area when it offers one (a caller's buffer), the rest into the scratch area. A byte stream
    // reads the header alone (reading further could take the next message's bytes); its payload
    // then comes in the continuation loop below.
    std::uint64_t header = 0;
    const std::span<char> area = stream_ ? std::span<char>() : sink.first_area();
    const std::size_t direct = std::min(area.size(), kFirstPayloadMax);
    std::size_t payload = 0;
    if (stream_) {
      if (!receive_stream_header(header, deadline, op)) return std::nullopt;
    } else {
      iovec parts[3] = {{&header, kHeaderSize}, {area.data(), direct}, {}};
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = 2;
      if (direct < kFirstPayloadMax) {
        if (!scratch_) scratch_ = std::make_unique_for_overwrite<char[]>(kFirstPayloadMax);
        parts[2] = {scratch_.get(), kFirstPayloadMax - direct};
        message.msg_iovlen = 3;
      }
      const auto got = recv_record(message, deadline, op);
      if (!got) return std::nullopt;
      if (*got == 0) check_end_of_file(op);
      if (*got == 0)
        throw Error(errc::end_of_file,
                    std::string(op) + ": the other end of the connection is closed and no "
                                      "message is left");
      if ((message.msg_flags & MSG_TRUNC) != 0)
        fail_protocol(op, "a first record over " + size_text(kFirstRecordMax));
      if (*got < kHeaderSize) fail_protocol(op, "a record shorter than a message header");
      payload = *got - kHeaderSize;
    }
    if (header > max_message_size_) {
      receive_broken_ = "the receiving side is unusable: an incoming message of " +
                        size_text(header) + " exceeded the maximum of " +
                        size_text(max_message_size_);
      throw Error(errc::too_big, std::string(op) + ": an incoming message of " + size_text(header) +
                                     " exceeds the maximum of " + size_text(max_message_size_) +
                                     "; this end can no longer receive");
    }
    if (payload > header) fail_protocol(op, "a record longer than the message it belongs to");
    total = static_cast<std::size_t>(header);
    received = payload;
    // From here the record is consumed: whatever happens, its bytes are kept for the next call.
    const std::size_t in_area = std::min(payload, direct);
    if (total > sink.limit()) {
      keep({area.data(), in_area}, {scratch_.get(), payload - in_area}, total);
      throw too_short(total);
    }
    try {
      capacity = initial_capacity(total, received);
      base = sink.grow(capacity);
    } catch (...) {
      keep({area.data(), in_area}, {scratch_.get(), payload - in_area}, total);
      throw;
    }
    if (in_area != 0 && base != area.data()) std::memcpy(base, area.data(), in_area);
    if (payload > in_area) std::memcpy(base + in_area, scratch_.get(), payload - in_area);
  }

  // Continuation records, each received straight into the sink. The room offered is always at
  // least min(missing, kRecordMax), so no record can be truncated.
  bool end_of_file = false;
  bool truncated = false;
  try {
    while (received < total) {
      if (capacity - received < std::min(total - received, kRecordMax)) {
        capacity = std::min(total, std::max(capacity * 2, received + kRecordMax));
        base = sink.grow(capacity);
      }
      iovec part{base + received, capacity - received};
      msghdr message{};
      message.msg_iov = &part;
      message.msg_iovlen = 1;
      const auto got = recv_record(message, deadline, op, false);
      if (!got) {
        // Timed out in the middle: keep what arrived for the next call.
        keep(sink, base, received, total);
        return std::nullopt;
      }
      if (*got == 0) {
        check_end_of_file(op);
        end_of_file = true;
        break;
      }
      if ((message.msg_flags & MSG_TRUNC) != 0 || *got > total - received) {
        truncated = true;
        break;
      }
      received += *got;
    }
  } catch (...) {
    // No memory to grow the sink, or a system error: the message stays kept.
    keep(sink, base, received, total);
    throw;
  }
  if (end_of_file)
    throw Error(errc::end_of_file,
                std::string(op) + ": the other end of the connection closed in the middle of a " +
                    "message (" + std::to_string(received) + " of " + size_text(total) +
                    " received)");
  if (truncated) fail_protocol(op, "a record longer than the message it belongs to");
  return total;
}

}  // namespace mproc::detail
