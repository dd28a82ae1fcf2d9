#include <mproc/mproc.hpp>
#include <cstdio>

int main() {
  int base = 40;
  // The child is a fork: it runs its own copy of the lambda and of everything it captured.
  mproc::Process p([base](int extra) { return base + extra; }, 2);  // returns int: the exit code
  p.start();
  p.join();
  std::printf("%s (pid %d) exited with %d\n", p.name().c_str(), *p.pid(), *p.exitcode());  // 42
}
