#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The shared library exports kdbus_* and nothing else, every function the
# public headers declare is exported, and the SONAME is libkdbus.so.0.
set -eu

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
lib=${1:-$builddir/.libs/libkdbus.so}

if [ ! -e "$lib" ]; then
	echo "SKIP: no shared library at $lib (--disable-shared?)"
	exit 77
fi
lib=$(readlink -f "$lib")
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kdbus-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" = libkdbus.so.0 ]; then
	echo "ok: SONAME $soname"
else
	echo "FAIL: SONAME is '$soname', expected libkdbus.so.0"
	fail=1
fi

# defined dynamic symbols; type A entries are version nodes from the script
nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u >"$tmp/exported"
grep -v '^kdbus_' "$tmp/exported" >"$tmp/foreign" || true
if [ -s "$tmp/foreign" ]; then
	echo "FAIL: symbols exported without the kdbus_ prefix:"
	sed 's/^/  /' "$tmp/foreign"
	fail=1
else
	echo "ok: $(wc -l <"$tmp/exported") exported symbols, all kdbus_*"
fi
if [ ! -s "$tmp/exported" ]; then
	echo "FAIL: nothing exported"
	fail=1
fi

# function declarations in the public headers: "<type> kdbus_name(" with
# comments stripped by the preprocessor, static inline helpers excluded
for h in "$srcdir"/include/kdbus/*.h; do
	${CC:-cc} -fpreprocessed -dD -E -P "$h" 2>/dev/null |
		grep -v 'static' |
		grep -oE '(^|[ *])kdbus_[a-z0-9_]+[ ]*\(' |
		sed -E 's/^[ *]//; s/[ ]*\($//'
done | sort -u >"$tmp/declared"
comm -23 "$tmp/declared" "$tmp/exported" >"$tmp/missing"
if [ -s "$tmp/missing" ]; then
	echo "FAIL: declared in include/kdbus but not exported:"
	sed 's/^/  /' "$tmp/missing"
	fail=1
else
	echo "ok: all $(wc -l <"$tmp/declared") functions declared in include/kdbus are exported"
fi

if [ "$fail" -ne 0 ]; then
	exit 1
fi
echo "PASS: ABI exports"
