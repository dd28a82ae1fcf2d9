// Listener / client (multiprocessing.connection): processes meet by address, authenticated by an
// HMAC challenge both ways; descriptors passed over a Connection (SCM_RIGHTS); TCP addresses.
#include <mproc/listener.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "support/expect_error.hpp"
#include "support/leak_check.hpp"

namespace {

using namespace std::chrono_literals;
using mproc::Connection;
using mproc::errc;
using mproc::Listener;
using mproc::Process;
using mproc::TcpAddress;
using ListenerTest = mproc::test::LeakCheckedTest;
using mproc::test::error_of;

std::error_code auth() { return mproc::make_error_code(errc::authentication); }

int join_code(Process& p) {
  p.join();
  return p.exitcode().value_or(-1000);
}

std::string unique_path(const char* what) {
  return "/tmp/mproc-test-" + std::to_string(::getpid()) + "-" + what + ".sock";
}

TEST_F(ListenerTest, AClientWithTheKeyConnectsByAbstractName) {
  Listener listener("", std::string("secret"));
  ASSERT_FALSE(listener.address().empty());
  EXPECT_EQ(listener.address()[0], '\0');
  const std::string address = listener.address();
  Process child([address] {
    Connection c = mproc::client(address, std::string("secret"));
    c.send(std::string("hello"));
    if (c.recv<std::string>() != "olleh") throw mproc::SystemExit(2);
  });
  child.start();
  Connection c = listener.accept();
  EXPECT_EQ(c.recv<std::string>(), "hello");
  c.send(std::string("olleh"));
  EXPECT_EQ(join_code(child), 0);
}

TEST_F(ListenerTest, APathListenerWithoutKeyAndItsSocketFile) {
  const std::string path = unique_path("path");
  {
    Listener listener(path);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    Process child([path] { mproc::client(path).send(7); });
    child.start();
    Connection c = listener.accept();
    EXPECT_EQ(c.recv<int>(), 7);
    EXPECT_EQ(join_code(child), 0);
    // The address is taken while it listens.
    EXPECT_EQ(error_of([&] { Listener again(path); }), std::errc::address_in_use);
  }
  struct stat st {};
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "the socket file outlived its listener";
}

TEST_F(ListenerTest, AClientWithoutTheKeyOrWithAnotherIsRefused) {
  Listener listener("", std::string("secret"));
  const std::string address = listener.address();
  // No key: it gets a connection, says something that is not an answer, and hears the refusal.
  Process keyless([address] {
    Connection c = mproc::client(address);
    c.send_bytes("let me in");
    const std::string challenge = c.recv_bytes();
    if (challenge.rfind("#CHALLENGE#", 0) != 0) throw mproc::SystemExit(2);
    if (c.recv_bytes() != "#FAILURE#") throw mproc::SystemExit(3);
  });
  keyless.start();
  EXPECT_EQ(error_of([&] { listener.accept(); }), auth());
  EXPECT_EQ(join_code(keyless), 0);
  // Another key: refused on both sides.
  Process wrong([address] {
    const auto code = error_of([&] { mproc::client(address, std::string("guess")); });
    throw mproc::SystemExit(code == auth() ? 0 : 1);
  });
  wrong.start();
  EXPECT_EQ(error_of([&] { listener.accept(); }), auth());
  EXPECT_EQ(join_code(wrong), 0);
  // The listener is still usable.
  Process right([address] { mproc::client(address, std::string("secret")).send(1); });
  right.start();
  EXPECT_EQ(listener.accept().recv<int>(), 1);
  EXPECT_EQ(join_code(right), 0);
}

TEST_F(ListenerTest, AKeyedClientRefusesAListenerThatDoesNotChallenge) {
  Listener listener;  // no key
  const std::string address = listener.address();
  Process child([address] {
    const auto code = error_of([&] { mproc::client(address, std::string("secret")); });
    throw mproc::SystemExit(code == auth() ? 0 : 1);
  });
  child.start();
  Connection c = listener.accept();
  c.send_bytes("hello, no challenge here");
  EXPECT_EQ(join_code(child), 0);
}

TEST_F(ListenerTest, TheChallengeWorksOverAPipeToo) {
  auto [a, b] = mproc::pipe();
  Process child([&, &b = b] {
    mproc::answer_challenge(b, "k");
    mproc::deliver_challenge(b, "k");
  });
  child.start();
  b.close();
  mproc::deliver_challenge(a, "k");
  mproc::answer_challenge(a, "k");
  EXPECT_EQ(join_code(child), 0);
}

TEST_F(ListenerTest, BadAddressesTimeoutsAndClosedListeners) {
  EXPECT_EQ(error_of([] { Listener(std::string(200, 'x')); }), std::errc::invalid_argument);
  EXPECT_EQ(error_of([] { Listener(std::string("/tmp/a\0b", 8)); }),
            std::errc::invalid_argument);
  EXPECT_EQ(error_of([] { mproc::client(""); }), std::errc::invalid_argument);
  EXPECT_EQ(error_of([] { mproc::client(unique_path("nobody")); }),
            std::errc::no_such_file_or_directory);
  EXPECT_EQ(error_of([] { mproc::client(std::string("\0mproc-test-nobody-here", 23)); }),
            std::errc::connection_refused);
  Listener listener;
  EXPECT_FALSE(listener.accept(0s).has_value());
  EXPECT_FALSE(listener.accept(20ms).has_value());
  EXPECT_EQ(error_of([&] { listener.accept(-1s); }), std::errc::invalid_argument);
  EXPECT_GE(listener.fileno(), 0);
  listener.close();
  listener.close();
  EXPECT_TRUE(listener.closed());
  EXPECT_EQ(error_of([&] { listener.accept(); }), mproc::make_error_code(errc::closed));
  EXPECT_EQ(error_of([&] { listener.fileno(); }), mproc::make_error_code(errc::closed));
}

TEST_F(ListenerTest, ASilentPeerHoldsATimedAcceptNoLongerThanItsTimeoutAndTheNextClientIsServed) {
  Listener listener("", std::string("secret"));
  const std::string address = listener.address();
  // A peer that connects and never answers the challenge.
  const int silent = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  ASSERT_GE(silent, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  address.copy(sa.sun_path, address.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  ASSERT_EQ(::connect(silent, reinterpret_cast<const sockaddr*>(&sa), length), 0);
  const auto start = std::chrono::steady_clock::now();
  std::optional<Connection> dropped;
  EXPECT_EQ(error_of([&] { dropped = listener.accept(300ms); }), std::error_code());
  EXPECT_FALSE(dropped.has_value());
  // The handshake used to wait 30 s per step whatever the caller's timeout; 10 s is slack for a
  // loaded machine, far below that.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s)
      << "the handshake held accept(300 ms) past its timeout";
  ::close(silent);
  Process child([address] { mproc::client(address, std::string("secret")).send(7); });
  child.start();
  auto served = listener.accept(30s);
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(served->recv<int>(), 7);
  EXPECT_EQ(join_code(child), 0);
}

TEST_F(ListenerTest, SendHandleGivesThePeerItsOwnDescriptorForTheSameFile) {
  auto [a, b] = mproc::pipe();
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  a.send_handle(fds[1]);
  const int received = b.recv_handle();
  ASSERT_GE(received, 0);
  EXPECT_NE(received, fds[1]);
  EXPECT_EQ(::fcntl(received, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  ::close(fds[1]);  // the sender's copy is still the sender's
  ASSERT_EQ(::write(received, "via", 3), 3);
  ::close(received);
  char buf[8] = {};
  EXPECT_EQ(::read(fds[0], buf, sizeof buf), 3);
  EXPECT_EQ(std::string(buf, 3), "via");
  ::close(fds[0]);
}

TEST_F(ListenerTest, AHandleCrossesToAnUnrelatedProcessThroughAListener) {
  Listener listener("", std::string("key"));
  const std::string address = listener.address();
  Process child([address] {
    Connection c = mproc::client(address, std::string("key"));
    const int fd = c.recv_handle();
    const bool ok = ::write(fd, "from child", 10) == 10;
    ::close(fd);
    throw mproc::SystemExit(ok ? 0 : 1);
  });
  child.start();
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  {
    Connection c = listener.accept();
    c.send_handle(fds[1]);
    ::close(fds[1]);
    EXPECT_EQ(join_code(child), 0);
  }
  char buf[16] = {};
  EXPECT_EQ(::read(fds[0], buf, sizeof buf), 10);
  EXPECT_EQ(std::string(buf, 10), "from child");
  ::close(fds[0]);
}

TEST_F(ListenerTest, HandlesAndMessagesKeepTheirOrderAndTheirKinds) {
  auto [a, b] = mproc::pipe();
  a.send_bytes("first");
  a.send_handle(STDERR_FILENO);
  a.send_handle(STDERR_FILENO);
  // Not a handle: refused, and left queued.
  EXPECT_EQ(error_of([&, &b = b] { b.recv_handle(); }), mproc::make_error_code(errc::codec));
  EXPECT_EQ(b.recv_bytes(), "first");
  const int fd = b.recv_handle();
  EXPECT_GE(fd, 0);
  ::close(fd);
  // A handle received as bytes: the marker, and the kernel closes the descriptor (the fixture
  // checks that no descriptor leaked).
  EXPECT_FALSE(b.recv_bytes().empty());
  EXPECT_FALSE(b.recv_handle(0s).has_value());
  EXPECT_EQ(error_of([&] { a.send_handle(-1); }), std::errc::bad_file_descriptor);
  a.close();
  EXPECT_EQ(error_of([&, &b = b] { b.recv_handle(); }),
            mproc::make_error_code(errc::end_of_file));
  EXPECT_EQ(error_of([&] { a.send_handle(0); }), mproc::make_error_code(errc::closed));
  auto [r, w] = mproc::pipe(false);
  EXPECT_EQ(error_of([&, &r = r] { r.send_handle(0); }), mproc::make_error_code(errc::bad_state));
  EXPECT_EQ(error_of([&, &w = w] { w.recv_handle(); }), mproc::make_error_code(errc::bad_state));
}

// ---- TCP (Python's AF_INET family): a port picked by the kernel, messages of every size framed
// on the byte stream, the key check, a stream's partial header and early end of file.

// A plain TCP socket connected to the listener, to write a stream byte by byte.
int raw_client(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(ListenerTest, PortZeroPicksAPortAndMessagesOfEverySizeCrossBothWays) {
  Listener listener(TcpAddress{"localhost", 0}, std::string("secret"));
  EXPECT_EQ(listener.address(), "127.0.0.1");
  ASSERT_GT(listener.port(), 0);
  const TcpAddress address{"127.0.0.1", listener.port()};
  Process child([address] {
    Connection c = mproc::client(address, std::string("secret"));
    // Echo every message back, the big ones too (each far larger than a socket buffer).
    for (int i = 0; i < 4; ++i) c.send_bytes(c.recv_bytes());
  });
  child.start();
  Connection c = listener.accept();
  const std::string sizes[] = {std::string(), std::string("hello"),
                               std::string(70'000, 'x'), std::string(5 << 20, 'y')};
  for (const std::string& message : sizes) {
    c.send_bytes(message);
    EXPECT_EQ(c.recv_bytes(), message);
  }
  EXPECT_EQ(join_code(child), 0);
  EXPECT_EQ(error_of([&] { c.recv_bytes(); }), mproc::make_error_code(errc::end_of_file));
  // Descriptors need a Unix socket.
  EXPECT_EQ(error_of([&] { c.send_handle(0); }), mproc::make_error_code(errc::bad_state));
}

TEST_F(ListenerTest, AClientWithAnotherKeyIsRefused) {
  Listener listener(TcpAddress{"127.0.0.1", 0}, std::string("secret"));
  const TcpAddress address{"127.0.0.1", listener.port()};
  Process child([address] {
    try {
      mproc::client(address, std::string("guess"));
    } catch (const mproc::Error& e) {
      if (e.code() == mproc::make_error_code(errc::authentication)) throw mproc::SystemExit(10);
    }
  });
  child.start();
  EXPECT_EQ(error_of([&] { listener.accept(); }), mproc::make_error_code(errc::authentication));
  EXPECT_EQ(join_code(child), 10);
}

TEST_F(ListenerTest, AHeaderSplitAcrossATimeoutIsKeptAndAnEndInsideAMessageIsReported) {
  Listener listener(TcpAddress{"127.0.0.1", 0});
  const int raw = raw_client(listener.port());
  ASSERT_GE(raw, 0);
  Connection c = listener.accept();
  const std::uint64_t size = 3;
  const char* header = reinterpret_cast<const char*>(&size);
  ASSERT_EQ(::write(raw, header, 5), 5);
  EXPECT_FALSE(c.recv_bytes(50ms).has_value());  // 5 of 8 header bytes: kept
  ASSERT_EQ(::write(raw, header + 5, 3), 3);
  ASSERT_EQ(::write(raw, "abc", 3), 3);
  const auto got = c.recv_bytes(30s);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "abc");
  ASSERT_EQ(::write(raw, header, 8), 8);
  ASSERT_EQ(::write(raw, "a", 1), 1);
  ::close(raw);
  EXPECT_EQ(error_of([&] { c.recv_bytes(); }), mproc::make_error_code(errc::end_of_file));
}

TEST_F(ListenerTest, BadAddresses) {
  EXPECT_EQ(error_of([] { Listener(TcpAddress{"no-such-host.invalid", 0}); }),
            std::errc::invalid_argument);
  EXPECT_EQ(error_of([] { Listener(TcpAddress{std::string("a\0b", 3), 0}); }),
            std::errc::invalid_argument);
  EXPECT_EQ(error_of([] { mproc::client(TcpAddress{"127.0.0.1", 0}); }),
            std::errc::invalid_argument);
  Listener taken(TcpAddress{"127.0.0.1", 0});
  EXPECT_EQ(error_of([&] { Listener(TcpAddress{"127.0.0.1", taken.port()}); }),
            std::errc::address_in_use);
  const std::uint16_t port = taken.port();
  taken.close();
  EXPECT_EQ(error_of([&] { mproc::client(TcpAddress{"127.0.0.1", port}); }),
            std::errc::connection_refused);
}

}  // namespace
