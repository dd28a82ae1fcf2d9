// run(): starts the forkserver, then MPI; rank 0 runs the program, the others serve.
#include "mpi/runtime.hpp"

#include <mproc/mpi/pool.hpp>

#include <mpi.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "mpi/comm.hpp"
#include "mpi/wire.hpp"

namespace mproc::mpi {
namespace runtime {
namespace {

std::atomic<bool> g_running{false};
std::atomic<bool> g_mpi{false};
std::atomic<int> g_rank{0};
std::atomic<int> g_size{1};
std::atomic<uint64_t> g_pool_ids{0};

// mpirun (Open MPI's ORTE or PRRTE, or another PMI launcher) tells its processes who they are in
// the environment: known before MPI_Init, so that the forkserver can be started first.
bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

int processes_for(int rank, const RunOptions& options) {
  if (const char* env = std::getenv("MPROC_MPI_PROCESSES"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end == '\0' && n > 0 && n <= 4096) return static_cast<int>(n);
  }
  if (options.processes) {
    const int n = options.processes(rank);
    if (n > 0) return n;
  }
  return cpu_count();
}

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(errc::internal, std::string("mpi: ") + what + ": " + text);
}

}  // namespace

std::vector<int> say_goodbye(int size, Seconds limit) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(limit);
  Comm comm;
  for (int k = 1; k < size; ++k) comm.send(k, wire::kShutdown, std::string());
  std::vector<bool> said(static_cast<size_t>(size), false);
  int left = size - 1;
  Comm::Message message;
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    if (comm.poll(message)) {
      if (message.tag == wire::kBye && !said[static_cast<size_t>(message.source)]) {
        said[static_cast<size_t>(message.source)] = true;
        --left;
      }
    } else {
      comm.progress();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  std::vector<int> silent;
  for (int k = 1; k < size; ++k)
    if (!said[static_cast<size_t>(k)]) silent.push_back(k);
  if (silent.empty()) comm.flush(std::chrono::duration_cast<std::chrono::nanoseconds>(limit));
  return silent;
}

bool mpi_active() noexcept { return g_mpi.load(); }
int rank() noexcept { return g_rank.load(); }
int size() noexcept { return g_size.load(); }
uint64_t next_pool_id() noexcept { return ++g_pool_ids; }

}  // namespace runtime

int rank() noexcept { return runtime::rank(); }
int size() noexcept { return runtime::size(); }

int run(int argc, char** argv, const std::function<int(int, char**)>& program,
        const RunOptions& options) {
  if (runtime::g_running.exchange(true))
    throw Error(errc::bad_state, "mproc::mpi::run: already running");
  struct Running {
    ~Running() { runtime::g_running.store(false); }
  } running;
  // Every worker of every rank is forked by this server, forked now, before MPI_Init: no worker
  // is a fork of a process that has initialised MPI (Open MPI warns against fork with some of its
  // transports), and no worker inherits a lock of a thread MPI started.
  start_forkserver();
  struct StopServer {
    ~StopServer() { stop_forkserver(); }
  } stop_server;
  if (!runtime::launched_by_mpirun()) return program(argc, argv);  // one rank, no MPI

  // Every MPI call of mproc is non-blocking (a loop that sleeps between looks, see server.cpp and
  // engine_thread.cpp), so Open MPI's yield when a look finds nothing, its default when ranks
  // oversubscribe the cores, only adds a sched_yield to each look: under load, a look that hands
  // the core away for a time slice before the loop sends a result it has. Unless the user chose.
  ::setenv("OMPI_MCA_mpi_yield_when_idle", "0", 0);
  int provided = 0;
  runtime::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided),
                     "MPI_Init_thread");
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    throw Error(errc::internal, "mpi: this MPI does not support MPI_THREAD_SERIALIZED");
  }
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  runtime::g_rank.store(rank);
  runtime::g_size.store(size);
  runtime::g_mpi.store(true);

  int code = 0;
  std::exception_ptr failure;
  if (rank != 0) {
    try {
      runtime::serve(runtime::processes_for(rank, options));
    } catch (...) {
      failure = std::current_exception();
    }
  } else {
    try {
      code = program(argc, argv);
    } catch (...) {
      failure = std::current_exception();
    }
    // The program has returned: no pool (and so no MPI thread) is left. Tell every rank to stop,
    // and take whatever each still sends until its BYE, so that no send of theirs is left
    // unmatched at MPI_Finalize (a large one would never complete). Bounded: a rank that does not
    // answer (stopped, or its serving loop stuck) would hang MPI_Finalize, so the job is aborted.
    const std::vector<int> silent = runtime::say_goodbye(size, options.shutdown_timeout);
    if (!silent.empty()) {
      std::string names;
      for (int k : silent) names += (names.empty() ? "" : ", ") + std::to_string(k);
      std::fprintf(stderr,
                   "mproc::mpi: rank(s) %s did not answer the shutdown within %.1f s; aborting "
                   "the job (MPI_Finalize would wait for them forever)\n",
                   names.c_str(), options.shutdown_timeout.count());
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, code != 0 ? code : 1);
    }
  }
  if (failure && rank != 0) {
    // A serving rank that cannot go on: the job cannot either (rank 0 would wait for it).
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mproc::mpi: rank %d: %s\n", rank, e.what());
    } catch (...) {
    }
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  runtime::g_mpi.store(false);
  MPI_Finalize();
  runtime::g_rank.store(0);
  runtime::g_size.store(1);
  if (failure) std::rethrow_exception(failure);
  return code;
}

}  // namespace mproc::mpi
