/* The export macro: the library is built with -fvisibility=hidden, so only what is marked
 * MPROC_API (plus what the linker version script names) is visible to users. */
#ifndef MPROC_EXPORT_H
#define MPROC_EXPORT_H

#if defined(MPROC_BUILDING_LIBRARY)
#define MPROC_API __attribute__((visibility("default")))
#else
#define MPROC_API
#endif

/* Marks an old name of the C ABI kept as an alias after a rename (listed in CHANGELOG.md): calling
 * it still works, and the compiler says which name to use instead. A program that cannot switch yet
 * may define MPROC_DEPRECATED(message) as nothing before including mproc.h. */
#ifndef MPROC_DEPRECATED
#if defined(__GNUC__) || defined(__clang__)
#define MPROC_DEPRECATED(message) __attribute__((deprecated(message)))
#else
#define MPROC_DEPRECATED(message)
#endif
#endif

#endif /* MPROC_EXPORT_H */
