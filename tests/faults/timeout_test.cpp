// Promise: every call with a timeout returns within it, whatever the other processes do; a call
// that must not wait (timeout 0, *_nowait) does not wait; a lock that could not be taken in time
// is reported as a timeout, never as "full" or "empty". The other process here is the worst
// case: stopped (SIGSTOP) while it holds the lock the call needs.
#include <mproc/dict.hpp>
#include <mproc/error.hpp>
#include <mproc/lock.hpp>
#include <mproc/manager.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <functional>
#include <optional>
#include <pthread.h>
#include <string>

#include "base/deadline.hpp"
#include "fault_support.hpp"
#include "mproc.h"
#include "transport/queue_core.hpp"

namespace mproc::test {
namespace {

using namespace std::chrono_literals;
using detail::Deadline;
using detail::queue::QueueConfig;
using detail::queue::QueueCore;

// The slack allowed beyond a timeout on a loaded machine; the failures these tests catch wait
// until the watchdog (10 s) sets them free.
constexpr double kSlack = 2.0;
constexpr auto kWatchdog = 10s;

class Timeouts : public FaultTest {};

std::error_code code_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.code();
  }
  return {};
}

void* into_string(std::size_t size, void* context) {
  auto& s = *static_cast<std::string*>(context);
  s.resize(size);
  return s.data();
}

TEST_F(Timeouts, QueueCallsReturnOnTimeWhileAStoppedProcessHoldsTheirLock) {
  auto q = QueueCore::create(QueueConfig{});
  q->put("x", 1, true, Deadline());
  {
    StoppedHolder holder([&] {
      // As a second consumer does: end the lone consumer's lock-free mode, then lock.
      q->shared().solo_consumer.store(detail::queue::kSoloMany);
      ::pthread_mutex_lock(&q->shared().get_lock);
    });
    Watchdog watchdog(kWatchdog, [pid = holder.pid()] { ::kill(pid, SIGKILL); });
    std::string out;

    // get_nowait: "do not wait" must not wait for the stopped holder.
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(code_of([&] { q->get(into_string, &out, false, Deadline()); }),
              make_error_code(errc::timed_out));
    EXPECT_LT(seconds_since(start), kSlack);

    // get(timeout 0) and get(200 ms): a timeout, on time.
    start = std::chrono::steady_clock::now();
    EXPECT_EQ(code_of([&] { q->get(into_string, &out, true, Deadline(0s)); }),
              make_error_code(errc::timed_out));
    EXPECT_LT(seconds_since(start), kSlack);
    start = std::chrono::steady_clock::now();
    EXPECT_EQ(code_of([&] { q->get(into_string, &out, true, Deadline(200ms)); }),
              make_error_code(errc::timed_out));
    EXPECT_GE(seconds_since(start), 0.2);
    EXPECT_LT(seconds_since(start), 0.2 + kSlack);
    EXPECT_FALSE(watchdog.fired()) << "a queue call waited for the stopped holder";
  }
  // The holder was killed: its lock is recovered and the message is still there.
  std::string out;
  q->get(into_string, &out, false, Deadline());
  EXPECT_EQ(out, "x");
}

TEST_F(Timeouts, APutWhoseLockTimesOutReportsATimeoutNotFull) {
  auto q = QueueCore::create(QueueConfig{});  // empty: a put could never be "full"
  StoppedHolder holder([&] {
    q->shared().solo_producer.store(detail::queue::kSoloMany);  // as a second producer does
    ::pthread_mutex_lock(&q->shared().put_lock);
  });
  Watchdog watchdog(kWatchdog, [pid = holder.pid()] { ::kill(pid, SIGKILL); });
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] { q->put("y", 1, true, Deadline(300ms)); }),
            make_error_code(errc::timed_out));
  EXPECT_LT(seconds_since(start), 0.3 + kSlack);
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] { q->put("y", 1, false, Deadline()); }), make_error_code(errc::timed_out));
  EXPECT_LT(seconds_since(start), kSlack);
  EXPECT_FALSE(watchdog.fired());
  EXPECT_TRUE(q->empty());
}

