/* Shared memory, values / arrays and the attachable sync objects through the C ABI: round trips,
 * a child that attaches by handle, and every kind of bad input (NULL, destroyed handles, wrong
 * sizes, missing names, wrong kinds, double unlink). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"

static char g_handle[MPROC_NAME_MAX];

static void unique_name(char *buf, size_t len, const char *what) {
  snprintf(buf, len, "/mproc-%d-ctest-%s", (int)getpid(), what);
}

static void shm_round_trip_and_verbs(void) {
  char name[MPROC_NAME_MAX];
  unique_name(name, sizeof name, "verbs");
  mproc_shm_t *a = NULL;
  mproc_shm_t *b = NULL;
  REQUIRE_INT(mproc_shm_create(name + 1, 4096, &a), 0); /* without the slash: the same name */
  char got[MPROC_NAME_MAX];
  CHECK_INT(mproc_shm_name(a, got, sizeof got), (long long)strlen(name));
  CHECK_STR(got, name);
  CHECK_INT(mproc_shm_name(a, NULL, 0), (long long)strlen(name));
  REQUIRE_INT(mproc_shm_attach(name, &b), 0);
  void *pa = NULL;
  void *pb = NULL;
  size_t size = 0;
  CHECK_INT(mproc_shm_buf(a, &pa), 0);
  CHECK_INT(mproc_shm_buf(b, &pb), 0);
  CHECK_INT(mproc_shm_size(b, &size), 0);
  CHECK_INT(size, 4096);
  if (pa != NULL && pb != NULL) {
    ((char *)pa)[4095] = 'q';
    CHECK_INT(((char *)pb)[4095], 'q');
  }
  CHECK_INT(mproc_shm_close(b), 0);
  CHECK_INT(mproc_shm_close(b), 0);
  CHECK_INT(mproc_shm_buf(b, &pb), MPROC_ECLOSED);
  CHECK_INT(mproc_shm_size(b, &size), 0); /* still known after close */
  CHECK_INT(mproc_shm_unlink(b), 0);      /* any process may unlink, as in Python */
  CHECK_INT(mproc_shm_unlink(a), -ENOENT);
  CHECK_INT(mproc_shm_attach(name, &b), -ENOENT);
  CHECK_INT(mproc_shm_destroy(b), 0);
  CHECK_INT(mproc_shm_destroy(a), 0);
}

