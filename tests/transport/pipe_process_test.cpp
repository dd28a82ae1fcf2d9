// Pipes between real forked processes: ping-pong, sizes up to over 1 GiB, end-of-file and dead
// peers, signals, timeouts, threads, grandchildren.
#include <mproc/connection.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

#include "support/leak_check.hpp"
#include "transport/connection_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::Connection;
using mproc::errc;
using mproc::Process;
using mproc::test::expect_clean_exit;
using mproc::test::expect_error;
using mproc::test::kBound;
using mproc::test::matches_pattern;
using mproc::test::pattern;
using PipeProcessTest = mproc::test::LeakCheckedTest;

TEST_F(PipeProcessTest, PingPong) {
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    for (;;) {
      const auto n = c.recv<std::int64_t>();
      if (n < 0) return;
      c.send(n + 1);
    }
  });
  child.start();
  child_end.close();
  std::int64_t value = 0;
  for (int i = 0; i < 2000; ++i) {
    parent_end.send(value);
    const auto reply = parent_end.recv<std::int64_t>(kBound);
    ASSERT_TRUE(reply.has_value());
    ASSERT_EQ(*reply, value + 1);
    value = *reply;
  }
  parent_end.send(std::int64_t{-1});
  expect_clean_exit(child);
}

TEST_F(PipeProcessTest, MessagesOfEverySizeGoBothWays) {
  const std::vector<std::size_t> sizes = {0, 1, 64 * 1024, 16 * 1024 * 1024};
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    // Receives each size from the parent, checks it, and sends its own copy back.
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const std::string message = c.recv_bytes();
      if (message.size() != sizes[i] || !matches_pattern(message.data(), message.size(), 10))
        throw mproc::SystemExit(1 + static_cast<int>(i));
      c.send_bytes(pattern(sizes[i], 20));
    }
    return;
  });
  child.start();
  child_end.close();
  for (std::size_t size : sizes) {
    parent_end.send_bytes(pattern(size, 10));
    const auto reply = parent_end.recv_bytes(kBound);
    ASSERT_TRUE(reply.has_value()) << size;
    ASSERT_EQ(reply->size(), size);
    EXPECT_TRUE(matches_pattern(reply->data(), reply->size(), 20)) << size;
  }
  expect_clean_exit(child);
}

// 4 KiB blocks, each starting with its own index: cheap to fill and check at 1 GiB.
void fill_blocks(char* data, std::size_t size) {
  for (std::size_t offset = 0; offset < size; offset += 4096) {
    const std::uint64_t index = offset / 4096 + 1;
    std::memset(data + offset, static_cast<int>(index & 0xff),
                std::min<std::size_t>(4096, size - offset));
    if (size - offset >= sizeof index) std::memcpy(data + offset, &index, sizeof index);
  }
}
bool check_blocks(const char* data, std::size_t size) {
  std::vector<char> expected(4096);
  for (std::size_t offset = 0; offset < size; offset += 4096) {
    const std::size_t length = std::min<std::size_t>(4096, size - offset);
    const std::uint64_t index = offset / 4096 + 1;
    std::memset(expected.data(), static_cast<int>(index & 0xff), length);
    if (length >= sizeof index) std::memcpy(expected.data(), &index, sizeof index);
    if (std::memcmp(data + offset, expected.data(), length) != 0) return false;
  }
  return true;
}

TEST_F(PipeProcessTest, AMessageOfOverOneGibibyte) {
  // 1 GiB + 1 byte: above the size a receiver allocates up front, so the buffer grows as the
  // records arrive. The child allocates and fills it; the parent checks every block.
  const std::size_t size = (std::size_t{1} << 30) + 1;
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    std::unique_ptr<char[]> data(new char[size]);
    fill_blocks(data.get(), size);
    c.send_bytes(data.get(), size);
  });
  child.start();
  child_end.close();
  const auto message = parent_end.recv_bytes(kBound);
  ASSERT_TRUE(message.has_value());
  ASSERT_EQ(message->size(), size);
  EXPECT_TRUE(check_blocks(message->data(), message->size()));
  expect_clean_exit(child);
}

