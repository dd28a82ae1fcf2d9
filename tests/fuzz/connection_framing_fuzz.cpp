// Fuzzes a Connection's receiving side: the input is cut into raw SEQPACKET records written by a
// peer that ignores the framing, then received with recv_bytes / recv_bytes_into / recv<T>.
// Everything must end in a value or an mproc::Error: no crash, no unbounded allocation (run with
// -malloc_limit_mb), no hang (the peer's end is closed before receiving starts).
#include <mproc/connection.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <vector>

namespace {

// The input: [mode byte] then records, each [2-byte little-endian length][bytes]. A record's
// first 8 bytes may be a size header; mode bit 0x80 replaces them with a size chosen from a few
// interesting values (the fuzzer would rarely hit a 4 GiB announcement by itself).
std::vector<std::string> records_of(const std::uint8_t* data, std::size_t size,
                                    std::uint8_t mode) {
  std::vector<std::string> records;
  std::size_t at = 0;
  while (at + 2 <= size) {
    std::size_t length = data[at] | (std::size_t{data[at + 1]} << 8);
    at += 2;
    if (length > size - at) length = size - at;
    std::string record(reinterpret_cast<const char*>(data + at), length);
    at += length;
    if ((mode & 0x80) != 0 && records.empty() && record.size() >= 8) {
      static constexpr std::uint64_t kSizes[] = {0, 1, 7, 65536, 1u << 20, std::uint64_t{1} << 32,
                                                 ~std::uint64_t{0}, 300000};
      const std::uint64_t header = kSizes[record[0] & 7];
      std::memcpy(record.data(), &header, sizeof header);
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  auto [sender, receiver] = mproc::pipe();
  for (const auto& record : records_of(data + 1, size - 1, mode)) {
    // Never block: a record that does not fit in the socket buffer ends the input.
    if (::send(sender.fileno(), record.data(), record.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
      break;
  }
  sender.close();
  if ((mode & 0x40) != 0) receiver.set_max_message_size(1 + (mode & 0x3f) * 4096);
  char buffer[512];
  for (int i = 0; i < 64; ++i) {
    try {
      switch ((mode + i) % 4) {
        case 0: (void)receiver.recv_bytes(); break;
        case 1: (void)receiver.recv_bytes(300); break;
        case 2: (void)receiver.recv_bytes_into(buffer, sizeof buffer); break;
        default: (void)receiver.recv<std::int32_t>(); break;
      }
    } catch (const mproc::Error& e) {
      // End-of-file and a broken receiving side end the message stream; the others (a message
      // too long for the buffer or the type) leave it usable.
      if (e.code() == mproc::make_error_code(mproc::errc::end_of_file) ||
          e.code() == mproc::make_error_code(mproc::errc::bad_state))
        break;
    }
  }
  return 0;
}
