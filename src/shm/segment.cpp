#include "shm/segment.hpp"

#include <mproc/error.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <vector>

#include "base/fork_handlers.hpp"
#include "base/shared_mapping.hpp"
#include "log/logger.hpp"
#include "shm/reserve.hpp"
#include "shm/tracker.hpp"

namespace mproc::detail::shm {
namespace {

// How long attach() waits for a segment that is still being constructed. Names are handed out
// only after create() returned, so a segment still not ready after this long has a dead creator.
constexpr auto kConstructionWait = std::chrono::seconds(2);

std::size_t round_up(std::size_t value, std::size_t to) { return (value + to - 1) / to * to; }

// One read of a header field another process may be rewriting: the value checked is the one used.
std::uint64_t load_once(const std::uint64_t& field) noexcept {
  return __atomic_load_n(&field, __ATOMIC_RELAXED);
}

// Closes an fd on every path; the mapping does not need it once made.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // A close-on-exec duplicate for a growable segment's owner, -1 otherwise.
  int keep(bool growable) const {
    if (!growable) return -1;
    const int copy = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) throw_errno(errno, "fcntl(F_DUPFD_CLOEXEC)");
    return copy;
  }

 private:
  int fd_;
};

// The creator of a segment named by unique_segment_name ("/mproc-<pid>-..."), or 0 for any other
// name (another program's segment, or SharedMemory's).
pid_t creator_in_name(const std::string& name) {
  constexpr std::string_view prefix = "/mproc-";
  if (name.compare(0, prefix.size(), prefix) != 0) return 0;
  pid_t pid = 0;
  std::size_t i = prefix.size();
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9' && pid < (1 << 22); ++i)
    pid = pid * 10 + (name[i] - '0');
  return i < name.size() && name[i] == '-' ? pid : 0;
}

// True if process `pid` may still be building a segment (alive, or a zombie not yet reaped).
bool may_be_building(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// Takes a reference unless the count already reached 0 (the segment is being removed).
bool try_acquire_ref(SegmentHeader& header) {
  std::uint32_t refs = header.refs.load(std::memory_order_relaxed);
  const bool counted = (__atomic_load_n(&header.flags, __ATOMIC_ACQUIRE) &
                        (kFlagUnlinkWithCreator | kFlagUnlinkWithLastUser)) != 0;
  do {
    if (refs == 0 && counted) return false;
  } while (!header.refs.compare_exchange_weak(refs, refs + 1, std::memory_order_acq_rel));
  return true;
}

std::uint64_t random_u64() {
  std::uint64_t value = 0;
  if (::getrandom(&value, sizeof value, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof value)) {
    // No entropy yet (early boot): the pid and counter already make the name unique among live
    // processes; mix in the clock for the rest.
    value = static_cast<std::uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count()) * 0x9e3779b97f4a7c15ULL;
  }
  return value;
}

