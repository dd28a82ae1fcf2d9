// The mproc tour: Python's multiprocessing tutorial, section by section, natively.
// Run it with the README's first command. Each section prints what happens as it happens.
#include <mproc/mproc.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

namespace {

void section(const char* title) { std::printf("\n== %s ==\n", title); }

// A progress bar redrawn in place with '\r' on a terminal; elsewhere (a log file, a pipe, CI) a
// line per 10 %, since '\r' there would make one line of every redraw.
class Progress {
 public:
  explicit Progress(size_t total) : total_(total), terminal_(::isatty(STDOUT_FILENO) == 1) {}

  void show(size_t done) {
    if (total_ == 0) return;
    if (terminal_) {
      const size_t width = 16, filled = done * width / total_;
      std::printf("\r  pool:   [%-16s] %zu/%zu", std::string(filled, '#').c_str(), done, total_);
      if (done == total_) std::printf("\n");
    } else {
      const size_t tenth = done * 10 / total_;
      if (tenth == printed_tenth_) return;
      printed_tenth_ = tenth;
      std::printf("  pool:   %3zu %% (%zu/%zu)\n", tenth * 10, done, total_);
    }
    std::fflush(stdout);
  }

 private:
  size_t total_;
  bool terminal_;
  size_t printed_tenth_ = 0;
};

// The 1-minute load average, or a negative number if /proc/loadavg cannot be read.
double load_average() {
  double load = -1;
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &load) != 1) load = -1;
    std::fclose(f);
  }
  return load;
}

// What the speed-up means: serial time / pool time, at best about the number of cores, and only
// if the cores are free: a load average from other work means fewer cores left for the pool.
// `load` is measured before the run, which adds up to `cores` to it by itself.
void explain_speed_up(double speed_up, int cores, double load) {
  std::printf("  speed-up = serial time / pool time: %d workers on %d free cores approach %dx\n",
              cores, cores, cores);
  if (load < 0) return;
  std::printf("  load average before the run: %.2f on %d cores\n", load, cores);
  if (load < 0.5)
    std::printf("  the cores were free, so %.2fx is the pool's own figure\n", speed_up);
  else
    std::printf("  other programs were using the cores, so %.2fx measures the busy machine as much\n"
                "  as the pool (below 1x: they got more of the cores than the pool did)\n",
                speed_up);
}

// Section 1: fork. Parent and child both return from fork(); the child sees its parent's pid.
void tour_fork() {
  section("fork: one call, two processes");
  std::printf("process %d is about to fork\n", mproc::getpid());
  std::fflush(stdout);  // so the child does not print the parent's buffered output again
  const pid_t pid = mproc::fork();
  if (pid == 0) {
    std::printf("  child  %d: my parent is %d\n", mproc::getpid(), mproc::getppid());
    std::fflush(stdout);
    ::_exit(0);
  }
  // mproc::fork() is the raw system call: reap its child with mproc::wait_child (a Process, next
  // section, reaps for you).
  mproc::wait_child(pid);
  std::printf("  parent %d: I forked child %d, which has finished\n", mproc::getpid(), pid);
}

// Section 2: Process. A task runs in a child; the parent starts it, then joins it.
void run_task(const std::string& name) {
  std::printf("  running task %s in process %d (%s)\n", name.c_str(), mproc::getpid(),
              mproc::current_process().name().c_str());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // pretend to work
  std::printf("  task %s done\n", name.c_str());
  std::fflush(stdout);
}

void tour_process() {
  section("Process: run a function in a child");
  std::printf("parent process %d\n", mproc::getpid());
  mproc::Process p(run_task, std::string("test"));
  std::printf("before start: pid is %s\n", p.pid() ? std::to_string(*p.pid()).c_str() : "empty");
  std::fflush(stdout);
  p.start();
  std::printf("after start: pid is %d, alive: %s\n", *p.pid(), p.is_alive() ? "yes" : "no");
  std::fflush(stdout);
  p.join();
  std::printf("joined: exit code %d, alive: %s\n", *p.exitcode(), p.is_alive() ? "yes" : "no");
  std::printf("main process finished\n");
}

