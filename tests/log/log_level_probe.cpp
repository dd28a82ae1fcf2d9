// Prints the log level the library chose from MPROC_LOG_LEVEL, then logs one warning through the
// library so the caller can check the line's format: a daemon child that ignores SIGTERM is still
// running at exit, so the exit-time handling warns (after its 1 s grace) before it sends SIGKILL.
#include <mproc/log.hpp>
#include <mproc/process.hpp>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

int main() {
  std::printf("%d\n", static_cast<int>(mproc::log_level()));
  std::fflush(stdout);
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return 2;
  {
    mproc::Process p([&] {
      ::signal(SIGTERM, SIG_IGN);
      (void)::write(ready[1], "r", 1);
      for (;;) ::pause();
    });
    p.set_name("probe-child");
    p.set_daemon(true);
    p.start();
    char c;
    if (::read(ready[0], &c, 1) != 1) return 3;
  }  // dropped while running: detached, and terminated (then killed) at exit as a daemon
  ::close(ready[0]);
  ::close(ready[1]);
  return 0;
}
