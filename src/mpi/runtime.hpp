// The process's MPI state, set by run(): whether MPI is initialised (a launch by mpirun), this
// rank and the number of ranks.
#pragma once

#include <mproc/process.hpp>

#include <cstdint>
#include <vector>

namespace mproc::mpi::runtime {

// True between run()'s MPI_Init and MPI_Finalize on a process launched by mpirun.
bool mpi_active() noexcept;
int rank() noexcept;
int size() noexcept;
// A new pool's number, unique in this run (messages of an earlier pool are told apart by it).
uint64_t next_pool_id() noexcept;

// Rank 0 at the end: SHUTDOWN to every rank, then their BYEs, waited for at most `limit`. Returns
// the ranks that did not answer.
std::vector<int> say_goodbye(int size, Seconds limit);

// The serving loop of ranks other than 0 (server.cpp); returns when rank 0 says SHUTDOWN.
void serve(int processes);

}  // namespace mproc::mpi::runtime
