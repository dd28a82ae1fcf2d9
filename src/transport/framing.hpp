// The wire format of a Connection, over an AF_UNIX SOCK_SEQPACKET socketpair.
//
// The kernel keeps the boundaries of records (one sendmsg = one record, delivered whole by one
// recvmsg), but a record must fit in the socket's send buffer (sendmsg fails with EMSGSIZE above
// roughly SO_SNDBUF bytes), so a message is sent as:
//
//   first record:          [ 8-byte header: payload size (native uint64) ][ first payload bytes ]
//   continuation records:  [ payload bytes ] ...   until the announced size has arrived
//
// Limits that both ends rely on (the same library on both sides: a forked child or an exec'd
// program of the same version):
//  - the first record is at most kFirstRecordMax bytes, header included, so that a receiver that
//    does not yet know the size can offer a bounded scratch area and never truncates it;
//  - a continuation record is at most kRecordMax bytes, and the receiver always offers at least
//    min(bytes still missing, kRecordMax), so no record is ever truncated.
//  - every record carries at least one byte (the first one its header): a 0-byte record from a
//    peer that is still connected is a protocol error, never taken for end-of-file.
// Why SEQPACKET rather than a byte stream: a small message is one record, received with a single
// recvmsg without reading past its end (a stream needs a header read plus a payload read, or a
// read-ahead buffer that would hide data from poll() on fileno() and be duplicated by fork).
#pragma once

#include <cstddef>
#include <cstdint>

namespace mproc::detail {

constexpr std::size_t kHeaderSize = sizeof(std::uint64_t);
constexpr std::size_t kFirstRecordMax = 64 * 1024;
constexpr std::size_t kFirstPayloadMax = kFirstRecordMax - kHeaderSize;
constexpr std::size_t kRecordMax = 256 * 1024;
// The smallest record the sender falls back to when the kernel rejects bigger ones (EMSGSIZE with
// a tiny SO_SNDBUF); below this the send fails.
constexpr std::size_t kRecordMin = 2 * 1024;
// Records a long message keeps in the socket's send buffer at once where the receiver runs
// beside the sender (connection_send.cpp, record_payload_max).
constexpr std::size_t kRecordsInFlight = 4;
// A receiver allocates the announced size up front for messages up to this size; above it, it
// grows its buffer (doubling) as records arrive, so a header announcing gigabytes pins at most this
// much plus twice what actually arrived.
constexpr std::size_t kEagerAllocation = 1024 * 1024;

}  // namespace mproc::detail
