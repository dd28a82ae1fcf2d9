// mproc::Connection within one process: framing, sizes, errors, options. (The tests across
// processes are in pipe_process_test.cpp.)
#include <mproc/connection.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "support/leak_check.hpp"
#include "transport/connection_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::BufferTooShort;
using mproc::Connection;
using mproc::errc;
using mproc::test::expect_error;
using mproc::test::pattern;
using ConnectionTest = mproc::test::LeakCheckedTest;

TEST_F(ConnectionTest, BytesGoBothWaysOnADuplexPipe) {
  auto [a, b] = mproc::pipe();
  EXPECT_TRUE(a.readable() && a.writable() && b.readable() && b.writable());
  a.send_bytes("ping");
  EXPECT_EQ(b.recv_bytes(), "ping");
  b.send_bytes("pong");
  EXPECT_EQ(a.recv_bytes(), "pong");
}

TEST_F(ConnectionTest, EmptyMessagesAreDeliveredAsMessages) {
  auto [a, b] = mproc::pipe();
  a.send_bytes("");
  a.send_bytes(nullptr, 0);
  a.send_bytes("x");
  EXPECT_EQ(b.recv_bytes(), "");
  EXPECT_EQ(b.recv_bytes_into(nullptr, 0), 0u);
  EXPECT_EQ(b.recv_bytes(), "x");
}

TEST_F(ConnectionTest, MessageBoundariesAreKept) {
  // Sizes around the first-record and record limits, sent back to back and read one by one.
  const std::vector<std::size_t> sizes = {
      0,     1,     7,      8,      9,      100,     4095, 65528,
      65529, 65536, 200000, 262144, 262145, 1 << 20, 3,    (1 << 20) + 13};
  auto [a, b] = mproc::pipe();
  mproc::Process sender([&, &a = a] {
    for (std::size_t i = 0; i < sizes.size(); ++i) a.send_bytes(pattern(sizes[i], unsigned(i)));
  });
  sender.start();
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto message = b.recv_bytes(mproc::test::kBound);
    ASSERT_TRUE(message.has_value()) << "message " << i;
    EXPECT_EQ(message->size(), sizes[i]) << "message " << i;
    EXPECT_EQ(*message, pattern(sizes[i], unsigned(i))) << "message " << i;
  }
  mproc::test::expect_clean_exit(sender);
}

TEST_F(ConnectionTest, RecvBytesIntoAShortBufferKeepsTheMessage) {
  auto [a, b] = mproc::pipe();
  const std::string text = pattern(1000, 3);
  a.send_bytes(text);
  a.send_bytes("next");
  std::array<char, 10> small{};
  try {
    b.recv_bytes_into(small.data(), small.size());
    ADD_FAILURE() << "expected BufferTooShort";
  } catch (const BufferTooShort& e) {
    EXPECT_EQ(e.code(), mproc::make_error_code(errc::too_big));
    EXPECT_EQ(e.message_size(), 1000u);
  }
  // Still too short: still kept; poll sees the kept message.
  EXPECT_THROW(b.recv_bytes_into(small.data(), small.size()), BufferTooShort);
  EXPECT_TRUE(b.poll());
  std::vector<char> big(1000);
  EXPECT_EQ(b.recv_bytes_into(big.data(), big.size()), 1000u);
  EXPECT_EQ(std::string(big.data(), big.size()), text);
  EXPECT_EQ(b.recv_bytes_into(small.data(), small.size()), 4u);
  EXPECT_EQ(std::string(small.data(), 4), "next");
}

TEST_F(ConnectionTest, AKeptMessageCanBeTakenByRecvBytes) {
  auto [a, b] = mproc::pipe();
  const std::string text = pattern(300000, 4);  // several records
  mproc::Process sender([&, &a = a] { a.send_bytes(text); });
  sender.start();
  char byte;
  ASSERT_TRUE(b.poll(mproc::test::kBound));
  EXPECT_THROW(b.recv_bytes_into(&byte, 1), BufferTooShort);
  EXPECT_THROW(b.recv_bytes(299999), BufferTooShort);
  EXPECT_EQ(b.recv_bytes(), text);
  mproc::test::expect_clean_exit(sender);
}

