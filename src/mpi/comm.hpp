// MPI point-to-point for the one thread of a process that owns MPI: non-blocking sends whose
// buffers are kept until they complete (two ranks sending large messages to each other at once
// would deadlock with blocking sends), and a non-blocking receive of whatever arrived.
// Thread-safety: one thread per Comm; the threads of several Comms (one per pool on rank 0) take
// turns: every MPI call is made under one process-wide mutex (MPI_THREAD_SERIALIZED).
#pragma once

#include <chrono>
#include <deque>
#include <string>

namespace mproc::mpi {

class Comm {
 public:
  struct Message {
    int source = 0;
    int tag = 0;
    std::string body;
  };

  Comm() = default;
  // Waits for unfinished sends (see flush), at most kDropAfter; what is still unfinished then (its
  // receiver stopped) is left to MPI, its buffer never freed: MPI may still read it.
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  // Starts sending `body` to rank `dest`. Errors: too_big past INT_MAX bytes.
  void send(int dest, int tag, std::string body);
  // Completes the sends that have finished; true if some are still under way.
  bool progress();
  // Receives a message that has arrived (from `source`, or any rank if -1; with `tag`, or any if
  // -1); false if none has.
  bool poll(Message& out, int source = -1, int tag = -1);
  // Waits (polling) until every send has completed, at most `limit`: false if some have not (a
  // large message needs its receiver, which may be stopped).
  bool flush(std::chrono::steady_clock::duration limit);
  static constexpr auto kDropAfter = std::chrono::seconds(10);
  bool sending() const noexcept { return !sends_.empty(); }

 private:
  struct Send;
  std::deque<Send*> sends_;
};

}  // namespace mproc::mpi
