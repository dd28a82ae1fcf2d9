// The C ABI of Listener / client and descriptor passing: the normal flow across processes, a
// refused key, and bad input (NULL, wrong or destroyed handles, bad addresses and timeouts).
#include "mproc.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "support/leak_check.hpp"

namespace {

using ListenerCapiTest = mproc::test::LeakCheckedTest;

std::string last_error() { return mproc_last_error_message(); }

struct ClientArgs {
  std::string address;
  std::string key;
};

// Connects, receives a descriptor and writes into it; exit code 0 on success.
int client_child(void* user_data) {
  const auto* args = static_cast<const ClientArgs*>(user_data);
  mproc_connection_t* c = nullptr;
  const int rc = mproc_client_connect(args->address.data(), args->address.size(),
                                      args->key.data(), args->key.size(), &c);
  if (rc != 0) return rc == MPROC_EAUTH ? 10 : 11;
  const int fd = mproc_connection_recv_handle(c, MPROC_WAIT_FOREVER);
  int code = 12;
  if (fd >= 0) {
    code = ::write(fd, "ok", 2) == 2 ? 0 : 13;
    ::close(fd);
  }
  mproc_connection_destroy(c);
  return code;
}

int run_child(ClientArgs* args, mproc_process_t** out) {
  EXPECT_EQ(mproc_process_create(client_child, args, out), 0);
  return mproc_process_start(*out);
}

int join_code(mproc_process_t* p) {
  int code = -1000;
  EXPECT_EQ(mproc_process_join(p, 60'000), 0);
  EXPECT_EQ(mproc_process_exitcode(p, &code), 1);
  mproc_process_destroy(p);
  return code;
}

TEST_F(ListenerCapiTest, AKeyedClientGetsADescriptorAndAWrongKeyIsRefused) {
  mproc_listener_t* listener = nullptr;
  ASSERT_EQ(mproc_listener_create(nullptr, 0, "secret", 6, &listener), 0);
  char address[128];
  const int length = mproc_listener_address(listener, address, sizeof address);
  ASSERT_GT(length, 1);
  EXPECT_EQ(address[0], '\0');
  EXPECT_EQ(mproc_listener_address(listener, nullptr, 0), length);
  EXPECT_GE(mproc_listener_fileno(listener), 0);

  ClientArgs good{std::string(address, static_cast<size_t>(length)), "secret"};
  mproc_process_t* child = nullptr;
  ASSERT_EQ(run_child(&good, &child), 0);
  mproc_connection_t* c = nullptr;
  ASSERT_EQ(mproc_listener_accept(listener, 60'000, &c), 0);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  EXPECT_EQ(mproc_connection_send_handle(c, fds[1]), 0);
  ::close(fds[1]);
  EXPECT_EQ(join_code(child), 0);
  char buf[4] = {};
  EXPECT_EQ(::read(fds[0], buf, sizeof buf), 2);
  ::close(fds[0]);
  mproc_connection_destroy(c);

  ClientArgs wrong{good.address, "guess"};
  ASSERT_EQ(run_child(&wrong, &child), 0);
  c = nullptr;
  EXPECT_EQ(mproc_listener_accept(listener, 60'000, &c), MPROC_EAUTH);
  EXPECT_NE(last_error().find("mproc_listener_accept"), std::string::npos) << last_error();
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(join_code(child), 10);
  EXPECT_EQ(mproc_listener_destroy(listener), 0);
}

// Connects over TCP to the port in user_data, sends "ping", expects "pong"; exit code 0 if so.
int tcp_client_child(void* user_data) {
  const int port = *static_cast<const int*>(user_data);
  mproc_connection_t* c = nullptr;
  if (mproc_client_connect_tcp("127.0.0.1", port, "k", 1, &c) != 0) return 11;
  int code = mproc_connection_send_bytes(c, "ping", 4) == 0 ? 0 : 12;
  char buf[8] = {};
  size_t length = 0;
  if (code == 0 && mproc_connection_recv_bytes_into(c, buf, sizeof buf, &length, 60'000) != 0)
    code = 13;
  if (code == 0 && std::string(buf, length) != "pong") code = 14;
  mproc_connection_destroy(c);
  return code;
}

TEST_F(ListenerCapiTest, TcpListenerOnAPickedPort) {
  mproc_listener_t* listener = nullptr;
  ASSERT_EQ(mproc_listener_create_tcp("127.0.0.1", 0, "k", 1, &listener), 0);
  int port = mproc_listener_port(listener);
  ASSERT_GT(port, 0);
  char address[64];
  ASSERT_EQ(mproc_listener_address(listener, address, sizeof address), 9);
  EXPECT_STREQ(address, "127.0.0.1");
  mproc_process_t* child = nullptr;
  ASSERT_EQ(mproc_process_create(tcp_client_child, &port, &child), 0);
  ASSERT_EQ(mproc_process_start(child), 0);
  mproc_connection_t* c = nullptr;
  ASSERT_EQ(mproc_listener_accept(listener, 60'000, &c), 0);
  char buf[8] = {};
  size_t length = 0;
  ASSERT_EQ(mproc_connection_recv_bytes_into(c, buf, sizeof buf, &length, 60'000), 0);
  EXPECT_EQ(std::string(buf, length), "ping");
  EXPECT_EQ(mproc_connection_send_bytes(c, "pong", 4), 0);
  EXPECT_EQ(join_code(child), 0);
  EXPECT_EQ(mproc_connection_send_handle(c, 0), MPROC_ESTATE);  // no descriptors over TCP
  mproc_connection_destroy(c);
  EXPECT_EQ(mproc_listener_destroy(listener), 0);
}

TEST_F(ListenerCapiTest, TcpBadInput) {
  mproc_listener_t* listener = nullptr;
  mproc_connection_t* c = nullptr;
  EXPECT_EQ(mproc_listener_create_tcp("127.0.0.1", 0, nullptr, 0, nullptr), -EINVAL);
  EXPECT_EQ(mproc_listener_create_tcp("127.0.0.1", -1, nullptr, 0, &listener), -EINVAL);
  EXPECT_NE(last_error().find("mproc_listener_create_tcp"), std::string::npos) << last_error();
  EXPECT_EQ(mproc_listener_create_tcp("127.0.0.1", 65536, nullptr, 0, &listener), -EINVAL);
  EXPECT_EQ(mproc_listener_create_tcp("127.0.0.1", 0, nullptr, 3, &listener), -EINVAL);
  EXPECT_EQ(mproc_listener_create_tcp("no-such-host.invalid", 0, nullptr, 0, &listener),
            -EINVAL);
  EXPECT_EQ(listener, nullptr);
  EXPECT_EQ(mproc_client_connect_tcp("127.0.0.1", 0, nullptr, 0, &c), -EINVAL);
  EXPECT_EQ(mproc_client_connect_tcp("127.0.0.1", 70000, nullptr, 0, &c), -EINVAL);
  EXPECT_EQ(mproc_client_connect_tcp("127.0.0.1", 80, nullptr, 0, nullptr), -EINVAL);
  EXPECT_EQ(mproc_client_connect_tcp("127.0.0.1", 80, nullptr, 2, &c), -EINVAL);
  EXPECT_EQ(c, nullptr);
  EXPECT_EQ(mproc_listener_port(nullptr), MPROC_EBADHANDLE);
  // A NULL host is every interface for a listener, this machine for a client; a closed port
  // refuses.
  ASSERT_EQ(mproc_listener_create_tcp(nullptr, 0, nullptr, 0, &listener), 0);
  const int port = mproc_listener_port(listener);
  EXPECT_GT(port, 0);
  EXPECT_EQ(mproc_listener_destroy(listener), 0);
  EXPECT_EQ(mproc_listener_port(listener), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_client_connect_tcp(nullptr, port, nullptr, 0, &c), -ECONNREFUSED);
  EXPECT_NE(last_error().find("mproc_client_connect_tcp"), std::string::npos) << last_error();
  // A Unix socket listener has no port.
  ASSERT_EQ(mproc_listener_create(nullptr, 0, nullptr, 0, &listener), 0);
  EXPECT_EQ(mproc_listener_port(listener), 0);
  EXPECT_EQ(mproc_listener_destroy(listener), 0);
}

TEST_F(ListenerCapiTest, BadInput) {
  mproc_listener_t* listener = nullptr;
  mproc_connection_t* c = nullptr;
  EXPECT_EQ(mproc_listener_create(nullptr, 0, nullptr, 0, nullptr), -EINVAL);
  EXPECT_EQ(mproc_listener_create(nullptr, 0, nullptr, 4, &listener), -EINVAL);
  EXPECT_NE(last_error().find("mproc_listener_create"), std::string::npos) << last_error();
  EXPECT_EQ(mproc_listener_create(nullptr, 5, nullptr, 0, &listener), -EINVAL);
  const std::string too_long(300, 'x');
  EXPECT_EQ(mproc_listener_create(too_long.data(), too_long.size(), nullptr, 0, &listener),
            -EINVAL);
  EXPECT_EQ(listener, nullptr);
  EXPECT_EQ(mproc_client_connect(nullptr, 3, nullptr, 0, &c), -EINVAL);
  EXPECT_EQ(mproc_client_connect("x", 0, nullptr, 0, &c), -EINVAL);
  EXPECT_EQ(mproc_client_connect("/nonexistent/mproc.sock", 23, nullptr, 0, &c), -ENOENT);
  EXPECT_NE(last_error().find("mproc_client_connect"), std::string::npos) << last_error();
  EXPECT_EQ(mproc_client_connect("\0mproc-nobody", 13, nullptr, 0, &c), -ECONNREFUSED);
  EXPECT_EQ(mproc_client_connect("\0mproc-nobody", 13, nullptr, 1, &c), -EINVAL);
  EXPECT_EQ(c, nullptr);

  ASSERT_EQ(mproc_listener_create(nullptr, 0, nullptr, 0, &listener), 0);
  EXPECT_EQ(mproc_listener_accept(listener, 0, &c), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_listener_accept(listener, -2, &c), -EINVAL);
  EXPECT_EQ(mproc_listener_accept(listener, 0, nullptr), -EINVAL);
  EXPECT_EQ(mproc_listener_address(listener, nullptr, 4), -EINVAL);
  EXPECT_EQ(mproc_listener_close(listener), 0);
  EXPECT_EQ(mproc_listener_close(listener), 0);
  EXPECT_EQ(mproc_listener_accept(listener, 0, &c), MPROC_ECLOSED);
  EXPECT_EQ(mproc_listener_fileno(listener), MPROC_ECLOSED);
  EXPECT_EQ(mproc_listener_destroy(listener), 0);
  EXPECT_EQ(mproc_listener_destroy(listener), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_listener_accept(listener, 0, &c), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_listener_destroy(nullptr), 0);
  EXPECT_EQ(mproc_listener_fileno(nullptr), MPROC_EBADHANDLE);

  // Descriptor passing on bad handles and descriptors.
  EXPECT_EQ(mproc_connection_send_handle(nullptr, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_recv_handle(nullptr, 0), MPROC_EBADHANDLE);
  mproc_connection_t* a = nullptr;
  mproc_connection_t* b = nullptr;
  ASSERT_EQ(mproc_pipe_create(1, &a, &b), 0);
  EXPECT_EQ(mproc_connection_send_handle(a, -1), -EBADF);
  EXPECT_NE(last_error().find("mproc_connection_send_handle"), std::string::npos) << last_error();
  EXPECT_EQ(mproc_connection_recv_handle(b, 0), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_connection_recv_handle(b, -5), -EINVAL);
  EXPECT_EQ(mproc_connection_send_bytes(a, "x", 1), 0);
  EXPECT_EQ(mproc_connection_recv_handle(b, 0), MPROC_ECODEC);
  EXPECT_EQ(mproc_connection_close(a), 0);
  EXPECT_EQ(mproc_connection_send_handle(a, 0), MPROC_ECLOSED);
  mproc_connection_destroy(a);
  mproc_connection_destroy(b);
}

}  // namespace
