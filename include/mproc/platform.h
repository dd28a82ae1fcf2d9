/* mproc's platform: Linux 5.3 or newer (pidfd_open) with glibc. Included by every public header
 * (C and C++), so that building on anything else stops at one #error that says what is missing,
 * instead of at the first system call the library cannot find. The Linux check is on the kernel
 * headers the code is compiled against; the running kernel must be 5.3 or newer too (an older one
 * fails each process start with ENOSYS from pidfd_open). */
#ifndef MPROC_PLATFORM_H
#define MPROC_PLATFORM_H

#if !defined(__linux__)
#error "mproc needs Linux 5.3 or newer (pidfds) with glibc; this platform is not Linux"
#else
#include <features.h>
#include <linux/version.h>
#if !defined(__GLIBC__)
#error "mproc needs glibc (and Linux 5.3 or newer); this C library is not glibc"
#elif LINUX_VERSION_CODE < KERNEL_VERSION(5, 3, 0)
#error "mproc needs Linux 5.3 or newer (pidfd_open); these Linux headers are older (linux-libc-dev)"
#endif
#endif

#endif /* MPROC_PLATFORM_H */
