// Pool: a worker is another process, and nothing it writes into its channel is trusted. Each
// test plays a task with a memory bug (or a hostile one): it writes over its own channel's ring
// indices, forges messages on its result ring, or scribbles over the whole channel header. The
// parent (run these under ASan: the CI's sanitized build) must read and write only inside its
// mappings, never abort, treat that worker as dead (kill it, replace it, fail its tasks with an
// error that names the corruption) and go on serving tasks. Before the fix most of these crashed
// the parent (SIGSEGV, heap overflow, std::terminate) or left a result unresolved.
#include <mproc.h>
#include <mproc/pool.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <poll.h>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pool/channel.hpp"
#include "pool/pool_test_support.hpp"
#include "pool/wire.hpp"
#include "pool/worker.hpp"

// A value whose (user-written) decoder throws something other than mproc::Error.
struct Fussy {
  std::string text;
};
template <>
struct mproc::Codec<Fussy> {
  static void encode(const Fussy& value, std::string& out) { out += value.text; }
  static Fussy decode(const void*, std::size_t) { throw std::runtime_error("fussy decoder"); }
};

namespace {

namespace pool = mproc::detail::pool;
using mproc::errc;
using mproc::test::expect_error;
using mproc::test::PoolTest;
using mproc::test::Signal;
using namespace std::chrono_literals;

constexpr auto kWait = 30s;  // bounded waits: a missed detection fails, never hangs

// ---- what a faulty task does, in its worker

pool::ChannelHeader& my_header() { return pool::current_worker()->channel->header(); }

// Wakes the dispatcher as a worker does after publishing.
void ring_parent() {
  const pool::WorkerConfig& c = *pool::current_worker();
  pool::ring_doorbell(*c.control, c.doorbell);
}

// Stays in the task until the dispatcher kills this worker (bounded, in case it does not: then
// the test fails on its own bounded wait, and the pool's destructor kills the worker).
void wait_to_be_killed() { ::poll(nullptr, 0, 60'000); }

// Writes `bytes` on the result ring as if they were the worker's own messages.
void forge(const std::string& bytes) {
  size_t sent = 0;
  pool::Ring ring = pool::current_worker()->channel->results();
  while (sent < bytes.size()) {
    const size_t n = ring.write_some(bytes.data() + sent, bytes.size() - sent);
    if (n == pool::Ring::kCorrupt) break;
    sent += n;
    ring_parent();
  }
}

// The slot and id of the task running in this worker.
std::pair<uint32_t, uint64_t> running_task() {
  const uint32_t slot = my_header().running_slot.load();
  return {slot, my_header().slots[slot].load() & pool::kSlotIdMask};
}

// A result message for the running task that claims `count` items and carries `items` records
// of an int each.
std::string forged_result(uint32_t count, uint32_t items) {
  const auto [slot, id] = running_task();
  std::string out;
  const size_t at = pool::start_message(out, pool::Kind::result);
  pool::put(out, slot);
  pool::put(out, id);
  pool::put(out, uint64_t{1000});
  pool::put(out, count);
  for (uint32_t i = 0; i < items; ++i) {
    out.push_back(static_cast<char>(mproc::detail::ItemStatus::ok));
    pool::put(out, static_cast<int>(i));
  }
  pool::finish_message(out, at);
  return out;
}

// Index scribbles: the worker moves an index of its result ring.
enum Scribble : int {
  kResultWriteFarAhead,  // the dispatcher used to read 1 GiB past the ring
  kResultWriteBehind,
  kResultReadMoved,  // owned by the pool: the worker finds it wrong and exits, the pool names it
};

int scribble_index(int what) {
  pool::ChannelHeader& h = my_header();
  switch (what) {
    case kResultWriteFarAhead:
      h.result_write.value.fetch_add(uint64_t{1} << 30);
      break;
    // Moves by more than the ring holds: whatever the dispatcher had read so far, the index is
    // out of range (a move by a few bytes may look like a message not yet complete).
    case kResultWriteBehind:
      h.result_write.value.fetch_sub(pool::kRingBytes + 1);
      break;
    case kResultReadMoved: {
      // The pool stores this index each time it takes what the worker published; a take still
      // under way would store over the scribble (and the result would go through, as CI once
      // saw). Once the index has caught up with the worker's, no take is under way.
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (h.result_read.value.load() != h.result_write.value.load() &&
             std::chrono::steady_clock::now() < give_up)
        std::this_thread::yield();
      h.result_read.value.fetch_add(pool::kRingBytes + 1);
      return 1;  // sending this, the worker finds its ring corrupt and exits
    }
  }
  ring_parent();
  wait_to_be_killed();
  return 1;
}

int twice(int x) { return 2 * x; }
size_t length_of(const std::string& s) { return s.size(); }

// The result of `r` is a worker_died error naming corruption.
template <class R>
void expect_corruption(const mproc::AsyncResult<R>& r) {
  ASSERT_TRUE(r.wait(kWait)) << "the corrupt worker's task was never resolved";
  expect_error([&] { (void)r.get(); }, make_error_code(errc::worker_died), "corrupt");
}

// The pool replaced the worker and still serves tasks.
void expect_serving(mproc::Pool& p, size_t started) {
  EXPECT_EQ(p.apply(twice, 21), 42);
  EXPECT_EQ(p.stats().workers_started, started);
  EXPECT_EQ(p.stats().workers, static_cast<size_t>(p.processes()));
}

class PoolTrustIndex : public PoolTest, public ::testing::WithParamInterface<int> {};

TEST_P(PoolTrustIndex, ACorruptRingIndexKillsTheWorkerNotTheParent) {
  mproc::Pool p(1);
  auto r = p.apply_async(scribble_index, GetParam());
  expect_corruption(r);
  expect_serving(p, 2);
  p.close();
  p.join();
}

INSTANTIATE_TEST_SUITE_P(Indices, PoolTrustIndex,
                         ::testing::Values(kResultWriteFarAhead, kResultWriteBehind,
                                           kResultReadMoved));

// The worker moves its task read index; the dispatcher must not take that as room in the ring
// for the next (200 KiB) task, which used to be written past the end of the mapping.
bool scribble_task_read(int started_fd, long delta) {
  my_header().task_read.value.fetch_add(static_cast<uint64_t>(delta));
  Signal::notify(started_fd);
  wait_to_be_killed();
  return true;
}

class PoolTrustTaskRing : public PoolTest, public ::testing::WithParamInterface<long> {};

TEST_P(PoolTrustTaskRing, ATaskReadIndexOutOfRangeIsNeverTakenAsRoom) {
  Signal started;
  mproc::Pool p(1);
  auto first = p.apply_async(scribble_task_read, started.write_fd(), GetParam());
  ASSERT_EQ(started.wait(), 's');
  auto second = p.apply_async(length_of, std::string(200 << 10, 'x'));
  expect_corruption(first);
  expect_corruption(second);  // sent to that worker: failed with it
  expect_serving(p, 2);
  p.close();
  p.join();
}

INSTANTIATE_TEST_SUITE_P(Deltas, PoolTrustTaskRing,
                         ::testing::Values(1L << 20, 1L, -(200L << 10), -(1L << 40)));

// ---- forged messages on the result ring

enum Forgery : int {
  kSizeZero,          // [size 0][kind]: the body size used to wrap to 4 GiB
  kShortResult,       // a result body shorter than its fixed header
  kNoSuchSlot,        // a result for slot 5000 of 1024
  kUnknownKind,       // kind 9
  kReadyWithBody,     // "ready" carries no body
  kTooManyItems,      // 4096 items for a 1-item task
  kTooFewItems,       // 0 items for a 1-item task
};

int forge_message(int what) {
  std::string out;
  switch (what) {
    case kSizeZero:
      out.assign(4, '\0');
      out.push_back(static_cast<char>(pool::Kind::init_failed));
      break;
    case kShortResult: {
      const size_t at = pool::start_message(out, pool::Kind::result);
      pool::put(out, running_task().first);
      pool::finish_message(out, at);
      break;
    }
    case kNoSuchSlot: {
      const size_t at = pool::start_message(out, pool::Kind::result);
      pool::put(out, uint32_t{5000});
      pool::put(out, uint64_t{1});
      pool::put(out, uint64_t{0});
      pool::put(out, uint32_t{1});
      pool::finish_message(out, at);
      break;
    }
    case kUnknownKind:
      pool::finish_message(out, pool::start_message(out, static_cast<pool::Kind>(9)));
      break;
    case kReadyWithBody: {
      const size_t at = pool::start_message(out, pool::Kind::ready);
      out += "surprise";
      pool::finish_message(out, at);
      break;
    }
    case kTooManyItems:
      out = forged_result(4096, 4096);
      break;
    case kTooFewItems:
      out = forged_result(0, 0);
      break;
  }
  forge(out);
  wait_to_be_killed();
  return 1;
}

class PoolTrustMessage : public PoolTest, public ::testing::WithParamInterface<int> {};

TEST_P(PoolTrustMessage, AMalformedMessageKillsTheWorkerNotTheParent) {
  mproc::Pool p(1);
  auto r = p.apply_async(forge_message, GetParam());
  expect_corruption(r);
  expect_serving(p, 2);
  p.close();
  p.join();
}

INSTANTIATE_TEST_SUITE_P(Forgeries, PoolTrustMessage,
                         ::testing::Values(kSizeZero, kShortResult, kNoSuchSlot, kUnknownKind,
                                           kReadyWithBody, kTooManyItems, kTooFewItems));

// A map chunk's result claiming 4096 items for 1 input used to overflow map_async's output
// vector (heap corruption) and make map() return 4096 values.
int forge_many(int) { return forge_message(kTooManyItems); }

TEST_F(PoolTest, AResultWithMoreItemsThanItsChunkFailsTheMap) {
  mproc::Pool p(1);
  const std::vector<int> one{7};
  expect_error([&] { (void)p.map(forge_many, one, 1); }, make_error_code(errc::worker_died),
               "corrupt");
  auto r = p.map_async(forge_many, one, 1);
  expect_corruption(r);
  auto it = p.imap(forge_many, one, 1);
  expect_error([&] { (void)it.next(); }, make_error_code(errc::worker_died), "corrupt");
  expect_serving(p, 4);
  p.close();
  p.join();
}

// The C ABI's map must never report success with a result count other than its input count.
int c_forging_task(const void*, size_t, void*, mproc_task_result_t*) {
  return forge_message(kTooManyItems);
}

TEST_F(PoolTest, TheCMapNeverSucceedsWithAnotherResultCount) {
  mproc_pool_options_t options;
  mproc_pool_options_init(&options);
  options.processes = 1;
  mproc_pool_t* handle = nullptr;
  ASSERT_EQ(mproc_pool_create(&options, &handle), 0);
  const char byte = 'x';
  const mproc_bytes_t input{&byte, 1};
  mproc_bytes_t* results = nullptr;
  const int rc = mproc_pool_map(handle, c_forging_task, nullptr, &input, 1, 1, nullptr, &results);
  EXPECT_EQ(rc, MPROC_EWORKERDIED) << mproc_last_error_message();
  EXPECT_EQ(results, nullptr);
  EXPECT_NE(std::string(mproc_last_error_message()).find("corrupt"), std::string::npos);
  mproc_pool_destroy(handle);
}

// ---- the typed layer checks counts too (it is the last line, whatever feeds it)

TEST(PoolTrustSinks, ASinkRefusesAnItemCountItsJobDidNotHave) {
  std::string records;
  for (int i = 0; i < 4; ++i) {
    records.push_back(static_cast<char>(mproc::detail::ItemStatus::ok));
    records.append(reinterpret_cast<const char*>(&i), sizeof i);
  }
  {
    auto state = std::make_shared<mproc::detail::MapState<int>>(1, 1);
    mproc::detail::MapChunkSink<int> sink(state, 0, 1);
    sink.on_items(records.data(), records.size(), 4);  // used to write 3 values past the end
    ASSERT_TRUE(state->ready());
    EXPECT_EQ(state->error_code(), make_error_code(errc::internal));
  }
  {
    auto state = std::make_shared<mproc::detail::ApplyState<int>>();
    state->on_items(records.data(), records.size(), 4);
    ASSERT_TRUE(state->ready());
    EXPECT_EQ(state->error_code(), make_error_code(errc::internal));
  }
  {
    auto state = std::make_shared<mproc::detail::ImapState>(true);
    mproc::detail::ImapChunkSink sink(state, 0, 1);
    sink.on_items(records.data(), records.size(), 4);
    mproc::detail::ImapChunk chunk;
    ASSERT_TRUE(state->take(0, chunk, 0s));
    EXPECT_EQ(chunk.code, make_error_code(errc::internal));
    EXPECT_EQ(chunk.count, 1u);  // the consumer sees as many (failed) items as it sent
  }
}

// The dispatcher resolves results in noexcept code: a decoder's own exception must become the
// result's error, not std::terminate.
Fussy make_fussy(int) { return Fussy{"x"}; }

TEST_F(PoolTest, ADecoderThrowingAnyExceptionFailsOnlyThatResult) {
  mproc::Pool p(1);
  expect_error([&] { (void)p.apply(make_fussy, 1); }, make_error_code(errc::codec),
               "fussy decoder");
  auto r = p.map_async(make_fussy, std::vector<int>{1, 2}, 1);
  ASSERT_TRUE(r.wait(kWait));
  expect_error([&] { (void)r.get(); }, make_error_code(errc::codec), "fussy decoder");
  expect_serving(p, 1);
  p.close();
  p.join();
}

// ---- random bytes and random headers: the parent survives, and destroying it resolves all

// What scribble_random writes.
enum RandomMode : int {
  kRandomMessages,  // messages with random small sizes (0 included), kinds and bodies
  kRandomHeader,    // random words over the whole channel header
  kRandomBytes,     // plain random bytes on the result ring
};

// Writes random bytes (from `seed`) as `mode` says; then tells the test (if done_fd >= 0), and
// waits to be killed or returns.
int scribble_random(unsigned seed, int mode, int block, int done_fd) {
  std::mt19937_64 random(seed);
  if (mode == kRandomHeader) {
    auto* words = reinterpret_cast<uint64_t*>(&my_header());
    for (size_t i = 0; i < sizeof(pool::ChannelHeader) / sizeof(uint64_t); ++i)
      words[i] = random();
    ring_parent();
  } else if (mode == kRandomBytes) {
    std::string bytes(1 + random() % 3000, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    forge(bytes);
  } else {
    const auto [slot, id] = running_task();
    std::string out;
    for (int m = 0; m < 20; ++m) {
      const auto size = static_cast<uint32_t>(random() % 40);
      pool::put(out, size);
      out.push_back(static_cast<char>(random() % 6));  // a kind byte even after size 0
      if (size == 0) continue;
      std::string body(size - 1, '\0');
      for (char& c : body) c = static_cast<char>(random());
      if (body.size() >= pool::kResultHeader && random() % 2 == 0) {  // about the running task
        std::memcpy(body.data(), &slot, sizeof slot);
        std::memcpy(body.data() + 4, &id, sizeof id);
      }
      out += body;
    }
    forge(out);
  }
  if (done_fd >= 0) Signal::notify(done_fd);
  if (block != 0) wait_to_be_killed();
  return 1;
}

bool wait_for_gate(int fd) { return mproc::test::Gate::pass(fd); }

class PoolTrustRandom : public PoolTest, public ::testing::WithParamInterface<unsigned> {};

TEST_P(PoolTrustRandom, RandomBytesThenDestroyResolvesEveryResult) {
  const unsigned seed = GetParam();
  Signal scribbled;
  mproc::test::Gate gate;  // never opened: these tasks are outstanding when the pool dies
  std::vector<mproc::AsyncResult<bool>> waiters;
  mproc::AsyncResult<int> scribbler;
  {
    mproc::Pool p(2);
    const int mode = seed % 4 == 1 ? kRandomHeader : seed % 4 == 3 ? kRandomBytes : kRandomMessages;
    scribbler = p.apply_async(scribble_random, seed, mode, static_cast<int>(seed / 4 % 2),
                              scribbled.write_fd());
    // Until it says it wrote, or is resolved (its worker killed before it could say): bounded.
    for (int i = 0; i < 3000 && !scribbled.pending() && !scribbler.wait(10ms); ++i) {
    }
    for (int i = 0; i < 4; ++i) waiters.push_back(p.apply_async(wait_for_gate, gate.read_fd()));
  }  // terminate: must neither abort nor leave a result unresolved
  EXPECT_TRUE(scribbler.ready());
  for (auto& r : waiters) EXPECT_TRUE(r.ready());
}

TEST_P(PoolTrustRandom, AScribbledHeaderFailsOnlyThatWorkersTasks) {
  const unsigned seed = GetParam();
  mproc::Pool p(1);
  auto r = p.apply_async(scribble_random, seed, kRandomHeader, static_cast<int>(seed % 2), -1);
  expect_corruption(r);
  expect_serving(p, 2);
  p.close();
  p.join();
}

INSTANTIATE_TEST_SUITE_P(Seeds, PoolTrustRandom, ::testing::Range(1u, 25u));

// ---- the control page all workers share

// Clears the flags that make workers wake the parent's collector of results, once it sleeps:
// the dispatcher's (its doorbell) or a guest's (a thread waiting for its own result, guest.cpp).
// The parent must still see this result (and every later submission, close and terminate).
int clear_parent_sleeping() {
  const pool::WorkerConfig& c = *pool::current_worker();
  auto asleep = [&] {
    return c.control->parent_sleeping.load() != 0 || c.control->guest_sleeping.load() != 0;
  };
  for (int i = 0; i < 10'000 && !asleep(); ++i) ::poll(nullptr, 0, 1);
  c.control->parent_sleeping.store(0);
  c.control->guest_sleeping.store(0);
  return 7;
}

TEST_F(PoolTest, AWorkerClearingTheSleepFlagsSlowsThePoolNeverHangsIt) {
  mproc::Pool p(1);
  auto r = p.apply_async(clear_parent_sleeping);
  ASSERT_TRUE(r.wait(kWait));
  EXPECT_EQ(r.get(), 7);
  EXPECT_EQ(p.apply(twice, 4), 8);
  p.close();
  p.join();
}

}  // namespace
