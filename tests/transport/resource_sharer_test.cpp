// The resource sharer (white-box: src/transport/resource_sharer.hpp) serves its clients as their
// requests arrive: clients that connect and say nothing (a stopped worker, a process that is not
// ours) delay no other collector, however many there are, and each is a descriptor of the sharing
// process only up to a bound.
#include <gtest/gtest.h>

#include <mproc/error.hpp>

#include <cstring>
#include <fcntl.h>
#include <dirent.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include "transport/resource_sharer.hpp"

namespace {

namespace sharer = mproc::detail::sharer;

// A connection to the sharer at `address` that sends nothing (or `bytes`).
int connect_to(const std::string& address, const std::string& bytes = {}) {
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // A full backlog makes connect wait until the sharer accepts: it does at once, and a sharer
  // that would not (one serving a single client at a time) fails the test here.
  const timeval bound{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof bound);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, address.data(), address.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + address.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), length) != 0 ||
      (!bytes.empty() && ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::size_t open_descriptors() {
  std::size_t n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  while (const dirent* entry = ::readdir(dir))
    if (entry->d_name[0] != '.') ++n;
  ::closedir(dir);
  return n;
}

class ResourceSharerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe2(pipe_, O_CLOEXEC), 0);
    ticket_ = sharer::share(pipe_[0]);
  }
  void TearDown() override {
    for (const int fd : silent_) ::close(fd);
    sharer::withdraw(ticket_.token);
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  // Collects the share and checks that it is the pipe's read end.
  void expect_collected() {
    const int got = sharer::collect(ticket_, "ResourceSharerTest");
    ASSERT_GE(got, 0);
    ASSERT_EQ(::write(pipe_[1], "x", 1), 1);
    char c = 0;
    EXPECT_EQ(::read(got, &c, 1), 1);
    EXPECT_EQ(c, 'x');
    ::close(got);
  }
  int pipe_[2] = {-1, -1};
  sharer::ShareTicket ticket_;
  std::vector<int> silent_;
};

// One by one, each silent client would hold the server for its whole request wait (5 s): four of
// them are more than a collector waits (10 s).
TEST_F(ResourceSharerTest, SilentClientsDelayNoCollector) {
  for (int i = 0; i < 4; ++i) {
    silent_.push_back(connect_to(ticket_.address));
    ASSERT_GE(silent_.back(), 0);
  }
  expect_collected();
  expect_collected();
}

// More silent clients than the listen backlog and than the sharer keeps waiting: the oldest
// waits end, the collector is still answered, and the sharer holds a bounded number of them.
TEST_F(ResourceSharerTest, ManySilentClientsAreBoundedAndDelayNoCollector) {
  const std::size_t before = open_descriptors();
  constexpr std::size_t kSilent = 150;
  for (std::size_t i = 0; i < kSilent; ++i) {
    silent_.push_back(connect_to(ticket_.address));
    ASSERT_GE(silent_.back(), 0) << "client " << i;
  }
  expect_collected();
  // Ours: kSilent; the sharer's: at most its bound (128) of accepted ones.
  EXPECT_LE(open_descriptors(), before + kSilent + 128);
}

// A client that sends a malformed request, or hangs up, is dropped; the next one is answered.
TEST_F(ResourceSharerTest, MalformedRequestsAreDropped) {
  const int garbage = connect_to(ticket_.address, "abc");
  ASSERT_GE(garbage, 0);
  silent_.push_back(garbage);
  const int gone = connect_to(ticket_.address);
  ASSERT_GE(gone, 0);
  ::close(gone);
  expect_collected();
  // The malformed one got no descriptor: its end reads end-of-file once the sharer closed it.
  char buffer[64];
  const timeval bound{10, 0};
  ::setsockopt(garbage, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
  EXPECT_EQ(::recv(garbage, buffer, sizeof buffer, 0), 0);
}

// An unknown token is refused with a reason.
TEST_F(ResourceSharerTest, AWithdrawnShareIsRefused) {
  sharer::ShareTicket withdrawn = ticket_;
  withdrawn.token[0] ^= 1;
  try {
    (void)sharer::collect(withdrawn, "ResourceSharerTest");
    FAIL() << "collected an unknown share";
  } catch (const mproc::Error& e) {
    EXPECT_EQ(e.code(), mproc::errc::bad_handle);
    EXPECT_NE(std::string(e.what()).find("no longer held"), std::string::npos) << e.what();
  }
}

}  // namespace