// Section 3: Queue. A writer puts three values; a reader takes them for as long as it lives. The
// parent waits until every value was taken (a JoinableQueue counts task_done calls), then
// terminates the reader, as Python's example does, without losing a value.
void tour_queue() {
  section("Queue: a writer and a reader");
  mproc::JoinableQueue q;
  mproc::Process writer([&q] {
    for (const char* value : {"A", "B", "C"}) {
      std::printf("  process %d puts %s to the queue\n", mproc::getpid(), value);
      std::fflush(stdout);
      q.put(value);
    }
  });
  mproc::Process reader([&q] {
    for (;;) {
      const auto value = q.get<std::string>();
      std::printf("  process %d gets %s from the queue\n", mproc::getpid(), value.c_str());
      std::fflush(stdout);
      q.task_done();
    }
  });
  writer.start();
  reader.start();
  writer.join();
  q.join();  // every value put has been taken and marked done
  reader.terminate();
  reader.join();
  std::printf("writer exit code %d; reader terminated: exit code %d (-SIGTERM)\n",
              *writer.exitcode(), *reader.exitcode());
}

// Section 4: Pipe. A producer sends ten URLs down one end; a consumer reads the other end until
// the producer's end is closed (end of file), instead of being terminated as in Python's version.
void tour_pipe() {
  section("Pipe: a producer and a consumer");
  auto [consumer_end, producer_end] = mproc::pipe();
  // Init-captures: C++17 lambdas (and clang before 16) cannot capture a structured binding.
  mproc::Process producer([&producer_end = producer_end] {
    for (int i = 0; i < 10; ++i) {
      const std::string url = "url_" + std::to_string(i);
      std::printf("  process %d sends    %s\n", mproc::getpid(), url.c_str());
      std::fflush(stdout);
      producer_end.send(url);
    }
  });
  mproc::Process consumer([&consumer_end = consumer_end, &producer_end = producer_end] {
    producer_end.close();  // our copy of the sending end: keep it and EOF never comes
    try {
      for (;;) {
        const auto url = consumer_end.recv<std::string>();
        std::printf("  process %d receives %s\n", mproc::getpid(), url.c_str());
        std::fflush(stdout);
      }
    } catch (const mproc::Error& e) {
      if (e.code() != mproc::errc::end_of_file) throw;
      std::printf("  process %d: the producer closed its end, done\n", mproc::getpid());
    }
  });
  producer.start();
  consumer.start();
  producer_end.close();  // the parent's copies: only the children use the pipe
  consumer_end.close();
  producer.join();
  consumer.join();
  std::printf("producer exit code %d, consumer exit code %d\n", *producer.exitcode(),
              *consumer.exitcode());
}

// Section 5: Pool. A fixed set of worker processes runs many small tasks; results come back as
// futures (apply_async), in input order (imap) or as they finish (imap_unordered).
int square(int x) { return x * x; }

// Sleeps `units` x 50 ms, then returns units: finishing order follows the durations.
int nap(int units) {
  std::this_thread::sleep_for(std::chrono::milliseconds(50 * units));
  return units;
}