TEST_F(Timeouts, ManagerDictOperationsReturnOnTimeWhileAStoppedProcessHoldsItsLock) {
  BytesDict d;
  d.set("k", "v");
  // The child stops inside for_each(), which runs its sink under the dict's lock.
  StoppedHolder holder([&] {
    d.for_each([](std::string_view, std::string_view, void*) { ::raise(SIGSTOP); }, nullptr);
  });
  Watchdog watchdog(kWatchdog, [pid = holder.pid()] { ::kill(pid, SIGKILL); });
  d.set_timeout(200ms);
  // A read takes no lock (a version counter validates it): the stopped holder does not delay it.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(d.get("k"), std::optional<std::string>("v"));
  EXPECT_LT(seconds_since(start), kSlack);
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] { d.set("k", "w"); }), make_error_code(errc::timed_out));
  EXPECT_GE(seconds_since(start), 0.2);
  EXPECT_LT(seconds_since(start), 0.2 + kSlack);
  d.set_timeout(0s);
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] { d.set("k", "w"); }), make_error_code(errc::timed_out));
  EXPECT_LT(seconds_since(start), kSlack);
  EXPECT_FALSE(watchdog.fired());
  holder.kill();
  d.set_timeout(std::nullopt);
  d.set("k", "w");  // recovered from the dead holder
  EXPECT_EQ(d.get("k"), std::optional<std::string>("w"));
}

TEST_F(Timeouts, ManagerContainersAndTheCApiTakeTheTimeoutToo) {
  Manager manager;
  manager.set_timeout(200ms);  // given to the containers it returns from now on
  BytesDict d = manager.bytes_dict("shared");
  d.set("k", "v");
  StoppedHolder holder([&] {
    d.for_each([](std::string_view, std::string_view, void*) { ::raise(SIGSTOP); }, nullptr);
  });
  Watchdog watchdog(kWatchdog, [pid = holder.pid()] { ::kill(pid, SIGKILL); });
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of([&] { (void)d.erase("k"); }), make_error_code(errc::timed_out));
  EXPECT_LT(seconds_since(start), 0.2 + kSlack);

  // The C ABI, on another handle of the same dict.
  mproc_dict_t* c = nullptr;
  ASSERT_EQ(mproc_dict_attach(d.handle().c_str(), &c), 0);
  EXPECT_EQ(mproc_dict_set_timeout(c, -2), -EINVAL);
  EXPECT_EQ(mproc_dict_set_timeout(nullptr, 0), MPROC_EBADHANDLE);
  ASSERT_EQ(mproc_dict_set_timeout(c, 0), 0);
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(mproc_dict_set(c, "k", 1, "w", 1), MPROC_ETIMEDOUT);
  EXPECT_LT(seconds_since(start), kSlack);
  EXPECT_FALSE(watchdog.fired());
  holder.kill();
  ASSERT_EQ(mproc_dict_set_timeout(c, MPROC_WAIT_FOREVER), 0);
  EXPECT_EQ(mproc_dict_contains(c, "k", 1), 1);
  EXPECT_EQ(mproc_dict_destroy(c), 0);
  EXPECT_EQ(mproc_manager_set_timeout(nullptr, 0), MPROC_EBADHANDLE);
  manager.shutdown();
}

TEST_F(Timeouts, LockCallsReturnOnTimeWhileAStoppedProcessHoldsTheLock) {
  Lock lock;
  StoppedHolder holder([&] { lock.acquire(); });
  Watchdog watchdog(kWatchdog, [pid = holder.pid()] { ::kill(pid, SIGKILL); });
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(lock.acquire(false));
  EXPECT_FALSE(lock.acquire(true, 0s));
  EXPECT_LT(seconds_since(start), kSlack);
  start = std::chrono::steady_clock::now();
  EXPECT_FALSE(lock.acquire(true, 200ms));
  EXPECT_GE(seconds_since(start), 0.2);
  EXPECT_LT(seconds_since(start), 0.2 + kSlack);
  EXPECT_FALSE(watchdog.fired());
}

}  // namespace
}  // namespace mproc::test
