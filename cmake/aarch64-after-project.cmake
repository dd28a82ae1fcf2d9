# Part of cmake/aarch64-linux-gnu.cmake, run after project(): /usr/include (the host's, searched
# last through -idirafter) must never be put first by an imported target's -isystem.
list(APPEND CMAKE_C_IMPLICIT_INCLUDE_DIRECTORIES /usr/include)
list(APPEND CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES /usr/include)
