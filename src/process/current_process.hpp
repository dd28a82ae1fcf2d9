// Who this process is: its name and identity (as Python's current_process()), and who started it.
// Written only at start-up and in a freshly forked child, before any other thread can exist there.
#pragma once

#include <string>
#include <sys/types.h>

namespace mproc::detail {

struct SelfDescription {
  std::string name = "MainProcess";
  std::string identity;  // "" in the main process, "1", "1:3", ... in children
  bool daemon = false;
  bool is_child = false;  // started by Process::start()
  pid_t parent_pid = 0;
  std::string parent_name;
};

const SelfDescription& self();
// The identity for the next Process constructed here: this identity plus a per-process counter.
std::string next_child_identity();
// Called in a child right after fork, from Process::start().
void become_child(const std::string& name, const std::string& identity, bool daemon,
                  pid_t parent_pid, const std::string& parent_name);

}  // namespace mproc::detail
