// A program for tests/mpi/lifecycle_test.sh: under mpirun, writes the pid of every process of the
// job that mproc started or serves with (every rank, every rank's forkserver, every worker seen),
// one per line, to argv[2]; then either ends cleanly ("clean") or kills a serving rank in the
// middle of the work ("kill-rank"), which makes Open MPI abort the job, or stops a serving rank
// (SIGSTOP) once the pool is closed ("stop-rank"), which makes rank 0 abort the job when that
// rank does not answer the shutdown. The script then checks that none of those processes is left
// on the machine.
#include <mproc/mpi/pool.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Ids {
  int pid;
  int ppid;
};

Ids whoami(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return Ids{static_cast<int>(::getpid()), static_cast<int>(::getppid())};
}

int kill_pid(int pid) {
  ::kill(pid, SIGKILL);
  return 0;
}

int sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

int program(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: lifecycle_probe clean|kill-rank|stop-rank <pid file>\n");
    return 2;
  }
  const std::string mode = argv[1];
  mproc::mpi::Pool pool;
  std::set<int> pids;
  pids.insert(static_cast<int>(::getpid()));
  if (mproc::forkserver_pid() != 0) pids.insert(static_cast<int>(mproc::forkserver_pid()));
  for (const auto& r : pool.ranks()) pids.insert(r.pid);
  const auto ids = pool.map<Ids>(mproc::TaskName{"whoami"}, std::vector<int>(40, 20), 1);
  for (const Ids& id : ids) {
    pids.insert(id.pid);
    pids.insert(id.ppid);  // the forkserver of that rank
  }
  {
    std::ofstream out(argv[2]);
    for (int pid : pids) out << pid << "\n";
  }
  std::printf("probe: %zu processes, %d workers\n", pids.size(), pool.processes());
  std::fflush(stdout);
  if (mode == "kill-rank") {
    // Long tasks on all workers but one, then rank 1's serving process is killed from the last.
    std::vector<mproc::AsyncResult<int>> busy;
    for (int i = 0; i + 1 < pool.processes(); ++i)
      busy.push_back(pool.apply_async<int>(mproc::TaskName{"sleep_ms"}, 30000));
    pool.apply_async<int>(mproc::TaskName{"kill_pid"}, pool.ranks().front().pid);
    for (auto& r : busy) r.wait();  // Open MPI aborts the job before these finish
    return 3;
  }
  const int stopped = pool.ranks().front().pid;
  pool.close();
  pool.join();
  if (mode == "stop-rank") {
    // For the script: which process to watch (rank 0: gone once it has aborted the job) and which
    // to resume then.
    {
      std::ofstream out(std::string(argv[2]) + ".stop");
      out << ::getpid() << " " << stopped << "\n";
    }
    ::kill(stopped, SIGSTOP);  // run() then aborts the job
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  mproc::register_task("whoami", whoami);
  mproc::register_task("kill_pid", kill_pid);
  mproc::register_task("sleep_ms", sleep_ms);
  mproc::mpi::RunOptions options;
  options.shutdown_timeout = mproc::Seconds(2.0);
  return mproc::mpi::run(argc, argv, program, options);
}