// The name with control characters escaped, for an error message.
std::string printable(std::string_view name) {
  std::string out;
  for (const char c : name.substr(0, 300)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

}  // namespace

// The Segment objects of this process that hold a reference (ForkStage::segment_references): a
// Process child takes a reference of its own for those of segments shared with their users, and
// gives back whatever it still holds just before its _exit. The mutex is held across fork.
struct SegmentReferences {
  std::mutex mutex;
  std::unordered_set<Segment*> held;

  static SegmentReferences& instance() {
    // Never destroyed: Segments may be closed by static destructors in any order.
    static SegmentReferences* const references = [] {
      auto* r = new SegmentReferences;
      ForkHandlers handlers;
      handlers.prepare = [] { instance().before_fork(); };
      handlers.parent = [] { instance().after_fork_in_parent(); };
      handlers.child = [] { instance().after_fork_in_child(); };
      register_fork_handlers(ForkStage::segment_references, handlers);
      ChildReferenceHandlers handed_back;
      handed_back.before_exit = [] { instance().release_inherited(); };
      register_child_reference_handlers(ForkStage::segment_references, handed_back);
      return r;
    }();
    return *references;
  }

  // The child's references are taken before fork, while the parent still holds its own: after
  // fork the parent may drop its object before the child runs. (If fork fails, they stay taken:
  // the creator's tracker removes the names at its end.)
  void before_fork() noexcept {
    mutex.lock();
    if (!fork_child_releases_at_exit()) return;
    for (Segment* s : held) {
      s->fork_reference_ =
          s->holds_reference() &&
          (__atomic_load_n(&s->header().flags, __ATOMIC_ACQUIRE) & kFlagUnlinkWithLastUser) != 0 &&
          try_acquire_ref(s->header());
    }
  }
  void after_fork_in_parent() noexcept {
    for (Segment* s : held) s->fork_reference_ = false;
    mutex.unlock();
  }

  // In the child, with the mutex held since prepare.
  void after_fork_in_child() noexcept {
    const pid_t self = ::getpid();
    for (auto it = held.begin(); it != held.end();) {
      Segment& s = **it;
      if (s.fork_reference_) {
        s.fork_reference_ = false;
        // The child did not create it: its own tracker does not know the name.
        s.owner_pid_ = self;
        s.created_ = false;
        s.inherited_ = true;
        ++it;
      } else {
        it = held.erase(it);  // the parent's reference, not this child's
      }
    }
    mutex.unlock();
  }

  void release_inherited() noexcept {
    std::vector<Segment*> inherited;
    {
      std::lock_guard lock(mutex);
      try {
        for (Segment* s : held)
          if (s->inherited_) inherited.push_back(s);
      } catch (...) {
        return;  // out of memory: the creator's tracker removes the names at its end
      }
    }
    for (Segment* s : inherited) s->release();
  }
};

void Segment::track_reference() noexcept {
  if (base_ == nullptr || owner_pid_ == 0) return;
  auto& r = SegmentReferences::instance();
  std::lock_guard lock(r.mutex);
  try {
    r.held.insert(this);
  } catch (...) {
    // Out of memory: this object is not given a reference in a Process child (as before).
  }
}

void Segment::untrack_reference() noexcept {
  auto& r = SegmentReferences::instance();
  std::lock_guard lock(r.mutex);
  r.held.erase(this);
}

void Segment::take_over(Segment& other) noexcept {
  auto& r = SegmentReferences::instance();
  // Under the lock a fork on another thread takes to read the tracked objects (before_fork):
  // it never sees `other` half moved.
  std::lock_guard lock(r.mutex);
  name_ = std::move(other.name_);
  base_ = std::exchange(other.base_, nullptr);
  size_ = std::exchange(other.size_, 0);
  payload_offset_ = std::exchange(other.payload_offset_, 0);
  payload_size_ = std::exchange(other.payload_size_, 0);
  owner_pid_ = std::exchange(other.owner_pid_, 0);
  created_ = std::exchange(other.created_, false);
  released_ = std::exchange(other.released_, false);
  unlinked_ = std::exchange(other.unlinked_, false);
  inherited_ = std::exchange(other.inherited_, false);
  fd_ = std::exchange(other.fd_, -1);
  if (r.held.erase(&other) == 0) return;
  try {
    r.held.insert(this);
  } catch (...) {
  }
}

void check_segment_name(std::string_view name) {
  const char* problem = nullptr;
  if (name.size() < 2 || name.front() != '/')
    problem = "must be '/' followed by at least one character";
  else if (name.size() > 251)
    problem = "is longer than 251 characters";
  else if (name.find('/', 1) != std::string_view::npos)
    problem = "may contain '/' only as its first character";
  else if (name.find('\0') != std::string_view::npos)
    problem = "contains a NUL character";
  else if (name == "/." || name == "/..")
    problem = "names a directory, not a segment";
  else if (std::any_of(name.begin(), name.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    // A newline would also forge a line of the tracker's report.
    problem = "contains a control character";
  if (problem != nullptr)
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "shared memory name \"" + printable(name) + "\" " + problem);
}

std::string unique_segment_name() {
  static std::atomic<std::uint64_t> counter{0};
  char random_hex[17];
  const std::uint64_t random = random_u64();
  for (int i = 0; i < 16; ++i) random_hex[i] = "0123456789abcdef"[(random >> (4 * i)) & 0xf];
  random_hex[16] = '\0';
  return "/mproc-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed)) + "-" + random_hex;
}

Segment::Segment(Segment&& other) noexcept { take_over(other); }

Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    close();
    take_over(other);
  }
  return *this;
}

