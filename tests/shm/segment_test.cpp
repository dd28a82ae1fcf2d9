// The segment layer: names, guarded construction, attach checks, references, the three verbs.
#include <mproc/error.hpp>

#include <fcntl.h>
#include <set>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm_test_support.hpp"

namespace mproc::test {
namespace {

using detail::shm::Segment;
using detail::shm::SegmentHeader;
using detail::shm::SegmentOptions;

using SegmentTest = ShmTest;

// A raw /dev/shm file with this test's prefix, filled by `fill`.
template <class Fill>
std::string raw_segment(const char* suffix, std::size_t size, Fill fill) {
  const std::string name = "/mproc-" + std::to_string(::getpid()) + "-raw-" + suffix;
  const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  EXPECT_GE(fd, 0);
  if (size > 0) {
    EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    EXPECT_NE(p, MAP_FAILED);
    fill(static_cast<SegmentHeader*>(p));
    ::munmap(p, size);
  }
  ::close(fd);
  return name;
}

TEST_F(SegmentTest, CreateBuildsAReadyHeaderUnderAUniqueName) {
  int calls = 0;
  Segment s = Segment::create(
      1000, kTestKind,
      [](void* payload, std::size_t size, void* context) {
        ++*static_cast<int*>(context);
        static_cast<char*>(payload)[size - 1] = 'z';
      },
      &calls);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s.name().rfind("/mproc-" + std::to_string(::getpid()) + "-", 0), 0u) << s.name();
  EXPECT_TRUE(shm_exists(s.name()));
  const SegmentHeader& h = s.header();
  EXPECT_EQ(h.magic, detail::shm::kSegmentMagic);
  EXPECT_EQ(h.layout_version, detail::shm::kSegmentLayoutVersion);
  EXPECT_EQ(h.kind_id, kTestKind.id);
  EXPECT_EQ(h.kind_version, kTestKind.version);
  EXPECT_EQ(h.state.load(), static_cast<std::uint32_t>(detail::shm::SegmentState::ready));
  EXPECT_EQ(h.refs.load(), 1u);
  EXPECT_EQ(h.creator_pid, ::getpid());
  EXPECT_EQ(s.payload_size(), 1000u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s.payload()) % 64, 0u);
  EXPECT_GE(s.mapped_size(), 1000u + sizeof(SegmentHeader));
  EXPECT_EQ(static_cast<char*>(s.payload())[0], 0);  // zero-filled
  EXPECT_EQ(static_cast<char*>(s.payload())[999], 'z');
  s.destroy();
  EXPECT_FALSE(s.is_open());
}

TEST_F(SegmentTest, NamesNeverRepeat) {
  std::set<std::string> names;
  for (int i = 0; i < 300; ++i) {
    Segment s = make_segment(64);
    EXPECT_TRUE(names.insert(s.name()).second) << s.name();
  }
  EXPECT_TRUE(shm_entries_of(::getpid()).empty());
}

TEST_F(SegmentTest, AttachSharesTheMemoryAndCountsReferences) {
  Segment a = make_segment();
  Segment b = Segment::attach(a.name(), kTestKind);
  EXPECT_NE(a.payload(), b.payload());  // two mappings...
  static_cast<int*>(a.payload())[10] = 1234;
  EXPECT_EQ(static_cast<int*>(b.payload())[10], 1234);  // ...of the same memory
  EXPECT_EQ(a.header().refs.load(), 2u);
  EXPECT_TRUE(b.holds_reference());
  b.close();
  EXPECT_EQ(a.header().refs.load(), 1u);
  EXPECT_TRUE(shm_exists(a.name()));  // an attacher leaving does not remove the name
}

