// Prints the log level the library chose from MPROC_LOG_LEVEL, then logs one warning through the
// library (by destroying a running Process) so the caller can check the line's format.
#include <mproc/log.hpp>
#include <mproc/process.hpp>

#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

int main() {
  std::printf("%d\n", static_cast<int>(mproc::log_level()));
  std::fflush(stdout);
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return 2;
  {
    mproc::Process p([&] {
      ::close(gate[1]);
      char c;
      (void)::read(gate[0], &c, 1);
    });
    p.set_name("probe-child");
    p.start();
  }  // destroyed while running: the library warns, then stops and reaps it
  ::close(gate[0]);
  ::close(gate[1]);
  return 0;
}
