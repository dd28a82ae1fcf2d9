// Promise: a process starved of memory (address space) or of file descriptors gets an error from
// the call that needed them — ENOMEM, EMFILE — and goes on; never a crash, a hang or a leak. Each
// case runs in a forked child whose limits (setrlimit) are lowered, and reports what it saw.
#include <mproc/connection.hpp>
#include <mproc/error.hpp>
#include <mproc/process.hpp>
#include <mproc/queue.hpp>
#include <mproc/shared_memory.hpp>

#include <cstdio>
#include <fcntl.h>
#include <functional>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <vector>

#include "fault_support.hpp"

namespace mproc::test {
namespace {

class Starvation : public FaultTest {};

// "" if `call` throws mproc::Error with errno `expected`, else what happened.
std::string expect_errno(const char* what, int expected, const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    if (e.code() == std::error_code(expected, std::generic_category())) return {};
    return std::string(what) + ": " + e.what() + "\n";
  }
  return std::string(what) + ": succeeded\n";
}

// Runs `body` in a forked child and returns its report ("" when all went as promised); fails the
// test if the child crashed.
std::string in_child(const std::function<std::string()>& body) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return "pipe2 failed";
  const pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(out[0]);
    const std::string report = body();
    const ssize_t n = ::write(out[1], report.data(), report.size());
    ::_exit(n == static_cast<ssize_t>(report.size()) ? 0 : 1);
  }
  ::close(out[1]);
  std::string report;
  char buf[4096];
  pollfd p{out[0], POLLIN, 0};
  while (::poll(&p, 1, 60'000) > 0) {
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    report.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the starved child crashed or failed, status " << status;
  return report;
}

TEST_F(Starvation, OutOfFileDescriptorsIsEMFILEFromTheCallThatNeededOne) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan's vptr check itself opens a pipe to probe memory: without descriptors it misreports.
  GTEST_SKIP() << "the sanitizer runtime needs file descriptors of its own";
#endif
  const std::string report = in_child([] {
    std::string failures;
    const rlimit low{64, 64};
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0) return std::string("setrlimit failed\n");
    std::vector<int> used;
    for (int fd; used.size() < 64 && (fd = ::dup(0)) >= 0;) used.push_back(fd);
    failures += expect_errno("SharedMemory", EMFILE, [] { SharedMemory::create(4096); });
    failures += expect_errno("Queue", EMFILE, [] { Queue q; });
    failures += expect_errno("pipe", EMFILE, [] { pipe(); });
    failures += expect_errno("Process::start", EMFILE, [] {
      Process p([] {});
      p.start();  // no pidfd: the child is killed and reaped before the error
    });
    for (int fd : used) ::close(fd);
    // With descriptors again, everything works, and nothing was left behind.
    try {
      Queue q;
      q.put(std::string("ok"));
      if (q.get<std::string>() != "ok") failures += "the queue after EMFILE does not work\n";
      Process p([] {});
      p.start();
      p.join();
    } catch (const Error& e) {
      failures += std::string("after EMFILE: ") + e.what() + "\n";
    }
    if (has_children()) failures += "a child is left\n";
    return failures;
  });
  EXPECT_EQ(report, "");
}

TEST_F(Starvation, OutOfAddressSpaceIsENOMEMFromTheCallThatNeededIt) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer needs terabytes of address space: RLIMIT_AS cannot be lowered";
#endif
  const std::string report = in_child([] {
    std::string failures;
    // Room for what is already mapped plus a little: a 64 MiB segment cannot be mapped.
    long vm_kib = 0;
    if (FILE* f = std::fopen("/proc/self/status", "r")) {
      char line[256];
      while (std::fgets(line, sizeof line, f))
        if (std::sscanf(line, "VmSize: %ld kB", &vm_kib) == 1) break;
      std::fclose(f);
    }
    if (vm_kib == 0) return std::string("no VmSize\n");
    const rlim_t limit = static_cast<rlim_t>(vm_kib + 16 * 1024) * 1024;
    const rlimit low{limit, limit};
    if (::setrlimit(RLIMIT_AS, &low) != 0) return std::string("setrlimit failed\n");
    failures += expect_errno("SharedMemory(64 MiB)", ENOMEM,
                             [] { SharedMemory::create(std::size_t{64} << 20); });
    failures += expect_errno("Queue(64 MiB ring)", ENOMEM,
                             [] { Queue q(QueueOptions{0, std::size_t{64} << 20}); });
    // Smaller objects still work.
    try {
      Queue q(QueueOptions{0, 4096});
      q.put(7);
      if (q.get<int>() != 7) failures += "a small queue does not work\n";
    } catch (const Error& e) {
      failures += std::string("a small queue: ") + e.what() + "\n";
    }
    return failures;
  });
  EXPECT_EQ(report, "");
}

}  // namespace
}  // namespace mproc::test
