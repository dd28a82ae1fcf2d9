// A container whose shared memory another process overwrote (a buggy or hostile peer): every
// operation either works or reports corruption (errc::internal), and none reads or writes
// outside the mapping. White-box: the tests attach a Store to the container and write into the
// layout (manager/layout.hpp) as such a peer would, holding the lock so the change is complete.
#include <mproc/dict.hpp>
#include <mproc/list.hpp>

#include <string>
#include <sys/mman.h>

#include "manager/layout.hpp"
#include "manager/store.hpp"
#include "manager_test_support.hpp"

namespace mproc::test {
namespace {

using detail::manager::Control;
using detail::manager::DictTable;
using detail::manager::Kind;
using detail::manager::ListBlock;
using detail::manager::Record;
using detail::manager::Store;
using detail::manager::kOffsetMask;
using detail::manager::slot_used;

using CorruptContainer = ManagerTest;

// A peer's view of a container: its own Store, and the lock held while it scribbles.
class Peer {
 public:
  Peer(const std::string& handle, Kind kind) : store_(Store::attach(handle, kind)) {}
  template <class F>
  void scribble(F change) {
    Store::Guard guard(*store_);
    change(*store_, store_->control());
  }

 private:
  std::unique_ptr<Store> store_;
};

template <class F>
void expect_corrupt(F operation) {
  try {
    operation();
    ADD_FAILURE() << "the operation on a corrupt container succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::internal)) << e.what();
    EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
  }
}

BytesDict filled_dict() {
  BytesDict d;
  for (int i = 0; i < 5; ++i) d.set("key" + std::to_string(i), "value" + std::to_string(i));
  return d;
}

// The entry of the dict's first key: its Record's offset (the entries follow the slots).
std::atomic<std::uint64_t>& first_entry(Store& s, Control& c) {
  auto* t = s.at<DictTable>(c.root.load());
  return t->slot()[t->slots];
}

TEST_F(CorruptContainer, ADictRootOutsideTheDataAreaIsReported) {
  BytesDict d = filled_dict();
  Peer peer(d.handle(), Kind::dict);
  for (std::uint64_t root : {std::uint64_t{1} << 40, std::uint64_t{1} << 20, std::uint64_t{8},
                             std::uint64_t{68}}) {
    peer.scribble([&](Store&, Control& c) { c.root.store(root); });
    expect_corrupt([&] { d.get("key1"); });
    expect_corrupt([&] { d.set("key9", "v"); });
    expect_corrupt([&] { d.keys(); });
  }
}

TEST_F(CorruptContainer, ATableOfZeroSlotsIsReportedNotSilentlyEmpty) {
  BytesDict d = filled_dict();
  Peer peer(d.handle(), Kind::dict);
  peer.scribble([](Store& s, Control& c) { s.at<DictTable>(c.root.load())->slots = 0; });
  expect_corrupt([&] { d.get("key1"); });
  expect_corrupt([&] { d.set("key9", "v"); });
}

TEST_F(CorruptContainer, ASlotCountNotAPowerOfTwoOrPastTheMappingIsReported) {
  BytesDict d = filled_dict();
  Peer peer(d.handle(), Kind::dict);
  for (std::uint64_t slots : {std::uint64_t{1} << 40, std::uint64_t{1} << 16, std::uint64_t{24}}) {
    peer.scribble([&](Store& s, Control& c) { s.at<DictTable>(c.root.load())->slots = slots; });
    expect_corrupt([&] { d.get("key1"); });
    expect_corrupt([&] { d.items(); });
  }
}

TEST_F(CorruptContainer, ARecordOffsetOrSizeOutsideTheMappingIsReported) {
  BytesDict d = filled_dict();
  Peer peer(d.handle(), Kind::dict);
  std::uint64_t good = 0;
  peer.scribble([&](Store& s, Control& c) {
    auto& entry = first_entry(s, c);
    good = entry.load();
    entry.store(std::uint64_t{1} << 46);
  });
  expect_corrupt([&] { d.items(); });
  expect_corrupt([&] { d.get("key0"); });
  peer.scribble([&](Store& s, Control& c) {
    first_entry(s, c).store(good);
    s.at<Record>(good)->value_size = 0xffffffffu;
  });
  expect_corrupt([&] { d.values(); });
  peer.scribble([&](Store& s, Control&) {
    s.at<Record>(good)->value_size = 6;
    s.at<Record>(good)->key_size = 0xfffffff0u;
  });
  expect_corrupt([&] { d.keys(); });
}

TEST_F(CorruptContainer, AnEntryCountBeyondTheTableIsReportedAndASlotPastItFindsNothing) {
  BytesDict d = filled_dict();
  Peer peer(d.handle(), Kind::dict);
  std::uint64_t length = 0;
  peer.scribble([&](Store& s, Control& c) {
    auto* t = s.at<DictTable>(c.root.load());
    length = t->length.load();
    t->length.store(DictTable::capacity_for(t->slots) + 1);
  });
  expect_corrupt([&] { d.get("key1"); });
  expect_corrupt([&] { d.keys(); });
  expect_corrupt([&] { d.set("key9", "v"); });
  // Every used slot names an entry past the published ones: nothing is found, nothing is read.
  peer.scribble([&](Store& s, Control& c) {
    auto* t = s.at<DictTable>(c.root.load());
    t->length.store(length);
    for (std::uint64_t i = 0; i < t->slots; ++i)
      if (slot_used(t->slot()[i].load()))
        t->slot()[i].store((t->slot()[i].load() & ~kOffsetMask) | (std::uint64_t{1} << 40));
  });
  EXPECT_FALSE(d.get("key1").has_value());
  EXPECT_EQ(d.size(), 5u);  // the entries themselves are still there, in order
  EXPECT_EQ(d.keys().front(), "key0");
}

TEST_F(CorruptContainer, ACapacityBeyondTheFileIsReportedInsteadOfSigbus) {
  BytesDict d = filled_dict();
  Peer peer(d.handle(), Kind::dict);
  peer.scribble([](Store&, Control& c) { c.capacity.store(std::uint64_t{1} << 30); });
  expect_corrupt([&] { BytesDict::attach(d.handle()).get("key1"); });
  // A process that mapped the data already reads without the lock what it mapped (the capacity
  // plays no part there: keys() too); the next locked operation reports the corruption.
  EXPECT_EQ(d.get("key1"), "value1");
  EXPECT_FALSE(d.keys().empty());
  expect_corrupt([&] { d.set("key9", "v"); });
  expect_corrupt([&] { d.for_each([](std::string_view, std::string_view, void*) {}, nullptr); });
}

TEST_F(CorruptContainer, AnAllocationTailOutsideTheLimitsIsReported) {
  BytesDict d = filled_dict();
  Peer peer(d.handle(), Kind::dict);
  // 2^39 is below the 1 TiB limit: believed, it would make this process reserve 512 GiB.
  for (std::uint64_t tail : {~std::uint64_t{0} - 7, std::uint64_t{1} << 50, std::uint64_t{4099},
                             std::uint64_t{1} << 39}) {
    peer.scribble([&](Store&, Control& c) { c.tail.store(tail); });
    expect_corrupt([&] { d.set("key9", std::string(100, 'v')); });
  }
}

TEST_F(CorruptContainer, AFullTableIsReportedInsteadOfWritingPastIt) {
  BytesDict d = filled_dict();
  Peer peer(d.handle(), Kind::dict);
  // Every slot a tombstone and `used` claiming an empty table: no rehash, no free slot found.
  peer.scribble([](Store& s, Control& c) {
    auto* t = s.at<DictTable>(c.root.load());
    for (std::uint64_t i = 0; i < t->slots; ++i) t->slot()[i].store(detail::manager::kTombstone);
    t->used = 0;
  });
  d.set("fresh", "ok");  // the first tombstone on the path is reused: legitimate
  peer.scribble([](Store& s, Control& c) {
    auto* t = s.at<DictTable>(c.root.load());
    const std::uint64_t keep = t->slot()[0].load() | t->slot()[1].load();
    for (std::uint64_t i = 0; i < t->slots; ++i)
      if (!slot_used(t->slot()[i].load())) t->slot()[i].store(keep | 2);
    t->used = 0;
  });
  expect_corrupt([&] { d.set("other", "v"); });
}

TEST_F(CorruptContainer, AListBlockOutsideTheMappingOrLongerThanItsCapacityIsReported) {
  BytesList l;
  for (int i = 0; i < 5; ++i) l.append("v" + std::to_string(i));
  Peer peer(l.handle(), Kind::list);
  std::uint64_t root = 0;
  peer.scribble([&](Store&, Control& c) {
    root = c.root.load();
    c.root.store(std::uint64_t{1} << 40);
  });
  expect_corrupt([&] { l.size(); });
  expect_corrupt([&] { l.append("x"); });
  peer.scribble([&](Store& s, Control& c) {
    c.root.store(root);
    s.at<ListBlock>(root)->length.store(1000000);
  });
  expect_corrupt([&] { l.get(999999); });
  expect_corrupt([&] { l.snapshot(); });
  peer.scribble([&](Store& s, Control&) {
    s.at<ListBlock>(root)->capacity = std::uint64_t{1} << 40;
    s.at<ListBlock>(root)->length.store(std::uint64_t{1} << 39);
  });
  expect_corrupt([&] { l.get((std::ptrdiff_t{1} << 39) - 1); });
  expect_corrupt([&] { l.append("x"); });
  peer.scribble([&](Store& s, Control&) {
    s.at<ListBlock>(root)->capacity = 8;
    s.at<ListBlock>(root)->length.store(5);
    s.at<ListBlock>(root)->slot()[2].store(std::uint64_t{1} << 45);
  });
  EXPECT_EQ(l.get(1), "v1");
  expect_corrupt([&] { l.get(2); });
  expect_corrupt([&] { l.pop(2); });
  expect_corrupt([&] { l.set(2, "x"); });
}

TEST_F(CorruptContainer, AListBlockOfCapacityZeroDoesNotTakeAnInsertPastIt) {
  BytesList l;
  l.append("a");
  Peer peer(l.handle(), Kind::list);
  peer.scribble([](Store& s, Control& c) {
    auto* b = s.at<ListBlock>(c.root.load());
    b->capacity = 0;
    b->length.store(0);
  });
  l.insert(0, "b");  // an append to an empty list: a new block
  l.insert(0, "c");
  EXPECT_EQ(l.snapshot(), (std::vector<std::string>{"c", "b"}));
}

TEST_F(CorruptContainer, AKeyLongerThanARecordCanHoldIsRefusedBeforeHashing) {
  BytesDict d = filled_dict();
  // A 5 GiB key whose bytes do not exist: only its size may be looked at.
  void* reserved = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(reserved, MAP_FAILED);
  const std::string_view huge(static_cast<const char*>(reserved), std::size_t{5} << 30);
  for (auto op : {0, 1, 2}) {
    try {
      if (op == 0) d.get(huge);
      if (op == 1) d.contains(huge);
      if (op == 2) d.erase(huge);
      ADD_FAILURE() << "a 5 GiB key was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), make_error_code(errc::too_big)) << e.what();
    }
  }
  ::munmap(reserved, 4096);
}

}  // namespace
}  // namespace mproc::test
