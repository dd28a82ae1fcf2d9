// Another process overwrites the header fields of every shared structure — queue, Manager dict
// and list, segment header — with hostile values while this process uses it. Every operation must
// either work or fail with an mproc::Error; none may crash, hang or touch memory outside the
// mapping (CI runs this under ASan + UBSan).
//
// The scribbler is a forked child working on its own mapping of the segment's file with raw
// system calls. It leaves the locks alone: a robust mutex overwritten by a peer can stall its
// users, which is outside what the library can check (see the README's trust boundary).
#include <mproc/dict.hpp>
#include <mproc/list.hpp>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/deadline.hpp"
#include "manager/layout.hpp"
#include "shm/segment.hpp"
#include "shm_test_support.hpp"
#include "transport/queue_core.hpp"

namespace mproc::test {
namespace {

using detail::Deadline;
using detail::manager::Control;
using detail::queue::QueueConfig;
using detail::queue::QueueCore;
using detail::queue::QueueKind;
using detail::queue::QueueShared;
using detail::shm::Segment;
using detail::shm::SegmentHeader;

using ScribbleTest = ShmTest;

constexpr auto kScribbleFor = std::chrono::milliseconds(1500);
constexpr auto kLegitimateSideLimit = std::chrono::seconds(60);

// xorshift64*: deterministic per seed, no allocation.
struct Rng {
  std::uint64_t state;
  std::uint64_t operator()() noexcept {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dULL;
  }
};

// A value a buggy or hostile peer might write over `original`. Powers of two are kept huge (past
// any mapping) so that a believed allocation tail can never double a container's file again and
// again: the test must not fill /dev/shm.
std::uint64_t hostile(Rng& rng, std::uint64_t original) {
  switch (rng() % 9) {
    case 0: return rng();
    case 1: return 0;
    case 2: return ~std::uint64_t{0};
    case 3: return original + rng() % 64 - 32;
    case 4: return rng() % 4096;
    case 5: return std::uint64_t{1} << (41 + rng() % 23);
    case 6: return (rng() % (std::uint64_t{1} << 20)) & ~std::uint64_t{7};
    case 7: return original ^ (std::uint64_t{1} << (rng() % 64));
    default: return original;
  }
}

void write_word(char* at, std::size_t width, std::uint64_t value) {
  if (width == 8) {
    __atomic_store_n(reinterpret_cast<std::uint64_t*>(at), value, __ATOMIC_RELAXED);
  } else {
    __atomic_store_n(reinterpret_cast<std::uint32_t*>(at), static_cast<std::uint32_t>(value),
                     __ATOMIC_RELAXED);
  }
}

std::uint64_t read_word(const char* at, std::size_t width) {
  if (width == 8) return __atomic_load_n(reinterpret_cast<const std::uint64_t*>(at), __ATOMIC_RELAXED);
  return __atomic_load_n(reinterpret_cast<const std::uint32_t*>(at), __ATOMIC_RELAXED);
}

// One field of a structure: its offset in the file and its width (4 or 8 bytes).
struct Field {
  std::size_t offset;
  std::size_t width;
};

// One overwrite, chosen by the test: gets the file's current mapping.
using Scribble = std::function<void(char* base, std::size_t size, Rng& rng)>;

// Forks the scribbler: maps `name` and calls `scribble` as fast as it can for kScribbleFor
// (remapping when the file grows), then writes `restore` back and exits. Returns its pid.
pid_t start_scribbler(const std::string& name, const Scribble& scribble,
                      const std::vector<std::pair<Field, std::uint64_t>>& restore,
                      std::uint64_t seed) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int fd = ::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) ::_exit(2);
  struct stat st {};
  char* base = nullptr;
  std::size_t size = 0;
  Rng rng{seed | 1};
  const auto stop = std::chrono::steady_clock::now() + kScribbleFor;
  for (unsigned i = 0;; ++i) {
    if (i % 256 == 0) {
      if (std::chrono::steady_clock::now() >= stop) break;
      if (::fstat(fd, &st) != 0) ::_exit(3);
      if (static_cast<std::size_t>(st.st_size) != size) {
        if (base != nullptr) ::munmap(base, size);
        size = static_cast<std::size_t>(st.st_size);
        void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (mapped == MAP_FAILED) ::_exit(4);
        base = static_cast<char*>(mapped);
      }
    }
    scribble(base, size, rng);
  }
  for (const auto& [field, value] : restore) write_word(base + field.offset, field.width, value);
  ::_exit(0);
}

