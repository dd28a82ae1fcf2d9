// How a long message is cut into records (connection_send.cpp, record_payload_max): a quarter of
// the send buffer per record where the receiver may run on another CPU (so that the two copies
// overlap), whole-buffer records where the sending thread may run on one CPU only. Read here
// record by record from the raw socket, as a peer would see them.
#include <mproc/connection.hpp>
#include <mproc/error.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <sched.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <vector>

#include "support/leak_check.hpp"

namespace {

using ConnectionRecordSizeTest = mproc::test::LeakCheckedTest;

constexpr std::size_t kMessage = std::size_t{4} << 20;

// Sends one kMessage-byte message from a thread confined to `cpus`, reads it from the other end's
// raw descriptor and returns every record's size (checking that they add up to the message).
std::vector<std::size_t> record_sizes(const std::vector<int>& cpus) {
  auto [sender, receiver] = mproc::pipe();
  const std::string message(kMessage, 'r');
  bool pinned = false;
  bool sent = false;
  std::thread sending([&, &end = sender] {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : cpus) CPU_SET(cpu, &set);
    pinned = ::sched_setaffinity(0, sizeof set, &set) == 0;
    try {
      end.send_bytes(message.data(), message.size());
      sent = true;
    } catch (const mproc::Error&) {  // the receiving side gave up: sent stays false
    }
  });
  // A receive that finds nothing for 10 s ends the loop (and fails the test) rather than hang.
  const timeval patience{10, 0};
  EXPECT_EQ(::setsockopt(receiver.fileno(), SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience), 0);
  std::vector<std::size_t> sizes;
  std::vector<char> record(std::size_t{1} << 20);
  std::size_t received = 0;
  while (received < kMessage + sizeof(std::uint64_t)) {
    const ssize_t got = ::recv(receiver.fileno(), record.data(), record.size(), 0);
    if (got <= 0) break;
    sizes.push_back(static_cast<std::size_t>(got));
    received += static_cast<std::size_t>(got);
  }
  // Given up early: a sender blocked on the full buffer gets EPIPE instead of waiting for ever.
  if (received < kMessage + sizeof(std::uint64_t)) ::shutdown(receiver.fileno(), SHUT_RDWR);
  sending.join();
  EXPECT_TRUE(pinned) << "sched_setaffinity of the sending thread failed";
  EXPECT_TRUE(sent);
  EXPECT_EQ(received, kMessage + sizeof(std::uint64_t));
  return sizes;
}

// The largest record a pipe's sender uses (connection_send.cpp: the send buffer less some room,
// at most 256 KiB).
std::size_t largest_record_of_a_pipe() {
  auto [a, b] = mproc::pipe();
  int size = 0;
  socklen_t length = sizeof size;
  EXPECT_EQ(::getsockopt(a.fileno(), SOL_SOCKET, SO_SNDBUF, &size, &length), 0);
  return std::min<std::size_t>(static_cast<std::size_t>(size) - 256, 256 * 1024);
}

// The CPUs this process may use, at most `limit` of them.
std::vector<int> allowed_cpus(std::size_t limit) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < limit; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

TEST_F(ConnectionRecordSizeTest, ASenderThatMayRunOnOneCpuFillsTheSendBufferWithEachRecord) {
  const std::vector<int> one = allowed_cpus(1);
  ASSERT_EQ(one.size(), 1u);
  const std::vector<std::size_t> sizes = record_sizes(one);
  ASSERT_FALSE(sizes.empty());
  // Continuation records (the first one is at most 64 KiB) as large as the buffer takes.
  const std::size_t largest = *std::max_element(sizes.begin(), sizes.end());
  EXPECT_GT(largest, largest_record_of_a_pipe() / 2) << "records of " << largest << " bytes";
}

TEST_F(ConnectionRecordSizeTest, ASenderThatMayRunOnTwoCpusSendsQuarterBufferRecords) {
  const std::vector<int> two = allowed_cpus(2);
  if (two.size() < 2) GTEST_SKIP() << "this process may run on one CPU only";
  const std::vector<std::size_t> sizes = record_sizes(two);
  ASSERT_GT(sizes.size(), 4u);
  const std::size_t largest = *std::max_element(sizes.begin(), sizes.end());
  EXPECT_LE(largest, std::max<std::size_t>(largest_record_of_a_pipe() / 4, 2 * 1024))
      << "records of " << largest << " bytes";
}

}  // namespace
