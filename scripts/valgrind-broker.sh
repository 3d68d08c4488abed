#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Stand-in for kdbus-broker that runs the real one under valgrind, one log per
# broker process. scripts/run-tests.sh points KDBUS_TEST_BROKER here and sets:
#   KDBUS_VALGRIND_BROKER  the kdbus-broker binary
#   KDBUS_VALGRIND_FLAGS   valgrind options
#   KDBUS_VALGRIND_LOGDIR  where the logs go (<dir>/broker.<pid>.log)
# The fds the library hands the broker are inherited through exec unchanged.
# shellcheck disable=SC2086 # the options are split on purpose
exec valgrind ${KDBUS_VALGRIND_FLAGS:-} \
	--log-file="${KDBUS_VALGRIND_LOGDIR:-/tmp}/broker.%p.log" \
	"${KDBUS_VALGRIND_BROKER:?KDBUS_VALGRIND_BROKER must name kdbus-broker}" "$@"
