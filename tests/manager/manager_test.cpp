// Manager: Python's factories, names found from other processes, ownership and shutdown.
#include <mproc/manager.hpp>
#include <mproc/pool.hpp>

#include <algorithm>
#include <string>

#include "manager_test_support.hpp"

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

}  // namespace
}  // namespace mproc::test