TEST_F(SegmentTest, AttachChecksNameKindAndVersion) {
  const auto enoent = std::make_error_code(std::errc::no_such_file_or_directory);
  const auto einval = std::make_error_code(std::errc::invalid_argument);
  expect_error([] { Segment::attach("/mproc-" + std::to_string(::getpid()) + "-none", kTestKind); },
               enoent);
  const std::string bad_names[] = {"", "/", "x", "/a/b", std::string("/with\0nul", 9),
                                   "/" + std::string(300, 'n'), "/.", "/..", "/new\nline",
                                   "/tab\there", "/del\x7f", "/esc\x1b[0m"};
  for (const auto& bad : bad_names)
    expect_error([&] { Segment::attach(bad, kTestKind); }, einval);

  Segment s = make_segment();
  const detail::shm::SegmentKind other_kind{kTestKind.id + 1, kTestKind.version, "other"};
  const detail::shm::SegmentKind other_version{kTestKind.id, kTestKind.version + 1, "test"};
  expect_error([&] { Segment::attach(s.name(), other_kind); }, make_error_code(errc::bad_handle));
  expect_error([&] { Segment::attach(s.name(), other_version); }, make_error_code(errc::bad_handle));
  EXPECT_EQ(s.header().refs.load(), 1u);  // failed attaches took no reference
}

TEST_F(SegmentTest, AttachRefusesForeignAndHalfBuiltSegments) {
  // Ready, but not ours.
  const std::string foreign = raw_segment("foreign", 4096, [](SegmentHeader* h) {
    h->magic = 0x1234;
    h->state.store(1);
  });
  expect_error([&] { Segment::attach(foreign, kTestKind); }, make_error_code(errc::bad_handle));
  // Ours, but its size does not match its header.
  const std::string truncated = raw_segment("truncated", 4096, [](SegmentHeader* h) {
    h->magic = detail::shm::kSegmentMagic;
    h->layout_version = detail::shm::kSegmentLayoutVersion;
    h->kind_id = kTestKind.id;
    h->kind_version = kTestKind.version;
    h->size = 8192;
    h->state.store(1);
  });
  expect_error([&] { Segment::attach(truncated, kTestKind); }, make_error_code(errc::bad_handle));
  // A creator that died before finishing: never ready (waits ~2 s, then gives up).
  const std::string half = raw_segment("half", 4096, [](SegmentHeader*) {});
  expect_error([&] { Segment::attach(half, kTestKind); }, make_error_code(errc::bad_state));
  const std::string empty = raw_segment("empty", 0, [](SegmentHeader*) {});
  expect_error([&] { Segment::attach(empty, kTestKind); }, make_error_code(errc::bad_state));
  for (const auto& name : {foreign, truncated, half, empty}) ::shm_unlink(name.c_str());
}

TEST_F(SegmentTest, AttachRefusesAPayloadOutsideTheSegmentEvenWhenTheSumWraps) {
  Segment s = Segment::create(1000, kTestKind, nullptr, nullptr);
  SegmentHeader& h = s.header();
  const std::uint64_t offset = h.payload_offset;
  const std::uint64_t size = h.payload_size;
  const auto bad_handle = make_error_code(errc::bad_handle);
  h.payload_offset = ~std::uint64_t{0} - 63;  // offset + size wraps to a small number
  h.payload_size = 128;
  expect_error([&] { Segment::attach(s.name(), kTestKind); }, bad_handle);
  h.payload_offset = 8;  // inside the header
  h.payload_size = 64;
  expect_error([&] { Segment::attach(s.name(), kTestKind); }, bad_handle);
  h.payload_offset = offset + 8;  // misaligned
  h.payload_size = 64;
  expect_error([&] { Segment::attach(s.name(), kTestKind); }, bad_handle);
  h.payload_offset = offset;
  h.payload_size = ~std::uint64_t{0};
  expect_error([&] { Segment::attach(s.name(), kTestKind); }, bad_handle);
  h.payload_size = size;
  Segment ok = Segment::attach(s.name(), kTestKind);
  // A later rewrite of the header does not move an attached view of the payload.
  h.payload_offset = std::uint64_t{1} << 40;
  h.payload_size = std::uint64_t{1} << 41;
  EXPECT_EQ(ok.payload(), static_cast<char*>(static_cast<void*>(&ok.header())) + offset);
  EXPECT_EQ(ok.payload_size(), size);
  h.payload_offset = offset;
  h.payload_size = size;
}

