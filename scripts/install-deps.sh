#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Install what building, testing and benchmarking libkdbus needs on Debian 12.
# docs/dependencies.md says why each package is here.
# KDBUS_SKIP_APT=1 skips this step (packages already installed by hand).
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config libbsd-dev libcmocka-dev
doxygen valgrind libsystemd-dev dbus dbus-broker"

if [ "${KDBUS_SKIP_APT:-0}" = 1 ]; then
	echo "install-deps: KDBUS_SKIP_APT=1, not installing packages"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1; then
	SUDO=sudo
else
	echo "install-deps: not root and no sudo; install as root: $PACKAGES" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # the package list is split on purpose
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends $PACKAGES