TEST_F(ConnectionTest, TheSenderRefusesAMessageOverItsMaximumAndStaysUsable) {
  auto [a, b] = mproc::pipe();
  a.set_max_message_size(100);
  EXPECT_EQ(a.max_message_size(), 100u);
  expect_error([&, &a = a] { a.send_bytes(std::string(101, 'x')); }, errc::too_big);
  a.send_bytes(std::string(100, 'y'));
  EXPECT_EQ(b.recv_bytes(), std::string(100, 'y'));
  EXPECT_FALSE(b.poll());  // the refused message was not sent
}

TEST_F(ConnectionTest, AnIncomingMessageOverTheMaximumBreaksTheReceivingSide) {
  auto [a, b] = mproc::pipe();
  EXPECT_EQ(b.max_message_size(), Connection::kDefaultMaxMessageSize);
  EXPECT_GE(b.max_message_size(), std::uint64_t{1} << 30);
  b.set_max_message_size(1000);
  a.send_bytes(std::string(1000, 'a'));
  a.send_bytes(std::string(1001, 'b'));
  EXPECT_EQ(b.recv_bytes().size(), 1000u);
  expect_error([&, &b = b] { b.recv_bytes(); }, errc::too_big);
  const auto message = expect_error([&, &b = b] { b.recv_bytes(); }, errc::bad_state);
  EXPECT_NE(message.find("1001"), std::string::npos) << message;
  expect_error([&, &b = b] { b.poll(); }, errc::bad_state);
  // Sending from that end still works.
  b.send_bytes("still sending");
  EXPECT_EQ(a.recv_bytes(), "still sending");
  expect_error([&, &b = b] { b.set_max_message_size(0); }, std::errc::invalid_argument);
}

TEST_F(ConnectionTest, ASendToAClosedPeerIsEPIPEAndNoSignal) {
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &before), 0);
  auto [a, b] = mproc::pipe();
  b.close();
  expect_error([&, &a = a] { a.send_bytes("lost"); }, std::errc::broken_pipe);
  expect_error([&, &a = a] { a.send_bytes(pattern(1 << 20, 1)); }, std::errc::broken_pipe);
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, before.sa_handler);  // still the default: nothing was changed
}

TEST_F(ConnectionTest, RecvAfterThePeerClosedGivesTheQueuedMessagesThenEndOfFile) {
  auto [a, b] = mproc::pipe();
  a.send_bytes("one");
  a.send_bytes("");
  a.close();
  EXPECT_TRUE(b.poll());
  EXPECT_EQ(b.recv_bytes(), "one");
  EXPECT_EQ(b.recv_bytes(), "");
  EXPECT_TRUE(b.poll());  // end-of-file is "ready"
  expect_error([&, &b = b] { b.recv_bytes(); }, errc::end_of_file);
  expect_error([&, &b = b] { b.recv_bytes(1s); }, errc::end_of_file);
  expect_error([&, &b = b] { b.recv<int>(); }, errc::end_of_file);
}

TEST_F(ConnectionTest, AOneWayPipeRefusesTheWrongDirection) {
  auto [reader, writer] = mproc::pipe(false);
  EXPECT_TRUE(reader.readable());
  EXPECT_FALSE(reader.writable());
  EXPECT_FALSE(writer.readable());
  EXPECT_TRUE(writer.writable());
  writer.send_bytes("right way");
  EXPECT_EQ(reader.recv_bytes(), "right way");
  auto message = expect_error([&, &r = reader] { r.send_bytes("x"); }, errc::bad_state);
  EXPECT_NE(message.find("one-way"), std::string::npos) << message;
  expect_error([&, &w = writer] { w.recv_bytes(); }, errc::bad_state);
  expect_error([&, &w = writer] { w.recv_bytes(0s); }, errc::bad_state);
  char byte;
  expect_error([&, &w = writer] { w.recv_bytes_into(&byte, 1); }, errc::bad_state);
  expect_error([&, &w = writer] { w.poll(); }, errc::bad_state);
  expect_error([&, &w = writer] { mproc::wait({w}, 0s); }, errc::bad_state);
  // The kernel enforces it too, for code that uses the descriptors directly.
  EXPECT_LT(::send(reader.fileno(), "x", 1, MSG_NOSIGNAL), 0);
}

