// A Connection whose peer does not follow the framing (a buggy or hostile process writing raw
// records to the socket): no unbounded allocation, no message mistaken for end-of-file.
#include <mproc/connection.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/leak_check.hpp"
#include "transport/connection_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::errc;
using mproc::test::expect_error;
using ConnectionPeerTest = mproc::test::LeakCheckedTest;

// One raw record: an 8-byte size header, then `payload`.
void send_first_record(int fd, std::uint64_t announced, const std::string& payload) {
  std::string record(reinterpret_cast<const char*>(&announced), sizeof announced);
  record += payload;
  ASSERT_EQ(::send(fd, record.data(), record.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(record.size()));
}

// Resident memory of this process, in KiB.
long resident_kib() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

TEST_F(ConnectionPeerTest, APartialHugeMessagePinsMemoryInProportionToWhatArrived) {
  auto [a, b] = mproc::pipe();
  const long before = resident_kib();
  send_first_record(a.fileno(), std::uint64_t{4} << 30, std::string(1000, 'x'));
  // The message is incomplete: the receive times out and keeps what arrived.
  EXPECT_FALSE(b.recv_bytes(mproc::Seconds(0.05)).has_value());
  const long kept = resident_kib() - before;
  EXPECT_LT(kept, 8 * 1024) << "KiB resident for a 1000-byte partial message";
}

TEST_F(ConnectionPeerTest, RecvOfAValueDrainsAnOversizedMessageWithoutBufferingIt) {
  auto [a, b] = mproc::pipe();
  const std::size_t size = std::size_t{96} << 20;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The receiver: its peak resident memory must not grow by the message's size.
    a.close();
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    const long before = usage.ru_maxrss;
    int code = 0;
    try {
      (void)b.recv<std::int32_t>();
      code = 2;  // no error
    } catch (const mproc::Error& e) {
      code = e.code() == mproc::make_error_code(errc::codec) ? 0 : 3;
    }
    if (code == 0 && b.recv<std::int32_t>() != 7) code = 4;
    ::getrusage(RUSAGE_SELF, &usage);
    if (code == 0 && usage.ru_maxrss - before > 32 * 1024) code = 5;
    ::_exit(code);
  }
  b.close();
  a.send_bytes(std::string(size, 'z'));
  a.send(std::int32_t{7});
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: no error, 3: another error, 4: next value lost, "
                                       "5: the message was buffered";
}

TEST_F(ConnectionPeerTest, ADrainThatTimesOutIsFinishedAndReportedByTheNextReceive) {
  auto [a, b] = mproc::pipe();
  const std::size_t size = 100 * 1024;  // the rest fits in the socket buffer unread
  send_first_record(a.fileno(), size, std::string(1000, 'x'));
  EXPECT_FALSE(b.recv<std::int32_t>(mproc::Seconds(0.05)).has_value());
  const std::string rest(size - 1000, 'y');
  for (std::size_t sent = 0; sent < rest.size();) {
    const std::size_t chunk = std::min<std::size_t>(rest.size() - sent, 64 * 1024);
    ASSERT_EQ(::send(a.fileno(), rest.data() + sent, chunk, MSG_NOSIGNAL),
              static_cast<ssize_t>(chunk));
    sent += chunk;
  }
  a.send(std::int32_t{5});
  const auto message = expect_error([&, &b = b] { b.recv<std::int32_t>(); }, errc::codec);
  EXPECT_NE(message.find("discarded"), std::string::npos) << message;
  EXPECT_EQ(b.recv<std::int32_t>(), 5);
}

TEST_F(ConnectionPeerTest, AnEmptyRecordFromALivePeerIsAProtocolErrorNotEndOfFile) {
  auto [a, b] = mproc::pipe();
  ASSERT_EQ(::send(a.fileno(), "", 0, MSG_NOSIGNAL), 0);
  a.send_bytes("after");
  expect_error([&, &b = b] { b.recv_bytes(); }, std::errc::protocol_error);
}

TEST_F(ConnectionPeerTest, AnEmptyRecordInTheMiddleOfAMessageIsAProtocolError) {
  auto [a, b] = mproc::pipe();
  send_first_record(a.fileno(), 10, "ab");
  ASSERT_EQ(::send(a.fileno(), "", 0, MSG_NOSIGNAL), 0);
  ASSERT_EQ(::send(a.fileno(), "cdefghij", 8, MSG_NOSIGNAL), 8);
  expect_error([&, &b = b] { b.recv_bytes(); }, std::errc::protocol_error);
}

TEST_F(ConnectionPeerTest, AClosedPeerIsStillEndOfFile) {
  auto [a, b] = mproc::pipe();
  a.send_bytes("last");
  a.close();
  EXPECT_EQ(b.recv_bytes(), "last");
  expect_error([&, &b = b] { b.recv_bytes(); }, errc::end_of_file);
}

}  // namespace
