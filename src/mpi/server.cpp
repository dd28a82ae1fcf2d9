// The serving loop of a rank other than 0: one local pool (an Executor) per pool of rank 0, tasks
// in from rank 0, outcomes back in batches. This thread (the process's main thread) owns MPI.
#include <mproc/mpi/pool.hpp>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "mpi/comm.hpp"
#include "mpi/executor.hpp"
#include "mpi/runtime.hpp"
#include "mpi/wire.hpp"

namespace mproc::mpi::runtime {
namespace {

constexpr int kRoot = 0;

// Wakes the loop when a local pool has an outcome (MPI messages are polled for).
struct Doorbell {
  std::mutex mutex;
  std::condition_variable cv;
  bool rung = false;
  void ring() {
    {
      std::lock_guard lock(mutex);
      rung = true;
    }
    cv.notify_one();
  }
  void wait(std::chrono::microseconds timeout) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, timeout, [&] { return rung; });
    rung = false;
  }
};

std::string hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

class Server {
 public:
  explicit Server(int processes) : processes_(processes), host_(hostname()) {}

  void run() {
    int idle = 0;
    Comm::Message message;
    for (;;) {
      bool busy = false;
      while (comm_.poll(message, kRoot)) {
        busy = true;
        if (message.tag == wire::kShutdown) return finish();
        handle(message);
      }
      busy = send_outcomes() || busy;
      comm_.progress();
      idle = busy ? 0 : idle + 1;
      if (!busy) pause(idle);
    }
  }

 private:
  void finish() {
    for (auto& [id, executor] : executors_) executor->terminate();
    executors_.clear();
    comm_.send(kRoot, wire::kBye, std::string());
    // Rank 0 is waiting for this BYE; if it is gone, Open MPI ends the job anyway.
    comm_.flush(Comm::kDropAfter);
  }

  // How the loop waits when a turn found nothing to do. MPI has no wait that also wakes on our own
  // threads, and Open MPI's blocking calls spin, so the loop polls, as often as what can arrive
  // calls for:
  // - hot: within kHot of results sent (rank 0 answers them with new tasks within its round trip)
  //   or of tasks received (more follow in a stream): first kSpin of polls that only give up the
  //   CPU between them (sched_yield), then polls kHotPoll apart (on the doorbell, which outcomes
  //   ring). The nap that was here (up to 0.5 ms) was the longest wait on a tiny task's path;
  //   unbounded yielding, tried, took the CPU from the workers on a loaded machine.
  // - tasks running here, not hot: outcomes ring the doorbell; MPI is polled every kBusyPoll
  //   (long tasks: rank 0 has little to say until they end).
  // - idle: naps that grow from 20 us to kIdlePoll, so that an idle rank costs next to no CPU.
  static constexpr auto kSpin = std::chrono::microseconds(100);
  static constexpr auto kHot = std::chrono::milliseconds(2);
  static constexpr auto kHotPoll = std::chrono::microseconds(50);
  static constexpr auto kBusyPoll = std::chrono::microseconds(200);
  static constexpr auto kIdlePoll = std::chrono::microseconds(500);
  void pause(int idle) {
    const auto quiet = std::chrono::steady_clock::now() - last_activity_;
    if (quiet < kSpin) {
      std::this_thread::yield();
      return;
    }
    if (quiet < kHot) return doorbell_.wait(kHotPoll);
    if (outstanding() > 0) return doorbell_.wait(kBusyPoll);
    const auto step = std::chrono::microseconds(20 << std::min(idle / 64, 5));
    doorbell_.wait(std::min<std::chrono::microseconds>(step, kIdlePoll));
  }

  size_t outstanding() const {
    size_t n = 0;
    for (const auto& [id, executor] : executors_) n += executor->outstanding();
    return n;
  }

