#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Regenerate configure and Makefile.in from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf -fi
echo "Now run ./configure && make"
