// Promise: attaching something that is not an mproc object of the expected kind — another
// program's segment, random bytes, a Queue's handle given to a dict — fails at once with
// errc::bad_handle (C: MPROC_EBADHANDLE). Only a segment that carries mproc's magic (or an mproc
// name) and whose creator is alive and still building it is worth waiting for; one whose creator
// died first is errc::bad_state at once. (Attach used to wait 2 s, then say bad_state.)
#include <mproc/dict.hpp>
#include <mproc/error.hpp>
#include <mproc/lock.hpp>
#include <mproc/manager.hpp>
#include <mproc/queue.hpp>

#include <chrono>
#include <fcntl.h>
#include <functional>
#include <random>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <vector>

#include "fault_support.hpp"
#include "mproc.h"

namespace mproc::test {
namespace {

class ForeignAttach : public FaultTest {};

// The attach used to take 2 s; anything under this is "at once" on a loaded machine.
constexpr double kAtOnce = 1.0;

// A segment that is not mproc's: `bytes` under `name`; unlinked by the destructor.
class ForeignSegment {
 public:
  ForeignSegment(std::string name, const std::vector<char>& bytes) : name_(std::move(name)) {
    const int fd = ::shm_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    if (!bytes.empty()) {
      EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
    }
    ::close(fd);
  }
  ~ForeignSegment() { ::shm_unlink(name_.c_str()); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// The error of `attach`, and how long it took.
std::pair<std::error_code, double> attach_error(const std::function<void()>& attach) {
  const auto start = std::chrono::steady_clock::now();
  try {
    attach();
  } catch (const Error& e) {
    return {e.code(), seconds_since(start)};
  }
  return {std::error_code(), seconds_since(start)};
}

void expect_refused_at_once(const std::function<void()>& attach, errc expected, const char* what) {
  const auto [code, took] = attach_error(attach);
  EXPECT_EQ(code, make_error_code(expected)) << what;
  EXPECT_LT(took, kAtOnce) << what << " waited";
}

TEST_F(ForeignAttach, AnotherProgramsSegmentIsABadHandleAtOnce) {
  const std::string prefix = "/faults-foreign-" + std::to_string(::getpid());
  std::vector<char> random(4096);
  std::mt19937 gen(12);
  for (char& c : random) c = static_cast<char>(gen());
  const ForeignSegment noise(prefix + "-random", random);
  const ForeignSegment zeros(prefix + "-zeros", std::vector<char>(4096, 0));
  const ForeignSegment empty(prefix + "-empty", {});
  for (const auto* s : {&noise, &zeros, &empty}) {
    const std::string& name = s->name();
    expect_refused_at_once([&] { Queue::attach(name); }, errc::bad_handle, name.c_str());
    expect_refused_at_once([&] { BytesDict::attach(name); }, errc::bad_handle, name.c_str());
    expect_refused_at_once([&] { Lock::attach(name); }, errc::bad_handle, name.c_str());
    expect_refused_at_once([&] { Manager::attach(name); }, errc::bad_handle, name.c_str());
    mproc_queue_t* q = nullptr;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(mproc_queue_attach(name.c_str(), &q), MPROC_EBADHANDLE) << name;
    EXPECT_LT(seconds_since(start), kAtOnce);
    EXPECT_EQ(q, nullptr);
  }
}

TEST_F(ForeignAttach, AnObjectOfAnotherKindIsABadHandleAtOnce) {
  Queue queue;
  BytesDict dict;
  expect_refused_at_once([&] { BytesDict::attach(queue.handle()); }, errc::bad_handle,
                         "a Queue's handle given to a dict");
  expect_refused_at_once([&] { Manager::attach(queue.handle()); }, errc::bad_handle,
                         "a Queue's handle given to Manager::attach");
  expect_refused_at_once([&] { Queue::attach(dict.handle()); }, errc::bad_handle,
                         "a dict's handle given to a Queue");
  expect_refused_at_once([&] { Lock::attach(dict.handle()); }, errc::bad_handle,
                         "a dict's handle given to a Lock");
  mproc_dict_t* d = nullptr;
  EXPECT_EQ(mproc_dict_attach(queue.handle().c_str(), &d), MPROC_EBADHANDLE);
  EXPECT_EQ(d, nullptr);
}

TEST_F(ForeignAttach, ASegmentWhoseCreatorDiedUnfinishedIsBadStateAtOnce) {
  // A pid that is certainly dead: a child that exited and was reaped.
  const pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
  // Named as the library names segments, left empty or zeroed (as a creator killed before it
  // wrote the header would leave it).
  const std::string base = "/mproc-" + std::to_string(dead) + "-0-faultsunfinished";
  const ForeignSegment empty(base + "e", {});
  const ForeignSegment zeros(base + "z", std::vector<char>(4096, 0));
  expect_refused_at_once([&] { Queue::attach(empty.name()); }, errc::bad_state, "size 0");
  expect_refused_at_once([&] { Queue::attach(zeros.name()); }, errc::bad_state, "no header");
}

}  // namespace
}  // namespace mproc::test
