#include <mproc/shared_memory.hpp>

#include <mproc/error.hpp>

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include "base/shared_mapping.hpp"
#include "shm/segment.hpp"
#include "shm/reserve.hpp"
#include "shm/tracker.hpp"

namespace mproc {
namespace {

using detail::shm::check_segment_name;
using detail::shm::track;
using detail::shm::track_file;
using detail::shm::untrack;

// How long attach waits for a creator to set the size (shm_open and ftruncate are two calls).
constexpr auto kSizeWait = std::chrono::seconds(2);

std::string posix_name(std::string_view name) {
  // Built by appending: GCC 12's -Wrestrict misfires on `"/" + std::string(name)` at -O3.
  std::string full;
  full.reserve(name.size() + 1);
  if (!name.starts_with('/')) full.push_back('/');
  full.append(name);
  check_segment_name(full);
  return full;
}

[[noreturn]] void invalid(const std::string& message) {
  throw Error(std::make_error_code(std::errc::invalid_argument), "SharedMemory: " + message);
}

void* map(int fd, std::size_t size, const std::string& name) {
  void* base = detail::map_shared_fd(fd, size);
  if (base == nullptr) throw_errno(errno, "SharedMemory: mmap(" + name + ")");
  return base;
}

}  // namespace

SharedMemory::SharedMemory(std::string_view name, bool create_new, std::size_t size) {
  if (create_new) {
    if (size == 0) invalid("the size of a new segment must be positive");
    if (size > (std::size_t{1} << 44)) invalid(std::to_string(size) + " bytes is more than 16 TiB");
    const bool generated = name.empty();
    for (int attempt = 0;; ++attempt) {
      name_ = generated ? detail::shm::unique_segment_name() : posix_name(name);
      // A generated name is ours before it exists: registering it first means that no crash can
      // leak it. A caller's name may belong to someone else until O_EXCL succeeds.
      if (generated) track(name_);
      const int fd = ::shm_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
      if (fd < 0) {
        const int err = errno;
        if (generated) untrack(name_);
        if (generated && err == EEXIST && attempt < 8) continue;
        throw_errno(err, "SharedMemory: shm_open(" + name_ + ", O_CREAT | O_EXCL)");
      }
      try {
        if (!generated) track(name_);
        track_file(name_, fd);
        // Pages reserved now: a full /dev/shm is ENOSPC here, never SIGBUS later (reserve.hpp).
        if (const int rc = detail::shm::reserve_pages(fd, size); rc != 0)
          throw_errno(rc, "SharedMemory: posix_fallocate(" + name_ + ", " + std::to_string(size) +
                              " bytes)");
        base_ = map(fd, size, name_);
      } catch (...) {
        ::close(fd);
        ::shm_unlink(name_.c_str());
        untrack(name_);
        throw;
      }
      ::close(fd);
      size_ = mapped_ = size;
      creator_pid_ = ::getpid();
      return;
    }
  }

  if (name.empty()) invalid("attaching needs a name");
  name_ = posix_name(name);
  const int fd = ::shm_open(name_.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) throw_errno(errno, "SharedMemory: shm_open(" + name_ + ")");
  try {
    // A segment is never created empty: size 0 means that its creator is between shm_open and
    // ftruncate (or died there).
    const auto give_up = std::chrono::steady_clock::now() + kSizeWait;
    struct stat st {};
    for (;;) {
      if (::fstat(fd, &st) != 0) throw_errno(errno, "SharedMemory: fstat(" + name_ + ")");
      if (st.st_size > 0) break;
      if (std::chrono::steady_clock::now() >= give_up)
        throw Error(errc::bad_state, "SharedMemory: " + name_ +
                                         " is empty: its creator never set its size (did it die?)");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const auto actual = static_cast<std::size_t>(st.st_size);
    if (size > actual)
      invalid(name_ + " has " + std::to_string(actual) + " bytes, fewer than the " +
              std::to_string(size) + " asked for");
    base_ = map(fd, actual, name_);
    size_ = mapped_ = actual;
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

SharedMemory SharedMemory::create(std::size_t size, std::string_view name) {
  return SharedMemory(name, true, size);
}

SharedMemory SharedMemory::attach(std::string_view name) { return SharedMemory(name, false, 0); }

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : name_(std::move(other.name_)),
      base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, 0)),
      creator_pid_(std::exchange(other.creator_pid_, 0)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    close();
    name_ = std::move(other.name_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
    creator_pid_ = std::exchange(other.creator_pid_, 0);
  }
  return *this;
}

SharedMemory::~SharedMemory() { close(); }

void* SharedMemory::buf() const {
  if (base_ == nullptr) throw Error(errc::closed, "SharedMemory " + name_ + ": closed");
  return base_;
}

bool SharedMemory::is_creator() const noexcept {
  return creator_pid_ != 0 && creator_pid_ == ::getpid();
}

void SharedMemory::close() noexcept {
  if (base_ == nullptr) return;
  ::munmap(base_, mapped_);
  base_ = nullptr;
}

void SharedMemory::unlink() {
  if (name_.empty()) throw Error(errc::closed, "SharedMemory: moved-from object");
  const int rc = ::shm_unlink(name_.c_str());
  const int err = errno;
  // Only the creating process's tracker knows the name (a forked child has a tracker of its own);
  // it forgets it also when someone else removed it first.
  if (is_creator() && (rc == 0 || err == ENOENT)) {
    untrack(name_);
    creator_pid_ = 0;
  }
  if (rc != 0) throw_errno(err, "SharedMemory: shm_unlink(" + name_ + ")");
}

}  // namespace mproc
