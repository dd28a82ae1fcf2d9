// The C ABI of pipes and connections: the normal flow across processes, and every kind of bad
// input (NULL, wrong or destroyed handle, oversized message, closed connection, zero and
// "negative" sizes, bad timeouts).
#include "mproc.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <pthread.h>
#include <string>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include "support/leak_check.hpp"

namespace {

using ConnectionCapiTest = mproc::test::LeakCheckedTest;

// A pipe whose ends are destroyed with the fixture.
struct CPipe {
  mproc_connection_t* a = nullptr;
  mproc_connection_t* b = nullptr;
  explicit CPipe(int duplex = 1) { EXPECT_EQ(mproc_pipe_create(duplex, &a, &b), 0); }
  ~CPipe() {
    mproc_connection_destroy(a);
    mproc_connection_destroy(b);
  }
  CPipe(const CPipe&) = delete;
  CPipe& operator=(const CPipe&) = delete;
};

std::string last_error() { return mproc_last_error_message(); }

int echo_child(void* user_data) {
  // Receives messages and sends each back reversed, until an empty one.
  auto* c = static_cast<mproc_connection_t*>(user_data);
  for (;;) {
    void* data = nullptr;
    size_t len = 0;
    if (mproc_connection_recv_bytes(c, MPROC_WAIT_FOREVER, &data, &len) != 0) return 1;
    std::string text(static_cast<char*>(data), len);
    mproc_buffer_free(data);
    if (text.empty()) return 0;
    std::string reversed(text.rbegin(), text.rend());
    if (mproc_connection_send_bytes(c, reversed.data(), reversed.size()) != 0) return 2;
  }
}

TEST_F(ConnectionCapiTest, MessagesCrossAProcessBoundary) {
  CPipe p;
  mproc_process_t* child = nullptr;
  ASSERT_EQ(mproc_process_create(echo_child, p.b, &child), 0);
  ASSERT_EQ(mproc_process_start(child), 0);
  ASSERT_EQ(mproc_connection_close(p.b), 0);
  for (const std::string text : {"abc", "x", "hello, world"}) {
    ASSERT_EQ(mproc_connection_send_bytes(p.a, text.data(), text.size()), 0);
    char buffer[64];
    size_t len = 0;
    ASSERT_EQ(mproc_connection_recv_bytes_into(p.a, buffer, sizeof buffer, &len, 60000), 0)
        << last_error();
    EXPECT_EQ(std::string(buffer, len), std::string(text.rbegin(), text.rend()));
  }
  ASSERT_EQ(mproc_connection_send_bytes(p.a, nullptr, 0), 0);  // empty: the child stops
  ASSERT_EQ(mproc_process_join(child, 60000), 0);
  int code = -1;
  EXPECT_EQ(mproc_process_exitcode(child, &code), 1);
  EXPECT_EQ(code, 0);
  // The child's end is gone everywhere: end-of-file, and EPIPE for a send.
  void* data = nullptr;
  size_t len = 0;
  EXPECT_EQ(mproc_connection_recv_bytes(p.a, 60000, &data, &len), MPROC_EEOF);
  EXPECT_EQ(data, nullptr);
  EXPECT_EQ(mproc_connection_send_bytes(p.a, "x", 1), -EPIPE);
  mproc_process_destroy(child);
}

TEST_F(ConnectionCapiTest, EmptyMessagesAndTheirBuffers) {
  CPipe p;
  ASSERT_EQ(mproc_connection_send_bytes(p.a, nullptr, 0), 0);
  ASSERT_EQ(mproc_connection_send_bytes(p.a, "", 0), 0);
  void* data = nullptr;
  size_t len = 99;
  ASSERT_EQ(mproc_connection_recv_bytes(p.b, 0, &data, &len), 0);
  EXPECT_NE(data, nullptr);  // documented: never NULL
  EXPECT_EQ(len, 0u);
  mproc_buffer_free(data);
  mproc_buffer_free(nullptr);
  len = 99;
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, nullptr, 0, &len, 0), 0);  // cap 0 fits
  EXPECT_EQ(len, 0u);
}

