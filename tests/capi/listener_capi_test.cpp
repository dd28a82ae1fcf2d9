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
