#include "process/current_process.hpp"

#include <mproc/process.hpp>

#include <atomic>
#include <unistd.h>

#include "process/child_registry.hpp"

namespace mproc::detail {
namespace {

SelfDescription g_self;
std::atomic<unsigned> g_child_counter{0};

}  // namespace

const SelfDescription& self() { return g_self; }

std::string next_child_identity() {
  const unsigned n = ++g_child_counter;
  return g_self.identity.empty() ? std::to_string(n) : g_self.identity + ":" + std::to_string(n);
}

void become_child(const std::string& name, const std::string& identity, bool daemon,
                  pid_t parent_pid, const std::string& parent_name) {
  g_self.name = name;
  g_self.identity = identity;
  g_self.daemon = daemon;
  g_self.is_child = true;
  g_self.parent_pid = parent_pid;
  g_self.parent_name = parent_name;
  g_child_counter = 0;
}

}  // namespace mproc::detail

namespace mproc {

bool ProcessInfo::is_alive() const {
  if (pid_ == ::getpid()) return true;
  const auto& me = detail::self();
  // Our parent is alive exactly as long as we have not been reparented to another process.
  if (me.is_child && pid_ == me.parent_pid) return ::getppid() == me.parent_pid;
  return detail::ChildRegistry::instance().is_running_child(pid_);
}

ProcessInfo current_process() {
  return ProcessInfo(detail::self().name, ::getpid(), detail::self().daemon);
}

std::optional<ProcessInfo> parent_process() {
  const auto& me = detail::self();
  if (!me.is_child) return std::nullopt;
  return ProcessInfo(me.parent_name, me.parent_pid);
}

std::vector<ProcessInfo> active_children() {
  return detail::ChildRegistry::instance().active_children();
}

pid_t getpid() noexcept { return ::getpid(); }
pid_t getppid() noexcept { return ::getppid(); }

}  // namespace mproc
