#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# examples/ping-pong correctness (never its speed): every size, every payload
# kind (vec, memfd: the prepared memfd echoed back, memfd-fresh: a new memfd
# per message) and both modes with --verify and a few iterations; the JSON
# must hold one row per configuration with the requested count, and every
# request and reply must have been checked byte for byte, with no failure
# (--verify also checks that an echoed memfd is the very file that was sent).
set -u

builddir=${top_builddir:-.}
pp="$builddir/examples/ping-pong"
if [ ! -x "$pp" ]; then
	echo "SKIP: $pp not built"
	exit 77
fi
# an uninstalled tree: use the broker just built
if [ -z "${KDBUS_BROKER:-}" ] && [ -x "$builddir/kdbus-broker" ]; then
	KDBUS_BROKER="$builddir/kdbus-broker"
	export KDBUS_BROKER
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-pingpong.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

bad() {
	echo "FAIL: $*"
	fail=1
}

# value of "key": N in a one-line JSON object
field() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\": \([0-9][0-9.]*\).*/\1/p"
}

# run NAME ITER WARMUP CLIENTS ARGS...: run ping-pong, keep its JSON in $tmp/NAME.json
run() {
	name=$1
	shift
	if ! "$pp" --json --no-progress --verify "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"; then
		bad "$name: ping-pong $* exited with an error"
		cat "$tmp/$name.err"
		return 1
	fi
	return 0
}

# row NAME SYSTEM PAYLOAD MODE SIZE ITERATIONS: exactly one such row with that count
row() {
	n=$(grep -c "{\"system\": \"$2\", \"backend\": \"[a-z_-]*\", \"payload\": \"$3\", \"mode\": \"$4\", \"size\": $5, \"iterations\": $6," "$tmp/$1.json")
	[ "$n" = 1 ] || bad "$1: expected one row $2 $3 $4 size $5 with $6 iterations, found $n"
}

# verify NAME ROUND_TRIPS: every round trip checked both ways, no failure
verify() {
	v=$(grep '"verify"' "$tmp/$1.json")
	[ "$(field "$v" round_trips)" = "$2" ] || bad "$1: round_trips $(field "$v" round_trips), expected $2"
	[ "$(field "$v" requests_checked)" = "$2" ] || bad "$1: requests_checked $(field "$v" requests_checked), expected $2"
	[ "$(field "$v" replies_checked)" = "$2" ] || bad "$1: replies_checked $(field "$v" replies_checked), expected $2"
	[ "$(field "$v" failures)" = 0 ] || bad "$1: $(field "$v" failures) payload check failures"
	grep -q '"enabled": true' "$tmp/$1.json" || bad "$1: verify not enabled in the JSON"
}

sizes="8 256 4096 65536 1048576 16777216"
iters=5
warm=2

# 1. libkdbus: vec, memfd and memfd-fresh, sync and async, every size; socketpair baselines too
if run all --iterations $iters --warmup $warm --sizes 8,256,4K,64K,1M,16M \
	--payload vec,memfd,memfd-fresh --mode sync,async --systems libkdbus,socketpair,memfd; then
	rows=0
	for s in $sizes; do
		for m in sync async; do
			# PAYLOAD_VEC carries at most 2 MiB (kdbus limit): no 16 MiB vec row
			if [ "$s" -le 2097152 ]; then
				row all libkdbus vec $m $s $iters
				rows=$((rows + 1))
			fi
			row all libkdbus memfd $m $s $iters
			row all libkdbus memfd-fresh $m $s $iters
			rows=$((rows + 2))
		done
		row all socketpair inline sync $s $iters
		row all socketpair memfd sync $s $iters
		row all socketpair memfd-fresh sync $s $iters
		rows=$((rows + 3))
	done
	n=$(grep -c '{"system"' "$tmp/all.json")
	[ "$n" = "$rows" ] || bad "all: $n result rows, expected $rows"
	verify all $((rows * (iters + warm)))
	grep -q '"host": {"cpus_online": [0-9]*, "pinned": false' "$tmp/all.json" || bad "all: host object"
fi

# 2. pinned, auto payload (vec below the threshold, memfd above), two clients at once
cpu=0
if run clients --iterations $iters --warmup $warm --sizes 8,1M --clients 2 --cpu $cpu,$cpu \
	--memfd-threshold 512K --systems libkdbus; then
	row clients libkdbus vec sync 8 $((2 * iters))
	row clients libkdbus memfd sync 1048576 $((2 * iters))
	verify clients $((2 * 2 * (iters + warm)))
	grep -q "\"pinned\": true, \"client_cpu\": $cpu, \"server_cpu\": $cpu" "$tmp/clients.json" ||
		bad "clients: host object does not show the pinning"
fi

# 3. a size that is not a multiple of 8 exercises the ragged pattern tail
if run odd --iterations $iters --warmup $warm --sizes 13,4099 --payload vec,memfd,memfd-fresh \
	--systems libkdbus,socketpair,memfd; then
	row odd libkdbus vec sync 13 $iters
	row odd libkdbus memfd sync 4099 $iters
	row odd libkdbus memfd-fresh sync 13 $iters
	row odd socketpair inline sync 13 $iters
	row odd socketpair memfd sync 4099 $iters
	row odd socketpair memfd-fresh sync 4099 $iters
	verify odd $((12 * (iters + warm)))
fi

# 4. broadcasts to 2 subscribers (needs MATCH_ADD): every delivery checked by its subscriber
if run fanout --iterations $iters --warmup $warm --sizes 8,64K,4M --fanout 2 \
	--payload auto,memfd-fresh; then
	row fanout libkdbus vec broadcast 8 $iters
	row fanout libkdbus vec broadcast 65536 $iters
	row fanout libkdbus memfd broadcast 4194304 $iters
	for s in 8 65536 4194304; do
		row fanout libkdbus memfd-fresh broadcast $s $iters
	done
	v=$(grep '"verify"' "$tmp/fanout.json")
	[ "$(field "$v" requests_checked)" = $((2 * 6 * (iters + warm))) ] ||
		bad "fanout: $(field "$v" requests_checked) deliveries checked, expected $((2 * 6 * (iters + warm)))"
	[ "$(field "$v" failures)" = 0 ] || bad "fanout: $(field "$v" failures) failures (payload or lost broadcasts)"
fi

if [ $fail != 0 ]; then
	echo "--- JSON of the failing runs in $tmp:"
	for f in "$tmp"/*.json; do
		echo "== $f"
		cat "$f"
	done
	exit 1
fi
echo "PASS: ping-pong counts and payload verification"
exit 0