TEST_F(PipeProcessTest, ThousandsOfMessagesKeepTheirBoundaries) {
  constexpr int kCount = 5000;
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    for (int i = 0; i < kCount; ++i)
      c.send_bytes(pattern(static_cast<std::size_t>(i % 700), unsigned(i)));
  });
  child.start();
  child_end.close();
  std::vector<char> buffer(1024);
  for (int i = 0; i < kCount; ++i) {
    const auto size = parent_end.recv_bytes_into(buffer.data(), buffer.size(), kBound);
    ASSERT_TRUE(size.has_value()) << i;
    ASSERT_EQ(*size, static_cast<std::size_t>(i % 700)) << i;
    ASSERT_TRUE(matches_pattern(buffer.data(), *size, unsigned(i))) << i;
  }
  expect_clean_exit(child);
  expect_error([&, &p = parent_end] { p.recv_bytes(kBound); }, errc::end_of_file);
}

TEST_F(PipeProcessTest, APeerThatExitsGivesItsMessagesThenEndOfFile) {
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    c.send_bytes("last words");
    c.send(std::int32_t{99});
  });
  child.start();
  child_end.close();
  EXPECT_EQ(parent_end.recv_bytes(kBound), "last words");
  EXPECT_EQ(parent_end.recv<std::int32_t>(kBound), 99);
  expect_error([&, &p = parent_end] { p.recv_bytes(kBound); }, errc::end_of_file);
  expect_clean_exit(child);
}

TEST_F(PipeProcessTest, SendingToAPeerThatExitedIsEPIPEAndTheProcessSurvives) {
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &before), 0);
  ASSERT_EQ(before.sa_handler, SIG_DFL);  // a SIGPIPE would kill this test process
  auto [parent_end, child_end] = mproc::pipe();
  Process child([] {});
  child.start();
  child_end.close();
  // The child held a copy of child_end until it exited.
  expect_clean_exit(child);
  expect_error([&, &p = parent_end] { p.send_bytes("anyone?"); }, std::errc::broken_pipe);
  expect_error([&, &p = parent_end] { p.send(pattern(4 << 20, 1)); }, std::errc::broken_pipe);
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, SIG_DFL);
}

TEST_F(PipeProcessTest, APeerKilledInTheMiddleOfAMessageGivesEndOfFile) {
  // The child's 64 MiB message cannot fit in the socket: it is blocked in send, part-way through,
  // when it is killed.
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] { c.send_bytes(std::string(64 << 20, 'k')); });
  child.start();
  child_end.close();
  ASSERT_TRUE(parent_end.poll(kBound));
  child.kill();
  ASSERT_TRUE(child.join(kBound));
  EXPECT_EQ(child.exitcode(), -SIGKILL);
  const auto message =
      expect_error([&, &p = parent_end] { p.recv_bytes(kBound); }, errc::end_of_file);
  EXPECT_NE(message.find("middle"), std::string::npos) << message;
}

TEST_F(PipeProcessTest, ABlockedReceiverSeesEndOfFileWhenTheSenderDiesMidMessage) {
  // The parent is blocked in an untimed recv (the path that blocks in recvmsg itself) while the
  // child sends the start of a message by hand and then dies: the parent must not hang.
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    char record[8 + 1000];
    const std::uint64_t header = 1 << 20;
    std::memcpy(record, &header, sizeof header);
    std::memset(record + 8, 'p', 1000);
    if (::send(c.fileno(), record, sizeof record, MSG_NOSIGNAL) != sizeof record) throw mproc::SystemExit(1);
    ::raise(SIGKILL);
    throw mproc::SystemExit(2);
  });
  child.start();
  child_end.close();
  const auto message = expect_error([&, &p = parent_end] { p.recv_bytes(); }, errc::end_of_file);
  EXPECT_NE(message.find("middle"), std::string::npos) << message;
  ASSERT_TRUE(child.join(kBound));
  EXPECT_EQ(child.exitcode(), -SIGKILL);
}

