// The queue's C ABI: every function, and every kind of bad input (NULL, destroyed or foreign
// handles, bad sizes, oversized messages, closed queues, missing names).
#include "mproc.h"

#include <atomic>
#include <climits>
#include <cstddef>
#include <dlfcn.h>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "transport/queue_test_support.hpp"

namespace mproc::test {
// Exceptions made in this process, libmproc's included (__cxa_allocate_exception below), so that
// a test can show that a call made none.
std::atomic<int> g_exceptions_made{0};
}  // namespace mproc::test

// Defined in the executable, it comes before libstdc++'s in the lookup of libmproc's calls too.
extern "C" void* __cxa_allocate_exception(std::size_t size) noexcept {
  using Allocate = void* (*)(std::size_t) noexcept;
  static const auto real = reinterpret_cast<Allocate>(::dlsym(RTLD_NEXT, "__cxa_allocate_exception"));
  mproc::test::g_exceptions_made.fetch_add(1, std::memory_order_relaxed);
  return real(size);
}

namespace mproc::test {
namespace {

class QueueCapi : public QueueTest {
 protected:
  void TearDown() override {
    EXPECT_EQ(mproc_queue_destroy(q_), 0);
    q_ = nullptr;
    QueueTest::TearDown();
  }
  mproc_queue_t* make(int kind = MPROC_QUEUE_QUEUE, int64_t maxsize = 0, int64_t capacity = 0) {
    mproc_queue_options_t options;
    mproc_queue_options_init(&options);
    options.kind = kind;
    options.maxsize = maxsize;
    options.capacity_bytes = capacity;
    mproc_queue_t* q = nullptr;
    EXPECT_EQ(mproc_queue_create(&options, &q), 0) << mproc_last_error_message();
    return q;
  }
  mproc_queue_t* q_ = nullptr;
};

std::string handle_of(mproc_queue_t* q) {
  char buf[MPROC_HANDLE_MAX];
  EXPECT_GT(mproc_queue_handle(q, buf, sizeof buf), 0);
  return buf;
}

TEST_F(QueueCapi, PutGetRoundTripWithLibraryOwnedBuffers) {
  ASSERT_EQ(mproc_queue_create(nullptr, &q_), 0);  // NULL options: the defaults
  EXPECT_EQ(mproc_queue_kind(q_), MPROC_QUEUE_QUEUE);
  EXPECT_EQ(mproc_queue_empty(q_), 1);
  EXPECT_EQ(mproc_queue_put(q_, "hello", 5, MPROC_WAIT_FOREVER), 0);
  EXPECT_EQ(mproc_queue_put(q_, nullptr, 0, 0), 0);  // an empty message
  EXPECT_EQ(mproc_queue_qsize(q_), 2);
  EXPECT_EQ(mproc_queue_empty(q_), 0);
  EXPECT_EQ(mproc_queue_full(q_), 0);
  EXPECT_EQ(mproc_queue_max_message_size(q_), INT_MAX);  // bounded only by memory

  void* data = nullptr;
  size_t len = 0;
  ASSERT_EQ(mproc_queue_get(q_, 1000, &data, &len), 0);
  ASSERT_EQ(len, 5u);
  EXPECT_EQ(std::memcmp(data, "hello", 5), 0);
  mproc_buffer_free(data);
  ASSERT_EQ(mproc_queue_get(q_, 0, &data, &len), 0);
  EXPECT_EQ(len, 0u);
  EXPECT_NE(data, nullptr);  // never NULL, even for an empty message
  mproc_buffer_free(data);
  mproc_buffer_free(nullptr);
}

TEST_F(QueueCapi, FullEmptyAndTimeouts) {
  q_ = make(MPROC_QUEUE_QUEUE, 1);
  void* data = nullptr;
  size_t len = 0;
  EXPECT_EQ(mproc_queue_get(q_, 0, &data, &len), MPROC_EEMPTY);
  EXPECT_EQ(mproc_queue_get(q_, 10, &data, &len), MPROC_EEMPTY);
  EXPECT_EQ(data, nullptr);  // untouched on failure
  EXPECT_EQ(mproc_queue_put(q_, "a", 1, 0), 0);
  EXPECT_EQ(mproc_queue_full(q_), 1);
  EXPECT_EQ(mproc_queue_put(q_, "b", 1, 0), MPROC_EFULL);
  EXPECT_EQ(mproc_queue_put(q_, "b", 1, 10), MPROC_EFULL);
  EXPECT_NE(std::string(mproc_last_error_message()), "");
  EXPECT_EQ(mproc_queue_put(q_, "b", 1, -2), -EINVAL);
  EXPECT_EQ(mproc_queue_get(q_, -5, &data, &len), -EINVAL);
}

// A full or empty queue is the ordinary outcome of a *_nowait or timed call (Python's get_nowait
// loops): the core reports it as a status, and no exception is thrown and caught for it (~1.5 us).
TEST_F(QueueCapi, FullAndEmptyAreReturnedWithoutAnExceptionInside) {
  q_ = make(MPROC_QUEUE_QUEUE, 1);
  mproc_queue_t* ring = make(MPROC_QUEUE_SIMPLE, 0, 64);  // a fixed ring of 64 bytes
  char buffer[64];
  size_t len = 0;
  void* data = nullptr;
  const int before = g_exceptions_made.load();
  EXPECT_EQ(mproc_queue_get_into(q_, buffer, sizeof buffer, &len, 0), MPROC_EEMPTY);
  EXPECT_EQ(mproc_queue_get_into(q_, buffer, sizeof buffer, &len, 1), MPROC_EEMPTY);  // timed
  EXPECT_EQ(mproc_queue_get(q_, 0, &data, &len), MPROC_EEMPTY);
  EXPECT_NE(std::string(mproc_last_error_message()).find("mproc_queue_get: the queue is empty"),
            std::string::npos)
      << mproc_last_error_message();
  EXPECT_EQ(mproc_queue_put(q_, "a", 1, 0), 0);
  EXPECT_EQ(mproc_queue_put(q_, "b", 1, 0), MPROC_EFULL);  // maxsize
  EXPECT_EQ(mproc_queue_put(q_, "b", 1, 1), MPROC_EFULL);
  EXPECT_NE(std::string(mproc_last_error_message()).find("still full after 1 ms"),
            std::string::npos)
      << mproc_last_error_message();
  EXPECT_EQ(mproc_queue_put(ring, buffer, 40, 0), 0);
  EXPECT_EQ(mproc_queue_put(ring, buffer, 40, 0), MPROC_EFULL);  // no room in the ring
  EXPECT_EQ(g_exceptions_made.load(), before);
  // The counter counts: bad input is still an exception inside.
  EXPECT_EQ(mproc_queue_get_into(q_, nullptr, 5, &len, 0), -EINVAL);
  EXPECT_GT(g_exceptions_made.load(), before);
  EXPECT_EQ(mproc_queue_destroy(ring), 0);
}

TEST_F(QueueCapi, GetIntoKeepsAMessageTooLongForTheBuffer) {
  q_ = make();
  ASSERT_EQ(mproc_queue_put(q_, "0123456789", 10, 0), 0);
  char small[4];
  size_t len = 0;
  EXPECT_EQ(mproc_queue_get_into(q_, small, sizeof small, &len, 0), MPROC_ETOOBIG);
  EXPECT_EQ(len, 10u);  // the length needed
  EXPECT_EQ(mproc_queue_qsize(q_), 1);
  char big[16];
  EXPECT_EQ(mproc_queue_get_into(q_, big, sizeof big, &len, 0), 0);
  EXPECT_EQ(len, 10u);
  EXPECT_EQ(std::memcmp(big, "0123456789", 10), 0);
  EXPECT_EQ(mproc_queue_get_into(q_, big, sizeof big, &len, 0), MPROC_EEMPTY);
  EXPECT_EQ(mproc_queue_get_into(q_, big, sizeof big, nullptr, 0), -EINVAL);
  EXPECT_EQ(mproc_queue_get_into(q_, nullptr, 5, &len, 0), -EINVAL);
}

TEST_F(QueueCapi, TheDefaultQueueTakesAnySizeAndCount) {
  q_ = make();
  std::string big(2 << 20, 'b');
  big[12345] = 'c';
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(mproc_queue_put(q_, &i, sizeof i, 0), 0);
  ASSERT_EQ(mproc_queue_put(q_, big.data(), big.size(), 0), 0);
  for (int i = 0; i < 20000; ++i) {
    int got = -1;
    size_t len = 0;
    ASSERT_EQ(mproc_queue_get_into(q_, &got, sizeof got, &len, 0), 0);
    ASSERT_EQ(got, i);
  }
  void* data = nullptr;
  size_t len = 0;
  ASSERT_EQ(mproc_queue_get(q_, 0, &data, &len), 0);
  ASSERT_EQ(len, big.size());
  EXPECT_EQ(std::memcmp(data, big.data(), len), 0);
  mproc_buffer_free(data);
}

TEST_F(QueueCapi, OversizedMessagesAreRefused) {
  q_ = make(MPROC_QUEUE_QUEUE, 0, 128);
  EXPECT_EQ(mproc_queue_max_message_size(q_), 120);
  std::string big(121, 'x');
  EXPECT_EQ(mproc_queue_put(q_, big.data(), big.size(), MPROC_WAIT_FOREVER), MPROC_ETOOBIG);
  EXPECT_EQ(mproc_queue_put(q_, big.data(), 120, 0), 0);
}

TEST_F(QueueCapi, BadOptionsAreRejected) {
  mproc_queue_t* q = reinterpret_cast<mproc_queue_t*>(0x1);
  mproc_queue_options_t options;
  mproc_queue_options_init(&options);
  EXPECT_EQ(mproc_queue_create(&options, nullptr), -EINVAL);
  auto with = [&](auto change) {
    mproc_queue_options_t o;
    mproc_queue_options_init(&o);
    change(o);
    return mproc_queue_create(&o, &q);
  };
  EXPECT_EQ(with([](auto& o) { o.struct_size = 0; }), -EINVAL);
  EXPECT_EQ(with([](auto& o) { o.struct_size = 4; }), -EINVAL);
  EXPECT_EQ(with([](auto& o) { o.kind = 7; }), -EINVAL);
  EXPECT_EQ(with([](auto& o) { o.kind = -1; }), -EINVAL);
  EXPECT_EQ(with([](auto& o) { o.maxsize = -1; }), -EINVAL);
  EXPECT_EQ(with([](auto& o) { o.maxsize = int64_t{1} << 40; }), -EINVAL);
  EXPECT_EQ(with([](auto& o) { o.capacity_bytes = -4096; }), -EINVAL);
  EXPECT_EQ(with([](auto& o) { o.capacity_bytes = 8; }), -EINVAL);
  EXPECT_EQ(with([](auto& o) { o.capacity_bytes = int64_t{1} << 31; }), -EINVAL);
  EXPECT_EQ(with([](auto& o) {
              o.kind = MPROC_QUEUE_SIMPLE;
              o.maxsize = 3;
            }),
            -EINVAL);
  EXPECT_EQ(q, reinterpret_cast<mproc_queue_t*>(0x1));  // untouched on failure

  // A newer caller's larger struct is fine while its unknown fields are zero.
  struct Newer {
    mproc_queue_options_t base;
    int64_t future_field;
  } newer{};
  mproc_queue_options_init(&newer.base);
  newer.base.struct_size = sizeof newer;
  EXPECT_EQ(mproc_queue_create(&newer.base, &q_), 0);
  newer.future_field = 1;
  mproc_queue_t* other = nullptr;
  EXPECT_EQ(mproc_queue_create(&newer.base, &other), -EINVAL);
  mproc_queue_options_init(nullptr);  // no-op
}

TEST_F(QueueCapi, BadHandlesAreRejected) {
  void* data = nullptr;
  size_t len = 0;
  char buf[64];
  mproc_queue_t* null_queue = nullptr;
  auto* forged = reinterpret_cast<mproc_queue_t*>(0xdeadbeef);
  for (mproc_queue_t* bad : {null_queue, forged}) {
    EXPECT_EQ(mproc_queue_put(bad, "x", 1, 0), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_get(bad, 0, &data, &len), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_get_into(bad, buf, sizeof buf, &len, 0), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_qsize(bad), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_empty(bad), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_full(bad), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_kind(bad), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_max_message_size(bad), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_task_done(bad), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_join(bad, 0), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_handle(bad, buf, sizeof buf), MPROC_EBADHANDLE);
    EXPECT_EQ(mproc_queue_close(bad), MPROC_EBADHANDLE);
  }
  EXPECT_EQ(mproc_queue_destroy(forged), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_queue_destroy(nullptr), 0);

  // A destroyed handle.
  mproc_queue_t* q = make();
  ASSERT_EQ(mproc_queue_destroy(q), 0);
  EXPECT_EQ(mproc_queue_put(q, "x", 1, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_queue_destroy(q), MPROC_EBADHANDLE);

  // A handle of another type.
  mproc_process_t* process = nullptr;
  ASSERT_EQ(mproc_process_create([](void*) { return 0; }, nullptr, &process), 0);
  EXPECT_EQ(mproc_queue_put(reinterpret_cast<mproc_queue_t*>(process), "x", 1, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_queue_destroy(reinterpret_cast<mproc_queue_t*>(process)), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_process_destroy(process), 0);
}

TEST_F(QueueCapi, NullArgumentsAreRejected) {
  q_ = make();
  size_t len = 0;
  void* data = nullptr;
  EXPECT_EQ(mproc_queue_put(q_, nullptr, 3, 0), -EINVAL);
  EXPECT_EQ(mproc_queue_get(q_, 0, nullptr, &len), -EINVAL);
  EXPECT_EQ(mproc_queue_get(q_, 0, &data, nullptr), -EINVAL);
  EXPECT_EQ(mproc_queue_handle(q_, nullptr, 10), -EINVAL);
  EXPECT_GT(mproc_queue_handle(q_, nullptr, 0), 0);  // the length only
  mproc_queue_t* out = nullptr;
  EXPECT_EQ(mproc_queue_attach(nullptr, &out), -EINVAL);
  EXPECT_EQ(mproc_queue_attach("/x", nullptr), -EINVAL);
  EXPECT_EQ(out, nullptr);
}

TEST_F(QueueCapi, ClosedQueuesReportClosed) {
  q_ = make(MPROC_QUEUE_JOINABLE);
  void* data = nullptr;
  size_t len = 0;
  char buf[64];
  ASSERT_EQ(mproc_queue_close(q_), 0);
  EXPECT_EQ(mproc_queue_close(q_), 0);  // twice: no-op
  EXPECT_EQ(mproc_queue_put(q_, "x", 1, 0), MPROC_ECLOSED);
  EXPECT_EQ(mproc_queue_get(q_, 0, &data, &len), MPROC_ECLOSED);
  EXPECT_EQ(mproc_queue_get_into(q_, buf, sizeof buf, &len, 0), MPROC_ECLOSED);
  EXPECT_EQ(mproc_queue_qsize(q_), MPROC_ECLOSED);
  EXPECT_EQ(mproc_queue_empty(q_), MPROC_ECLOSED);
  EXPECT_EQ(mproc_queue_full(q_), MPROC_ECLOSED);
  EXPECT_EQ(mproc_queue_max_message_size(q_), MPROC_ECLOSED);
  EXPECT_EQ(mproc_queue_task_done(q_), MPROC_ECLOSED);
  EXPECT_EQ(mproc_queue_join(q_, 0), MPROC_ECLOSED);
  EXPECT_EQ(mproc_queue_handle(q_, buf, sizeof buf), MPROC_ECLOSED);
}

TEST_F(QueueCapi, AttachByHandleAndTheHandleBuffer) {
  q_ = make(MPROC_QUEUE_QUEUE, 0, 4096);
  const std::string handle = handle_of(q_);
  ASSERT_LT(handle.size(), static_cast<size_t>(MPROC_HANDLE_MAX));
  char tiny[5];
  EXPECT_EQ(mproc_queue_handle(q_, tiny, sizeof tiny), static_cast<int>(handle.size()));
  EXPECT_EQ(std::string(tiny), handle.substr(0, 4));  // truncated, NUL-terminated

  mproc_queue_t* other = nullptr;
  ASSERT_EQ(mproc_queue_attach(handle.c_str(), &other), 0) << mproc_last_error_message();
  EXPECT_EQ(mproc_queue_kind(other), MPROC_QUEUE_QUEUE);
  EXPECT_EQ(mproc_queue_put(other, "via other", 9, 0), 0);
  char buf[32];
  size_t len = 0;
  EXPECT_EQ(mproc_queue_get_into(q_, buf, sizeof buf, &len, 0), 0);
  EXPECT_EQ(std::string(buf, len), "via other");
  EXPECT_EQ(mproc_queue_destroy(other), 0);

  mproc_queue_t* out = nullptr;
  const std::string missing = "/mproc-" + std::to_string(::getpid()) + "-missing";
  EXPECT_EQ(mproc_queue_attach(missing.c_str(), &out), -ENOENT);
  EXPECT_EQ(mproc_queue_attach("no-slash", &out), -EINVAL);
  EXPECT_EQ(mproc_queue_attach("", &out), -EINVAL);
  EXPECT_EQ(out, nullptr);
}

TEST_F(QueueCapi, AttachFindsEachKind) {
  q_ = make(MPROC_QUEUE_JOINABLE);
  mproc_queue_t* simple = make(MPROC_QUEUE_SIMPLE);
  mproc_queue_t* a = nullptr;
  mproc_queue_t* b = nullptr;
  ASSERT_EQ(mproc_queue_attach(handle_of(q_).c_str(), &a), 0);
  ASSERT_EQ(mproc_queue_attach(handle_of(simple).c_str(), &b), 0);
  EXPECT_EQ(mproc_queue_kind(a), MPROC_QUEUE_JOINABLE);
  EXPECT_EQ(mproc_queue_kind(b), MPROC_QUEUE_SIMPLE);
  // SimpleQueue has no qsize / full; task_done / join need a joinable queue.
  EXPECT_EQ(mproc_queue_qsize(b), -EINVAL);
  EXPECT_EQ(mproc_queue_full(b), -EINVAL);
  EXPECT_EQ(mproc_queue_task_done(b), -EINVAL);
  EXPECT_EQ(mproc_queue_join(b, 0), -EINVAL);
  EXPECT_EQ(mproc_queue_empty(b), 1);
  for (auto* q : {a, b, simple}) EXPECT_EQ(mproc_queue_destroy(q), 0);
}

TEST_F(QueueCapi, JoinableTaskDoneAndJoin) {
  q_ = make(MPROC_QUEUE_JOINABLE);
  EXPECT_EQ(mproc_queue_join(q_, 0), 0);  // nothing put: done
  EXPECT_EQ(mproc_queue_task_done(q_), MPROC_ESTATE);
  ASSERT_EQ(mproc_queue_put(q_, "t", 1, 0), 0);
  EXPECT_EQ(mproc_queue_join(q_, 10), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_queue_join(q_, -3), -EINVAL);
  const pid_t worker = ::fork();
  ASSERT_GE(worker, 0);
  if (worker == 0) {
    char buf[8];
    size_t len = 0;
    const int rc = mproc_queue_get_into(q_, buf, sizeof buf, &len, 30000);
    ::_exit(rc == 0 && mproc_queue_task_done(q_) == 0 ? 0 : 1);
  }
  EXPECT_EQ(mproc_queue_join(q_, 60000), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(worker, &status, 0), worker);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(mproc_queue_task_done(q_), MPROC_ESTATE);
  EXPECT_EQ(mproc_queue_task_done(nullptr), MPROC_EBADHANDLE);
  mproc_queue_t* plain = make();
  EXPECT_EQ(mproc_queue_task_done(plain), -EINVAL);
  EXPECT_EQ(mproc_queue_join(plain, 0), -EINVAL);
  EXPECT_EQ(mproc_queue_destroy(plain), 0);
}

TEST_F(QueueCapi, AnAttachedHandleWorksInAnotherProcess) {
  q_ = make(MPROC_QUEUE_QUEUE, 0, 1024);
  const std::string handle = handle_of(q_);
  Signal go;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!go.wait()) ::_exit(10);
    mproc_queue_t* mine = nullptr;
    if (mproc_queue_attach(handle.c_str(), &mine) != 0) ::_exit(11);
    for (int i = 0; i < 500; ++i)
      if (mproc_queue_put(mine, &i, sizeof i, 30000) != 0) ::_exit(12);
    ::_exit(mproc_queue_destroy(mine) == 0 ? 0 : 13);
  }
  go.notify();
  for (int i = 0; i < 500; ++i) {
    int v = -1;
    size_t len = 0;
    ASSERT_EQ(mproc_queue_get_into(q_, &v, sizeof v, &len, 30000), 0);
    ASSERT_EQ(v, i);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace mproc::test
