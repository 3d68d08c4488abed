#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install the packages, build everything and run examples/ping-pong on the
# default backend (KDBUS_BACKEND=auto: the kernel module when loaded, else the
# socket broker). Arguments are passed to ping-pong; without any, it runs
# --compare: the raw socketpair, memfd, dbus-daemon and dbus-broker baselines
# in the same run, with the ratios.
set -eu
. "$(dirname "$0")/common.sh"

kd_deps
kd_configure build
kd_make

# the broker is not installed: point the library at the one just built
export KDBUS_BROKER="$kd_dir/kdbus-broker"
[ $# -gt 0 ] || set -- --compare
kd_step "examples/ping-pong $* (KDBUS_BACKEND=${KDBUS_BACKEND:-auto})"
"$kd_dir/examples/ping-pong" "$@"