static void shm_bad_input(void) {
  char name[MPROC_NAME_MAX];
  unique_name(name, sizeof name, "bad");
  mproc_shm_t *s = NULL;
  CHECK_INT(mproc_shm_create(name, 16, NULL), -EINVAL);
  CHECK_INT(mproc_shm_create(name, 0, &s), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_shm_create"));
  CHECK_INT(mproc_shm_create(name, -5, &s), -EINVAL);
  CHECK_INT(mproc_shm_create("/a/b", 16, &s), -EINVAL);
  char longer[300];
  memset(longer, 'x', sizeof longer - 1);
  longer[0] = '/';
  longer[sizeof longer - 1] = '\0';
  CHECK_INT(mproc_shm_create(longer, 16, &s), -EINVAL);
  CHECK_INT(mproc_shm_attach(NULL, &s), -EINVAL);
  CHECK_INT(mproc_shm_attach(name, NULL), -EINVAL);
  CHECK_INT(mproc_shm_attach(name, &s), -ENOENT);
  CHECK(s == NULL);
  REQUIRE_INT(mproc_shm_create(name, 16, &s), 0);
  mproc_shm_t *again = NULL;
  CHECK_INT(mproc_shm_create(name, 16, &again), -EEXIST);
  CHECK(again == NULL);
  void *p = NULL;
  size_t size = 0;
  CHECK_INT(mproc_shm_buf(s, NULL), -EINVAL);
  CHECK_INT(mproc_shm_size(s, NULL), -EINVAL);
  CHECK_INT(mproc_shm_name(s, NULL, 8), -EINVAL);
  CHECK_INT(mproc_shm_unlink(s), 0);
  CHECK_INT(mproc_shm_unlink(s), -ENOENT); /* double unlink */
  CHECK_INT(mproc_shm_destroy(s), 0);
  /* NULL and destroyed handles. */
  mproc_shm_t *handles[] = {NULL, s};
  for (size_t i = 0; i < 2; ++i) {
    CHECK_INT(mproc_shm_buf(handles[i], &p), MPROC_EBADHANDLE);
    CHECK_INT(mproc_shm_size(handles[i], &size), MPROC_EBADHANDLE);
    CHECK_INT(mproc_shm_name(handles[i], NULL, 0), MPROC_EBADHANDLE);
    CHECK_INT(mproc_shm_close(handles[i]), MPROC_EBADHANDLE);
    CHECK_INT(mproc_shm_unlink(handles[i]), MPROC_EBADHANDLE);
  }
  CHECK(contains(mproc_last_error_message(), "mproc_shm_unlink"));
  CHECK_INT(mproc_shm_destroy(NULL), 0);
  CHECK_INT(mproc_shm_destroy(s), MPROC_EBADHANDLE);
  /* A handle of another type. */
  mproc_lock_t *lock = NULL;
  REQUIRE_INT(mproc_lock_create(&lock), 0);
  CHECK_INT(mproc_shm_close((mproc_shm_t *)lock), MPROC_EBADHANDLE);
  CHECK_INT(mproc_lock_destroy(lock), 0);
}

/* The child: attaches the array named in g_handle, adds 1 to each of its 4 int64 under the lock. */
static int child_adds_one(void *user_data) {
  (void)user_data;
  mproc_array_t *a = NULL;
  if (mproc_array_attach(g_handle, &a) != 0) return 1;
  int rc = mproc_array_acquire(a, TEST_WAIT_MS) == 0 ? 0 : 2;
  for (size_t i = 0; i < 4 && rc == 0; ++i) {
    int64_t v = 0;
    if (mproc_array_get(a, i, &v, sizeof v) != 0) rc = 3;
    ++v;
    if (mproc_array_set(a, i, &v, sizeof v) != 0) rc = 4;
  }
  if (mproc_array_release(a) != 0 && rc == 0) rc = 5;
  mproc_array_destroy(a);
  return rc;
}

static void array_round_trip_and_child(void) {
  mproc_array_t *a = NULL;
  REQUIRE_INT(mproc_array_create(sizeof(int64_t), 0, 4, MPROC_ARRAY_LOCK, &a), 0);
  size_t n = 0;
  CHECK_INT(mproc_array_count(a, &n), 0);
  CHECK_INT(n, 4);
  CHECK_INT(mproc_array_element_size(a, &n), 0);
  CHECK_INT(n, 8);
  CHECK_INT(mproc_array_has_lock(a), 1);
  for (int64_t i = 0; i < 4; ++i) CHECK_INT(mproc_array_set(a, (size_t)i, &i, sizeof i), 0);
  CHECK(mproc_array_handle(a, g_handle, sizeof g_handle) > 0);
  CHECK(mproc_array_handle(a, g_handle, sizeof g_handle) < MPROC_HANDLE_MAX);
  mproc_process_t *child = start_process(child_adds_one, NULL);
  REQUIRE(child != NULL);
  CHECK_INT(mproc_process_join(child, TEST_WAIT_MS), 0);
  int code = -1;
  CHECK_INT(mproc_process_exitcode(child, &code), 1);
  CHECK_INT(code, 0);
  CHECK_INT(mproc_process_destroy(child), 0);
  int64_t *data = NULL;
  CHECK_INT(mproc_array_data(a, (void **)&data), 0);
  if (data != NULL)
    for (int64_t i = 0; i < 4; ++i) CHECK_INT(data[i], i + 1);
  /* The lock is recursive and owned. */
  CHECK_INT(mproc_array_acquire(a, 0), 0);
  CHECK_INT(mproc_array_acquire(a, 0), 0);
  CHECK_INT(mproc_array_release(a), 0);
  CHECK_INT(mproc_array_release(a), 0);
  CHECK_INT(mproc_array_release(a), MPROC_ESTATE);
  CHECK_INT(mproc_array_destroy(a), 0);
}

static void array_bad_input(void) {
  mproc_array_t *a = NULL;
  CHECK_INT(mproc_array_create(0, 0, 4, 0, &a), -EINVAL);
  CHECK_INT(mproc_array_create(8, 3, 4, 0, &a), -EINVAL);
  CHECK_INT(mproc_array_create(8, 128, 4, 0, &a), -EINVAL);
  CHECK_INT(mproc_array_create(8, 0, 4, 4, &a), -EINVAL);
  CHECK_INT(mproc_array_create(8, 0, SIZE_MAX / 4, 0, &a), -EINVAL);
  CHECK_INT(mproc_array_create(8, 0, 4, 0, NULL), -EINVAL);
  CHECK(a == NULL);
  REQUIRE_INT(mproc_array_create(4, 4, 2, 0, &a), 0); /* a RawArray */
  int32_t v = 7;
  int64_t wide = 0;
  CHECK_INT(mproc_array_has_lock(a), 0);
  CHECK_INT(mproc_array_acquire(a, 0), MPROC_ESTATE);
  CHECK_INT(mproc_array_release(a), MPROC_ESTATE);
  CHECK_INT(mproc_array_set(a, 0, &wide, sizeof wide), -EINVAL); /* wrong size */
  CHECK_INT(mproc_array_get(a, 0, &wide, sizeof wide), -EINVAL);
  CHECK_INT(mproc_array_set(a, 2, &v, sizeof v), -ERANGE);
  CHECK_INT(mproc_array_get(a, 2, &v, sizeof v), -ERANGE);
  CHECK_INT(mproc_array_set(a, 0, NULL, sizeof v), -EINVAL);
  CHECK_INT(mproc_array_get(a, 0, NULL, sizeof v), -EINVAL);
  CHECK_INT(mproc_array_acquire(NULL, 0), MPROC_EBADHANDLE);
  CHECK_INT(mproc_array_data(a, NULL), -EINVAL);
  CHECK_INT(mproc_array_count(a, NULL), -EINVAL);
  CHECK_INT(mproc_array_handle(a, NULL, 4), -EINVAL);
  char handle[MPROC_HANDLE_MAX];
  CHECK(mproc_array_handle(a, handle, sizeof handle) > 0);
  mproc_array_t *b = NULL;
  CHECK_INT(mproc_array_attach(NULL, &b), -EINVAL);
  CHECK_INT(mproc_array_attach(handle, NULL), -EINVAL);
  CHECK_INT(mproc_array_attach("/no-such-mproc-array", &b), -ENOENT);
  CHECK_INT(mproc_array_attach("not/a/handle", &b), -EINVAL);
  CHECK_INT(mproc_array_destroy(a), 0);
  CHECK_INT(mproc_array_attach(handle, &b), -ENOENT); /* the creator's last handle is gone */
  CHECK(b == NULL);
  CHECK_INT(mproc_array_set(a, 0, &v, sizeof v), MPROC_EBADHANDLE);
  CHECK_INT(mproc_array_get(a, 0, &v, sizeof v), MPROC_EBADHANDLE);
  CHECK_INT(mproc_array_destroy(a), MPROC_EBADHANDLE);
  CHECK_INT(mproc_array_destroy(NULL), 0);
  /* A lock's handle is not an array's. */
  mproc_lock_t *lock = NULL;
  REQUIRE_INT(mproc_lock_create_attachable(&lock), 0);
  CHECK(mproc_lock_handle(lock, handle, sizeof handle) > 0);
  CHECK_INT(mproc_array_attach(handle, &b), MPROC_EBADHANDLE);
  CHECK_INT(mproc_lock_destroy(lock), 0);
}

static void sync_handles_and_attach(void) {
  char h[MPROC_HANDLE_MAX];
  mproc_lock_t *lock = NULL, *lock2 = NULL;
  REQUIRE_INT(mproc_lock_create_attachable(&lock), 0);
  CHECK(mproc_lock_handle(lock, h, sizeof h) > 0);
  REQUIRE_INT(mproc_lock_attach(h, &lock2), 0);
  CHECK_INT(mproc_lock_acquire(lock, 0), 0);
  CHECK_INT(mproc_lock_acquire(lock2, 0), MPROC_ETIMEDOUT); /* the same lock */
  CHECK_INT(mproc_lock_release(lock2), 0);                  /* same thread: it owns it */
  mproc_rlock_t *rlock = NULL;
  CHECK_INT(mproc_rlock_attach(h, &rlock), MPROC_EBADHANDLE); /* a Lock, not an RLock */
  CHECK_INT(mproc_lock_destroy(lock2), 0);
  CHECK_INT(mproc_lock_destroy(lock), 0);

  REQUIRE_INT(mproc_rlock_create_attachable(&rlock), 0);
  CHECK(mproc_rlock_handle(rlock, h, sizeof h) > 0);
  mproc_rlock_t *rlock2 = NULL;
  CHECK_INT(mproc_rlock_attach(h, &rlock2), 0);
  CHECK_INT(mproc_rlock_destroy(rlock2), 0);
  CHECK_INT(mproc_rlock_destroy(rlock), 0);

  mproc_semaphore_t *sem = NULL, *sem2 = NULL;
  REQUIRE_INT(mproc_semaphore_create_attachable(1, 1, &sem), 0);
  CHECK(mproc_semaphore_handle(sem, h, sizeof h) > 0);
  REQUIRE_INT(mproc_semaphore_attach(h, &sem2), 0);
  CHECK_INT(mproc_semaphore_release(sem2), MPROC_ESTATE); /* still bounded */
  CHECK_INT(mproc_semaphore_acquire(sem2, 0), 0);
  CHECK_INT(mproc_semaphore_value(sem), 0);
  CHECK_INT(mproc_semaphore_destroy(sem2), 0);
  CHECK_INT(mproc_semaphore_destroy(sem), 0);

  mproc_event_t *ev = NULL, *ev2 = NULL;
  REQUIRE_INT(mproc_event_create_attachable(&ev), 0);
  CHECK(mproc_event_handle(ev, h, sizeof h) > 0);
  REQUIRE_INT(mproc_event_attach(h, &ev2), 0);
  CHECK_INT(mproc_event_set(ev2), 0);
  CHECK_INT(mproc_event_is_set(ev), 1);
  mproc_condition_t *c = NULL;
  CHECK_INT(mproc_condition_attach(h, &c), MPROC_EBADHANDLE); /* an event */
  CHECK_INT(mproc_event_destroy(ev2), 0);
  CHECK_INT(mproc_event_destroy(ev), 0);

  mproc_condition_t *c2 = NULL;
  REQUIRE_INT(mproc_condition_create_attachable(&c), 0);
  CHECK(mproc_condition_handle(c, h, sizeof h) > 0);
  REQUIRE_INT(mproc_condition_attach(h, &c2), 0);
  CHECK_INT(mproc_condition_acquire(c, 0), 0);
  /* The lock taken through c is the one c2 waits with: the wait is allowed and times out. */
  CHECK_INT(mproc_condition_wait(c2, 0), MPROC_ETIMEDOUT);
  CHECK_INT(mproc_condition_release(c), 0);
  CHECK_INT(mproc_condition_destroy(c2), 0);
  CHECK_INT(mproc_condition_destroy(c), 0);

  mproc_barrier_t *bar = NULL, *bar2 = NULL;
  REQUIRE_INT(mproc_barrier_create_attachable(2, NULL, NULL, MPROC_WAIT_FOREVER, &bar), 0);
  CHECK(mproc_barrier_handle(bar, h, sizeof h) > 0);
  CHECK_INT(mproc_barrier_attach(h, NULL, NULL, -2, &bar2), -EINVAL);
  REQUIRE_INT(mproc_barrier_attach(h, NULL, NULL, MPROC_WAIT_FOREVER, &bar2), 0);
  CHECK_INT(mproc_barrier_parties(bar2), 2);
  CHECK_INT(mproc_barrier_abort(bar2), 0);
  CHECK_INT(mproc_barrier_broken(bar), 1);
  CHECK_INT(mproc_barrier_destroy(bar2), 0);
  CHECK_INT(mproc_barrier_destroy(bar), 0);
}

static void sync_handle_bad_input(void) {
  char h[MPROC_HANDLE_MAX];
  mproc_lock_t *lock = NULL;
  REQUIRE_INT(mproc_lock_create_attachable(&lock), 0);
  CHECK_INT(mproc_lock_handle(lock, NULL, sizeof h), -EINVAL);
  CHECK(contains(mproc_last_error_message(), "mproc_lock_handle"));
  CHECK_INT(mproc_lock_destroy(lock), 0);
  CHECK_INT(mproc_lock_handle(lock, h, sizeof h), MPROC_EBADHANDLE); /* destroyed */
  CHECK_INT(mproc_lock_handle(NULL, h, sizeof h), MPROC_EBADHANDLE);
  CHECK_INT(mproc_rlock_handle(NULL, h, sizeof h), MPROC_EBADHANDLE);
  CHECK_INT(mproc_semaphore_handle(NULL, h, sizeof h), MPROC_EBADHANDLE);
  CHECK_INT(mproc_event_handle(NULL, h, sizeof h), MPROC_EBADHANDLE);
  CHECK_INT(mproc_condition_handle(NULL, h, sizeof h), MPROC_EBADHANDLE);
  CHECK_INT(mproc_barrier_handle(NULL, h, sizeof h), MPROC_EBADHANDLE);
  CHECK_INT(mproc_lock_attach(NULL, &lock), -EINVAL);
  REQUIRE_INT(mproc_lock_create_attachable(&lock), 0);
  CHECK_INT(mproc_lock_handle(lock, NULL, 5), -EINVAL);
  CHECK(mproc_lock_handle(lock, h, sizeof h) > 0);
  CHECK_INT(mproc_lock_attach(h, NULL), -EINVAL);
  mproc_rlock_t *r = NULL;
  mproc_semaphore_t *s = NULL;
  mproc_event_t *e = NULL;
  mproc_condition_t *c = NULL;
  mproc_barrier_t *b = NULL;
  CHECK_INT(mproc_rlock_attach(h, &r), MPROC_EBADHANDLE);
  CHECK_INT(mproc_semaphore_attach(h, &s), MPROC_EBADHANDLE);
  CHECK_INT(mproc_event_attach(h, &e), MPROC_EBADHANDLE);
  CHECK_INT(mproc_condition_attach(h, &c), MPROC_EBADHANDLE);
  CHECK_INT(mproc_barrier_attach(h, NULL, NULL, MPROC_WAIT_FOREVER, &b), MPROC_EBADHANDLE);
  CHECK(r == NULL && s == NULL && e == NULL && c == NULL && b == NULL);
  CHECK_INT(mproc_lock_destroy(lock), 0);
  CHECK_INT(mproc_lock_attach(h, &lock), -ENOENT); /* its creator destroyed it */
  CHECK_INT(mproc_lock_attach("/no-such-mproc-lock", &lock), -ENOENT);
  CHECK_INT(mproc_event_attach("", &e), -EINVAL);
}

static const test_case kTests[] = {
    {"shm_round_trip_and_verbs", shm_round_trip_and_verbs},
    {"shm_bad_input", shm_bad_input},
    {"array_round_trip_and_child", array_round_trip_and_child},
    {"array_bad_input", array_bad_input},
    {"sync_handles_and_attach", sync_handles_and_attach},
    {"sync_handle_bad_input", sync_handle_bad_input},
};

const test_group shm_group = {"shm", kTests, sizeof kTests / sizeof kTests[0]};