// ------------------------------------------------------------------------------------------------
// Signals. The handlers are installed in children only: the test process's dispositions are
// never changed.

int g_signal_counter = -1;  // an eventfd, written by the child's SIGALRM handler

void count_signal(int) {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(g_signal_counter, &one, sizeof one);
}

// In a child: SIGALRM every millisecond, with a handler installed without SA_RESTART, so every
// blocking system call it interrupts fails with EINTR unless the library restarts it.
void start_signal_storm() {
  struct sigaction action {};
  action.sa_handler = count_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  ::sigaction(SIGALRM, &action, nullptr);
  itimerval timer{};
  timer.it_interval.tv_usec = 1000;
  timer.it_value.tv_usec = 1000;
  ::setitimer(ITIMER_REAL, &timer, nullptr);
}

// In the parent: waits until the child has taken at least `count` signals.
bool await_signals(int counter, std::uint64_t count) {
  std::uint64_t total = 0;
  while (total < count) {
    pollfd pfd{counter, POLLIN, 0};
    if (::poll(&pfd, 1, 30000) != 1) return false;
    std::uint64_t value = 0;
    if (::read(counter, &value, sizeof value) != sizeof value) return false;
    total += value;
  }
  return true;
}

struct SignalCounter {
  SignalCounter() { g_signal_counter = ::eventfd(0, EFD_CLOEXEC); }
  ~SignalCounter() {
    ::close(g_signal_counter);
    g_signal_counter = -1;  // a stale number could be reused by another descriptor
  }
  SignalCounter(const SignalCounter&) = delete;
  SignalCounter& operator=(const SignalCounter&) = delete;
  int fd() const { return g_signal_counter; }
};

TEST_F(PipeProcessTest, SignalsDuringABlockingRecvDoNotSurfaceAsEINTR) {
  SignalCounter counter;
  ASSERT_GE(counter.fd(), 0);
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    start_signal_storm();
    c.send_bytes("ready");
    // Blocks while the signals arrive; any EINTR would throw and fail the child.
    const std::string small = c.recv_bytes();
    const std::string big = c.recv_bytes();
    throw mproc::SystemExit(small == "go" && big.size() == (8u << 20) && matches_pattern(big.data(), big.size(), 5)
               ? 0
               : 1);
  });
  child.start();
  child_end.close();
  ASSERT_EQ(parent_end.recv_bytes(kBound), "ready");
  ASSERT_TRUE(await_signals(counter.fd(), 20));  // the child is blocked in recv by now
  parent_end.send_bytes("go");
  parent_end.send_bytes(pattern(8 << 20, 5));  // many records, with signals between them
  expect_clean_exit(child);
}

TEST_F(PipeProcessTest, SignalsDuringABlockingSendDoNotSurfaceAsEINTR) {
  SignalCounter counter;
  ASSERT_GE(counter.fd(), 0);
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    start_signal_storm();
    c.send_bytes(pattern(16 << 20, 6));  // blocks while the parent is not reading
    return;
  });
  child.start();
  child_end.close();
  ASSERT_TRUE(parent_end.poll(kBound));
  ASSERT_TRUE(await_signals(counter.fd(), 20));  // the child is blocked in send by now
  const auto message = parent_end.recv_bytes(kBound);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->size(), 16u << 20);
  EXPECT_TRUE(matches_pattern(message->data(), message->size(), 6));
  expect_clean_exit(child);
}

TEST_F(PipeProcessTest, TimeoutsExpireDespiteAStormOfSignals) {
  // A signal every millisecond: a wait that restarted its full timeout after each EINTR would
  // never end; these must each return "nothing" after their own 50 ms.
  SignalCounter counter;
  ASSERT_GE(counter.fd(), 0);
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    start_signal_storm();
    char buffer[16];
    if (c.recv_bytes(50ms).has_value()) throw mproc::SystemExit(1);
    if (c.recv_bytes_into(buffer, sizeof buffer, 50ms).has_value()) throw mproc::SystemExit(2);
    if (c.recv<int>(50ms).has_value()) throw mproc::SystemExit(3);
    if (c.poll(50ms)) throw mproc::SystemExit(4);
    if (!mproc::wait({c}, 50ms).empty()) throw mproc::SystemExit(5);
    c.send_bytes("done");
    return;
  });
  child.start();
  child_end.close();
  EXPECT_EQ(parent_end.recv_bytes(kBound), "done");
  expect_clean_exit(child);
  EXPECT_TRUE(await_signals(counter.fd(), 50));  // the signals did arrive, during the waits
}

