// The mproc tour: Python's multiprocessing tutorial, section by section, natively.
// Run it with the README's first command. Each section prints what happens as it happens.
#include <mproc/mproc.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

namespace {

void section(const char* title) { std::printf("\n== %s ==\n", title); }

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
  // mproc::fork() is the raw system call; a Process (next section) reaps for you.
  int status = 0;
  ::waitpid(pid, &status, 0);
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

// Section 3: Pipe. A producer sends ten URLs down one end; a consumer reads the other end until
// the producer's end is closed (end of file), instead of being terminated as in Python's version.
void tour_pipe() {
  section("Pipe: a producer and a consumer");
  auto [consumer_end, producer_end] = mproc::pipe();
  mproc::Process producer([&producer_end] {
    for (int i = 0; i < 10; ++i) {
      const std::string url = "url_" + std::to_string(i);
      std::printf("  process %d sends    %s\n", mproc::getpid(), url.c_str());
      std::fflush(stdout);
      producer_end.send(url);
    }
  });
  mproc::Process consumer([&consumer_end, &producer_end] {
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

}  // namespace

int main() {
  std::printf("mproc %s tour, %d CPUs available\n", MPROC_VERSION_STRING, mproc::cpu_count());
  tour_fork();
  tour_process();
  tour_pipe();
  return 0;
}
