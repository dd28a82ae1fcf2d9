# Cross-compiling the library for aarch64 (Debian's g++-aarch64-linux-gnu), to check that it builds
# there at the source level: the object libraries only, no tests, no linking (.ci/cross_aarch64.sh).
#
# The dependencies' headers are the host's: spdlog and fmt are the same on every architecture, and
# OpenSSL's only architecture-dependent header (openssl/configuration.h) is the same for every
# 64-bit little-endian Linux. They are searched *after* the cross compiler's own headers
# (-idirafter), so that the host's C library never stands in for aarch64's; /usr/include is declared
# implicit (after project(), cmake/aarch64-after-project.cmake) so that the imported targets do not
# put it first with -isystem.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_C_FLAGS_INIT "-idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu")
set(CMAKE_CXX_FLAGS_INIT "-idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu")
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# The host's package files (spdlog, fmt) and OpenSSL, found for their headers only.
set(spdlog_DIR /usr/lib/x86_64-linux-gnu/cmake/spdlog CACHE PATH "")
set(fmt_DIR /usr/lib/x86_64-linux-gnu/cmake/fmt CACHE PATH "")
set(OPENSSL_INCLUDE_DIR /usr/include CACHE PATH "")
set(OPENSSL_CRYPTO_LIBRARY /usr/lib/x86_64-linux-gnu/libcrypto.so CACHE FILEPATH "")
set(CMAKE_PROJECT_INCLUDE ${CMAKE_CURRENT_LIST_DIR}/aarch64-after-project.cmake)
