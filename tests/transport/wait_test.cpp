// mproc::wait over Connections, Process sentinels and raw descriptors.
#include <mproc/connection.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <set>
#include <unistd.h>
#include <vector>

#include "support/leak_check.hpp"
#include "transport/connection_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::Connection;
using mproc::errc;
using mproc::Process;
using mproc::Waitable;
using mproc::test::expect_clean_exit;
using mproc::test::expect_error;
using mproc::test::kBound;
using WaitTest = mproc::test::LeakCheckedTest;

TEST_F(WaitTest, ReturnsTheReadyConnectionsInTheOrderGiven) {
  auto [a0, b0] = mproc::pipe();
  auto [a1, b1] = mproc::pipe();
  auto [a2, b2] = mproc::pipe();
  EXPECT_TRUE(mproc::wait({b0, b1, b2}, 0s).empty());
  EXPECT_TRUE(mproc::wait({b0, b1, b2}, 20ms).empty());
  a2.send_bytes("two");
  a0.send_bytes("zero");
  const auto ready = mproc::wait({b0, b1, b2}, kBound);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[0].connection(), &b0);
  EXPECT_EQ(ready[1].connection(), &b2);
  EXPECT_EQ(ready[1], Waitable(b2));
  EXPECT_EQ(b0.recv_bytes(), "zero");
  EXPECT_EQ(b2.recv_bytes(), "two");
  EXPECT_TRUE(mproc::wait({b0, b1, b2}, 0s).empty());
}

TEST_F(WaitTest, EndOfFileCountsAsReady) {
  auto [a, b] = mproc::pipe();
  a.close();
  const auto ready = mproc::wait({b}, kBound);
  ASSERT_EQ(ready.size(), 1u);
  expect_error([&, &b = b] { b.recv_bytes(); }, errc::end_of_file);
}

TEST_F(WaitTest, AMessageKeptAfterBufferTooShortIsReady) {
  // The socket is empty once the message is kept inside the Connection; wait must still see it.
  auto [a, b] = mproc::pipe();
  a.send_bytes("longer than one byte");
  char byte;
  EXPECT_THROW(b.recv_bytes_into(&byte, 1), mproc::BufferTooShort);
  auto [c, d] = mproc::pipe();
  const auto ready = mproc::wait({d, b});
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].connection(), &b);
  EXPECT_EQ(b.recv_bytes(), "longer than one byte");
}

TEST_F(WaitTest, SeesAProcessEndAndARawDescriptor) {
  mproc::test::Gate gate;
  Process child([&] { gate.pass(); });
  child.start();
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  auto [a, b] = mproc::pipe();
  EXPECT_TRUE(mproc::wait({child, Waitable::fd(fds[0]), b}, 10ms).empty());
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  auto ready = mproc::wait({child, Waitable::fd(fds[0]), b}, kBound);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].raw_fd(), fds[0]);
  gate.open_all();
  ready = mproc::wait({child}, kBound);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].process(), &child);
  expect_clean_exit(child);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(WaitTest, HundredsOfConnectionsAndSentinels) {
  // 100 connections whose other ends live in one child, plus the sentinels of three children. The
  // child answers on a few chosen connections; the parent waits until it has all of them, and the
  // sentinels of the children as they end.
  constexpr int kConnections = 100;
  const std::set<int> chosen = {0, 7, 42, 63, 99};
  std::vector<Connection> mine;
  std::vector<Connection> theirs;
  for (int i = 0; i < kConnections; ++i) {
    auto [a, b] = mproc::pipe();
    mine.push_back(std::move(a));
    theirs.push_back(std::move(b));
  }
  mproc::test::Gate gate;
  Process talker([&] {
    for (int i : chosen) theirs[static_cast<std::size_t>(i)].send(i);
    gate.pass();  // stay alive until the parent has seen everything
  });
  Process quick1([] {});
  Process quick2([] { throw mproc::SystemExit(3); });
  talker.start();
  quick1.start();
  quick2.start();
  for (auto& end : theirs) end.close();

  std::vector<Waitable> objects(mine.begin(), mine.end());
  objects.emplace_back(quick1);
  objects.emplace_back(quick2);
  std::set<int> heard;
  std::set<Process*> ended;
  while (heard.size() < chosen.size() || ended.size() < 2) {
    const auto ready = mproc::wait(objects, kBound);
    ASSERT_FALSE(ready.empty()) << "wait timed out";
    for (const auto& object : ready) {
      if (Process* process = object.process()) {
        ended.insert(process);
        std::erase(objects, object);  // a sentinel stays ready: stop watching it
      } else {
        const int value = object.connection()->recv<int>();
        EXPECT_TRUE(chosen.count(value)) << value;
        EXPECT_EQ(object.connection(), &mine[static_cast<std::size_t>(value)]);
        heard.insert(value);
      }
    }
  }
  EXPECT_EQ(heard, chosen);
  // The talker has not ended: nothing is ready.
  objects.emplace_back(talker);
  EXPECT_TRUE(mproc::wait(objects, 0s).empty());
  gate.open_all();
  // Now the talker's sentinel and, as its ends closed, every connection (end-of-file).
  while (mproc::wait({talker}, kBound).empty()) {
  }
  EXPECT_EQ(mproc::wait(objects, kBound).size(), objects.size());
  expect_clean_exit(talker);
  expect_clean_exit(quick1);
  EXPECT_TRUE(quick2.join(kBound));
  EXPECT_EQ(quick2.exitcode(), 3);
}

TEST_F(WaitTest, BadObjectsAreErrors) {
  expect_error([] { mproc::wait({}); }, std::errc::invalid_argument);
  EXPECT_TRUE(mproc::wait({}, 1ms).empty());
  expect_error([] { mproc::wait({Waitable::fd(-1)}, 0s); }, std::errc::bad_file_descriptor);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[0]);
  ::close(fds[1]);
  expect_error([&] { mproc::wait({Waitable::fd(fds[0])}, 0s); }, std::errc::bad_file_descriptor);
  Process unstarted([] {});
  expect_error([&] { mproc::wait({unstarted}, 0s); }, errc::bad_state);
  auto [a, b] = mproc::pipe();
  expect_error([&, &b = b] { mproc::wait({b}, -1s); }, std::errc::invalid_argument);
}

}  // namespace
