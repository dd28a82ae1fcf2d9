#include <mproc/mproc.hpp>
#include <cstdio>

int main() {
  int base = 40;
  // The child is a fork: it runs its own copy of the lambda and of everything it captured.
  // As in Python, the exit code is 0 unless the target exits explicitly (sys.exit: SystemExit).
  mproc::Process p([base](int extra) { throw mproc::SystemExit(base + extra); }, 2);
  p.start();
  p.join();
  std::printf("%s (pid %d) exited with %d\n", p.name().c_str(), *p.pid(), *p.exitcode());  // 42
}