  void handle(const Comm::Message& message) {
    wire::Reader in(message.body.data(), message.body.size());
    const auto pool = in.get<uint64_t>();
    switch (message.tag) {
      case wire::kOpen:
        return open(pool, in);
      case wire::kTasks:
        return tasks(pool, in);
      case wire::kClose:
        return close(pool, wire::kClosed, false);
      case wire::kTerminate:
        return close(pool, wire::kTerminated, true);
      case wire::kCancel:
        return cancel(pool, in);
      case wire::kPing: {
        return comm_.send(kRoot, wire::pool_tag(pool), wire::about_pool(pool, wire::kPong).take());
      }
      default:
        break;  // not ours: ignored
    }
  }

  void open(uint64_t pool, wire::Reader& in) {
    const auto asked = in.get<int32_t>();
    const auto per_worker = in.get<uint64_t>();
    const int processes = asked > 0 ? asked : processes_;
    wire::Writer out = wire::about_pool(pool, wire::kReady);
    try {
      auto executor = std::make_unique<Executor>(processes, [this] { doorbell_.ring(); }, pool);
      executors_[pool] = std::move(executor);
      out.put(int32_t{0}).put(int32_t{processes});
      out.put(static_cast<uint64_t>(processes) * std::max<uint64_t>(per_worker, 1));
      out.put(static_cast<int32_t>(::getpid())).put_str(host_).put_str("");
    } catch (const Error& e) {
      out.put(static_cast<int32_t>(to_c_code(e.code()))).put(int32_t{0}).put(uint64_t{0});
      out.put(static_cast<int32_t>(::getpid())).put_str(host_).put_str(e.what());
    }
    comm_.send(kRoot, wire::pool_tag(pool), out.take());
  }

  void tasks(uint64_t pool, wire::Reader& in) {
    auto it = executors_.find(pool);
    wire::Writer refused = wire::about_pool(pool, wire::kResults);
    while (!in.done()) {
      const auto id = in.get<uint64_t>();
      const auto timeout = in.get<double>();
      const auto name = in.get_str();
      const auto payload = in.get_str();
      if (it == executors_.end()) {
        // The pool is gone here (terminated): its tasks fail, so that rank 0 hears of each.
        refused.put_result(id, 0, to_c_code(make_error_code(errc::terminated)),
                           "mpi: the pool was terminated on this rank");
        continue;
      }
      std::optional<Seconds> limit;
      if (timeout > 0) limit = Seconds(timeout);
      it->second->add(id, name, payload, limit);
    }
    if (it != executors_.end()) it->second->flush();
    last_activity_ = std::chrono::steady_clock::now();
    if (refused.size() > wire::kAboutPoolSize)
      comm_.send(kRoot, wire::pool_tag(pool), refused.take());
  }

  void cancel(uint64_t pool, wire::Reader& in) {
    auto it = executors_.find(pool);
    while (!in.done()) {
      const auto id = in.get<uint64_t>();
      if (it != executors_.end()) it->second->cancel(id);
    }
  }

  void close(uint64_t pool, wire::Tag reply, bool terminate) {
    auto it = executors_.find(pool);
    if (it != executors_.end()) {
      if (terminate) {
        it->second->terminate();
      } else {
        it->second->close_and_join();
        send_results(pool, *it->second);
      }
      executors_.erase(it);
    }
    comm_.send(kRoot, wire::pool_tag(pool), wire::about_pool(pool, reply).take());
  }

  bool send_outcomes() {
    bool any = false;
    for (auto& [pool, executor] : executors_) any = send_results(pool, *executor) || any;
    return any;
  }

  // Sends the RESULTS messages `executor` has ready (written in place by its local pool).
  bool send_results(uint64_t pool, Executor& executor) {
    std::vector<std::string> messages;
    if (executor.take(messages) == 0) return false;
    for (auto& m : messages) comm_.send(kRoot, wire::pool_tag(pool), std::move(m));
    last_activity_ = std::chrono::steady_clock::now();
    return true;
  }

  const int processes_;
  const std::string host_;
  Comm comm_;
  Doorbell doorbell_;
  std::map<uint64_t, std::unique_ptr<Executor>> executors_;
  std::chrono::steady_clock::time_point last_activity_;  // results sent or tasks received
};

}  // namespace

void serve(int processes) {
  Server server(processes);
  server.run();
}

}  // namespace mproc::mpi::runtime
