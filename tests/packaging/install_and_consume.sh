#!/usr/bin/env bash
# Installs the build tree into a fresh prefix and builds two programs against the installed copy
# only, as users would: a C program through pkg-config, and a C++ project through
# find_package(mproc) and mproc::mproc. Both run, and must load the installed libmproc.so. Finally,
# asking find_package for an incompatible version (1.0) must fail: releases with another major
# version are not ABI compatible (mprocConfigVersion.cmake is SameMajorVersion).
#
# usage: install_and_consume.sh <build dir> <consumer sources dir> <project version> <cmake>
#                               <C compiler> <C++ compiler>
set -euo pipefail

build_dir=$1 consumer_dir=$2 version=$3 cmake=$4 cc=$5 cxx=$6

work=$(mktemp -d "${TMPDIR:-/tmp}/mproc-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
step() { echo "--- $*"; }
die() {
  echo "FAIL: $*"
  exit 1
}
# Fails unless `binary` resolves libmproc.so.* to a file inside the prefix.
check_loads_installed() {
  local binary=$1 resolved
  resolved=$(ldd "$binary" | awk '/libmproc\.so/ {print $3}')
  [[ $resolved == "$prefix"/* ]] ||
    die "$binary loads libmproc from '${resolved:-nowhere}', not from $prefix"
}

command -v pkg-config >/dev/null || die "pkg-config is needed: apt-get install pkg-config"

step "cmake --install $build_dir --prefix $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix"
[[ -f $prefix/include/mproc.h && -f $prefix/include/mproc/mproc.hpp && -f $prefix/include/mproc/pool.h ]] ||
  die "the headers were not installed under $prefix/include"
pc=$(find "$prefix" -name mproc.pc -path '*/pkgconfig/*')
[[ -n $pc ]] || die "mproc.pc was not installed"
version_file=$(find "$prefix" -name mprocConfigVersion.cmake)
[[ -n $version_file ]] || die "mprocConfigVersion.cmake was not installed"

step "C consumer through pkg-config ($pc)"
export PKG_CONFIG_PATH=${pc%/mproc.pc}
[[ $(pkg-config --modversion mproc) == "$version" ]] ||
  die "pkg-config reports version $(pkg-config --modversion mproc), expected $version"
cflags=$(pkg-config --cflags mproc)
libs=$(pkg-config --libs mproc)
libdir=$(pkg-config --variable=libdir mproc)
echo "cflags: $cflags"
echo "libs:   $libs"
[[ $libdir == "$prefix"/* && -e $libdir/libmproc.so ]] ||
  die "mproc.pc's libdir '$libdir' does not hold the installed library"
[[ " $cflags " == *" -I$prefix/include "* ]] ||
  die "mproc.pc's cflags '$cflags' do not point at $prefix/include"
# $cflags and $libs are word lists: split on purpose.
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$consumer_dir/c/consumer.c" \
  -o "$work/c_consumer" $libs -Wl,-rpath,"$libdir"
check_loads_installed "$work/c_consumer"
"$work/c_consumer"

step "C++ consumer through find_package(mproc 0.1) and mproc::mproc"
common_args=(-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_BUILD_TYPE=Release)
"$cmake" -S "$consumer_dir/cxx" -B "$work/cxx" "${common_args[@]}"
found=$(sed -n 's/^mproc_DIR:PATH=//p' "$work/cxx/CMakeCache.txt")
[[ $found == "$prefix"/* ]] || die "find_package(mproc) found '$found', not the package in $prefix"
"$cmake" --build "$work/cxx"
check_loads_installed "$work/cxx/consumer"
"$work/cxx/consumer"

step "find_package(mproc COMPONENTS cereal) gives mproc::cereal"
"$cmake" -S "$consumer_dir/cxx" -B "$work/cxx-cereal" "${common_args[@]}" -DMPROC_CONSUMER_CEREAL=ON
"$cmake" --build "$work/cxx-cereal"
"$work/cxx-cereal/consumer_cereal"

step "find_package(mproc 1.0) must be rejected: another major version"
if output=$("$cmake" -S "$consumer_dir/cxx" -B "$work/cxx-1.0" "${common_args[@]}" \
  -DMPROC_REQUESTED_VERSION=1.0 2>&1); then
  echo "$output"
  die "find_package(mproc 1.0 REQUIRED) accepted version $version"
fi
grep -q 'requested version "1.0"' <<<"$output" || {
  echo "$output"
  die "find_package(mproc 1.0) failed, but not because of the version"
}
echo "rejected as expected"

# With major version 0, "1.0 is rejected" does not tell SameMajorVersion from AnyNewerVersion, so
# the version file's policy is also checked on a copy that claims version 7.3.0.
step "mprocConfigVersion.cmake's policy is SameMajorVersion (checked on a copy made 7.3.0)"
sed "s/\"$version\"/\"7.3.0\"/g" "$version_file" >"$work/fake-version.cmake"
cat >"$work/ask.cmake" <<'CMAKE'
# Does what find_package does before it includes a version file.
string(REPLACE "." ";" parts "${PACKAGE_FIND_VERSION}")
list(GET parts 0 PACKAGE_FIND_VERSION_MAJOR)
list(GET parts 1 PACKAGE_FIND_VERSION_MINOR)
set(PACKAGE_FIND_VERSION_PATCH 0)
set(PACKAGE_FIND_VERSION_COUNT 2)
set(CMAKE_SIZEOF_VOID_P 8)
include("${VERSION_FILE}")
message("${PACKAGE_VERSION}:${PACKAGE_VERSION_COMPATIBLE}")
CMAKE
for case in 7.0:TRUE 7.3:TRUE 7.4:FALSE 6.0:FALSE 8.0:FALSE; do
  requested=${case%:*} expected=${case#*:}
  answer=$("$cmake" -DVERSION_FILE="$work/fake-version.cmake" -DPACKAGE_FIND_VERSION="$requested" \
    -P "$work/ask.cmake" 2>&1)
  echo "7.3.0 asked for $requested: compatible=${answer#*:} (expected $expected)"
  [[ $answer == "7.3.0:$expected" ]] || die "the version file is not SameMajorVersion"
done

step "the Python package in the prefix's site directory"
init=$(find "$prefix" -path '*-packages/mproc/__init__.py')
if [[ -x /usr/bin/python3 ]]; then
  [[ -n $init ]] || die "the Python package was not installed"
  site=${init%/mproc/__init__.py}
  loaded=$(cd "$work" && env -u MPROC_LIBRARY PYTHONPATH="$site" /usr/bin/python3 -c \
    'import mproc; print(mproc.LIBRARY_PATH, mproc.Pool(1).apply(abs, (-42,)))')
  echo "python3: $loaded"
  [[ $loaded == "$prefix"/*" 42" ]] || die "the installed Python package loads '$loaded'"
fi

echo "OK: the installed package works with pkg-config, find_package and python3"
