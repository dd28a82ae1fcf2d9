# The library's floors (ARCHITECTURE.md): one object library per subsystem folder, declared bottom
# first. A floor sees on its include path only itself and the floors declared before it, through a
# directory of its own in the build tree that links those folders and no others
# (${CMAKE_BINARY_DIR}/floors/<floor>/<folder> -> src/<folder>): so `#include "pool/x.hpp"` in
# src/sync does not compile ("No such file or directory"), whatever the folders' contents.

set(MPROC_FLOORS "")

# mproc_floor(<name> [DIRECTORY <dir>]): the object library mproc_<name> for the sources that
# <dir> (default src/<name>) lists with target_sources(mproc_<name> PRIVATE ...).
function(mproc_floor name)
  cmake_parse_arguments(ARG "" "DIRECTORY" "" ${ARGN})
  if(NOT ARG_DIRECTORY)
    set(ARG_DIRECTORY src/${name})
  endif()
  set(view ${CMAKE_BINARY_DIR}/floors/${name})
  file(REMOVE_RECURSE ${view})
  file(MAKE_DIRECTORY ${view})
  foreach(below IN LISTS MPROC_FLOORS ITEMS ${name})
    if(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/src/${below})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${below} ${view}/${below} SYMBOLIC)
    endif()
  endforeach()

  add_library(mproc_${name} OBJECT)
  target_include_directories(mproc_${name}
    PUBLIC
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
      $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/capi>
    PRIVATE
      ${view})
  target_compile_definitions(mproc_${name} PUBLIC MPROC_BUILDING_LIBRARY)
  target_link_libraries(mproc_${name} PUBLIC spdlog::spdlog Threads::Threads)
  set_target_properties(mproc_${name} PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # Calls between the library's own exported functions go straight to them (no PLT stub, and
  # the compiler may inline them): nobody interposes the library's symbols. Pairs with the
  # -Bsymbolic-functions link of libmproc.so.
  target_compile_options(mproc_${name} PRIVATE -fno-semantic-interposition)
  mproc_set_warnings(mproc_${name})
  add_subdirectory(${ARG_DIRECTORY})

  set(MPROC_FLOORS ${MPROC_FLOORS} ${name} PARENT_SCOPE)
endfunction()

# mproc_tls_descriptors(<floor target> <sources>...): these sources (relative to the calling
# directory) use TLS descriptors (-mtls-dialect=gnu2) where GCC targets x86-64: their
# thread-local reads, on hot paths, become a few instructions instead of a call to __tls_get_addr
# (libmproc is a shared library, possibly dlopen()ed, so the static TLS models are not an option).
# Clang 14 rejects the flag.
function(mproc_tls_descriptors target)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    set_source_files_properties(${ARGN} TARGET_DIRECTORY ${target}
                                PROPERTIES COMPILE_OPTIONS "-mtls-dialect=gnu2")
  endif()
endfunction()

# mproc_floor_view(<out_var> <floors>...): a directory that links exactly these src folders, for a
# target outside the core's floors (libmproc_mpi).
function(mproc_floor_view out_var name)
  set(view ${CMAKE_BINARY_DIR}/floors/${name})
  file(REMOVE_RECURSE ${view})
  file(MAKE_DIRECTORY ${view})
  foreach(folder IN LISTS ARGN)
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${folder} ${view}/${folder} SYMBOLIC)
  endforeach()
  set(${out_var} ${view} PARENT_SCOPE)
endfunction()
