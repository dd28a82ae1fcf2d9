// Listener / client over TCP (Python's AF_INET family): a port picked by the kernel, messages of
// every size framed on the byte stream, the key check, and a stream's partial header and early
// end of file.
#include <mproc/listener.hpp>

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
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
using ListenerTcpTest = mproc::test::LeakCheckedTest;
using mproc::test::error_of;

int join_code(Process& p) {
  p.join();
  return p.exitcode().value_or(-1000);
}

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

TEST_F(ListenerTcpTest, PortZeroPicksAPortAndMessagesOfEverySizeCrossBothWays) {
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

TEST_F(ListenerTcpTest, AClientWithAnotherKeyIsRefused) {
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

TEST_F(ListenerTcpTest, AHeaderSplitAcrossATimeoutIsKeptAndAnEndInsideAMessageIsReported) {
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

TEST_F(ListenerTcpTest, BadAddresses) {
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
