// Manager: Python's factories, names found from other processes, ownership and shutdown.
#include <mproc/manager.hpp>
#include <mproc/pool.hpp>

#include <algorithm>
#include <map>
#include <ranges>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

#include "manager_test_support.hpp"
#include "support/expect_error.hpp"
#include "support/gate.hpp"

namespace mproc::test {
namespace {

using ManagerApiTest = ManagerTest;

TEST_F(ManagerApiTest, FactoriesWithPythonsNames) {
  Manager m;
  EXPECT_TRUE(m.owner());
  auto d = m.dict<std::string, int>();
  auto l = m.list<std::string>();
  auto ns = m.Namespace();
  auto q = m.Queue();
  d.set("a", 1);
  l.append("x");
  ns.set("flag", true);
  q.put(std::string("hello"));
  EXPECT_EQ(d.get("a"), 1);
  EXPECT_EQ(l.get(0), "x");
  EXPECT_TRUE(ns.get<bool>("flag"));
  EXPECT_EQ(q.get<std::string>(), "hello");
  // Unnamed containers are distinct.
  auto d2 = m.dict<std::string, int>();
  EXPECT_NE(d.handle(), d2.handle());
  EXPECT_FALSE(d2.contains("a"));
}

TEST_F(ManagerApiTest, NamedContainersAreFoundByAnyProcess) {
  Manager m;
  auto scores = m.dict<std::string, int>("scores");
  scores.set("alice", 3);
  EXPECT_EQ((m.dict<std::string, int>("scores").handle()), scores.handle());
  auto log = m.list<int>("log");
  auto q = m.Queue("jobs");
  auto ns = m.Namespace("config");
  ns.set("level", 2);
  auto names = m.names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"config", "jobs", "log", "scores"}));
  const std::string name = m.name();
  run_children(3, [&](int c) {
    // A process that knows only the Manager's name.
    auto attached = Manager::attach(name);
    require(!attached.owner(), "an attached Manager claims ownership");
    attached.dict<std::string, int>("scores").set("child" + std::to_string(c), c);
    attached.list<int>("log").append(c);
    require(attached.Namespace("config").get<int>("level") == 2, "namespace value");
    attached.Queue("jobs").put(c);
  });
  EXPECT_EQ(scores.size(), 4u);
  EXPECT_EQ(scores.get("child2"), 2);
  EXPECT_EQ(log.size(), 3u);
  int sum = 0;
  for (int i = 0; i < 3; ++i) sum += q.get<int>(true, Seconds(30));
  EXPECT_EQ(sum, 3);
}

TEST_F(ManagerApiTest, AttachedManagersFindButDoNotCreateNamesAndKindsAreChecked) {
  Manager m;
  auto l = m.list<int>("things");
  auto attached = Manager::attach(m.name());
  try {
    (void)attached.dict<std::string, int>("nope");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), std::make_error_code(std::errc::no_such_file_or_directory));
  }
  try {
    (void)m.dict<std::string, int>("things");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::bad_handle));
    EXPECT_NE(std::string(e.what()).find("is a list"), std::string::npos) << e.what();
  }
  // An attached Manager's own unnamed containers are its own.
  std::string handle;
  {
    auto mine = attached.bytes_dict();
    handle = mine.handle();
  }
  EXPECT_TRUE(shm_exists(handle));
  attached.shutdown();
  EXPECT_FALSE(shm_exists(handle));
  EXPECT_TRUE(shm_exists(m.name()));  // the attached Manager's shutdown removes only its own
}

TEST_F(ManagerApiTest, ShutdownRemovesEveryNameButUsersKeepTheirContainers) {
  auto m = std::make_unique<Manager>();
  auto d = m->dict<std::string, int>("d");
  auto l = m->list<int>();
  auto q = m->Queue();
  d.set("k", 1);
  const std::string name = m->name(), dh = d.handle(), lh = l.handle(), qh = q.handle();
  for (const auto& h : {name, dh, lh, qh}) EXPECT_TRUE(shm_exists(h)) << h;
  m->shutdown();
  for (const auto& h : {name, dh, lh, qh}) EXPECT_FALSE(shm_exists(h)) << h;
  EXPECT_THROW((void)m->bytes_dict(), Error);
  EXPECT_THROW((void)Manager::attach(name), Error);
  d.set("k2", 2);  // still mapped here
  EXPECT_EQ(d.size(), 2u);
  l.append(5);
  EXPECT_EQ(l.get(0), 5);
  m.reset();  // destruction after shutdown: nothing more to do
}

int add_to_shared(std::string handle, int value) {
  auto d = Dict<int, int>::attach(handle);
  d.set(value, value * value);
  return value;
}

