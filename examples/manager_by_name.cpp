// Two unrelated processes share a Manager's dict by name. The first creates the Manager and the
// dict "scores", then runs a second program (itself, through posix_spawn + exec: nothing of the
// first process's memory is inherited) with the Manager's name on its command line. The second
// attaches by that name, reads and adds scores, and exits; the first sees its writes.
#include <mproc/mproc.hpp>

#include <cstdio>
#include <spawn.h>
#include <string>
#include <sys/wait.h>

extern char** environ;

namespace {

int second_process(const char* manager_name) {
  auto scores = mproc::Manager::attach(manager_name).dict<std::string, int>("scores");
  std::printf("[second, pid %d] found ada = %d; adding grace\n", mproc::getpid(), scores.get("ada"));
  scores.set("grace", 99);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--attach") return second_process(argv[2]);

  mproc::Manager manager;
  auto scores = manager.dict<std::string, int>("scores");
  scores.set("ada", 42);
  std::printf("[first, pid %d] created %s with ada = 42\n", mproc::getpid(),
              manager.name().c_str());
  std::fflush(stdout);

  std::string flag = "--attach", name = manager.name();
  char* child_argv[] = {argv[0], flag.data(), name.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, child_argv, environ) != 0) return 1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;

  std::printf("[first] grace = %d (written by the other process)\n", scores.get("grace"));
  return scores.get("grace") == 99 ? 0 : 1;
}
