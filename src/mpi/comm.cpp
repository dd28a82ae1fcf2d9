#include "mpi/comm.hpp"

#include <mproc/error.hpp>

#include <mpi.h>

#include <climits>
#include <mutex>
#include <thread>

namespace mproc::mpi {
namespace {

// MPI_THREAD_SERIALIZED: any thread may call MPI, one at a time.
std::mutex g_mpi_calls;

}  // namespace

struct Comm::Send {
  std::string body;
  MPI_Request request = MPI_REQUEST_NULL;
};

Comm::~Comm() {
  if (!flush(kDropAfter)) sends_.clear();  // leaked on purpose: see the header
}

void Comm::send(int dest, int tag, std::string body) {
  if (body.size() > static_cast<size_t>(INT_MAX))
    throw Error(errc::too_big, "mpi: a message of " + std::to_string(body.size()) +
                                   " bytes is larger than MPI's int count");
  auto* s = new Send{std::move(body), MPI_REQUEST_NULL};
  std::lock_guard lock(g_mpi_calls);
  // MPI's errors abort the job (MPI_ERRORS_ARE_FATAL, the default handler): see the README's
  // fault model.
  MPI_Isend(s->body.data(), static_cast<int>(s->body.size()), MPI_BYTE, dest, tag, MPI_COMM_WORLD,
            &s->request);
  sends_.push_back(s);
}

bool Comm::progress() {
  if (sends_.empty()) return false;
  std::lock_guard lock(g_mpi_calls);
  // Sends complete roughly in order; stop at the first one still under way.
  while (!sends_.empty()) {
    int done = 0;
    MPI_Test(&sends_.front()->request, &done, MPI_STATUS_IGNORE);
    if (done == 0) break;
    delete sends_.front();
    sends_.pop_front();
  }
  // The one at the front may be large while later ones finished: test those too, now and then.
  if (sends_.size() > 1) {
    for (auto it = sends_.begin() + 1; it != sends_.end();) {
      int done = 0;
      MPI_Test(&(*it)->request, &done, MPI_STATUS_IGNORE);
      if (done != 0) {
        delete *it;
        it = sends_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return !sends_.empty();
}

bool Comm::poll(Message& out, int source, int tag) {
  int flag = 0;
  MPI_Status status;
  std::lock_guard lock(g_mpi_calls);
  MPI_Iprobe(source < 0 ? MPI_ANY_SOURCE : source, tag < 0 ? MPI_ANY_TAG : tag, MPI_COMM_WORLD,
             &flag, &status);
  if (flag == 0) return false;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  out.source = status.MPI_SOURCE;
  out.tag = status.MPI_TAG;
  out.body.resize(static_cast<size_t>(count));
  MPI_Recv(out.body.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  return true;
}

bool Comm::flush(std::chrono::steady_clock::duration limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (progress()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

}  // namespace mproc::mpi
