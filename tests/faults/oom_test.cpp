// Promise: running out of memory is an error (std::bad_alloc, or -ENOMEM through the C ABI), never
// a leaked descriptor or a std::terminate. Allocations fail on demand: this binary replaces the
// global operator new (sqlite's countdown technique), so it is a binary of its own.
#include <mproc/connection.hpp>
#include <mproc/process.hpp>

#include "mproc.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <memory>
#include <new>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/leak_check.hpp"

namespace {

// On this thread: how many allocations succeed before the one that fails (after it, all succeed
// again), or -1 for "none fails".
thread_local long g_allocations_before_failure = -1;
thread_local bool g_every_allocation_fails = false;

void* allocate(std::size_t size) {
  if (g_every_allocation_fails) throw std::bad_alloc();
  if (g_allocations_before_failure == 0) {
    g_allocations_before_failure = -1;
    throw std::bad_alloc();
  }
  if (g_allocations_before_failure > 0) --g_allocations_before_failure;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}

// Makes one allocation on this thread fail, after `succeeding` more, while the object lives; or,
// with `every`, all of them.
class FailingAllocations {
 public:
  explicit FailingAllocations(long succeeding = 0, bool every = false) {
    g_allocations_before_failure = succeeding;
    g_every_allocation_fails = every;
  }
  ~FailingAllocations() {
    g_allocations_before_failure = -1;
    g_every_allocation_fails = false;
  }
  FailingAllocations(const FailingAllocations&) = delete;
  FailingAllocations& operator=(const FailingAllocations&) = delete;
};

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

using OomTest = mproc::test::LeakCheckedTest;

TEST_F(OomTest, AConnectionMadeOfADescriptorClosesItWhenMemoryRunsOut) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  bool out_of_memory = false;
  try {
    FailingAllocations failing;
    mproc::Connection c(fds[0]);
  } catch (const std::bad_alloc&) {
    out_of_memory = true;
  }
  EXPECT_TRUE(out_of_memory);
  EXPECT_FALSE(is_open(fds[0])) << "the Connection's descriptor was left open";
  if (is_open(fds[0])) ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(OomTest, TheCAbiClosesTheDescriptorOnENOMEMAsItsDocumentationSays) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
  mproc_connection_t* c = nullptr;
  int rc;
  {
    FailingAllocations failing;
    rc = mproc_connection_from_fd(fds[0], 1, 1, &c);
  }
  EXPECT_EQ(rc, -ENOMEM);
  EXPECT_EQ(c, nullptr);
  EXPECT_FALSE(is_open(fds[0])) << "mproc_connection_from_fd left the descriptor open on ENOMEM";
  if (is_open(fds[0])) ::close(fds[0]);
  ::close(fds[1]);
}

// Dropping a Process detaches it; the registry then reaps every detached child that has ended,
// from the destructor: it must do so without allocating (before, out of memory there was
// std::terminate).
TEST_F(OomTest, DroppingAProcessNeedsNoMemory) {
  auto p = std::make_unique<mproc::Process>([] {});
  p->start();
  const pid_t pid = *p->pid();
  siginfo_t info{};
  // Ended, not reaped: the registry reaps it when the Process is dropped.
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  {
    FailingAllocations every_one(0, true);
    p.reset();
  }
  EXPECT_TRUE(mproc::active_children().empty());
}

}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