TEST_F(ConnectionCapiTest, AShortBufferIsTooBigWithTheSizeNeededAndKeepsTheMessage) {
  CPipe p;
  const std::string text(5000, 'q');
  ASSERT_EQ(mproc_connection_send_bytes(p.a, text.data(), text.size()), 0);
  char small[10];
  size_t len = 0;
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, small, sizeof small, &len, 0), MPROC_ETOOBIG);
  EXPECT_EQ(len, 5000u);
  EXPECT_NE(last_error().find("5000"), std::string::npos) << last_error();
  len = 0;
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, nullptr, 0, &len, 0), MPROC_ETOOBIG);
  EXPECT_EQ(len, 5000u);
  EXPECT_EQ(mproc_connection_poll(p.b, 0), 1);
  void* data = nullptr;
  ASSERT_EQ(mproc_connection_recv_bytes(p.b, 0, &data, &len), 0);
  EXPECT_EQ(std::string(static_cast<char*>(data), len), text);
  mproc_buffer_free(data);
}

TEST_F(ConnectionCapiTest, OversizedMessages) {
  CPipe p;
  // "Negative" sizes arrive as huge size_t values: refused before anything is read from data.
  EXPECT_EQ(mproc_connection_send_bytes(p.a, "x", static_cast<size_t>(-1)), MPROC_ETOOBIG);
  EXPECT_EQ(mproc_connection_set_max_message_size(p.a, 4), 0);
  uint64_t max = 0;
  EXPECT_EQ(mproc_connection_max_message_size(p.a, &max), 0);
  EXPECT_EQ(max, 4u);
  EXPECT_EQ(mproc_connection_send_bytes(p.a, "12345", 5), MPROC_ETOOBIG);
  EXPECT_EQ(mproc_connection_send_bytes(p.a, "1234", 4), 0);  // the end stays usable
  EXPECT_EQ(mproc_connection_set_max_message_size(p.a, 0), -EINVAL);
  // The receiving side: over its maximum, the message is refused and the side is done.
  EXPECT_EQ(mproc_connection_set_max_message_size(p.b, 2), 0);
  void* data = nullptr;
  size_t len = 0;
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, 0, &data, &len), MPROC_ETOOBIG);
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, 0, &data, &len), MPROC_ESTATE);
  EXPECT_EQ(data, nullptr);
}

