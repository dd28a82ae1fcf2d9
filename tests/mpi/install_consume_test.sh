#!/usr/bin/env bash
# The mpi component as a user gets it: install the build into a fresh prefix, then build and run a
# C program through `pkg-config mproc-mpi` and a C++ project through
# `find_package(mproc COMPONENTS mpi)` and mproc::mpi; and check that libmproc.so itself does not
# depend on MPI.
# usage: install_consume_test.sh <build dir> <consumer dir> <cmake> <cc> <cxx>
set -euo pipefail
build_dir=$1 consumer_dir=$2 cmake=$3 cc=$4 cxx=$5
work=$(mktemp -d "${TMPDIR:-/tmp}/mproc-mpi-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
die() {
  echo "FAIL: $*"
  exit 1
}

"$cmake" --install "$build_dir" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libmproc_mpi.so' | head -n1)")
[[ -e $libdir/libmproc_mpi.so ]] || die "libmproc_mpi.so was not installed"
[[ -f $prefix/include/mproc_mpi.h && -f $prefix/include/mproc/mpi/pool.hpp ]] ||
  die "the mpi headers were not installed"
# Captured, not piped into grep -q: with pipefail, grep closing the pipe early would fail ldd.
core_deps=$(ldd "$libdir/libmproc.so")
mpi_deps=$(ldd "$libdir/libmproc_mpi.so")
[[ $core_deps != *libmpi* ]] || die "libmproc.so depends on MPI: $core_deps"
[[ $mpi_deps == *libmpi* ]] || die "libmproc_mpi.so does not link MPI"

export PKG_CONFIG_PATH=$libdir/pkgconfig
cflags=$(pkg-config --cflags mproc-mpi) || die "pkg-config does not know mproc-mpi"
libs=$(pkg-config --libs mproc-mpi)
echo "mproc-mpi: cflags $cflags; libs $libs"
"$cc" -std=c11 -Wall -Wextra -Werror $cflags "$consumer_dir/consumer.c" -o "$work/c_consumer" \
  $libs -Wl,-rpath,"$libdir"
"$work/c_consumer"

"$cmake" -S "$consumer_dir/cxx" -B "$work/cxx" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
"$cmake" --build "$work/cxx" >/dev/null
"$work/cxx/consumer"
echo "ok"
