/* The export macro: the library is built with -fvisibility=hidden, so only what is marked
 * MPROC_API (plus what the linker version script names) is visible to users. */
#ifndef MPROC_EXPORT_H
#define MPROC_EXPORT_H

#if defined(MPROC_BUILDING_LIBRARY)
#define MPROC_API __attribute__((visibility("default")))
#else
#define MPROC_API
#endif

#endif /* MPROC_EXPORT_H */
