// The Manager's C ABI: every function, and every kind of bad input (NULL, destroyed or foreign
// handles, NULL data with a length, bad indexes, missing keys / names / attributes).
#include "mproc.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "capi/expect_codes.hpp"
#include "manager/manager_test_support.hpp"

namespace mproc::test {
namespace {

using ManagerCapi = ManagerTest;

std::string take(void* buffer, size_t len) {
  std::string out(static_cast<const char*>(buffer), len);
  mproc_buffer_free(buffer);
  return out;
}

std::vector<std::string> unpack(void* buffer, size_t len) {
  std::vector<std::string> out;
  const char* p = static_cast<const char*>(buffer);
  for (size_t at = 0; at < len;) {
    std::uint64_t n = 0;
    std::memcpy(&n, p + at, sizeof n);
    out.emplace_back(p + at + sizeof n, n);
    at += sizeof n + n;
  }
  mproc_buffer_free(buffer);
  return out;
}

TEST_F(ManagerCapi, DictRoundTrip) {
  mproc_manager_t* m = nullptr;
  ASSERT_EQ(mproc_manager_create(&m), 0);
  mproc_dict_t* d = nullptr;
  ASSERT_EQ(mproc_manager_dict(m, "scores", &d), 0) << mproc_last_error_message();
  EXPECT_EQ(mproc_dict_set(d, "a", 1, "1", 1), 0);
  EXPECT_EQ(mproc_dict_set(d, "b", 1, nullptr, 0), 0);  // an empty value
  void* value = nullptr;
  size_t len = 0;
  ASSERT_EQ(mproc_dict_get(d, "a", 1, &value, &len), 0);
  EXPECT_EQ(take(value, len), "1");
  ASSERT_EQ(mproc_dict_get(d, "b", 1, &value, &len), 0);
  EXPECT_NE(value, nullptr);
  EXPECT_EQ(take(value, len), "");
  EXPECT_EQ(mproc_dict_get(d, "zz", 2, &value, &len), -ENOENT);
  EXPECT_EQ(value, nullptr);
  EXPECT_NE(std::string(mproc_last_error_message()).find("mproc_dict_get"), std::string::npos);
  // Into the caller's buffer: the size always, the bytes when they fit.
  char buf[4] = {'x', 'x', 'x', 'x'};
  ASSERT_EQ(mproc_dict_set(d, "long", 4, "12345", 5), 0);
  len = 0;
  EXPECT_EQ(mproc_dict_get_into(d, "a", 1, buf, sizeof buf, &len), 0);
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(buf[0], '1');
  EXPECT_EQ(mproc_dict_get_into(d, "b", 1, nullptr, 0, &len), 0);
  EXPECT_EQ(len, 0u);
  EXPECT_EQ(mproc_dict_get_into(d, "long", 4, buf, sizeof buf, &len), -ERANGE);
  EXPECT_EQ(len, 5u);
  EXPECT_EQ(std::string(buf, 4), "1xxx");  // nothing copied
  EXPECT_EQ(mproc_dict_get_into(d, "zz", 2, buf, sizeof buf, &len), -ENOENT);
  EXPECT_EQ(mproc_dict_get_into(d, "a", 1, nullptr, 4, &len), -EINVAL);
  EXPECT_EQ(mproc_dict_get_into(d, "a", 1, buf, sizeof buf, nullptr), -EINVAL);
  EXPECT_EQ(mproc_dict_pop(d, "long", 4, nullptr, nullptr), 0);
  EXPECT_EQ(mproc_dict_contains(d, "a", 1), 1);
  EXPECT_EQ(mproc_dict_contains(d, "c", 1), 0);
  ASSERT_EQ(mproc_dict_setdefault(d, "c", 1, "3", 1, &value, &len), 0);
  EXPECT_EQ(take(value, len), "3");
  ASSERT_EQ(mproc_dict_setdefault(d, "c", 1, "4", 1, &value, &len), 0);
  EXPECT_EQ(take(value, len), "3");
  size_t size = 0;
  ASSERT_EQ(mproc_dict_size(d, &size), 0);
  EXPECT_EQ(size, 3u);
  size_t count = 0;
  ASSERT_EQ(mproc_dict_items(d, &value, &len, &count), 0);
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(unpack(value, len).size(), 6u);
  ASSERT_EQ(mproc_dict_keys(d, &value, &len, &count), 0);
  EXPECT_EQ(unpack(value, len).size(), 3u);
  ASSERT_EQ(mproc_dict_pop(d, "c", 1, &value, &len), 0);
  EXPECT_EQ(take(value, len), "3");
  EXPECT_EQ(mproc_dict_pop(d, "c", 1, nullptr, nullptr), -ENOENT);
  EXPECT_EQ(mproc_dict_pop(d, "b", 1, nullptr, nullptr), 0);
  // The same dict by handle and by name from an attached Manager.
  char handle[MPROC_NAME_MAX];
  ASSERT_GT(mproc_dict_handle(d, handle, sizeof handle), 0);
  mproc_dict_t* by_handle = nullptr;
  ASSERT_EQ(mproc_dict_attach(handle, &by_handle), 0);
  EXPECT_EQ(mproc_dict_contains(by_handle, "a", 1), 1);
  char name[MPROC_NAME_MAX];
  ASSERT_GT(mproc_manager_name(m, name, sizeof name), 0);
  mproc_manager_t* attached = nullptr;
  ASSERT_EQ(mproc_manager_attach(name, &attached), 0);
  mproc_dict_t* by_name = nullptr;
  ASSERT_EQ(mproc_manager_dict(attached, "scores", &by_name), 0);
  EXPECT_EQ(mproc_dict_contains(by_name, "a", 1), 1);
  EXPECT_EQ(mproc_manager_dict(attached, "missing", &by_name), -ENOENT);
  EXPECT_EQ(mproc_dict_clear(d), 0);
  ASSERT_EQ(mproc_dict_size(by_name, &size), 0);
  EXPECT_EQ(size, 0u);
  for (auto* h : {d, by_handle, by_name}) EXPECT_EQ(mproc_dict_destroy(h), 0);
  EXPECT_EQ(mproc_manager_destroy(attached), 0);
  EXPECT_EQ(mproc_manager_shutdown(m), 0);
  EXPECT_EQ(mproc_manager_shutdown(m), 0);  // idempotent
  EXPECT_EQ(mproc_manager_dict(m, nullptr, &d), MPROC_ECLOSED);
  EXPECT_EQ(mproc_manager_attach(name, &attached), -ENOENT);
  EXPECT_EQ(mproc_manager_destroy(m), 0);
}

int compare_length(const void*, size_t a_len, const void*, size_t b_len, void* calls) {
  ++*static_cast<int*>(calls);
  return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

TEST_F(ManagerCapi, ListSlicesSearchesAndSorts) {
  mproc_list_t* l = nullptr;
  ASSERT_EQ(mproc_list_create(&l), 0);
  for (const char* v : {"d", "a", "ccc", "bb", "a"}) EXPECT_EQ(mproc_list_append(l, v, std::strlen(v)), 0);
  void* packed = nullptr;
  size_t len = 0, count = 0;
  ASSERT_EQ(mproc_list_slice(l, MPROC_SLICE_OMITTED, MPROC_SLICE_OMITTED, -2, &packed, &len, &count), 0);
  EXPECT_EQ(unpack(packed, len), (std::vector<std::string>{"a", "ccc", "d"}));
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(mproc_list_slice(l, 0, 3, 0, &packed, &len, &count), -EINVAL);
  EXPECT_EQ(mproc_list_contains(l, "bb", 2), 1);
  EXPECT_EQ(mproc_list_contains(l, "b", 1), 0);
  EXPECT_EQ(mproc_list_count(l, "a", 1, &count), 0);
  EXPECT_EQ(count, 2u);
  size_t index = 0;
  EXPECT_EQ(mproc_list_index(l, "a", 1, 2, MPROC_SLICE_OMITTED, &index), 0);
  EXPECT_EQ(index, 4u);
  EXPECT_EQ(mproc_list_index(l, "zz", 2, 0, MPROC_SLICE_OMITTED, &index), -ENOENT);
  EXPECT_EQ(mproc_list_remove(l, "a", 1), 0);
  EXPECT_EQ(mproc_list_remove(l, "zz", 2), -ENOENT);
  // d ccc bb a -> insert at -1 and past the end (clamped)
  EXPECT_EQ(mproc_list_insert(l, -1, "e", 1), 0);
  EXPECT_EQ(mproc_list_insert(l, 100, "f", 1), 0);
  const void* values[] = {"x", "yy"};
  const size_t lens[] = {1, 2};
  EXPECT_EQ(mproc_list_set_slice(l, 1, 3, 1, values, lens, 2), 0);  // d x yy e a f
  EXPECT_EQ(mproc_list_set_slice(l, 0, 6, 2, values, lens, 2), -EINVAL);
  EXPECT_EQ(mproc_list_del_slice(l, -2, MPROC_SLICE_OMITTED, 1), 0);  // d x yy e
  ASSERT_EQ(mproc_list_snapshot(l, &packed, &len, &count), 0);
  EXPECT_EQ(unpack(packed, len), (std::vector<std::string>{"d", "x", "yy", "e"}));
  int calls = 0;
  EXPECT_EQ(mproc_list_sort(l, compare_length, &calls, 1), 0);
  EXPECT_GT(calls, 0);
  ASSERT_EQ(mproc_list_snapshot(l, &packed, &len, &count), 0);
  EXPECT_EQ(unpack(packed, len), (std::vector<std::string>{"yy", "d", "x", "e"}));
  EXPECT_EQ(mproc_list_sort(l, nullptr, nullptr, 0), 0);
  EXPECT_EQ(mproc_list_reverse(l), 0);
  ASSERT_EQ(mproc_list_snapshot(l, &packed, &len, &count), 0);
  EXPECT_EQ(unpack(packed, len), (std::vector<std::string>{"yy", "x", "e", "d"}));
  EXPECT_EQ(mproc_list_set_slice(l, 0, 1, 1, nullptr, lens, 1), -EINVAL);
  EXPECT_EQ(mproc_list_sort(nullptr, nullptr, nullptr, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_list_destroy(l), 0);
}

TEST_F(ManagerCapi, ListAndNamespaceAndQueue) {
  mproc_manager_t* m = nullptr;
  ASSERT_EQ(mproc_manager_create(&m), 0);
  mproc_list_t* l = nullptr;
  ASSERT_EQ(mproc_manager_list(m, nullptr, &l), 0);
  EXPECT_EQ(mproc_list_append(l, "a", 1), 0);
  EXPECT_EQ(mproc_list_append(l, "c", 1), 0);
  EXPECT_EQ(mproc_list_insert(l, 1, "b", 1), 0);
  EXPECT_EQ(mproc_list_set(l, 0, "A", 1), 0);
  void* value = nullptr;
  size_t len = 0, count = 0, size = 0;
  ASSERT_EQ(mproc_list_get(l, 1, &value, &len), 0);
  EXPECT_EQ(take(value, len), "b");
  ASSERT_EQ(mproc_list_snapshot(l, &value, &len, &count), 0);
  EXPECT_EQ(unpack(value, len), (std::vector<std::string>{"A", "b", "c"}));
  EXPECT_EQ(count, 3u);
  ASSERT_EQ(mproc_list_pop(l, 0, &value, &len), 0);
  EXPECT_EQ(take(value, len), "A");
  EXPECT_EQ(mproc_list_pop(l, 1, nullptr, nullptr), 0);
  ASSERT_EQ(mproc_list_size(l, &size), 0);
  EXPECT_EQ(size, 1u);
  ASSERT_EQ(mproc_list_get(l, -1, &value, &len), 0);  // Python's negative index
  EXPECT_EQ(take(value, len), "b");
  EXPECT_EQ(mproc_list_get(l, -2, &value, &len), -ERANGE);
  EXPECT_EQ(mproc_list_get(l, 1, &value, &len), -ERANGE);
  EXPECT_EQ(mproc_list_set(l, 5, "x", 1), -ERANGE);
  EXPECT_EQ(mproc_list_pop(l, -3, nullptr, nullptr), -ERANGE);
  EXPECT_EQ(mproc_list_clear(l), 0);
  EXPECT_EQ(mproc_list_pop(l, 0, nullptr, nullptr), -ERANGE);

  mproc_namespace_t* ns = nullptr;
  ASSERT_EQ(mproc_manager_namespace(m, "cfg", &ns), 0);
  EXPECT_EQ(mproc_namespace_set(ns, "x", "42", 2), 0);
  ASSERT_EQ(mproc_namespace_get(ns, "x", &value, &len), 0);
  EXPECT_EQ(take(value, len), "42");
  EXPECT_EQ(mproc_namespace_has(ns, "x"), 1);
  EXPECT_EQ(mproc_namespace_get(ns, "y", &value, &len), -ENOENT);
  EXPECT_EQ(mproc_namespace_del(ns, "x"), 0);
  EXPECT_EQ(mproc_namespace_del(ns, "x"), -ENOENT);
  EXPECT_EQ(mproc_namespace_has(ns, "x"), 0);
  // A name holding another kind.
  mproc_dict_t* d = nullptr;
  EXPECT_EQ(mproc_manager_dict(m, "cfg", &d), MPROC_EBADHANDLE);

  mproc_queue_t* q = nullptr;
  ASSERT_EQ(mproc_manager_queue(m, "jobs", 0, &q), 0) << mproc_last_error_message();
  EXPECT_EQ(mproc_queue_put(q, "job", 3, MPROC_WAIT_FOREVER), 0);
  mproc_queue_t* same = nullptr;
  ASSERT_EQ(mproc_manager_queue(m, "jobs", 0, &same), 0);
  ASSERT_EQ(mproc_queue_get(same, 1000, &value, &len), 0);
  EXPECT_EQ(take(value, len), "job");
  EXPECT_EQ(mproc_manager_queue(m, nullptr, -1, &q), -EINVAL);
  expect_codes(0, {MPROC_CALL(mproc_queue_destroy(q)), MPROC_CALL(mproc_queue_destroy(same)),
                   MPROC_CALL(mproc_list_destroy(l)), MPROC_CALL(mproc_namespace_destroy(ns)),
                   MPROC_CALL(mproc_manager_destroy(m))});
}

TEST_F(ManagerCapi, ValuesArraysAndLocks) {
  mproc_manager_t* m = nullptr;
  ASSERT_EQ(mproc_manager_create(&m), 0) << mproc_last_error_message();
  mproc_array_t* a = nullptr;
  ASSERT_EQ(mproc_manager_array(m, "weights", sizeof(double), 0, 3, MPROC_ARRAY_LOCK, &a), 0)
      << mproc_last_error_message();
  const double w = 2.5;
  ASSERT_EQ(mproc_array_set(a, 2, &w, sizeof w), 0);
  // The same name is the same array, whatever shape is asked for later.
  mproc_array_t* same = nullptr;
  ASSERT_EQ(mproc_manager_array(m, "weights", sizeof(double), 0, 99, MPROC_ARRAY_LOCK, &same), 0);
  size_t count = 0;
  ASSERT_EQ(mproc_array_count(same, &count), 0);
  EXPECT_EQ(count, 3u);
  double got = 0;
  ASSERT_EQ(mproc_array_get(same, 2, &got, sizeof got), 0);
  EXPECT_EQ(got, 2.5);
  // A Value: an unnamed array of one element.
  mproc_array_t* v = nullptr;
  ASSERT_EQ(mproc_manager_array(m, nullptr, sizeof(int), 0, 1, 0, &v), 0);
  EXPECT_EQ(mproc_manager_array(m, nullptr, 0, 0, 1, 0, &v), -EINVAL);
  EXPECT_EQ(mproc_manager_array(m, nullptr, 4, 0, 1, 8, &v), -EINVAL);
  EXPECT_EQ(mproc_manager_array(m, "x", 4, 0, 1, 0, nullptr), -EINVAL);
  mproc_lock_t* l = nullptr;
  ASSERT_EQ(mproc_manager_lock(m, "mutex", &l), 0) << mproc_last_error_message();
  EXPECT_EQ(mproc_lock_acquire(l, 1000), 0);
  mproc_lock_t* l2 = nullptr;
  ASSERT_EQ(mproc_manager_lock(m, "mutex", &l2), 0);
  EXPECT_EQ(mproc_lock_acquire(l2, 0), MPROC_ETIMEDOUT);  // the same lock, already held
  EXPECT_EQ(mproc_lock_release(l), 0);
  expect_codes({
      {MPROC_CALL(mproc_manager_lock(m, "weights", &l2)), MPROC_EBADHANDLE},  // another kind
      {MPROC_CALL(mproc_manager_lock(nullptr, "mutex", &l2)), MPROC_EBADHANDLE},
  });
  expect_codes(0, {MPROC_CALL(mproc_lock_destroy(l)), MPROC_CALL(mproc_lock_destroy(l2)),
                   MPROC_CALL(mproc_array_destroy(a)), MPROC_CALL(mproc_array_destroy(same)),
                   MPROC_CALL(mproc_array_destroy(v)), MPROC_CALL(mproc_manager_destroy(m))});
}

TEST_F(ManagerCapi, StandaloneContainersAndAttachErrors) {
  mproc_dict_t* d = nullptr;
  mproc_list_t* l = nullptr;
  mproc_namespace_t* ns = nullptr;
  ASSERT_EQ(mproc_dict_create(&d), 0);
  ASSERT_EQ(mproc_list_create(&l), 0);
  ASSERT_EQ(mproc_namespace_create(&ns), 0);
  char dh[MPROC_NAME_MAX], lh[MPROC_NAME_MAX], nh[MPROC_NAME_MAX];
  ASSERT_GT(mproc_dict_handle(d, dh, sizeof dh), 0);
  ASSERT_GT(mproc_list_handle(l, lh, sizeof lh), 0);
  ASSERT_GT(mproc_namespace_handle(ns, nh, sizeof nh), 0);
  // Kind mismatches.
  mproc_dict_t* d2 = nullptr;
  mproc_list_t* l2 = nullptr;
  mproc_namespace_t* n2 = nullptr;
  mproc_manager_t* m2 = nullptr;
  expect_codes({
      {MPROC_CALL(mproc_dict_attach(lh, &d2)), MPROC_EBADHANDLE},
      {MPROC_CALL(mproc_list_attach(nh, &l2)), MPROC_EBADHANDLE},
      {MPROC_CALL(mproc_namespace_attach(dh, &n2)), MPROC_EBADHANDLE},
      {MPROC_CALL(mproc_manager_attach(dh, &m2)), MPROC_EBADHANDLE},
      // Missing and malformed names.
      {MPROC_CALL(mproc_dict_attach("/mproc-no-such-dict", &d2)), -ENOENT},
      {MPROC_CALL(mproc_list_attach("no-slash", &l2)), -EINVAL},
      {MPROC_CALL(mproc_namespace_attach("", &n2)), -EINVAL},
      {MPROC_CALL(mproc_manager_attach("/mproc-no-such-manager", &m2)), -ENOENT},
  });
  // A truncated handle copy still reports the full length.
  char small[4];
  EXPECT_EQ(mproc_dict_handle(d, small, sizeof small), static_cast<int>(std::strlen(dh)));
  EXPECT_EQ(std::strlen(small), 3u);
  EXPECT_EQ(mproc_dict_handle(d, nullptr, 0), static_cast<int>(std::strlen(dh)));
  EXPECT_EQ(mproc_dict_destroy(d), 0);
  EXPECT_EQ(mproc_list_destroy(l), 0);
  EXPECT_EQ(mproc_namespace_destroy(ns), 0);
  EXPECT_FALSE(shm_exists(dh));  // the creating handle's destroy removed the name
}

TEST_F(ManagerCapi, BadInput) {
  mproc_manager_t* m = nullptr;
  mproc_dict_t* d = nullptr;
  mproc_list_t* l = nullptr;
  mproc_namespace_t* ns = nullptr;
  void* value = nullptr;
  size_t len = 0, count = 0;
  // NULL out pointers and names.
  EXPECT_EQ(mproc_manager_create(nullptr), -EINVAL);
  EXPECT_EQ(mproc_manager_attach(nullptr, &m), -EINVAL);
  EXPECT_EQ(mproc_dict_create(nullptr), -EINVAL);
  EXPECT_EQ(mproc_dict_attach(nullptr, &d), -EINVAL);
  EXPECT_EQ(mproc_list_create(nullptr), -EINVAL);
  EXPECT_EQ(mproc_list_attach(nullptr, &l), -EINVAL);
  EXPECT_EQ(mproc_namespace_create(nullptr), -EINVAL);
  EXPECT_EQ(mproc_namespace_attach(nullptr, &ns), -EINVAL);
  // NULL handles.
  EXPECT_EQ(mproc_manager_dict(nullptr, nullptr, &d), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_manager_name(nullptr, nullptr, 0), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_dict_set(nullptr, "k", 1, "v", 1), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_list_append(nullptr, "v", 1), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_namespace_set(nullptr, "a", "v", 1), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_manager_destroy(nullptr), 0);
  EXPECT_EQ(mproc_dict_destroy(nullptr), 0);
  EXPECT_EQ(mproc_list_destroy(nullptr), 0);
  EXPECT_EQ(mproc_namespace_destroy(nullptr), 0);

  ASSERT_EQ(mproc_manager_create(&m), 0);
  ASSERT_EQ(mproc_manager_dict(m, nullptr, &d), 0);
  ASSERT_EQ(mproc_manager_list(m, nullptr, &l), 0);
  ASSERT_EQ(mproc_manager_namespace(m, nullptr, &ns), 0);
  // NULL data with a length; NULL outputs.
  EXPECT_EQ(mproc_dict_set(d, nullptr, 3, "v", 1), -EINVAL);
  EXPECT_EQ(mproc_dict_set(d, "k", 1, nullptr, 5), -EINVAL);
  EXPECT_EQ(mproc_dict_get(d, "k", 1, nullptr, &len), -EINVAL);
  EXPECT_EQ(mproc_dict_get(d, "k", 1, &value, nullptr), -EINVAL);
  EXPECT_EQ(mproc_dict_size(d, nullptr), -EINVAL);
  EXPECT_EQ(mproc_dict_items(d, &value, &len, nullptr), -EINVAL);
  EXPECT_EQ(mproc_dict_contains(d, nullptr, 2), -EINVAL);
  EXPECT_EQ(mproc_list_append(l, nullptr, 2), -EINVAL);
  EXPECT_EQ(mproc_list_get(l, 0, nullptr, &len), -EINVAL);
  EXPECT_EQ(mproc_list_snapshot(l, &value, &len, nullptr), -EINVAL);
  EXPECT_EQ(mproc_namespace_set(ns, nullptr, "v", 1), -EINVAL);
  EXPECT_EQ(mproc_namespace_get(ns, nullptr, &value, &len), -EINVAL);
  EXPECT_EQ(mproc_namespace_has(ns, nullptr), -EINVAL);
  EXPECT_EQ(mproc_manager_name(m, nullptr, 10), -EINVAL);
  EXPECT_EQ(mproc_manager_dict(m, nullptr, nullptr), -EINVAL);
  // Foreign handles: one kind passed as another.
  EXPECT_EQ(mproc_dict_set(reinterpret_cast<mproc_dict_t*>(l), "k", 1, "v", 1), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_list_append(reinterpret_cast<mproc_list_t*>(d), "v", 1), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_namespace_has(reinterpret_cast<mproc_namespace_t*>(m), "a"), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_manager_shutdown(reinterpret_cast<mproc_manager_t*>(d)), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_dict_destroy(reinterpret_cast<mproc_dict_t*>(ns)), MPROC_EBADHANDLE);
  // Destroyed handles.
  EXPECT_EQ(mproc_dict_destroy(d), 0);
  EXPECT_EQ(mproc_dict_set(d, "k", 1, "v", 1), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_dict_destroy(d), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_list_destroy(l), 0);
  EXPECT_EQ(mproc_list_size(l, &count), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_namespace_destroy(ns), 0);
  EXPECT_EQ(mproc_namespace_has(ns, "a"), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_manager_destroy(m), 0);
  EXPECT_EQ(mproc_manager_dict(m, nullptr, &d), MPROC_EBADHANDLE);
  EXPECT_EQ(mproc_manager_destroy(m), MPROC_EBADHANDLE);
}

}  // namespace
}  // namespace mproc::test