TEST_F(SegmentTest, TheVerbsAreDistinct) {
  Segment creator = make_segment();
  const std::string name = creator.name();
  Segment user = Segment::attach(name, kTestKind);

  // unlink: the name goes, both mappings stay valid.
  EXPECT_TRUE(user.unlink());
  EXPECT_FALSE(shm_exists(name));
  EXPECT_FALSE(user.unlink());  // already gone
  static_cast<char*>(user.payload())[0] = 'u';
  EXPECT_EQ(static_cast<char*>(creator.payload())[0], 'u');
  expect_error([&] { Segment::attach(name, kTestKind); },
               std::make_error_code(std::errc::no_such_file_or_directory));

  // release: the reference goes, the mapping stays.
  user.release();
  EXPECT_FALSE(user.holds_reference());
  EXPECT_TRUE(user.is_open());
  EXPECT_EQ(creator.header().refs.load(), 1u);
  // close: the mapping goes.
  user.close();
  EXPECT_FALSE(user.is_open());
  // destroy: both.
  creator.destroy();
  EXPECT_FALSE(creator.is_open());
}

TEST_F(SegmentTest, TheCreatorClosingRemovesTheNameByDefault) {
  Segment creator = make_segment();
  const std::string name = creator.name();
  Segment user = Segment::attach(name, kTestKind);
  creator.close();
  EXPECT_FALSE(shm_exists(name));
  static_cast<char*>(user.payload())[5] = 'x';  // the attached user goes on
  user.close();
}

TEST_F(SegmentTest, WithoutUnlinkWithCreatorTheNameStaysUntilUnlinked) {
  SegmentOptions options;
  options.unlink_with_creator = false;
  Segment creator = make_segment(4096, options);
  const std::string name = creator.name();
  creator.close();
  EXPECT_TRUE(shm_exists(name));  // Python's SharedMemory: close() is not unlink()
  Segment user = Segment::attach(name, kTestKind);
  EXPECT_EQ(user.header().refs.load(), 1u);
  user.destroy();
  EXPECT_FALSE(shm_exists(name));
}

TEST_F(SegmentTest, AttachRefusesASegmentWhoseUsersAllLeft) {
  Segment creator = make_segment();
  creator.header().refs.store(0);  // as if every user had released it, the unlink not yet done
  expect_error([&] { Segment::attach(creator.name(), kTestKind); },
               std::make_error_code(std::errc::no_such_file_or_directory));
  creator.header().refs.store(1);
}

TEST_F(SegmentTest, AForkedCopyHoldsNoReference) {
  Segment s = make_segment();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const bool holds = s.holds_reference();
    s.close();  // in the child: unmaps only
    ::_exit(holds ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(s.header().refs.load(), 1u);
  EXPECT_TRUE(shm_exists(s.name()));
}

TEST_F(SegmentTest, AFailedConstructionLeavesNothing) {
  try {
    Segment::create(64, kTestKind,
                    [](void*, std::size_t, void*) { throw Error(errc::internal, "no"); }, nullptr);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::internal));
  }
  EXPECT_TRUE(shm_entries_of(::getpid()).empty());
}

TEST_F(SegmentTest, MovingTransfersOwnership) {
  Segment a = make_segment();
  const std::string name = a.name();
  Segment b = std::move(a);
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): the test
  EXPECT_TRUE(b.is_open());
  a.close();  // no effect on b
  EXPECT_TRUE(shm_exists(name));
  Segment c;
  c = std::move(b);
  EXPECT_EQ(c.name(), name);
}

}  // namespace
}  // namespace mproc::test