TEST_F(ManagerApiTest, PoolWorkersUseAContainerByHandle) {
  Manager m;
  auto d = m.dict<int, int>();
  {
    Pool pool(2);
    std::vector<AsyncResult<int>> results;
    for (int i = 0; i < 10; ++i) results.push_back(pool.apply_async(add_to_shared, d.handle(), i));
    for (auto& r : results) (void)r.get();
    pool.close();
    pool.join();
  }
  EXPECT_EQ(d.size(), 10u);
  EXPECT_EQ(d.get(9), 81);
}

// The tutorial's pool task: attaches the queue it is given by handle and puts its result.
void put_square(std::string queue_handle, int i) {
  auto q = Queue::attach(queue_handle);
  q.put(i * i);
}

TEST_F(ManagerApiTest, ATemporaryManagersQueueStaysUsableWhileAnyProcessHoldsIt) {
  // Python: q = Manager().Queue(10); pool tasks get q.
  auto q = Manager().Queue(10);
  EXPECT_TRUE(shm_exists(q.handle()));
  {
    Pool pool(2);
    std::vector<AsyncResult<void>> results;
    for (int i = 0; i < 10; ++i) results.push_back(pool.apply_async(put_square, q.handle(), i));
    for (auto& r : results) r.get();  // ENOENT here if the Manager took the queue with it
  }
  int sum = 0;
  for (int i = 0; i < 10; ++i) sum += q.get<int>(true, Seconds(30));
  EXPECT_EQ(sum, 285);
  // The last holder removes the name, wherever it is: here, a child that attached it.
  const std::string handle = q.handle();
  auto list = Manager().list<int>({1, 2, 3});
  const std::string list_handle = list.handle();
  run_children(1, [&](int) {
    auto mine = List<int>::attach(list_handle);
    mine.append(4);
  });
  EXPECT_EQ(list.snapshot(), (std::vector<int>{1, 2, 3, 4}));
  q = Queue();
  EXPECT_FALSE(shm_exists(handle));
  {
    auto attached = List<int>::attach(list_handle);
    list = List<int>();  // not the last holder: the name stays
    EXPECT_TRUE(shm_exists(list_handle));
    EXPECT_EQ(attached.size(), 4u);
  }
  EXPECT_FALSE(shm_exists(list_handle));
}

// Issue 13 item 2, the Manager half, for a Process child that only inherited the object through
// fork: it takes a reference of its own at fork (ForkStage::segment_references), so when the
// parent drops the object the name stays while the child lives, and the child can still hand it
// on (attach); the child gives its reference back before its _exit, and the name goes.
TEST_F(ManagerApiTest, AChildThatOnlyInheritedAnObjectKeepsItsName) {
  auto d = std::make_unique<BytesDict>(Manager().bytes_dict());
  d->set("k", "v");
  const std::string handle = d->handle();
  Gate go;
  Process child([&] {
    if (!go.pass()) throw SystemExit(2);
    const bool inherited_works = d->get("k") == std::optional<std::string>("v");
    const bool attach_works =
        error_of([&] { BytesDict::attach(handle).set("from", "child"); }) == std::error_code();
    if (!inherited_works || !attach_works) throw SystemExit(1);
  });
  child.start();
  d.reset();  // only the child holds the dict now
  EXPECT_TRUE(shm_exists(handle));
  go.open();
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_FALSE(shm_exists(handle));  // the child's reference went before its exit
}

// A child of a raw fork() ends with _exit and cannot give a reference back, so it takes none:
// the parent's release removes the name, and the child keeps its inherited mapping only.
TEST_F(ManagerApiTest, ARawForkChildTakesNoReference) {
  auto d = std::make_unique<BytesDict>(Manager().bytes_dict());
  d->set("k", "v");
  const std::string handle = d->handle();
  Gate go;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!go.pass()) ::_exit(2);
    const bool inherited_works = d->get("k") == std::optional<std::string>("v");
    ::_exit(inherited_works ? 0 : 1);
  }
  d.reset();
  EXPECT_FALSE(shm_exists(handle));
  go.open();
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