// A CPU-bound job the compiler cannot shorten: a chain of dependent multiplications.
unsigned long long crunch(unsigned long long n) {
  unsigned long long x = n;
  for (unsigned long long i = 0; i < n; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL + (x >> 29);
  return x;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void tour_pool() {
  section("Pool: a set of worker processes");
  {
    mproc::Pool pool(4);
    std::printf("apply_async(square, 10) in one of %d workers...\n", pool.processes());
    auto result = pool.apply_async(square, 10);
    pool.close();  // no more tasks
    pool.join();   // wait for the workers to finish
    std::printf("  result: %d\n", result.get());
  }
  {
    mproc::Pool pool(3);
    const std::vector<int> units{5, 1, 3};
    std::printf("imap(nap, {5, 1, 3}): results in input order\n  ");
    for (int u : pool.imap(nap, units)) std::printf("%d ", u), std::fflush(stdout);
    std::printf("\nimap_unordered(nap, {5, 1, 3}): results as they finish\n  ");
    for (int u : pool.imap_unordered(nap, units)) std::printf("%d ", u), std::fflush(stdout);
    std::printf("\n");
  }
  {
    const int workers = mproc::cpu_count();
    const std::vector<unsigned long long> jobs(16, 20'000'000);
    std::printf("CPU-bound: %zu jobs, serially, then on a pool of %d\n", jobs.size(), workers);
    const double load_before = load_average();
    auto start = std::chrono::steady_clock::now();
    unsigned long long check = 0;
    for (auto n : jobs) check ^= crunch(n);
    const double serial = seconds_since(start);
    std::printf("  serial: %.2f s\n", serial);
    mproc::Pool pool(workers);
    start = std::chrono::steady_clock::now();
    auto result = pool.map_async(crunch, jobs, 1);
    // completed_tasks() is a progress counter: poll it to show progress while the pool works.
    Progress progress(jobs.size());
    while (!result.wait(mproc::Seconds(0.05))) progress.show(pool.completed_tasks());
    unsigned long long pooled = 0;
    for (auto x : result.get()) pooled ^= x;
    const double parallel = seconds_since(start);
    progress.show(jobs.size());
    std::printf("  pool:   %.2f s, speed-up %.2fx%s\n", parallel, serial / parallel,
                pooled == check ? "" : " (RESULTS DIFFER!)");
    explain_speed_up(serial / parallel, workers, load_before);
    pool.close();
    pool.join();
  }
}


// Section 6: shared memory. A Manager's dict, list, Array and Value live in shared memory: four
// processes update them at once (no update is lost), and a process that only knows the Manager's
// name finds the same containers by their names, as a process not forked from this one would.
void tour_shared_memory() {
  section("shared memory: a Manager's dict, list, Array and Value");
  mproc::Manager manager;
  auto scores = manager.dict<std::string, int>("scores");
  auto log = manager.list<std::string>("log");
  auto squares = manager.Array<double>(4);  // Python: manager.Array('d', [0.0] * 4)
  auto updates = manager.Value<int>(0);     // Python: manager.Value('i', 0)
  std::vector<mproc::Process> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&, i] {
      scores.set("worker-" + std::to_string(i), i * i);
      log.append("process " + std::to_string(mproc::getpid()) + " was worker " + std::to_string(i));
      squares.set(static_cast<std::size_t>(i), i * i * 1.5);
      std::lock_guard hold(updates);  // the Value's own lock: += is a read and a write
      *updates.get_obj() += 3;
    });
  }
  for (auto& w : workers) w.start();
  for (auto& w : workers) w.join();
  const std::string name = manager.name();
  mproc::Process late([name] {
    auto found = mproc::Manager::attach(name);
    found.dict<std::string, int>("scores").set("late", 100);
    found.list<std::string>("log").append("a process that attached by the name " + name);
  });
  late.start();
  late.join();
  auto items = scores.items();
  std::sort(items.begin(), items.end());
  std::printf("dict (%zu keys):", items.size());
  for (const auto& [key, value] : items) std::printf(" %s=%d", key.c_str(), value);
  std::printf("\nlist (%zu entries, in the order they were appended):\n", log.size());
  for (const auto& line : log.snapshot()) std::printf("  %s\n", line.c_str());
  std::printf("Array:");
  for (std::size_t i = 0; i < squares.size(); ++i) std::printf(" %.1f", squares.get(i));
  std::printf("\nValue: %d updates (4 workers x 3)\n", updates.get());
}

}  // namespace

int main() {
  std::printf("mproc %s tour, %d CPUs available\n", MPROC_VERSION_STRING, mproc::cpu_count());
  tour_fork();
  tour_process();
  tour_queue();
  tour_pipe();
  tour_pool();
  tour_shared_memory();
  return 0;
}