TEST_F(ConnectionTest, PollAndTimedReceivesTimeOutAndThenSeeAMessage) {
  auto [a, b] = mproc::pipe();
  EXPECT_FALSE(b.poll());
  EXPECT_FALSE(b.poll(10ms));
  EXPECT_FALSE(b.recv_bytes(0s).has_value());
  EXPECT_FALSE(b.recv_bytes(10ms).has_value());
  char buffer[8];
  EXPECT_FALSE(b.recv_bytes_into(buffer, sizeof buffer, 10ms).has_value());
  EXPECT_FALSE(b.recv<int>(10ms).has_value());
  a.send(7);
  EXPECT_TRUE(b.poll(std::nullopt));
  EXPECT_TRUE(b.poll());  // polling does not consume
  EXPECT_EQ(b.recv<int>(0s), 7);
  expect_error([&, &b = b] { b.poll(-1s); }, std::errc::invalid_argument);
  expect_error([&, &b = b] { b.recv_bytes(mproc::Seconds(-0.5)); }, std::errc::invalid_argument);
  expect_error([&, &b = b] { b.recv_bytes(mproc::Seconds(std::nan(""))); },
               std::errc::invalid_argument);
}

TEST_F(ConnectionTest, ValuesTravelThroughTheCodec) {
  struct Point {
    double x;
    int y;
  };
  auto [a, b] = mproc::pipe();
  a.send(42);
  a.send(Point{1.5, -3});
  a.send(std::string("text"));
  a.send(std::string_view("view"));
  a.send("literal");
  const char* pointer = "pointer";
  a.send(pointer);
  a.send(std::vector<std::int64_t>{1, 2, 3});
  EXPECT_EQ(b.recv<int>(), 42);
  const auto p = b.recv<Point>();
  EXPECT_EQ(p.x, 1.5);
  EXPECT_EQ(p.y, -3);
  EXPECT_EQ(b.recv<std::string>(), "text");
  EXPECT_EQ(b.recv<std::string>(), "view");
  EXPECT_EQ(b.recv<std::string>(), "literal");
  EXPECT_EQ(b.recv<std::string>(), "pointer");  // the characters, not the address
  EXPECT_EQ(b.recv<std::vector<std::int64_t>>(), (std::vector<std::int64_t>{1, 2, 3}));
}

TEST_F(ConnectionTest, AValueOfTheWrongSizeIsACodecErrorAndIsConsumed) {
  auto [a, b] = mproc::pipe();
  a.send(std::int64_t{1});
  a.send(std::int16_t{2});
  a.send(std::int32_t{3});
  expect_error([&, &b = b] { b.recv<std::int32_t>(); }, errc::codec);  // too long
  expect_error([&, &b = b] { b.recv<std::int32_t>(); }, errc::codec);  // too short
  EXPECT_EQ(b.recv<std::int32_t>(), 3);
}

TEST_F(ConnectionTest, AClosedConnectionRefusesEverything) {
  auto [a, b] = mproc::pipe();
  a.close();
  a.close();  // twice is fine
  EXPECT_TRUE(a.closed());
  EXPECT_FALSE(a.readable());
  expect_error([&, &a = a] { a.send_bytes("x"); }, errc::closed);
  expect_error([&, &a = a] { a.recv_bytes(); }, errc::closed);
  expect_error([&, &a = a] { a.poll(); }, errc::closed);
  expect_error([&, &a = a] { a.fileno(); }, errc::closed);
  expect_error([&, &a = a] { a.max_message_size(); }, errc::closed);
  expect_error([&, &a = a] { mproc::wait({a}, 0s); }, errc::closed);
  Connection empty;
  EXPECT_TRUE(empty.closed());
  expect_error([&] { empty.send(1); }, errc::closed);
}

