#!/usr/bin/env bash
# Builds the Debian packages of a build tree (cpack -G DEB: libmproc0 and libmproc-dev), checks
# their metadata and file lists, asks apt-get to simulate installing them (the machine is left as
# it was), unpacks both into a fresh directory tree (dpkg -x: no root, no chroot) and builds and
# runs a C program against that tree through its pkg-config file.
#
# usage: check_deb.sh <build dir> <consumer sources dir>
set -euo pipefail

build_dir=$(cd "$1" && pwd) consumer_dir=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/mproc-deb-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
die() {
  echo "FAIL: $*"
  exit 1
}

echo "--- cpack -G DEB in $build_dir"
(cd "$build_dir" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log"
  die "cpack failed"
}
shopt -s nullglob
runtime=("$work"/out/libmproc0_*.deb)
dev=("$work"/out/libmproc-dev_*.deb)
((${#runtime[@]} == 1)) || die "expected one libmproc0 package, found: $(ls "$work/out")"
((${#dev[@]} == 1)) || die "expected one libmproc-dev package, found: $(ls "$work/out")"

for deb in "${runtime[0]}" "${dev[0]}"; do
  echo "--- $(basename "$deb")"
  dpkg-deb --field "$deb"
  dpkg-deb --contents "$deb" | awk '{print "  " $6 ($7 ? " " $7 " " $8 : "")}'
done

field() { dpkg-deb --field "$1" "$2"; }
[[ $(field "${runtime[0]}" Package) == libmproc0 ]] || die "the runtime package is not libmproc0"
[[ $(field "${dev[0]}" Package) == libmproc-dev ]] || die "the development package is not libmproc-dev"
version=$(field "${runtime[0]}" Version)
[[ $(field "${dev[0]}" Depends) == *"libmproc0 (= $version)"* ]] ||
  die "libmproc-dev does not depend on libmproc0 (= $version): $(field "${dev[0]}" Depends)"
[[ $(field "${runtime[0]}" Depends) == *libspdlog* ]] ||
  die "libmproc0's dependencies miss spdlog: $(field "${runtime[0]}" Depends)"

# What each package must hold, and must not: a file in the wrong package breaks `apt install` of
# the runtime alone (no headers needed) or leaves the development package without its library.
runtime_files=$(dpkg-deb --contents "${runtime[0]}" | awk '{print $6}')
dev_files=$(dpkg-deb --contents "${dev[0]}" | awk '{print $6}')
expect() {  # expect <list name> <list> <pattern>
  grep -qE "$3" <<<"$2" || die "$1 has no file matching $3"
}
refuse() {
  if grep -qE "$3" <<<"$2"; then die "$1 must not hold $(grep -E "$3" <<<"$2" | head -n1)"; fi
}
expect libmproc0 "$runtime_files" '^\./usr/lib/(.*/)?libmproc\.so\.0$'
expect libmproc0 "$runtime_files" '^\./usr/lib/(.*/)?libmproc\.so\.[0-9]+\.[0-9]+\.[0-9]+$'
expect libmproc0 "$runtime_files" '^\./usr/share/doc/mproc/LICENSE$'
refuse libmproc0 "$runtime_files" '^\./usr/include/|libmproc\.so$|\.pc$|\.cmake$'
expect libmproc-dev "$dev_files" '^\./usr/include/mproc\.h$'
expect libmproc-dev "$dev_files" '^\./usr/include/mproc/mproc\.hpp$'
expect libmproc-dev "$dev_files" '^\./usr/include/mproc/pool\.h$'
expect libmproc-dev "$dev_files" '^\./usr/include/mproc/detail/pool_wire\.hpp$'
expect libmproc-dev "$dev_files" '^\./usr/lib/(.*/)?libmproc\.so$'
expect libmproc-dev "$dev_files" '^\./usr/lib/(.*/)?pkgconfig/mproc\.pc$'
expect libmproc-dev "$dev_files" '^\./usr/lib/(.*/)?cmake/mproc/mprocConfig\.cmake$'
refuse libmproc-dev "$dev_files" 'libmproc\.so\.'

echo "--- apt-get install --simulate of both (dependencies resolve; nothing is installed)"
if command -v apt-get >/dev/null; then
  apt-get install --simulate "${runtime[0]}" "${dev[0]}" >"$work/apt.log" 2>&1 || {
    cat "$work/apt.log"
    die "apt-get cannot install the packages"
  }
  grep -E '^(Inst|Conf) libmproc' "$work/apt.log"
fi

echo "--- both unpacked into $work/root; a C program built against them"
dpkg -x "${runtime[0]}" "$work/root"
dpkg -x "${dev[0]}" "$work/root"
pc=$(find "$work/root" -name mproc.pc)
[[ -n $pc ]] || die "no mproc.pc in the unpacked tree"
grep -q '^prefix=/usr$' "$pc" || die "mproc.pc's prefix is not /usr: $(grep '^prefix=' "$pc")"
libdir=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_PATH=${pc%/mproc.pc} PKG_CONFIG_SYSROOT_DIR=$work/root
# Word lists: split on purpose.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Werror $(pkg-config --cflags mproc) "$consumer_dir/c/consumer.c" \
  -o "$work/consumer" $(pkg-config --libs mproc)
LD_LIBRARY_PATH=$libdir "$work/consumer"
echo "OK: libmproc0 and libmproc-dev hold the right files and work unpacked"