TEST_F(ConnectionCapiTest, NullArguments) {
  mproc_connection_t* a = nullptr;
  EXPECT_EQ(mproc_pipe_create(1, nullptr, &a), -EINVAL);
  EXPECT_EQ(mproc_pipe_create(1, &a, nullptr), -EINVAL);
  EXPECT_EQ(mproc_pipe_create(1, &a, &a), -EINVAL);
  EXPECT_EQ(a, nullptr);
  EXPECT_NE(last_error().find("mproc_pipe_create"), std::string::npos);

  CPipe p;
  void* data = nullptr;
  size_t len = 0;
  char buffer[4];
  EXPECT_EQ(mproc_connection_send_bytes(p.a, nullptr, 3), -EINVAL);
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, 0, nullptr, &len), -EINVAL);
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, 0, &data, nullptr), -EINVAL);
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, nullptr, 4, &len, 0), -EINVAL);
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, buffer, sizeof buffer, nullptr, 0), -EINVAL);
  EXPECT_EQ(mproc_connection_max_message_size(p.b, nullptr), -EINVAL);
  EXPECT_EQ(mproc_wait(nullptr, 1, 0), -EINVAL);
  EXPECT_EQ(mproc_wait(nullptr, 0, 1), 0);                         // nothing to wait for: a sleep
  EXPECT_EQ(mproc_wait(nullptr, 0, MPROC_WAIT_FOREVER), -EINVAL);  // would never end

  // NULL handles.
  EXPECT_EQ(mproc_connection_send_bytes(nullptr, "x", 1), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_recv_bytes(nullptr, 0, &data, &len), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_recv_bytes_into(nullptr, buffer, 4, &len, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_poll(nullptr, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_fileno(nullptr), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_close(nullptr), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_set_max_message_size(nullptr, 10), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_destroy(nullptr), 0);
}

TEST_F(ConnectionCapiTest, WrongAndDestroyedHandles) {
  mproc_connection_t* a = nullptr;
  mproc_connection_t* b = nullptr;
  ASSERT_EQ(mproc_pipe_create(1, &a, &b), 0);
  ASSERT_EQ(mproc_connection_destroy(b), 0);
  EXPECT_EQ(mproc_connection_send_bytes(b, "x", 1), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_poll(b, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_fileno(b), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_destroy(b), MPROC_EBADHANDLE);
  EXPECT_NE(last_error().find("mproc_connection_t"), std::string::npos) << last_error();
  mproc_wait_item_t item{b, -1, 0};
  EXPECT_EQ(mproc_wait(&item, 1, 0), MPROC_EBADHANDLE);

  // A handle of another kind.
  mproc_process_t* process = nullptr;
  ASSERT_EQ(mproc_process_create([](void*) { return 0; }, nullptr, &process), 0);
  auto* wrong = reinterpret_cast<mproc_connection_t*>(process);
  EXPECT_EQ(mproc_connection_send_bytes(wrong, "x", 1), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_destroy(wrong), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_process_destroy(process), 0);  // still a live process handle
  // A made-up pointer.
  int not_a_handle = 0;
  EXPECT_EQ(mproc_connection_poll(reinterpret_cast<mproc_connection_t*>(&not_a_handle), 0),
            MPROC_EBADHANDLE);
  // a's peer is gone: EPIPE.
  EXPECT_EQ(mproc_connection_send_bytes(a, "x", 1), -EPIPE);
  EXPECT_EQ(mproc_connection_destroy(a), 0);
}

TEST_F(ConnectionCapiTest, ClosedReadableWritableQueries) {
  CPipe duplex;
  EXPECT_EQ(mproc_connection_closed(duplex.a), 0);
  EXPECT_EQ(mproc_connection_readable(duplex.a), 1);
  EXPECT_EQ(mproc_connection_writable(duplex.a), 1);
  CPipe one_way(0);  // a receives, b sends
  EXPECT_EQ(mproc_connection_readable(one_way.a), 1);
  EXPECT_EQ(mproc_connection_writable(one_way.a), 0);
  EXPECT_EQ(mproc_connection_readable(one_way.b), 0);
  EXPECT_EQ(mproc_connection_writable(one_way.b), 1);
  ASSERT_EQ(mproc_connection_close(duplex.a), 0);
  EXPECT_EQ(mproc_connection_closed(duplex.a), 1);
  EXPECT_EQ(mproc_connection_readable(duplex.a), 0);
  EXPECT_EQ(mproc_connection_writable(duplex.a), 0);
  EXPECT_EQ(mproc_connection_closed(nullptr), MPROC_EBADHANDLE);
  EXPECT_NE(last_error().find("mproc_connection_closed"), std::string::npos) << last_error();
  EXPECT_EQ(mproc_connection_readable(nullptr), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_connection_writable(nullptr), MPROC_EBADHANDLE);
}

TEST_F(ConnectionCapiTest, AClosedConnection) {
  CPipe p;
  ASSERT_EQ(mproc_connection_close(p.a), 0);
  EXPECT_EQ(mproc_connection_close(p.a), 0);  // twice is fine
  void* data = nullptr;
  size_t len = 0;
  char buffer[4];
  EXPECT_EQ(mproc_connection_send_bytes(p.a, "x", 1), MPROC_ECLOSED);
  EXPECT_EQ(mproc_connection_recv_bytes(p.a, 0, &data, &len), MPROC_ECLOSED);
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.a, buffer, 4, &len, 0), MPROC_ECLOSED);
  EXPECT_EQ(mproc_connection_poll(p.a, 0), MPROC_ECLOSED);
  EXPECT_EQ(mproc_connection_fileno(p.a), MPROC_ECLOSED);
  EXPECT_EQ(mproc_connection_set_max_message_size(p.a, 10), MPROC_ECLOSED);
  mproc_wait_item_t item{p.a, -1, 0};
  EXPECT_EQ(mproc_wait(&item, 1, 0), MPROC_ECLOSED);
  // The peer sees end-of-file.
  EXPECT_EQ(mproc_connection_poll(p.b, 0), 1);
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, 0, &data, &len), MPROC_EEOF);
  EXPECT_EQ(mproc_connection_send_bytes(p.b, "x", 1), -EPIPE);
}

