// A pool in a program with threads: with the default start method a worker is forked from a
// process whose other threads may hold locks (here, a mutex a logging thread holds most of the
// time), and the worker would inherit that lock held forever. StartMethod::forkserver forks the
// workers from a small single-threaded server started at the top of main, before any thread.
#include <mproc/mproc.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

namespace {

std::mutex log_mutex;  // held by the background thread in a loop

int square(int x) {
  // Taking the mutex in a worker is safe: the worker is a fork of the server, which was forked
  // before the background thread existed, so the mutex was free there.
  std::lock_guard lock(log_mutex);
  return x * x;
}

}  // namespace

int main() {
  mproc::start_forkserver();  // first, while the program is single-threaded

  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop.load()) {
      std::lock_guard lock(log_mutex);
      std::this_thread::yield();
    }
  });

  mproc::PoolOptions options;
  options.processes = 2;
  options.start_method = mproc::StartMethod::forkserver;
  mproc::Pool pool(options);
  const std::vector<int> inputs{1, 2, 3, 4, 5, 6, 7, 8};
  int sum = 0;
  for (int y : pool.map(square, inputs)) sum += y;
  pool.close();
  pool.join();

  stop = true;
  busy.join();
  mproc::stop_forkserver();
  std::printf("sum of squares 1..8 from forkserver workers: %d\n", sum);
  return sum == 204 ? 0 : 1;
}
