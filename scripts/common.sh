# SPDX-License-Identifier: BSD-2-Clause
# Shared by scripts/run-*.sh (sourced, not run): locate the tree, install
# packages, generate and configure a build directory.

KD_SRC=$(cd "$(dirname "$0")/.." && pwd)
KD_JOBS=$(nproc 2>/dev/null || echo 2)

kd_step() {
	printf '\n==== %s\n' "$*"
}

kd_deps() {
	kd_step "installing packages"
	sh "$KD_SRC/scripts/install-deps.sh"
}

# kd_configure DIR [configure arguments]: an out-of-tree build in $KD_SRC/DIR
kd_configure() {
	kd_dir=$KD_SRC/$1
	shift
	if [ ! -x "$KD_SRC/configure" ] || [ "$KD_SRC/configure.ac" -nt "$KD_SRC/configure" ] ||
	   [ "$KD_SRC/Makefile.am" -nt "$KD_SRC/Makefile.in" ]; then
		kd_step "autogen.sh"
		sh "$KD_SRC/autogen.sh"
	fi
	kd_step "configure in $kd_dir $*"
	mkdir -p "$kd_dir"
	(cd "$kd_dir" && "$KD_SRC/configure" --quiet "$@")
}

kd_make() {
	kd_step "make -C $kd_dir $*"
	make -C "$kd_dir" -j"$KD_JOBS" "$@"
}
