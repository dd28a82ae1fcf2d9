/* mproc version: the one place the version is written. CMake parses these macros into
 * project(VERSION ...), so the library's SONAME, mproc.pc and mprocConfigVersion.cmake follow it.
 * Releases with the same major number are ABI compatible. */
#ifndef MPROC_VERSION_H
#define MPROC_VERSION_H

#define MPROC_VERSION_MAJOR 0
#define MPROC_VERSION_MINOR 1
#define MPROC_VERSION_PATCH 0

/* One integer for compile-time comparisons: 0xMMmmpp. */
#define MPROC_VERSION_HEX \
  ((MPROC_VERSION_MAJOR << 16) | (MPROC_VERSION_MINOR << 8) | MPROC_VERSION_PATCH)

#define MPROC_VERSION_STRINGIFY_(x) #x
#define MPROC_VERSION_STRINGIFY(x) MPROC_VERSION_STRINGIFY_(x)
#define MPROC_VERSION_STRING                                                        \
  MPROC_VERSION_STRINGIFY(MPROC_VERSION_MAJOR) "." MPROC_VERSION_STRINGIFY(       \
      MPROC_VERSION_MINOR) "." MPROC_VERSION_STRINGIFY(MPROC_VERSION_PATCH)

#endif /* MPROC_VERSION_H */