// Runs `operation` (one legitimate use of the structure) until the scribbler exits; every
// failure must be an mproc::Error.
template <class Operation>
void use_while_scribbled(pid_t scribbler, Operation operation) {
  const Deadline limit(kLegitimateSideLimit);
  std::uint64_t done = 0;
  std::uint64_t failed = 0;
  int status = 0;
  for (;;) {
    for (int i = 0; i < 16; ++i, ++done) {
      try {
        operation(done);
      } catch (const Error&) {
        ++failed;
      }
    }
    const pid_t ended = ::waitpid(scribbler, &status, WNOHANG);
    ASSERT_GE(ended, 0);
    if (ended == scribbler) break;
    if (limit.expired()) {
      ::kill(scribbler, SIGKILL);
      ::waitpid(scribbler, &status, 0);
      FAIL() << "the scribbler did not finish";
    }
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "scribbler status " << status;
  EXPECT_GT(done, 0u);
  std::printf("%llu operations, %llu reported errors\n", static_cast<unsigned long long>(done),
              static_cast<unsigned long long>(failed));
}

std::vector<std::pair<Field, std::uint64_t>> snapshot(const char* base,
                                                      const std::vector<Field>& fields) {
  std::vector<std::pair<Field, std::uint64_t>> saved;
  for (const Field& f : fields) saved.emplace_back(f, read_word(base + f.offset, f.width));
  return saved;
}

std::string get_string(QueueCore& q) {
  std::string out;
  q.get(
      [](std::size_t size, void* context) -> void* {
        auto& s = *static_cast<std::string*>(context);
        s.resize(size);
        return s.data();
      },
      &out, false, Deadline());
  return out;
}

TEST_F(ScribbleTest, AQueueSurvivesAPeerOverwritingItsPositionsAndRecords) {
  auto q = QueueCore::create(QueueConfig{QueueKind::joinable, 0, 4096});
  const std::size_t payload = detail::shm::kPayloadAlignment;  // the segment's payload offset
  const std::vector<Field> fields = {
      {payload + offsetof(QueueShared, kind), 4},
      {payload + offsetof(QueueShared, capacity_units), 4},
      {payload + offsetof(QueueShared, maxsize), 8},
      {payload + offsetof(QueueShared, ring_offset), 8},
      {payload + offsetof(QueueShared, head_cache), 8},
      {payload + offsetof(QueueShared, tail), 8},
      {payload + offsetof(QueueShared, tail_cache), 8},
      {payload + offsetof(QueueShared, head), 8},
      {payload + offsetof(QueueShared, tasks_done), 4},
  };
  const std::size_t ring = payload + q->shared().ring_offset;
  const std::size_t ring_size = q->capacity();
  // The immutable fields are put back at the end (this process ignores them after creation).
  const auto restore = snapshot(reinterpret_cast<const char*>(&q->shared()) - payload,
                                {fields.begin(), fields.begin() + 4});
  const pid_t scribbler = start_scribbler(
      q->handle(),
      [&](char* base, std::size_t, Rng& rng) {
        if (rng() % 3 != 0) {
          const Field& f = fields[rng() % fields.size()];
          write_word(base + f.offset, f.width, hostile(rng, read_word(base + f.offset, f.width)));
        } else {  // a record header in the ring
          char* word = base + ring + (rng() % (ring_size / 8)) * 8;
          write_word(word, 4 + 4 * (rng() % 2), hostile(rng, read_word(word, 4)));
        }
      },
      restore, 0x5eed0001);
  use_while_scribbled(scribbler, [&](std::uint64_t i) {
    switch (i % 6) {
      case 0: {
        const std::string message(i % 300, 'q');
        q->put(message.data(), message.size(), false, Deadline());
        break;
      }
      case 1: (void)get_string(*q); break;
      case 2: (void)q->qsize(); break;
      case 3: (void)q->full(); break;
      case 4: q->task_done(); break;
      default: (void)q->join(Deadline(std::chrono::milliseconds(0))); break;
    }
  });
}

TEST_F(ScribbleTest, ASegmentHeaderOverwrittenDuringAttachesIsRefusedOrUsable) {
  Segment segment = make_segment(8192);
  const std::vector<Field> fields = {
      {offsetof(SegmentHeader, magic), 8},        {offsetof(SegmentHeader, layout_version), 4},
      {offsetof(SegmentHeader, flags), 4},        {offsetof(SegmentHeader, kind_id), 4},
      {offsetof(SegmentHeader, kind_version), 4}, {offsetof(SegmentHeader, size), 8},
      {offsetof(SegmentHeader, payload_offset), 8}, {offsetof(SegmentHeader, payload_size), 8},
      {offsetof(SegmentHeader, refs), 4},
  };
  // Restored at the end, except refs (legitimate attaches change it meanwhile).
  const auto restore = snapshot(static_cast<const char*>(static_cast<void*>(&segment.header())),
                                {fields.begin(), fields.end() - 1});
  const std::string name = segment.name();
  const pid_t scribbler = start_scribbler(
      name,
      [&](char* base, std::size_t, Rng& rng) {
        const Field& f = fields[rng() % fields.size()];
        write_word(base + f.offset, f.width, hostile(rng, read_word(base + f.offset, f.width)));
      },
      restore, 0x5eed0002);
  use_while_scribbled(scribbler, [&](std::uint64_t i) {
    Segment attached = Segment::attach(name, kTestKind);
    auto* bytes = static_cast<volatile char*>(attached.payload());
    if (attached.payload_size() != 0) {
      bytes[0] = static_cast<char>(i);
      bytes[attached.payload_size() - 1] = static_cast<char>(i);
    }
  });
  segment.header().refs.store(1);
  segment.destroy();
}

// The Manager's containers: Control's fields, the root table's or block's header, and any word
// of the data area (slots, record headers).
Scribble manager_scribble(const std::vector<Field>& control_fields, std::size_t root_field) {
  const std::size_t data_offset = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return [control_fields, root_field, data_offset](char* base, std::size_t size, Rng& rng) {
    if (size <= data_offset + 64) return;
    const std::size_t data_size = size - data_offset;
    char* data = base + data_offset;
    switch (rng() % 3) {
      case 0: {
        const Field& f = control_fields[rng() % control_fields.size()];
        write_word(base + f.offset, f.width, hostile(rng, read_word(base + f.offset, f.width)));
        break;
      }
      case 1: {
        const std::uint64_t root = read_word(base + root_field, 8);
        if (root % 8 == 0 && root + 32 <= data_size) {
          char* word = data + root + 8 * (rng() % 4);
          write_word(word, 8, hostile(rng, read_word(word, 8)));
        }
        break;
      }
      default: {
        char* word = data + (rng() % (data_size / 8)) * 8;
        write_word(word, 8, hostile(rng, read_word(word, 8)));
        break;
      }
    }
  };
}

std::vector<Field> control_fields() {
  const std::size_t control = detail::shm::kPayloadAlignment;  // the segment's payload
  return {{control + offsetof(Control, data_offset), 8}, {control + offsetof(Control, kind), 4},
          {control + offsetof(Control, capacity), 8},    {control + offsetof(Control, root), 8},
          {control + offsetof(Control, tail), 8},        {control + offsetof(Control, low), 8},
          {control + offsetof(Control, live), 8}};
}

TEST_F(ScribbleTest, AManagerDictSurvivesAPeerOverwritingItsTableAndRecords) {
  BytesDict d;
  for (int i = 0; i < 40; ++i) d.set("key" + std::to_string(i), std::string(i, 'v'));
  const std::size_t root = detail::shm::kPayloadAlignment + offsetof(Control, root);
  const pid_t scribbler =
      start_scribbler(d.handle(), manager_scribble(control_fields(), root), {}, 0x5eed0003);
  use_while_scribbled(scribbler, [&](std::uint64_t i) {
    const std::string key = "key" + std::to_string(i % 50);
    switch (i % 6) {
      case 0: d.set(key, std::string(i % 100, 'w')); break;
      case 1: (void)d.get(key); break;
      case 2: (void)d.erase(key); break;
      case 3: (void)d.items(); break;
      case 4: (void)d.size(); break;
      default: (void)d.setdefault(key, "d"); break;
    }
  });
}

TEST_F(ScribbleTest, AManagerListSurvivesAPeerOverwritingItsBlockAndRecords) {
  BytesList l;
  for (int i = 0; i < 40; ++i) l.append(std::string(i, 'v'));
  const std::size_t root = detail::shm::kPayloadAlignment + offsetof(Control, root);
  const pid_t scribbler =
      start_scribbler(l.handle(), manager_scribble(control_fields(), root), {}, 0x5eed0004);
  use_while_scribbled(scribbler, [&](std::uint64_t i) {
    const auto index = static_cast<std::ptrdiff_t>(i % 37);
    switch (i % 8) {
      case 0: l.append(std::string(i % 100, 'w')); break;
      case 1: (void)l.get(index); break;
      case 2: l.set(index, "s"); break;
      case 3: l.insert(index, "i"); break;
      case 4: (void)l.pop(index); break;
      case 5: (void)l.snapshot(); break;
      case 6: (void)l.size(); break;
      default:
        if (i % 64 == 7) l.clear();
        break;
    }
  });
}

}  // namespace
}  // namespace mproc::test
