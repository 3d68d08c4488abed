#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Build tests/pkgconfig/unicast.c outside the tree against an installed copy of
# libkdbus, with nothing but `pkg-config --cflags --libs kdbus`, and run it.
#
# Two modes:
#  - default (make check): `make install DESTDIR=<tmp>` from $top_builddir, then
#    PKG_CONFIG_SYSROOT_DIR maps the .pc paths into the DESTDIR and KDBUS_BROKER
#    points at the broker there (its compiled-in path is the final prefix).
#  - KDBUS_TEST_PREFIX=<prefix>: use a copy already installed there (make
#    install with --prefix=<prefix>); the library must find its broker alone.
# Exit 77 (skipped) for sanitizer builds: an uninstrumented program cannot load
# an ASan-instrumented library. A static-only install is linked with
# `pkg-config --static` (which checks Libs.private). KDBUS_TEST_WRAPPER goes in
# front of the test program (scripts/run-tests.sh puts valgrind there).
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
CC=${CC:-cc}
MAKE=${MAKE:-make}

if [ -n "${SANITIZER_CFLAGS:-}" ]; then
	echo "SKIP: sanitizer build"
	exit 77
fi
command -v pkg-config >/dev/null || { echo "FAIL: pkg-config missing"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kdbus-pkgconfig.XXXXXX")
cleanup() {
	# a failed run may leave a broker behind; it exits with the owner fd
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

unset PKG_CONFIG_SYSROOT_DIR KDBUS_BACKEND || true
if [ -n "${KDBUS_TEST_PREFIX:-}" ]; then
	prefix=$KDBUS_TEST_PREFIX
	pcfile=$(find "$prefix" -name kdbus.pc -path '*/pkgconfig/*' | head -n 1)
	[ -n "$pcfile" ] || { echo "FAIL: no kdbus.pc under $prefix"; exit 1; }
	export PKG_CONFIG_PATH="$(dirname "$pcfile")"
	sysroot=
	# the installed library must locate the installed broker by itself
	unset KDBUS_BROKER || true
else
	destdir=$tmp/destdir
	echo "installing into DESTDIR=$destdir"
	if ! (cd "$builddir" && $MAKE install DESTDIR="$destdir") >"$tmp/install.log" 2>&1; then
		cat "$tmp/install.log"
		echo "FAIL: make install DESTDIR"
		exit 1
	fi
	pcfile=$(find "$destdir" -name kdbus.pc -path '*/pkgconfig/*' | head -n 1)
	[ -n "$pcfile" ] || { echo "FAIL: no kdbus.pc installed"; exit 1; }
	export PKG_CONFIG_PATH="$(dirname "$pcfile")"
	export PKG_CONFIG_SYSROOT_DIR="$destdir"
	sysroot=$destdir
fi

# a .pc variable inside the DESTDIR (pkgconf prefixes the sysroot itself)
pc_path() {
	v=$(pkg-config --variable="$1" kdbus)
	case $v in
	"$sysroot"/*) echo "$v" ;;
	*) echo "$sysroot$v" ;;
	esac
}

flags=$(pkg-config --cflags --libs kdbus)
libdir=$(pc_path libdir)
libexecdir=$(pc_path libexecdir)
echo "pkg-config --cflags --libs kdbus: $flags"

# the flags must point into the installed copy, never into the source tree
case " $flags " in
*"$srcdir/include"*|*"$srcdir/src"*) echo "FAIL: flags point into the tree"; exit 1 ;;
esac
case " $flags " in
*" -L$libdir "*) ;;
*) echo "FAIL: flags do not name $libdir"; exit 1 ;;
esac
[ -x "$libexecdir/kdbus-broker" ] || { echo "FAIL: no broker at $libexecdir/kdbus-broker"; exit 1; }
# a --disable-shared build installs only libkdbus.a: link it with --static,
# which also proves Libs.private is complete
static=
if [ ! -e "$libdir/libkdbus.so.0" ]; then
	[ -e "$libdir/libkdbus.a" ] || { echo "FAIL: neither libkdbus.so.0 nor libkdbus.a in $libdir"; exit 1; }
	static=--static
	flags=$(pkg-config --cflags --libs --static kdbus)
	echo "static only: pkg-config --cflags --libs --static kdbus: $flags"
fi

mkdir "$tmp/work" "$tmp/root"
cp "$srcdir/tests/pkgconfig/unicast.c" "$tmp/work/"
cd "$tmp/work"
# shellcheck disable=SC2086 # word splitting of the flags is intended
$CC -Wall -Wextra -Werror -o unicast unicast.c $flags

if [ -n "$sysroot" ]; then
	export KDBUS_BROKER="$libexecdir/kdbus-broker"
fi
export KDBUS_ROOT="$tmp/root"
export KDBUS_BACKEND=socket
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# the program must load the installed copy, not some other libkdbus
if [ -z "$static" ] && ! ldd ./unicast | grep -q "libkdbus.so.0 => $libdir/libkdbus.so.0"; then
	ldd ./unicast
	echo "FAIL: unicast does not load $libdir/libkdbus.so.0"
	exit 1
fi
# KDBUS_TEST_WRAPPER: e.g. valgrind options (scripts/run-tests.sh sets it)
# shellcheck disable=SC2086
${KDBUS_TEST_WRAPPER:-} ./unicast
