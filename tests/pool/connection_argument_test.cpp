// A Connection (a Pipe end) as a Pool task argument (issue 13 item 8): made after the workers
// exist, passed straight to apply / map / starmap, it reaches the worker by SCM_RIGHTS from this
// process's resource sharer; the worker sends on it and this process receives. The share lives as
// long as its job: nothing is left open afterwards (the fixture compares /proc/self/fd), a
// cancelled task's share is withdrawn, and a worker asking a sharer that is gone, or for a share
// that was withdrawn, fails that task with a clear error instead of hanging.
#include <mproc/connection.hpp>
#include <mproc/detail/descriptor_shares.hpp>
#include <mproc/pool.hpp>
#include <mproc/process.hpp>
#include <mproc/queue.hpp>

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <tuple>
#include <unistd.h>
#include <vector>

#include "pool/pool_test_support.hpp"

namespace {

using mproc::errc;
using mproc::Seconds;
using mproc::test::expect_error;

constexpr Seconds kLong{30};

// Bytes a Connection encodes to inside a job's share activation; `shares` keeps the share.
std::string encode_shared(const mproc::Connection& end,
                          std::shared_ptr<mproc::detail::DescriptorShares>& shares) {
  const mproc::detail::ShareActivation sharing(shares);
  return mproc::encode(end);
}

class ConnectionArgumentTest : public mproc::test::PoolPerStartMethodTest {
 protected:
  void SetUp() override {
    // The sharer's listening socket lives with the process: open it before the fixture counts.
    auto [a, b] = mproc::pipe();
    std::shared_ptr<mproc::detail::DescriptorShares> shares;
    encode_shared(a, shares);
    { mproc::Queue warm_up; }  // starts the shm tracker (its socket lives with the process)
    mproc::test::PoolPerStartMethodTest::SetUp();
  }
  void TearDown() override {
    mproc::stop_forkserver();
    mproc::test::PoolPerStartMethodTest::TearDown();  // no descriptor left open, no child left
  }
};

INSTANTIATE_TEST_SUITE_P(StartMethods, ConnectionArgumentTest, mproc::test::start_methods(),
                         mproc::test::start_method_name);

// --- tasks (plain functions: their bytes are valid in a forkserver worker too)

int send_pid(mproc::Connection& end) {
  end.send(static_cast<int>(::getpid()));
  return static_cast<int>(::getpid());
}
int send_value(mproc::Connection& end, int value) {
  end.send(value);
  return value;
}
int echo_doubled(mproc::Connection end) {  // by value: the task owns the received end
  const int value = end.recv<int>();
  end.send(value * 2);
  return value;
}
int wait_for_go(mproc::Connection& go) { return go.recv<int>(); }

TEST_P(ConnectionArgumentTest, ApplySendsOnAnEndMadeAfterTheWorkers) {
  mproc::Pool pool = make_pool();
  const std::vector<pid_t> workers = pool.worker_pids();  // forked before the pipe exists
  auto [ours, theirs] = mproc::pipe();
  const int worker = pool.apply(send_pid, theirs);
  EXPECT_EQ(ours.recv<int>(kLong).value_or(-1), worker);
  EXPECT_NE(std::find(workers.begin(), workers.end(), worker), workers.end());
  // Nobody else holds that end any more (the worker's copy and the share are closed): closing
  // ours makes the peer see end-of-file.
  theirs.close();
  ASSERT_TRUE(ours.poll(kLong));
  expect_error([&] { ours.recv_bytes(); }, errc::end_of_file);
  pool.close();
  pool.join();
}

TEST_P(ConnectionArgumentTest, ByValueAndBothDirections) {
  mproc::Pool pool = make_pool(1);
  auto [ours, theirs] = mproc::pipe();
  ours.send(21);
  EXPECT_EQ(pool.apply(echo_doubled, theirs), 21);
  EXPECT_EQ(ours.recv<int>(kLong).value_or(-1), 42);
  pool.close();
  pool.join();
}

TEST_P(ConnectionArgumentTest, MapAndStarmapShareOneEndForEveryItem) {
  mproc::Pool pool = make_pool();
  auto [ours, theirs] = mproc::pipe();
  std::vector<std::tuple<std::reference_wrapper<mproc::Connection>, int>> items;
  for (int i = 0; i < 20; ++i) items.emplace_back(std::ref(theirs), i);
  const std::vector<int> sent = pool.starmap(send_value, items, 3);
  ASSERT_EQ(sent.size(), 20u);
  std::set<int> received;
  for (int i = 0; i < 20; ++i) received.insert(ours.recv<int>(kLong).value_or(-1));
  EXPECT_EQ(received.size(), 20u);
  EXPECT_EQ(*received.begin(), 0);
  EXPECT_EQ(*received.rbegin(), 19);

  std::vector<mproc::Connection> ends;
  std::vector<mproc::Connection> peers;
  for (int i = 0; i < 3; ++i) {
    auto [a, b] = mproc::pipe();
    peers.push_back(std::move(a));
    ends.push_back(std::move(b));
  }
  const std::vector<int> pids = pool.map(send_pid, ends);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(peers[i].recv<int>(kLong).value_or(-1), pids[i]);
  pool.close();
  pool.join();
}

TEST_P(ConnectionArgumentTest, ACancelledTaskWithdrawsItsShare) {
  mproc::Pool pool = make_pool(1);
  auto [go_ours, go_theirs] = mproc::pipe();
  auto busy = pool.apply_async(wait_for_go, go_theirs);  // holds the one worker until we say go
  auto [ours, theirs] = mproc::pipe();
  auto never = pool.apply_async(send_pid, theirs);  // queued behind the busy one
  never.cancel();
  expect_error([&] { never.get(); }, errc::cancelled);
  go_ours.send(1);
  EXPECT_EQ(busy.get(), 1);
  // The share was withdrawn with its job: closing our copy of the end leaves no other open.
  theirs.close();
  ASSERT_TRUE(ours.poll(kLong));
  expect_error([&] { ours.recv_bytes(); }, errc::end_of_file);
  pool.close();
  pool.join();
}

// The worker's side, in this process: bytes whose share was withdrawn, and bytes of a sharer that
// is gone, are clear errors at once.
TEST_P(ConnectionArgumentTest, AWithdrawnShareIsRefused) {
  auto [ours, theirs] = mproc::pipe();
  std::string bytes;
  {
    std::shared_ptr<mproc::detail::DescriptorShares> shares;
    bytes = encode_shared(theirs, shares);
    mproc::Connection got = mproc::decode<mproc::Connection>(bytes);  // held: it works
    got.send(7);
    EXPECT_EQ(ours.recv<int>(kLong).value_or(-1), 7);
  }
  expect_error([&] { mproc::decode<mproc::Connection>(bytes); }, errc::bad_handle,
               "no longer held");
}

TEST_P(ConnectionArgumentTest, ASharerThatIsGoneIsAnErrorNotAHang) {
  auto [ours, theirs] = mproc::pipe();
  auto [bytes_in, bytes_out] = mproc::pipe();
  mproc::Process sharer([&ours, &bytes_out] {
    std::shared_ptr<mproc::detail::DescriptorShares> shares;
    bytes_out.send_bytes(encode_shared(ours, shares));
  });  // exits with the share still held: its process is gone
  sharer.start();
  sharer.join();
  const std::string bytes = bytes_in.recv_bytes();
  expect_error([&] { mproc::decode<mproc::Connection>(bytes); },
               std::errc::connection_refused, "is gone");
}

// A child forked while a share is held gets none of the sharer's state: it closes its copy of the
// shared descriptor (else the end could never see end-of-file while the child lives).
TEST_P(ConnectionArgumentTest, AForkedChildDoesNotKeepASharedEnd) {
  auto [ours, theirs] = mproc::pipe();
  std::shared_ptr<mproc::detail::DescriptorShares> shares;
  encode_shared(theirs, shares);  // the sharer holds a duplicate of `theirs`
  auto [hold_in, hold_out] = mproc::pipe();
  mproc::Process child([&theirs, &hold_in] {
    theirs.close();            // the child's own copy of the end, inherited as every descriptor
    hold_in.recv_bytes();      // lives on until the test is done
  });
  child.start();
  shares.reset();
  theirs.close();
  ASSERT_TRUE(ours.poll(kLong));
  expect_error([&] { ours.recv_bytes(); }, errc::end_of_file);
  hold_out.send_bytes("done");
  child.join();
}

TEST_P(ConnectionArgumentTest, OutsideATaskItIsRefused) {
  auto [ours, theirs] = mproc::pipe();
  expect_error([&] { mproc::encode(theirs); }, errc::bad_state, "send_handle");
  mproc::Queue queue;
  expect_error([&] { queue.put(theirs); }, errc::bad_state);
  theirs.close();
  mproc::Pool pool = make_pool(1);
  expect_error([&] { pool.apply(send_pid, theirs); }, errc::closed);
  pool.close();
  pool.join();
}

}  // namespace