Segment Segment::create(std::size_t payload_size, SegmentKind kind, Construct construct,
                        void* context, SegmentOptions options) {
  const std::size_t payload_offset = round_up(sizeof(SegmentHeader), kPayloadAlignment);
  if (payload_size > (std::size_t{1} << 40))
    throw Error(std::make_error_code(std::errc::invalid_argument),
                std::string("shared memory ") + kind.name + ": " + std::to_string(payload_size) +
                    " bytes is more than the 1 TiB limit");
  const std::size_t size = round_up(payload_offset + payload_size, kPayloadAlignment);

  for (int attempt = 0;; ++attempt) {
    std::string name = unique_segment_name();
    // Registered before the file exists: whatever happens next, a crash cannot leak the name.
    track(name);
    const int raw = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (raw < 0) {
      const int err = errno;
      untrack(name);
      if (err == EEXIST && attempt < 8) continue;  // a stale name of a dead process with our pid
      throw_errno(err, "shm_open(" + name + ")");
    }
    Fd fd(raw);
    auto fail = [&](int err, const char* what) {
      ::shm_unlink(name.c_str());
      untrack(name);
      throw_errno(err, std::string(what) + "(" + name + ", " + std::to_string(size) + " bytes)");
    };
    try {
      track_file(name, fd.get());
    } catch (...) {
      ::shm_unlink(name.c_str());
      untrack(name);
      throw;
    }
    // Pages reserved now: a full /dev/shm is ENOSPC here, never SIGBUS later (reserve.hpp).
    if (const int rc = reserve_pages(fd.get(), size); rc != 0) fail(rc, "posix_fallocate");
    void* base = map_shared_fd(fd.get(), size);
    if (base == nullptr) fail(errno, "mmap");

    // The file is zero-filled: state reads as `constructing` until the final release store.
    auto* header = new (base) SegmentHeader{};
    header->layout_version = kSegmentLayoutVersion;
    header->flags = (options.unlink_with_creator ? kFlagUnlinkWithCreator : 0) |
                    (options.growable ? kFlagGrowable : 0);
    header->kind_id = kind.id;
    header->kind_version = kind.version;
    header->size = size;
    header->payload_offset = payload_offset;
    header->payload_size = payload_size;
    header->creator_pid = ::getpid();
    header->refs.store(1, std::memory_order_relaxed);
    // The magic last: an attacher that sees it also sees the header's other fields, and can judge
    // the kind of a segment still being built without waiting for it.
    __atomic_store_n(&header->magic, kSegmentMagic, __ATOMIC_RELEASE);
    try {
      if (construct != nullptr) construct(static_cast<char*>(base) + payload_offset, payload_size,
                                           context);
    } catch (...) {
      ::munmap(base, size);
      ::shm_unlink(name.c_str());
      untrack(name);
      throw;
    }
    int kept = -1;
    try {
      kept = fd.keep(options.growable);
    } catch (...) {
      ::munmap(base, size);
      ::shm_unlink(name.c_str());
      untrack(name);
      throw;
    }
    header->state.store(static_cast<std::uint32_t>(SegmentState::ready), std::memory_order_release);
    return Segment(std::move(name), base, size, payload_offset, payload_size, ::getpid(), true,
                   kept);
  }
}

