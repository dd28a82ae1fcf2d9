#include "pool/task_registry.hpp"

#include <mproc/pool.hpp>

#include <map>
#include <mutex>

namespace mproc::detail {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, RegisteredTask> tasks;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: usable from late destructors
  return *r;
}

}  // namespace

void add_registered_task(const std::string& name, RegisteredTask task) {
  if (name.empty())
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "register_task: the name must not be empty");
  std::lock_guard lock(registry().mutex);
  registry().tasks[name] = std::move(task);
}

RegisteredTask find_registered_task(const std::string& name) {
  std::lock_guard lock(registry().mutex);
  auto it = registry().tasks.find(name);
  if (it == registry().tasks.end())
    throw Error(std::make_error_code(std::errc::invalid_argument),
                "Pool: no task registered under the name '" + name + "'");
  return it->second;
}

void throw_task_signature_mismatch(const std::string& name) {
  throw Error(std::make_error_code(std::errc::invalid_argument),
              "Pool: task '" + name +
                  "' was registered with other argument or result types than this call uses");
}

void init_task_registry() { registry(); }
void lock_task_registry_for_fork() { registry().mutex.lock(); }
void unlock_task_registry_after_fork() { registry().mutex.unlock(); }

}  // namespace mproc::detail