TEST_F(ConnectionCapiTest, TimeoutsAndPolling) {
  CPipe p;
  void* data = nullptr;
  size_t len = 0;
  char buffer[4];
  EXPECT_EQ(mproc_connection_poll(p.b, 0), 0);
  EXPECT_EQ(mproc_connection_poll(p.b, 10), 0);
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, 0, &data, &len), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, 10, &data, &len), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, buffer, 4, &len, 10), MPROC_ETIMEDOUT);
  EXPECT_EQ(mproc_connection_poll(p.b, -2), -EINVAL);
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, -5, &data, &len), -EINVAL);
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, buffer, 4, &len, INT64_MIN), -EINVAL);
  EXPECT_EQ(mproc_wait(nullptr, 0, -3), -EINVAL);
  ASSERT_EQ(mproc_connection_send_bytes(p.a, "abc", 3), 0);
  EXPECT_EQ(mproc_connection_poll(p.b, MPROC_WAIT_FOREVER), 1);
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, buffer, 4, &len, MPROC_WAIT_FOREVER), 0);
  EXPECT_EQ(len, 3u);
  EXPECT_GE(mproc_connection_fileno(p.b), 0);
}

// The state letter of thread tid of this process ('S': sleeping, as in a blocking recvmsg).
char thread_state(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ? '?' : text[paren + 2];
}

void count_signal(int) {}

TEST_F(ConnectionCapiTest, AnInterruptibleWaitReturnsAtASignal) {
  CPipe p;
  char buffer[8];
  size_t len = 0;
  void* data = nullptr;
  EXPECT_EQ(mproc_connection_poll(p.b, MPROC_WAIT_INTERRUPTIBLE), -EINVAL);  // receives only
  ASSERT_EQ(mproc_connection_send_bytes(p.a, "ab", 2), 0);
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, buffer, 8, &len, MPROC_WAIT_INTERRUPTIBLE), 0);
  EXPECT_EQ(len, 2u);

  // A handler without SA_RESTART, as Python installs them: the blocked receive returns -EINTR.
  struct sigaction action {}, previous{};
  action.sa_handler = count_signal;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  const pthread_t self = pthread_self();
  const auto self_tid = static_cast<pid_t>(::syscall(SYS_gettid));
  // The thread may sleep elsewhere before it reaches recvmsg (a contended allocator lock under
  // ASan), where the signal is handled and lost: so it is sent again, every 5 ms while the thread
  // sleeps, until the receive returned. After 60 s a message ends the receive instead (the test
  // then fails on the result rather than hanging).
  std::atomic<bool> returned{false};
  auto signal_until_returned = [&] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!returned.load() && std::chrono::steady_clock::now() < until) {
      if (thread_state(self_tid) == 'S') pthread_kill(self, SIGUSR1);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the resend period
    }
    if (!returned.load()) mproc_connection_send_bytes(p.a, "!", 1);
  };
  std::thread signaller(signal_until_returned);
  EXPECT_EQ(mproc_connection_recv_bytes_into(p.b, buffer, 8, &len, MPROC_WAIT_INTERRUPTIBLE),
            -EINTR);
  returned = true;
  signaller.join();
  returned = false;
  std::thread signaller2(signal_until_returned);
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, MPROC_WAIT_INTERRUPTIBLE, &data, &len), -EINTR);
  returned = true;
  signaller2.join();
  // The connection is intact: the next message arrives whole.
  ASSERT_EQ(mproc_connection_send_bytes(p.a, "cde", 3), 0);
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, MPROC_WAIT_INTERRUPTIBLE, &data, &len), 0);
  ASSERT_EQ(len, 3u);
  EXPECT_EQ(std::string(static_cast<char*>(data), len), "cde");
  mproc_buffer_free(data);
  ASSERT_EQ(sigaction(SIGUSR1, &previous, nullptr), 0);
}

TEST_F(ConnectionCapiTest, OneWayPipes) {
  CPipe p(0);
  EXPECT_EQ(mproc_connection_send_bytes(p.a, "x", 1), MPROC_ESTATE);
  void* data = nullptr;
  size_t len = 0;
  EXPECT_EQ(mproc_connection_recv_bytes(p.b, 0, &data, &len), MPROC_ESTATE);
  EXPECT_EQ(mproc_connection_poll(p.b, 0), MPROC_ESTATE);
  EXPECT_NE(last_error().find("one-way"), std::string::npos) << last_error();
  EXPECT_EQ(mproc_connection_send_bytes(p.b, "y", 1), 0);
  ASSERT_EQ(mproc_connection_recv_bytes(p.a, 0, &data, &len), 0);
  EXPECT_EQ(std::string(static_cast<char*>(data), len), "y");
  mproc_buffer_free(data);
}

