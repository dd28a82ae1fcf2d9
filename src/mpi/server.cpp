// The serving loop of a rank other than 0: one local pool (an Executor) per pool of rank 0, tasks
// in from rank 0, outcomes back in batches. This thread (the process's main thread) owns MPI.
#include <mproc/mpi/pool.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
  // threads, and Open MPI's blocking calls spin, so the loop looks for rank 0's messages as often
  // as they can matter and sleeps on the doorbell in between (outcomes ring it: results leave at
  // once). It never spins: where ranks and workers outnumber the cores (a one-host run, or a
  // host's workers all busy beside this loop), a loop that yields or polls every few microseconds
  // takes the CPU a worker needs.
  // - tasks here: rank 0 sends more as results reach it, and this rank needs them before its local
  //   pool runs out of work: it looks every quarter of the time its backlog lasts (tasks
  //   outstanding x the time per outcome seen so far), within [kMinLook, kBusyLook]; before any
  //   outcome tells, from kMinLook doubling up to kBusyLook. Long tasks: a look every kBusyLook
  //   (what rank 0 may send meanwhile, a cancel or a probe, can wait that long; new tasks come
  //   after results, when the backlog is short and the looks frequent).
  // - idle: looks from kMinLook doubling up to kIdleLook, so that an idle rank costs next to no
  //   CPU and a new task waits at most kIdleLook to be seen.
  static constexpr std::chrono::microseconds kMinLook{20};
  static constexpr std::chrono::microseconds kBusyLook{5000};
  static constexpr std::chrono::microseconds kIdleLook{500};
  void pause(int idle) {
    using us = std::chrono::microseconds;
    const size_t backlog = outstanding();
    us look;
    if (backlog > 0 && per_outcome_ > 0) {
      const double lasts = static_cast<double>(backlog) * per_outcome_;  // seconds
      look = std::clamp(us(static_cast<int64_t>(lasts * 1e6 / 4)), kMinLook, kBusyLook);
    } else {
      look = std::min(us(kMinLook.count() << std::min(idle / 8, 8)),
                      backlog > 0 ? kBusyLook : kIdleLook);
    }
    doorbell_.wait(look);
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
    if (it != executors_.end()) {
      if (!working_since_) working_since_ = std::chrono::steady_clock::now();
      it->second->flush();
    }
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
    size_t n = 0;
    for (auto& [pool, executor] : executors_) n += send_results(pool, *executor);
    if (n == 0) return false;
    // The time per outcome while the local pools had work (a moving average), for pause().
    const auto now = std::chrono::steady_clock::now();
    if (working_since_) {
      const double per =
          std::chrono::duration<double>(now - *working_since_).count() / static_cast<double>(n);
      per_outcome_ = per_outcome_ > 0 ? 0.5 * per_outcome_ + 0.5 * per : per;
    }
    working_since_.reset();
    if (outstanding() > 0) working_since_ = now;
    return true;
  }

  // Sends the RESULTS messages `executor` has ready (written in place by its local pool); returns
  // how many outcomes they hold.
  size_t send_results(uint64_t pool, Executor& executor) {
    std::vector<std::string> messages;
    const size_t n = executor.take(messages);
    for (auto& m : messages) comm_.send(kRoot, wire::pool_tag(pool), std::move(m));
    return n;
  }

  const int processes_;
  const std::string host_;
  Comm comm_;
  Doorbell doorbell_;
  std::map<uint64_t, std::unique_ptr<Executor>> executors_;
  // Since when the local pools have had tasks without an outcome taken (unset while idle), and
  // the time per outcome seen (seconds, a moving average; 0 before the first).
  std::optional<std::chrono::steady_clock::time_point> working_since_;
  double per_outcome_ = 0;
};

}  // namespace

void serve(int processes) {
  Server server(processes);
  server.run();
}

}  // namespace mproc::mpi::runtime
