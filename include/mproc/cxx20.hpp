// The first include of every public C++ header: the platform check (<mproc/platform.h>) and the
// language check. mproc's C++ API is C++20 (concepts, std::span, <bit>); compiled as an older
// standard it would fail with pages of errors far from their cause, so it stops here with one.
// (The C header, mproc.h, needs only C11 or any C++: it does not include this one.)
#pragma once

#include <mproc/platform.h>

#if __cplusplus < 202002L
#error "mproc's C++ headers need C++20: compile with -std=c++20 (CMake: target_link_libraries(... mproc::mproc) sets it)"
// GCC and Clang go on after #error; a missing header stops them, so that the message above is not
// buried under the errors of everything that follows.
#include <mproc/detail/compilation_stopped_see_the_error_above>
#endif
