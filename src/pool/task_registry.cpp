#include <mproc/pool.hpp>

#include <map>
#include <mutex>

#include "base/fork_handlers.hpp"

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

// One library-wide lock, held across fork (ForkStage::task_registry) so that a child may use the
// registry: created, and its handlers registered, when the library is loaded.
const bool g_fork_handlers_registered = [] {
  registry();
  register_fork_handlers(ForkStage::task_registry, {+[] { registry().mutex.lock(); },
                                                    +[] { registry().mutex.unlock(); },
                                                    +[] { registry().mutex.unlock(); }});
  return true;
}();

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


}  // namespace mproc::detail
