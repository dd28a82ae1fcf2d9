// Helpers for the white-box queue tests (INTERNAL: they use QueueCore directly): strings in and
// out, the corruption check, and a child that dies where the test says.
#pragma once

#include <chrono>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "base/deadline.hpp"
#include "queue_test_support.hpp"
#include "transport/queue_core.hpp"

namespace mproc::test {

inline void put_string(detail::queue::QueueCore& q, const std::string& s) {
  q.put(s.data(), s.size(), true, detail::Deadline(std::chrono::seconds(30)));
}

// The next message; `block` false: none is errc::empty at once.
inline std::string get_string(detail::queue::QueueCore& q, bool block = false) {
  std::string out;
  q.get(
      [](std::size_t size, void* context) -> void* {
        auto& s = *static_cast<std::string*>(context);
        s.resize(size);
        return s.data();
      },
      &out, block, detail::Deadline(std::chrono::seconds(30)));
  return out;
}

// Expects `operation` to report a corrupt queue (errc::internal, "corrupt" in the text).
template <class F>
void expect_corrupt(F operation) {
  try {
    operation();
    ADD_FAILURE() << "the operation on a corrupt queue succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::internal)) << e.what();
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
}

// Runs `body` in a forked child that then _exits (its locks held, if it took any), or dies in it;
// waits for it.
template <class F>
void in_child_that_dies(F body) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
}

}  // namespace mproc::test
