// The "mproc" logger: level from MPROC_LOG_LEVEL and from the API, the pid in every line, and
// logging from forked children.
#include <mproc/log.hpp>
#include <mproc/pool.hpp>
#include <mproc/process.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <mutex>
#include <optional>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "support/leak_check.hpp"

extern char** environ;

namespace {

using LogTest = mproc::test::LeakCheckedTest;

struct ProbeResult {
  std::string out;
  std::string err;
  int status = -1;
};

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) text.append(buf, static_cast<size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  return text;
}

// Runs the probe with MPROC_LOG_LEVEL=level (unset if null). Its stdout and stderr are read after
// it exits: both stay far below a pipe's capacity.
ProbeResult run_probe(const char* level) {
  int out[2];
  int err[2];
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::string(*e).rfind("MPROC_LOG_LEVEL=", 0) != 0) env_strings.emplace_back(*e);
  if (level != nullptr) env_strings.push_back(std::string("MPROC_LOG_LEVEL=") + level);
  std::vector<char*> env;
  for (auto& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);
  char probe_path[] = MPROC_LOG_PROBE;
  char* argv[] = {probe_path, nullptr};
  pid_t pid = 0;
  ProbeResult result;
  EXPECT_EQ(::posix_spawn(&pid, probe_path, &actions, nullptr, argv, env.data()), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  EXPECT_EQ(::waitpid(pid, &result.status, 0), pid);
  result.out = read_all(out[0]);
  result.err = read_all(err[0]);
  ::close(out[0]);
  ::close(err[0]);
  return result;
}

TEST_F(LogTest, LevelComesFromTheEnvironment) {
  EXPECT_EQ(run_probe(nullptr).out, "3\n") << "default is warn";
  EXPECT_EQ(run_probe("debug").out, "1\n");
  EXPECT_EQ(run_probe("trace").out, "0\n");
  EXPECT_EQ(run_probe("error").out, "4\n");
  EXPECT_EQ(run_probe("off").out, "6\n");
}

TEST_F(LogTest, WarningsCarryThePidAndOffSilencesThem) {
  const auto warned = run_probe("warn");
  EXPECT_TRUE(WIFEXITED(warned.status) && WEXITSTATUS(warned.status) == 0);
  EXPECT_NE(warned.err.find("[mproc] [warning]"), std::string::npos) << warned.err;
  EXPECT_NE(warned.err.find("probe-child"), std::string::npos) << warned.err;
  EXPECT_NE(warned.err.find("[pid "), std::string::npos) << warned.err;
  const auto silent = run_probe("off");
  EXPECT_EQ(silent.err, "");
}

TEST_F(LogTest, AnUnknownLevelFallsBackToWarnAndSaysSo) {
  const auto probe = run_probe("loud");
  EXPECT_EQ(probe.out, "3\n");
  EXPECT_NE(probe.err.find("MPROC_LOG_LEVEL='loud'"), std::string::npos) << probe.err;
}

TEST_F(LogTest, TheEnvironmentSetsCategoryLevelsToo) {
  // The global level error, the process category warn: the probe's warning (a process's) shows.
  const auto heard = run_probe("error,process=warn");
  EXPECT_EQ(heard.out, "4\n");
  EXPECT_NE(heard.err.find("[mproc] [warning]"), std::string::npos) << heard.err;
  // The other way round: silent.
  const auto quiet = run_probe("warn,process=error");
  EXPECT_EQ(quiet.out, "3\n");
  EXPECT_EQ(quiet.err, "");
}

// Lines "started NAME (pid N)" come from the process category, "pool: started NAME (pid N)" from
// the pool's: one pool start logs both (its forked worker is a Process).
TEST_F(LogTest, ACategorysLevelFiltersOnlyThatCategory) {
  std::mutex mutex;
  std::vector<std::string> lines;
  mproc::set_log_handler([&](mproc::LogLevel, std::string_view message) {
    std::lock_guard lock(mutex);
    lines.emplace_back(message);
  });
  const auto before = mproc::log_level();
  mproc::set_log_level(mproc::LogLevel::warn);
  auto heard = [&](const std::string& start) {  // a line that starts with `start`
    std::lock_guard lock(mutex);
    for (const auto& line : lines)
      if (line.rfind(start, 0) == 0) return true;
    return false;
  };
  auto start_a_pool = [] {
    mproc::Pool pool(1);
    pool.close();
    pool.join();
  };

  mproc::set_log_level_for(mproc::LogCategory::process, mproc::LogLevel::debug);
  EXPECT_EQ(mproc::log_level_for(mproc::LogCategory::process), mproc::LogLevel::debug);
  EXPECT_EQ(mproc::log_level_for(mproc::LogCategory::pool), mproc::LogLevel::warn);
  start_a_pool();
  EXPECT_TRUE(heard("started ForkPoolWorker")) << "the process category's debug line is missing";
  EXPECT_FALSE(heard("pool: started")) << "the pool category followed another's level";

  {
    std::lock_guard lock(mutex);
    lines.clear();
  }
  mproc::set_log_level_for(mproc::LogCategory::process, std::nullopt);  // follows warn again
  mproc::set_log_level_for(mproc::LogCategory::pool, mproc::LogLevel::debug);
  EXPECT_EQ(mproc::log_level_for(mproc::LogCategory::process), mproc::LogLevel::warn);
  start_a_pool();
  EXPECT_TRUE(heard("pool: started")) << "the pool category's debug line is missing";
  EXPECT_FALSE(heard("started ForkPoolWorker")) << "the process category followed the pool's";

  mproc::set_log_level_for(mproc::LogCategory::pool, std::nullopt);
  mproc::set_log_level(before);
  mproc::set_log_handler({});
  EXPECT_EQ(mproc::log_level_for(mproc::LogCategory::pool), before);
  EXPECT_THROW(mproc::set_log_level_for(static_cast<mproc::LogCategory>(7), std::nullopt),
               mproc::Error);
}

TEST_F(LogTest, SetLogLevelChangesTheLevel) {
  const auto before = mproc::log_level();
  mproc::set_log_level(mproc::LogLevel::error);
  EXPECT_EQ(mproc::log_level(), mproc::LogLevel::error);
  mproc::set_log_level(before);
  EXPECT_EQ(mproc::log_level(), before);
}

TEST_F(LogTest, AChildLogsAnEscapedExceptionWithTypeMessageAndPid) {
  int err[2];
  ASSERT_EQ(::pipe2(err, O_CLOEXEC), 0);
  mproc::Process p([&] {
    ::dup2(err[1], STDERR_FILENO);  // the child's stderr only
    throw std::invalid_argument("bad thing");
  });
  p.start();
  ::close(err[1]);
  const std::string text = read_all(err[0]);
  ::close(err[0]);
  p.join();
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_NE(text.find("std::invalid_argument"), std::string::npos) << text;
  EXPECT_NE(text.find("bad thing"), std::string::npos) << text;
  EXPECT_NE(text.find("[pid " + std::to_string(*p.pid()) + "]"), std::string::npos) << text;
}

}  // namespace
