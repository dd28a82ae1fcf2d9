// The pause inside a spin loop: it tells the CPU that this thread is waiting (x86 PAUSE, aarch64
// YIELD), which saves power and lets a sibling hyper-thread (or the peer we wait for) run. On any
// other architecture it is nothing, which is correct, only less polite.
#pragma once

namespace mproc::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace mproc::detail
