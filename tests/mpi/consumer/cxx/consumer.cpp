// Built against the installed package (find_package(mproc COMPONENTS mpi), mproc::mpi).
#include <mproc/mpi/pool.hpp>

#include <cstdio>

int twice(int x) { return 2 * x; }

int main(int argc, char** argv) {
  mproc::register_task("twice", twice);
  return mproc::mpi::run(argc, argv, [](int, char**) {
    mproc::mpi::Pool pool;
    const int v = pool.apply<int>(mproc::TaskName{"twice"}, 21);
    pool.close();
    pool.join();
    std::printf("mpi C++ consumer: %d\n", v);
    return v == 42 ? 0 : 1;
  });
}