TEST_F(ConnectionCapiTest, WaitOverConnectionsAndDescriptors) {
  CPipe p1;
  CPipe p2;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  mproc_wait_item_t items[3] = {{p1.b, -1, 7}, {nullptr, fds[0], 7}, {p2.b, -1, 7}};
  EXPECT_EQ(mproc_wait(items, 3, 0), 0);
  EXPECT_EQ(items[0].ready + items[1].ready + items[2].ready, 0);
  ASSERT_EQ(mproc_connection_send_bytes(p2.a, "m", 1), 0);
  ASSERT_EQ(::write(fds[1], "w", 1), 1);
  EXPECT_EQ(mproc_wait(items, 3, 60000), 2);
  EXPECT_EQ(items[0].ready, 0);
  EXPECT_EQ(items[1].ready, 1);
  EXPECT_EQ(items[2].ready, 1);
  // A negative or closed descriptor.
  mproc_wait_item_t bad{nullptr, -1, 0};
  EXPECT_EQ(mproc_wait(&bad, 1, 0), -EBADF);
  ::close(fds[0]);
  ::close(fds[1]);
  bad.fd = fds[0];
  EXPECT_EQ(mproc_wait(&bad, 1, 0), -EBADF);
  // A send-only end cannot be waited for.
  CPipe one_way(0);
  mproc_wait_item_t sender{one_way.b, -1, 0};
  EXPECT_EQ(mproc_wait(&sender, 1, 0), MPROC_ESTATE);
}

TEST_F(ConnectionCapiTest, WaitSeesAProcessSentinel) {
  mproc_process_t* child = nullptr;
  ASSERT_EQ(mproc_process_create([](void*) { return 0; }, nullptr, &child), 0);
  ASSERT_EQ(mproc_process_start(child), 0);
  const int sentinel = mproc_process_sentinel(child);
  ASSERT_GE(sentinel, 0);
  mproc_wait_item_t item{nullptr, sentinel, 0};
  EXPECT_EQ(mproc_wait(&item, 1, 60000), 1);
  EXPECT_EQ(item.ready, 1);
  EXPECT_EQ(mproc_process_join(child, 60000), 0);
  mproc_process_destroy(child);
}

}  // namespace

namespace {

// mproc_connection_from_fd: a duplicate of an end's descriptor (as another process would get
// with pidfd_getfd) becomes a working connection that owns it; bad descriptors are refused and
// left open.
TEST_F(ConnectionCapiTest, AConnectionFromADescriptor) {
  CPipe p;
  const int fd = ::fcntl(mproc_connection_fileno(p.b), F_DUPFD_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  mproc_connection_t* copy = nullptr;
  ASSERT_EQ(mproc_connection_from_fd(fd, 1, 1, &copy), 0);
  ASSERT_EQ(mproc_connection_send_bytes(p.a, "hi", 2), 0);
  char buffer[8];
  size_t len = 0;
  ASSERT_EQ(mproc_connection_recv_bytes_into(copy, buffer, sizeof buffer, &len, 1000), 0);
  EXPECT_EQ(std::string(buffer, len), "hi");
  ASSERT_EQ(mproc_connection_send_bytes(copy, "back", 4), 0);
  ASSERT_EQ(mproc_connection_recv_bytes_into(p.a, buffer, sizeof buffer, &len, 1000), 0);
  EXPECT_EQ(std::string(buffer, len), "back");
  EXPECT_EQ(mproc_connection_destroy(copy), 0);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // the connection owned the descriptor

  EXPECT_EQ(mproc_connection_from_fd(-1, 1, 1, &copy), -EBADF);
  EXPECT_NE(last_error().find("mproc_connection_from_fd"), std::string::npos);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  EXPECT_EQ(mproc_connection_from_fd(pipe_fds[0], 1, 0, &copy), -EINVAL);  // not a seqpacket
  EXPECT_EQ(::fcntl(pipe_fds[0], F_GETFD), FD_CLOEXEC);                    // left open
  EXPECT_EQ(mproc_connection_from_fd(pipe_fds[0], 1, 0, nullptr), -EINVAL);
  const int other = ::fcntl(mproc_connection_fileno(p.b), F_DUPFD_CLOEXEC, 0);
  EXPECT_EQ(mproc_connection_from_fd(other, 0, 0, &copy), -EINVAL);  // neither way
  ::close(other);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

}  // namespace
