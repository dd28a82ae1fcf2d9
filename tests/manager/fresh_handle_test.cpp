// A freshly attached handle (nothing of the data area mapped yet) reads without the lock: while a
// stopped process holds a container's lock for reading (Store::Access::reading, as for_each and
// the locked fallback of reads take it: the version stays even), every read through a fresh handle
// whose timeout is 0 succeeds. A read that took the lock would fail at once with timed_out; a
// change still does. White-box: the holder takes the Store's Guard itself.
#include <mproc/dict.hpp>
#include <mproc/list.hpp>
#include <mproc/manager.hpp>

#include <csignal>
#include <string>
#include <vector>

#include "manager/store.hpp"
#include "manager_test_support.hpp"
#include "support/expect_error.hpp"

namespace mproc::test {
namespace {

using detail::manager::Kind;
using detail::manager::Store;

using FreshHandleTest = ManagerTest;

// A child that attaches `handle` as a `kind` container, takes its lock for reading and stops
// there; killed (and reaped) on destruction.
class StoppedReader {
 public:
  StoppedReader(const std::string& handle, Kind kind) {
    pid_ = ::fork();
    if (pid_ == 0) {
      auto store = Store::attach(handle, kind);
      Store::Guard guard(*store, Store::Access::reading);
      ::raise(SIGSTOP);
      ::_exit(0);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid_, &status, WUNTRACED), pid_);
    EXPECT_TRUE(WIFSTOPPED(status)) << "status " << status;
  }
  ~StoppedReader() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  StoppedReader(const StoppedReader&) = delete;
  StoppedReader& operator=(const StoppedReader&) = delete;

 private:
  pid_t pid_ = -1;
};

TEST_F(FreshHandleTest, DictReadsDoNotWaitForAHolder) {
  BytesDict d;
  // Past the first mapping's size: the data area has grown.
  for (int i = 0; i < 200; ++i) d.set("k" + std::to_string(i), std::string(1000, 'v'));
  StoppedReader holder(d.handle(), Kind::dict);
  auto fresh = BytesDict::attach(d.handle());
  fresh.set_timeout(Seconds(0));
  EXPECT_EQ(fresh.get("k7"), std::string(1000, 'v'));
  EXPECT_EQ(fresh.get("missing"), std::nullopt);
  auto other = BytesDict::attach(d.handle());  // a miss first, on another fresh handle
  other.set_timeout(Seconds(0));
  EXPECT_FALSE(other.contains("missing"));
  EXPECT_TRUE(fresh.contains("k199"));
  EXPECT_EQ(fresh.size(), 200u);
  EXPECT_EQ(fresh.keys().size(), 200u);
  EXPECT_EQ(fresh.items().size(), 200u);
  expect_error([&] { fresh.set("k", "v"); }, errc::timed_out);
}

TEST_F(FreshHandleTest, ListReadsDoNotWaitForAHolder) {
  BytesList l;
  for (int i = 0; i < 2000; ++i) l.append(std::to_string(i) + std::string(100, '.'));
  StoppedReader holder(l.handle(), Kind::list);
  auto fresh = BytesList::attach(l.handle());
  fresh.set_timeout(Seconds(0));
  const std::string dots(100, '.');
  EXPECT_EQ(fresh.get(-1), "1999" + dots);
  EXPECT_EQ(fresh.size(), 2000u);
  EXPECT_EQ(fresh.slice(0, 2), (std::vector<std::string>{"0" + dots, "1" + dots}));
  EXPECT_EQ(fresh.index("42" + dots), 42u);
  EXPECT_EQ(fresh.count("42" + dots), 1u);
  EXPECT_TRUE(fresh.contains("7" + dots));
  expect_error([&] { (void)fresh.get(2000); }, std::errc::result_out_of_range);
  expect_error([&] { fresh.append("x"); }, errc::timed_out);
}

TEST_F(FreshHandleTest, NamespaceReadsDoNotWaitForAHolder) {
  Namespace ns;
  ns.set("x", 1.5);
  ns.set("name", std::string(70000, 'n'));  // past the first mapping
  StoppedReader holder(ns.handle(), Kind::names);
  auto fresh = Namespace::attach(ns.handle());
  fresh.set_timeout(Seconds(0));
  EXPECT_EQ(fresh.get<double>("x"), 1.5);
  EXPECT_EQ(fresh.get<std::string>("name").size(), 70000u);
  EXPECT_FALSE(fresh.has("y"));
  EXPECT_EQ(fresh.attributes().size(), 2u);
  expect_error([&] { fresh.set("x", 2.5); }, errc::timed_out);
}

}  // namespace
}  // namespace mproc::test
