// The tracker grandchild. It is a fork of a process that may have had other threads, so until it
// exits it calls only async-signal-safe functions (signal-safety(7)) and never malloc.
#include "shm/tracker_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mproc::detail::shm {
namespace {

constexpr int kSocketFd = 3;

void write_all(int fd, const char* text, std::size_t size) noexcept {
  while (size > 0) {
    const ssize_t n = ::write(fd, text, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Decimal digits of `value` into `out` (>= 21 bytes); returns the length.
std::size_t format_u64(unsigned long long value, char* out) noexcept {
  char digits[21];
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (std::size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  return n;
}

unsigned long long parse_hex(const char*& p) noexcept {
  unsigned long long value = 0;
  for (;; ++p) {
    const char c = *p;
    if (c >= '0' && c <= '9') value = value * 16 + static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') value = value * 16 + static_cast<unsigned>(c - 'a' + 10);
    else return value;
  }
}

// Unmaps every MAP_SHARED mapping inherited from the owner: the tracker must not keep other
// segments' memory alive for as long as it runs. Reads /proc/self/maps in passes (unmapping changes
// the file), each collecting a bounded number of ranges, until a pass finds none.
void unmap_shared_mappings() noexcept {
  struct Range {
    unsigned long long start, end;
  };
  static Range ranges[128];
  static char buffer[8192];
  for (int pass = 0; pass < 64; ++pass) {
    const int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    std::size_t found = 0;
    std::size_t have = 0;
    for (;;) {
      const ssize_t n = ::read(fd, buffer + have, sizeof buffer - 1 - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      have += static_cast<std::size_t>(n);
      buffer[have] = '\0';
      // Every complete line: "start-end perms offset dev inode path".
      char* line = buffer;
      for (char* nl; (nl = std::strchr(line, '\n')) != nullptr; line = nl + 1) {
        const char* p = line;
        const unsigned long long start = parse_hex(p);
        if (*p != '-') continue;
        ++p;
        const unsigned long long end = parse_hex(p);
        if (*p != ' ' || nl - p < 5) continue;
        if (p[4] == 's' && found < sizeof ranges / sizeof ranges[0]) ranges[found++] = {start, end};
      }
      have = static_cast<std::size_t>(buffer + have - line);
      std::memmove(buffer, line, have);
      if (have == sizeof buffer - 1) have = 0;  // an absurdly long line: skip it
    }
    ::close(fd);
    if (found == 0) return;
    for (std::size_t i = 0; i < found; ++i)
      ::munmap(reinterpret_cast<void*>(ranges[i].start), ranges[i].end - ranges[i].start);
  }
}

void detach(int socket_fd, int owner_end) noexcept {
  ::setsid();  // no terminal's SIGINT / SIGHUP reaches us
  // Signal handlers inherited from the owner would run the owner's code here.
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction action {};
    if (::sigaction(sig, nullptr, &action) == 0 && action.sa_handler != SIG_IGN &&
        action.sa_handler != SIG_DFL) {
      action.sa_handler = SIG_DFL;
      action.sa_flags = 0;
      ::sigaction(sig, &action, nullptr);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (socket_fd != kSocketFd) ::dup2(socket_fd, kSocketFd);
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    if (owner_end == 2) ::dup2(null_fd, 2);  // stderr was closed and reused by the pair
  }
  // Everything else the owner had open (its end of our pair among them) must go, or EOF never
  // comes and other descriptors' peers never see their own EOF.
  ::close_range(kSocketFd + 1, ~0U, 0);
  if (null_fd > 2 && null_fd != kSocketFd) ::close(null_fd);
  unmap_shared_mappings();
  ::prctl(PR_SET_NAME, "mproc-shm-track", 0, 0, 0);
}

// The registered names, in an mmap'ed array of records (no malloc after fork).
class NameSet {
 public:
  void add(const TrackerRecord& record) noexcept {
    if (count_ == capacity_ && !grow()) return;
    slots_[count_] = TrackerRecord{};
    std::memcpy(slots_[count_].name, record.name, sizeof record.name);
    slots_[count_].name[sizeof record.name - 1] = '\0';
    ++count_;
  }
  void remove(const TrackerRecord& record) noexcept {
    if (TrackerRecord* slot = find(record)) *slot = slots_[--count_];
  }
  void identify(const TrackerRecord& record) noexcept {
    if (TrackerRecord* slot = find(record)) {
      slot->device = record.device;
      slot->inode = record.inode;
      slot->identified = record.identified;
    }
  }
  std::size_t size() const noexcept { return count_; }
  const TrackerRecord& operator[](std::size_t i) const noexcept { return slots_[i]; }

 private:
  TrackerRecord* find(const TrackerRecord& record) noexcept {
    for (std::size_t i = count_; i-- > 0;)
      if (std::strncmp(slots_[i].name, record.name, sizeof record.name) == 0) return &slots_[i];
    return nullptr;
  }
  // Not base/shared_mapping: this is private memory of the tracker (MAP_PRIVATE), mapped instead
  // of allocated because the tracker, a child of fork, does not use malloc.
  bool grow() noexcept {
    const std::size_t new_capacity = capacity_ == 0 ? 64 : capacity_ * 2;
    void* memory =
        slots_ == nullptr
            ? ::mmap(nullptr, new_capacity * sizeof(TrackerRecord), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            : ::mremap(slots_, capacity_ * sizeof(TrackerRecord),
                       new_capacity * sizeof(TrackerRecord), MREMAP_MAYMOVE);
    if (memory == MAP_FAILED) return false;
    slots_ = static_cast<TrackerRecord*>(memory);
    capacity_ = new_capacity;
    return true;
  }

  TrackerRecord* slots_ = nullptr;
  std::size_t count_ = 0;
  std::size_t capacity_ = 0;
};

void report_removed(const char* name, pid_t owner) noexcept {
  char line[384];
  std::size_t n = 0;
  auto append = [&](const char* text, std::size_t size) {
    if (n + size < sizeof line) {
      std::memcpy(line + n, text, size);
      n += size;
    }
  };
  const char prefix[] = "mproc shm tracker: removed leaked shared memory ";
  append(prefix, sizeof prefix - 1);
  append(name, std::strlen(name));
  const char middle[] = " of process ";
  append(middle, sizeof middle - 1);
  char digits[21];
  append(digits, format_u64(static_cast<unsigned long long>(owner), digits));
  append("\n", 1);
  write_all(2, line, n);
}

// True unless the name was identified and now stands for another file (its owner's was unlinked
// by someone else and the name created anew). A name never identified (its owner died between
// registering it and creating the file) is removed by name, as it can only be the owner's: the
// names registered before creation are unique (pid, counter, random).
bool still_names_its_file(const TrackerRecord& entry) noexcept {
  if (entry.identified == 0) return true;
  char path[8 + sizeof entry.name + 1] = "/dev/shm";  // where glibc's shm_open puts names
  std::memcpy(path + 8, entry.name, std::strlen(entry.name) + 1);
  struct stat st {};
  if (::lstat(path, &st) != 0) return false;
  return static_cast<std::uint64_t>(st.st_dev) == entry.device &&
         static_cast<std::uint64_t>(st.st_ino) == entry.inode;
}

}  // namespace

void run_tracker(int socket_fd, int owner_end, pid_t owner) noexcept {
  detach(socket_fd, owner_end);

  TrackerRecord hello{};
  hello.op = kOpHello;
  format_u64(static_cast<unsigned long long>(::getpid()), hello.name);
  while (::send(kSocketFd, &hello, sizeof hello, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }

  NameSet names;
  for (;;) {
    TrackerRecord record{};
    const ssize_t n = ::recv(kSocketFd, &record, sizeof record, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end-of-file: every copy of the owner's end is closed
    if (n != static_cast<ssize_t>(sizeof record)) continue;
    record.name[sizeof record.name - 1] = '\0';
    if (record.op == kOpRegister) names.add(record);
    else if (record.op == kOpUnregister) names.remove(record);
    else if (record.op == kOpIdentify) names.identify(record);
  }
  for (std::size_t i = 0; i < names.size(); ++i)
    if (still_names_its_file(names[i]) && ::shm_unlink(names[i].name) == 0)
      report_removed(names[i].name, owner);
  ::_exit(0);
}

}  // namespace mproc::detail::shm