TEST_F(ConnectionTest, MovingAConnectionMovesTheEnd) {
  auto [a, b] = mproc::pipe();
  Connection moved = std::move(a);
  EXPECT_TRUE(a.closed());  // NOLINT(bugprone-use-after-move): moved-from is closed, by contract
  moved.send_bytes("moved");
  EXPECT_EQ(b.recv_bytes(), "moved");
  Connection target;
  target = std::move(b);
  moved.send_bytes("again");
  EXPECT_EQ(target.recv_bytes(), "again");
}

TEST_F(ConnectionTest, ADescriptorCanBeAdoptedAndIsChecked) {
  auto [a, b] = mproc::pipe();
  // A duplicate far above FD_SETSIZE: adopted, and watched by wait() (poll, not select).
  const int high = ::fcntl(b.fileno(), F_DUPFD_CLOEXEC, 2000);
  ASSERT_GE(high, 2000);
  Connection adopted(high);
  a.send_bytes("via the copy");
  const auto ready = mproc::wait({adopted}, mproc::test::kBound);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].connection(), &adopted);
  EXPECT_EQ(adopted.recv_bytes(), "via the copy");

  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  expect_error([&] { Connection bad(fds[0]); }, std::errc::invalid_argument);
  ::close(fds[0]);
  ::close(fds[1]);
  int stream[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, stream), 0);
  expect_error([&] { Connection bad(stream[0]); }, std::errc::invalid_argument);
  ::close(stream[0]);
  ::close(stream[1]);
  expect_error([&] { Connection bad(-1); }, std::errc::invalid_argument);
  expect_error([&, &b = b] { Connection bad(b.fileno(), false, false); },
               std::errc::invalid_argument);
}

TEST_F(ConnectionTest, BytesThatAreNotAConnectionsMessageAreAProtocolError) {
  auto [a, b] = mproc::pipe();
  ASSERT_EQ(::send(a.fileno(), "abc", 3, MSG_NOSIGNAL), 3);  // shorter than a header
  expect_error([&, &b = b] { b.recv_bytes(); }, std::errc::protocol_error);
  expect_error([&, &b = b] { b.recv_bytes(); }, errc::bad_state);
}

TEST_F(ConnectionTest, AHugeAnnouncementWithoutDataEndsInEndOfFileNotAHugeAllocation) {
  // A header announcing 3 GiB followed by nothing: the receiver starts with a bounded buffer and
  // reports the truncated message when the peer goes away.
  auto [a, b] = mproc::pipe();
  const std::uint64_t header = std::uint64_t{3} << 30;
  ASSERT_EQ(::send(a.fileno(), &header, sizeof header, MSG_NOSIGNAL), 8);
  a.close();
  const auto message = expect_error([&, &b = b] { b.recv_bytes(); }, errc::end_of_file);
  EXPECT_NE(message.find("middle"), std::string::npos) << message;
}

TEST_F(ConnectionTest, TheFilenoIsReadableExactlyWhenAMessageWaits) {
  // A Connection never reads ahead: after one message is taken, the descriptor is readable only
  // if another message is queued.
  auto [a, b] = mproc::pipe();
  pollfd pfd{b.fileno(), POLLIN, 0};
  EXPECT_EQ(::poll(&pfd, 1, 0), 0);
  a.send_bytes("first");
  a.send_bytes("second");
  EXPECT_EQ(::poll(&pfd, 1, 0), 1);
  EXPECT_EQ(b.recv_bytes(), "first");
  EXPECT_EQ(::poll(&pfd, 1, 0), 1);
  EXPECT_EQ(b.recv_bytes(), "second");
  EXPECT_EQ(::poll(&pfd, 1, 0), 0);
}

}  // namespace