TEST_F(ManagerApiTest, ADestroyedManagersNamesLiveWhileHeldAndShutdownStillRemovesThem) {
  std::string dh, registry;
  Dict<std::string, int> d;
  {
    Manager m;
    registry = m.name();
    d = m.dict<std::string, int>("scores");
    dh = d.handle();
    auto attached = Manager::attach(registry);
    (void)attached;
  }
  EXPECT_TRUE(shm_exists(dh));  // d holds it
  EXPECT_FALSE(shm_exists(registry));  // nobody holds the registry any more
  run_children(1, [&](int) { Dict<std::string, int>::attach(dh).set("child", 1); });
  EXPECT_EQ(d.get("child"), 1);
  d.close();
  EXPECT_FALSE(shm_exists(dh));
  // shutdown() is Python's: the names go at once, held or not.
  Manager m;
  auto l = m.list<int>();
  m.shutdown();
  EXPECT_FALSE(shm_exists(l.handle()));
  l.append(1);  // still mapped here
  EXPECT_EQ(l.size(), 1u);
}

TEST_F(ManagerApiTest, DictAndListTakeInitialContents) {
  Manager m;
  auto d = m.dict<std::string, int>({{"b", 2}, {"a", 1}});
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "a"}));
  const std::vector<std::pair<std::string, int>> pairs{{"x", 10}, {"y", 20}};
  auto from_range = m.dict<std::string, int>(pairs);
  EXPECT_EQ(from_range.get("y"), 20);
  const std::map<int, double> sorted{{2, 0.5}, {1, 1.5}};
  auto from_map = m.dict<int, double>(sorted, "named");
  EXPECT_EQ(from_map.keys(), (std::vector<int>{1, 2}));
  // A named one that exists already is returned as it is.
  auto again = m.dict<int, double>(std::map<int, double>{{9, 9.0}}, "named");
  EXPECT_EQ(again.size(), 2u);
  auto l = m.list<std::string>({"a", "b"});
  EXPECT_EQ(l.snapshot(), (std::vector<std::string>{"a", "b"}));
  const std::vector<int> values{3, 1, 2};
  auto from_vector = m.list<int>(values);
  EXPECT_EQ(from_vector.snapshot(), values);
  auto from_view = m.list<int>(values | std::views::reverse);
  EXPECT_EQ(from_view.snapshot(), (std::vector<int>{2, 1, 3}));
  auto named = m.list<std::string>("plain name");  // still a name, not a range of chars
  EXPECT_TRUE(named.snapshot().empty());
}

// A pool task: increments a Manager Value and appends to a Manager Array slot, under the Value's
// lock and a Manager Lock, both attached by handle.
int count_under_lock(std::string value_handle, std::string array_handle, std::string lock_handle,
                     int slot) {
  auto counter = Value<long>::attach(value_handle);
  auto hits = Array<int>::attach(array_handle);
  auto lock = Lock::attach(lock_handle);
  for (int i = 0; i < 100; ++i) {
    std::lock_guard g(counter);
    *counter.get_obj() += 1;
  }
  std::lock_guard g(lock);
  hits.set(static_cast<size_t>(slot), hits.get(static_cast<size_t>(slot)) + 1);
  return slot;
}

TEST_F(ManagerApiTest, ValueArrayAndLockFactoriesShareWithPoolWorkers) {
  Manager m;
  auto counter = m.Value<long>(0);
  auto hits = m.Array<int>(4);
  auto lock = m.Lock();
  auto rlock = m.RLock();
  EXPECT_TRUE(counter.has_lock());
  {
    Pool pool(2);
    std::vector<AsyncResult<int>> results;
    for (int i = 0; i < 20; ++i)
      results.push_back(pool.apply_async(count_under_lock, counter.handle(), hits.handle(),
                                         lock.handle(), i % 4));
    for (auto& r : results) (void)r.get(Seconds(60));
    pool.close();
    pool.join();
  }
  EXPECT_EQ(counter.get(), 2000);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(hits.get(i), 5);
  {
    std::lock_guard g1(rlock);
    std::lock_guard g2(rlock);  // recursive
  }
  // Named ones are created once and found again, by kind and element type.
  const std::vector<double> init{1.5, 2.5};
  auto named = m.Array<double>(std::span<const double>(init), "weights");
  EXPECT_EQ((m.Array<double>(std::size_t{7}, "weights").handle()), named.handle());
  EXPECT_EQ(m.Array<double>(std::size_t{7}, "weights").get(1), 2.5);
  m.Value<int>(5, "answer");
  EXPECT_EQ(m.Value<int>(0, "answer").get(), 5);
  EXPECT_EQ(m.Lock("mutex").handle(), m.Lock("mutex").handle());
  try {
    (void)m.Value<std::int64_t>(0, "answer");
    ADD_FAILURE() << "a Value<int> attached as Value<int64_t>";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::bad_handle)) << e.what();
  }
  try {
    (void)m.Lock("weights");
    ADD_FAILURE() << "an array found as a lock";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), make_error_code(errc::bad_handle)) << e.what();
  }
}

}  // namespace
}  // namespace mproc::test