Segment Segment::attach(std::string_view name_view, SegmentKind kind) {
  check_segment_name(name_view);
  std::string name(name_view);
  const int raw = ::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (raw < 0) throw_errno(errno, "shm_open(" + name + ")");
  Fd fd(raw);

  auto bad = [&](errc code, const std::string& why) -> Error {
    return Error(code, "shared memory " + name + ": " + why);
  };

  // Only a segment that an mproc creator is still building is worth waiting for: one whose name
  // says which live process creates it, while its header is not yet written (size 0 until its
  // pages are reserved, then a zero magic), or whose header says so (state `constructing`).
  // Anything else is judged at once: another program's segment or random bytes are not mproc
  // objects (bad_handle); a creator that died before finishing is bad_state.
  const pid_t named_creator = creator_in_name(name);
  const auto give_up = std::chrono::steady_clock::now() + kConstructionWait;
  auto keep_waiting = [&](pid_t creator, const char* not_mproc) {
    if (creator == 0) throw bad(errc::bad_handle, not_mproc);
    if (!may_be_building(creator))
      throw bad(errc::bad_state, "its creator (pid " + std::to_string(creator) +
                                     ") died before it finished building it");
    if (std::chrono::steady_clock::now() >= give_up)
      throw bad(errc::bad_state, "its creator never finished building it");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  struct stat st {};
  for (;;) {
    if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "fstat(" + name + ")");
    if (static_cast<std::size_t>(st.st_size) >= sizeof(SegmentHeader)) break;
    keep_waiting(named_creator, "not an mproc shared memory segment (too small for its header)");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* base = map_shared_fd(fd.get(), size);
  if (base == nullptr) throw_errno(errno, "mmap(" + name + ")");
  auto unmap_and = [&](const Error& e) -> Error {
    ::munmap(base, size);
    return e;
  };
  auto* header = static_cast<SegmentHeader*>(base);
  for (;;) {
    const std::uint64_t magic = __atomic_load_n(&header->magic, __ATOMIC_ACQUIRE);
    if (magic == kSegmentMagic) break;
    if (magic != 0) throw unmap_and(bad(errc::bad_handle, "not an mproc shared memory segment"));
    try {
      keep_waiting(named_creator, "not an mproc shared memory segment");
    } catch (const Error& e) {
      throw unmap_and(e);
    }
  }
  if (header->layout_version != kSegmentLayoutVersion)
    throw unmap_and(bad(errc::bad_handle,
                        "segment layout version " + std::to_string(header->layout_version) +
                            ", this library reads version " +
                            std::to_string(kSegmentLayoutVersion)));
  // A growable segment's file may be longer than its header says (its user extended it).
  const bool growable = (header->flags & kFlagGrowable) != 0;
  // Each field read once; the sum is never formed, so no value can wrap past the check.
  const std::uint64_t header_size = load_once(header->size);
  const std::uint64_t payload_offset = load_once(header->payload_offset);
  const std::uint64_t payload_size = load_once(header->payload_size);
  if ((growable ? header_size > size : header_size != size) ||
      payload_offset < sizeof(SegmentHeader) || payload_offset % kPayloadAlignment != 0 ||
      payload_offset > header_size || payload_size > header_size - payload_offset)
    throw unmap_and(bad(errc::bad_handle, "its size does not match its header"));
  // kind.id 0: any kind (share_name_with_users only reads the header).
  if (kind.id != 0 && header->kind_id != kind.id)
    throw unmap_and(bad(errc::bad_handle, std::string("not an mproc ") + kind.name));
  if (kind.id != 0 && header->kind_version != kind.version)
    throw unmap_and(bad(errc::bad_handle,
                        std::string(kind.name) + " layout version " +
                            std::to_string(header->kind_version) + ", this library reads " +
                            std::to_string(kind.version)));
  // The right kind: now its payload is worth waiting for, while its creator lives.
  while (header->state.load(std::memory_order_acquire) !=
         static_cast<std::uint32_t>(SegmentState::ready)) {
    try {
      keep_waiting(header->creator_pid, "");
    } catch (const Error& e) {
      throw unmap_and(e);
    }
  }
  int kept = -1;
  try {
    kept = fd.keep(growable);
  } catch (const Error& e) {
    throw unmap_and(e);
  }
  if (!try_acquire_ref(*header)) {
    if (kept >= 0) ::close(kept);
    throw unmap_and(Error(std::make_error_code(std::errc::no_such_file_or_directory),
                          "shared memory " + name + ": its users closed it; it is being removed"));
  }
  return Segment(std::move(name), base, size, payload_offset, payload_size, ::getpid(), false,
                 kept);
}

bool Segment::holds_reference() const noexcept {
  return base_ != nullptr && !released_ && owner_pid_ != 0 && owner_pid_ == ::getpid();
}

void Segment::release() noexcept {
  if (base_ != nullptr) untrack_reference();
  if (!holds_reference()) return;
  released_ = true;
  SegmentHeader& h = header();
  const std::uint32_t flags = __atomic_load_n(&h.flags, __ATOMIC_ACQUIRE);
  const bool last = h.refs.fetch_sub(1, std::memory_order_acq_rel) == 1;
  const bool by_creator = (flags & kFlagUnlinkWithLastUser) == 0;
  if ((flags & kFlagUnlinkWithCreator) != 0 && (last || (created_ && by_creator))) unlink_name();
}

void Segment::close() noexcept {
  if (base_ == nullptr) return;
  release();
  if (::munmap(base_, size_) != 0)
    logger(LogCategory::shm).warn("munmap({}) failed: {}", name_, std::strerror(errno));
  base_ = nullptr;
  size_ = 0;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Segment::unlink_name() noexcept {
  if (unlinked_) return;
  unlinked_ = true;
  if (::shm_unlink(name_.c_str()) != 0 && errno != ENOENT)
    logger(LogCategory::shm).warn("shm_unlink({}) failed: {}", name_, std::strerror(errno));
  // Only the creating process's tracker knows the name; a forked copy has a tracker of its own.
  // The last user in the creating process may be an attached object (share_name_with_users).
  if ((created_ || creator_in_name(name_) == ::getpid()) && owner_pid_ == ::getpid()) {
    try {
      untrack(name_);
    } catch (const std::exception& e) {
      logger(LogCategory::shm).warn("shm tracker: {}", e.what());
    }
  }
}

void share_name_with_users(std::string_view name) {
  Segment segment = Segment::attach(name, SegmentKind{0, 0, "shared memory segment"});
  __atomic_fetch_or(&segment.header().flags, kFlagUnlinkWithLastUser, __ATOMIC_ACQ_REL);
  // Our own reference goes: never the last one, the caller holds another.
}

void remove_segment_name(const std::string& name) noexcept {
  if (::shm_unlink(name.c_str()) != 0 && errno != ENOENT)
    logger(LogCategory::shm).warn("shm_unlink({}) failed: {}", name, std::strerror(errno));
  if (creator_in_name(name) != ::getpid()) return;
  try {
    untrack(name);
  } catch (const std::exception& e) {
    logger(LogCategory::shm).warn("shm tracker: {}", e.what());
  }
}

bool Segment::unlink() {
  if (unlinked_ || name_.empty()) return false;
  if (::shm_unlink(name_.c_str()) != 0) {
    if (errno != ENOENT) throw_errno(errno, "shm_unlink(" + name_ + ")");
    unlinked_ = true;
    return false;
  }
  unlinked_ = true;
  if (created_ && owner_pid_ == ::getpid()) untrack(name_);
  return true;
}

void Segment::destroy() {
  unlink();
  close();
}

}  // namespace mproc::detail::shm
