// The C ABI's handle table: stale, foreign and wrongly-typed handles are rejected without a
// dereference.
#include "handle_table.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

using mproc::detail::HandleKind;
using mproc::detail::HandleTable;

TEST(HandleTable, InsertLookupRemove) {
  auto& table = HandleTable::instance();
  int object = 5;
  const auto handle = table.insert(HandleKind::process, &object);
  EXPECT_NE(handle, 0u);
  EXPECT_EQ(table.lookup(handle, HandleKind::process), &object);
  EXPECT_EQ(table.remove(handle, HandleKind::process), &object);
  EXPECT_EQ(table.lookup(handle, HandleKind::process), nullptr) << "stale handle accepted";
  EXPECT_EQ(table.remove(handle, HandleKind::process), nullptr) << "double remove accepted";
}

TEST(HandleTable, AReusedSlotDoesNotRevalidateTheOldHandle) {
  auto& table = HandleTable::instance();
  int first = 1;
  int second = 2;
  const auto old_handle = table.insert(HandleKind::process, &first);
  table.remove(old_handle, HandleKind::process);
  const auto new_handle = table.insert(HandleKind::process, &second);
  EXPECT_NE(old_handle, new_handle);
  EXPECT_EQ(table.lookup(old_handle, HandleKind::process), nullptr);
  EXPECT_EQ(table.lookup(new_handle, HandleKind::process), &second);
  table.remove(new_handle, HandleKind::process);
}

TEST(HandleTable, ForeignValuesAreRejected) {
  auto& table = HandleTable::instance();
  int local = 0;
  for (std::uintptr_t bogus : {std::uintptr_t{0}, std::uintptr_t{1},
                               reinterpret_cast<std::uintptr_t>(&local), ~std::uintptr_t{0},
                               std::uintptr_t{0xdeadbeef}})
    EXPECT_EQ(table.lookup(bogus, HandleKind::process), nullptr) << bogus;
}

TEST(HandleTable, ManyHandlesAcrossChunks) {
  auto& table = HandleTable::instance();
  std::vector<int> objects(10000);
  std::vector<std::uintptr_t> handles;
  for (auto& o : objects) handles.push_back(table.insert(HandleKind::process, &o));
  for (size_t i = 0; i < objects.size(); ++i)
    ASSERT_EQ(table.lookup(handles[i], HandleKind::process), &objects[i]);
  for (auto h : handles) table.remove(h, HandleKind::process);
  for (auto h : handles) ASSERT_EQ(table.lookup(h, HandleKind::process), nullptr);
}

}  // namespace