// ------------------------------------------------------------------------------------------------

TEST_F(PipeProcessTest, ATimedOutReceiveKeepsThePartOfTheMessageThatArrived) {
  // The sender is stopped (SIGSTOP) in the middle of a 16 MiB message: a receive with no time
  // left takes what is there and times out; the message continues once the sender does.
  constexpr std::size_t kSize = 16 << 20;
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] { c.send_bytes(pattern(kSize, 8)); });
  child.start();
  child_end.close();
  ASSERT_TRUE(parent_end.poll(kBound));
  const pid_t pid = *child.pid();
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WSTOPPED | WNOWAIT), 0);
  EXPECT_FALSE(parent_end.recv_bytes(0s).has_value());
  EXPECT_FALSE(parent_end.recv_bytes(10ms).has_value());
  char small[16];
  try {
    parent_end.recv_bytes_into(small, sizeof small, 0s);
    ADD_FAILURE() << "expected BufferTooShort";
  } catch (const mproc::BufferTooShort& e) {
    EXPECT_EQ(e.message_size(), kSize);
  }
  ASSERT_EQ(::kill(pid, SIGCONT), 0);
  std::vector<char> buffer(kSize);
  const auto size = parent_end.recv_bytes_into(buffer.data(), buffer.size(), kBound);
  ASSERT_EQ(size, kSize);
  EXPECT_TRUE(matches_pattern(buffer.data(), kSize, 8));
  expect_clean_exit(child);
}

TEST_F(PipeProcessTest, OneThreadSendsWhileAnotherReceivesOnTheSameEnd) {
  constexpr int kCount = 3000;
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    for (int i = 0; i < kCount; ++i) c.send(c.recv<int>() * 2);
  });
  child.start();
  child_end.close();
  std::thread sender([&, &p = parent_end] {
    for (int i = 0; i < kCount; ++i) p.send(i);
  });
  long long sum = 0;
  for (int i = 0; i < kCount; ++i) {
    const auto value = parent_end.recv<int>(kBound);
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(*value, 2 * i);
    sum += *value;
  }
  sender.join();
  EXPECT_EQ(sum, static_cast<long long>(kCount) * (kCount - 1));
  expect_clean_exit(child);
}

TEST_F(PipeProcessTest, AGrandchildUsesAnInheritedEnd) {
  auto [parent_end, child_end] = mproc::pipe();
  Process child([&, &c = child_end] {
    Process grandchild([&] { c.send_bytes("from the grandchild " + std::to_string(::getpid())); });
    grandchild.start();
    grandchild.join();
    throw mproc::SystemExit(*grandchild.exitcode());
  });
  child.start();
  child_end.close();
  const auto message = parent_end.recv_bytes(kBound);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->rfind("from the grandchild ", 0), 0u);
  EXPECT_NE(*message, "from the grandchild " + std::to_string(*child.pid()));
  expect_clean_exit(child);
}

TEST_F(PipeProcessTest, AOneWayPipeBetweenProcesses) {
  auto [reader, writer] = mproc::pipe(false);
  Process child([&, &w = writer, &r = reader] {
    r.close();
    w.send_bytes("one way");
    try {
      w.recv_bytes();
    } catch (const mproc::Error& e) {
      throw mproc::SystemExit(e.code() == mproc::make_error_code(errc::bad_state) ? 0 : 2);
    }
    throw mproc::SystemExit(1);
  });
  child.start();
  writer.close();
  EXPECT_EQ(reader.recv_bytes(kBound), "one way");
  expect_error([&, &r = reader] { r.recv_bytes(kBound); }, errc::end_of_file);
  expect_clean_exit(child);
}

}  // namespace
