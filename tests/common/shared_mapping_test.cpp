// The library's memfds (pool channels and control pages, sync arena chunks) are sealed at their
// size: a process the descriptor reaches cannot truncate one under the others' mappings, which
// would turn their next access into a SIGBUS (a worker crashing its parent).
#include "base/shared_mapping.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {

using mproc::detail::map_shared_memfd;
using mproc::detail::sealed_against_shrinking;

TEST(SharedMapping, AMemfdIsSealedAtItsSize) {
  int fd = -1;
  void* p = map_shared_memfd(8192, &fd, "sealing test");
  ASSERT_NE(p, nullptr);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(sealed_against_shrinking(fd));
  EXPECT_EQ(::ftruncate(fd, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(fd, 16384), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::fcntl(fd, F_ADD_SEALS, 0), -1) << "the seals themselves are sealed";
  static_cast<char*>(p)[8191] = 1;  // every page still there
  ::munmap(p, 8192);
  ::close(fd);
}

TEST(SharedMapping, AnUnsealedMemfdIsNotTakenAsSealed) {
  const int plain = ::memfd_create("unsealed", MFD_CLOEXEC);
  ASSERT_GE(plain, 0);
  EXPECT_FALSE(sealed_against_shrinking(plain));
  ::close(plain);
  EXPECT_FALSE(sealed_against_shrinking(-1));
}

}  // namespace
