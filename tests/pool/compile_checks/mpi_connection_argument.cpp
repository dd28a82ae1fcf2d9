// An MPI Pool task given a Connection must not compile: a descriptor cannot reach another rank's
// worker (it failed at run time, in the worker). With -DMPROC_ACCEPTED_FORM, the form that works:
// the data itself as the argument.
#include <mproc/connection.hpp>
#include <mproc/mpi/pool.hpp>

#include <string>
#include <vector>

int main() {
  mproc::mpi::Pool pool;
  const mproc::TaskName task{"echo"};
#ifdef MPROC_ACCEPTED_FORM
  auto one = pool.apply_async<int>(task, std::string("data"));
  std::vector<std::string> inputs{"a", "b"};
  auto many = pool.map<int>(task, inputs, 1);
#else
  auto [mine, theirs] = mproc::pipe();
  auto one = pool.apply_async<int>(task, theirs);
#endif
  return 0;
}
