// The C ABI for processes: translation to mproc::Process only.
#include "mproc.h"

#include <mproc/process.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <cstring>

#include "capi_support.hpp"

namespace {

using mproc::Process;
using mproc::detail::HandleKind;
using ProcessHandles = mproc::detail::Handles<Process, HandleKind::process>;

Process& process_of(mproc_process_t* handle, const char* function) {
  return mproc::capi::deref<Process, HandleKind::process>(handle, function, "mproc_process_t");
}

}  // namespace

extern "C" {

int mproc_fork(void) {
  return mproc::capi::guard("mproc_fork", [] { return static_cast<int>(mproc::fork()); });
}

int mproc_getpid(void) { return static_cast<int>(mproc::getpid()); }

int mproc_getppid(void) { return static_cast<int>(mproc::getppid()); }

int mproc_cpu_count(void) {
  return mproc::capi::guard("mproc_cpu_count", [] { return mproc::cpu_count(); });
}

int mproc_process_create(mproc_process_fn fn, void* user_data, mproc_process_t** out) {
  return mproc::capi::guard("mproc_process_create", [&] {
    mproc::capi::require(reinterpret_cast<const void*>(fn), "mproc_process_create", "fn");
    mproc::capi::require(out, "mproc_process_create", "out");
    // The C ABI keeps main's convention: the function's return value is the exit code.
    auto process = std::make_unique<Process>([fn, user_data] {
      const int code = fn(user_data);
      if (code != 0) throw mproc::SystemExit(code);
    });
    *out = reinterpret_cast<mproc_process_t*>(ProcessHandles::insert(std::move(process)));
    return 0;
  });
}

int mproc_process_set_name(mproc_process_t* process, const char* name) {
  return mproc::capi::guard("mproc_process_set_name", [&] {
    auto& p = process_of(process, "mproc_process_set_name");
    mproc::capi::require(name, "mproc_process_set_name", "name");
    p.set_name(name);
    return 0;
  });
}

int mproc_process_name(mproc_process_t* process, char* buf, size_t size) {
  return mproc::capi::guard("mproc_process_name", [&] {
    return mproc::capi::copy_out(process_of(process, "mproc_process_name").name(), buf, size,
                     "mproc_process_name");
  });
}

int mproc_process_set_die_with_parent(mproc_process_t* process, int die) {
  return mproc::capi::guard("mproc_process_set_die_with_parent", [&] {
    process_of(process, "mproc_process_set_die_with_parent").set_die_with_parent(die != 0);
    return 0;
  });
}

int mproc_process_set_daemon(mproc_process_t* process, int daemon) {
  return mproc::capi::guard("mproc_process_set_daemon", [&] {
    process_of(process, "mproc_process_set_daemon").set_daemon(daemon != 0);
    return 0;
  });
}

int mproc_process_start(mproc_process_t* process) {
  return mproc::capi::guard("mproc_process_start", [&] {
    process_of(process, "mproc_process_start").start();
    return 0;
  });
}

int mproc_process_join(mproc_process_t* process, int64_t timeout_ms) {
  return mproc::capi::guard("mproc_process_join", [&] {
    auto& p = process_of(process, "mproc_process_join");
    mproc::capi::check_timeout_ms(timeout_ms, "mproc_process_join");
    if (timeout_ms == MPROC_WAIT_FOREVER) {
      p.join();
      return 0;
    }
    if (p.join(std::chrono::milliseconds(timeout_ms))) return 0;
    return mproc::capi::fail(MPROC_ETIMEDOUT, "mproc_process_join: " + p.name() +
                                                  " is still running after " +
                                                  std::to_string(timeout_ms) + " ms");
  });
}

int mproc_process_is_alive(mproc_process_t* process) {
  return mproc::capi::guard("mproc_process_is_alive", [&] {
    return process_of(process, "mproc_process_is_alive").is_alive() ? 1 : 0;
  });
}

int mproc_process_pid(mproc_process_t* process) {
  return mproc::capi::guard("mproc_process_pid", [&] {
    auto& p = process_of(process, "mproc_process_pid");
    const auto pid = p.pid();
    if (!pid)
      throw mproc::Error(mproc::errc::bad_state, "mproc_process_pid: " + p.name() +
                                                     " has not been started");
    return static_cast<int>(*pid);
  });
}

int mproc_process_exitcode(mproc_process_t* process, int* exitcode) {
  return mproc::capi::guard("mproc_process_exitcode", [&] {
    auto& p = process_of(process, "mproc_process_exitcode");
    mproc::capi::require(exitcode, "mproc_process_exitcode", "exitcode");
    const auto code = p.exitcode();
    if (!code) return 0;
    *exitcode = *code;
    return 1;
  });
}

int mproc_process_terminate(mproc_process_t* process) {
  return mproc::capi::guard("mproc_process_terminate", [&] {
    process_of(process, "mproc_process_terminate").terminate();
    return 0;
  });
}

int mproc_process_kill(mproc_process_t* process) {
  return mproc::capi::guard("mproc_process_kill", [&] {
    process_of(process, "mproc_process_kill").kill();
    return 0;
  });
}

int mproc_process_sentinel(mproc_process_t* process) {
  return mproc::capi::guard("mproc_process_sentinel", [&] {
    return process_of(process, "mproc_process_sentinel").sentinel();
  });
}

int mproc_process_close(mproc_process_t* process) {
  return mproc::capi::guard("mproc_process_close", [&] {
    process_of(process, "mproc_process_close").close();
    return 0;
  });
}

int mproc_process_destroy(mproc_process_t* process) {
  if (process == nullptr) return 0;
  return mproc::capi::guard("mproc_process_destroy", [&] {
    auto owned = ProcessHandles::remove(reinterpret_cast<std::uintptr_t>(process));
    if (!owned)
      throw mproc::Error(mproc::errc::bad_handle,
                         "mproc_process_destroy: not a live mproc_process_t");
    return 0;
  });
}

int mproc_wait_child(int pid, int64_t timeout_ms, int* exitcode) {
  return mproc::capi::guard("mproc_wait_child", [&] {
    mproc::capi::check_timeout_ms(timeout_ms, "mproc_wait_child");
    std::optional<int> code;
    if (timeout_ms == MPROC_WAIT_FOREVER)
      code = mproc::wait_child(static_cast<pid_t>(pid));
    else
      code = mproc::wait_child(static_cast<pid_t>(pid), std::chrono::milliseconds(timeout_ms));
    if (!code)
      return mproc::capi::fail(MPROC_ETIMEDOUT, "mproc_wait_child: pid " + std::to_string(pid) +
                                                    " is still running after " +
                                                    std::to_string(timeout_ms) + " ms");
    if (exitcode != nullptr) *exitcode = *code;
    return 0;
  });
}

int mproc_current_process_name(char* buf, size_t size) {
  return mproc::capi::guard("mproc_current_process_name", [&] {
    return mproc::capi::copy_out(mproc::current_process().name(), buf, size,
                                 "mproc_current_process_name");
  });
}

int mproc_current_process_daemon(void) {
  return mproc::capi::guard("mproc_current_process_daemon",
                            [] { return mproc::current_process().daemon() ? 1 : 0; });
}

int mproc_parent_process(int* pid, char* buf, size_t size) {
  return mproc::capi::guard("mproc_parent_process", [&] {
    if (size > 0) mproc::capi::require(buf, "mproc_parent_process", "buf");
    const auto parent = mproc::parent_process();
    if (!parent) return 0;
    if (pid != nullptr) *pid = static_cast<int>(parent->pid());
    (void)mproc::capi::copy_out(parent->name(), buf, size, "mproc_parent_process");
    return 1;
  });
}

int mproc_active_children(int* pids, size_t capacity) {
  return mproc::capi::guard("mproc_active_children", [&] {
    if (capacity > 0) mproc::capi::require(pids, "mproc_active_children", "pids");
    const auto children = mproc::active_children();
    for (size_t i = 0; i < children.size() && i < capacity; ++i)
      pids[i] = static_cast<int>(children[i].pid());
    return static_cast<int>(children.size());
  });
}

}  // extern "C"
