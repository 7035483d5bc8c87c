#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The control API under a short load: 16 clients for 5 s over status, record
# lists and lookups, print jobs and whole enrollments with uploads, while a
# batch prints on two simulated printers (the short form of bench/api, with
# the same client, build/default/bench/api_load).  Every answer must be the
# expected one, none may be missing, every enrollment must be stored, the
# batch must print throughout; the daemon's memory is only checked loosely
# here (the last second at most twice the second one), a 5 s run being
# mostly its warm-up.
# As root only: the client creates the first admin, which only root may do.
. "$(dirname "$0")/lib.sh"
setup
if [ "$(id -u)" != 0 ]; then
	ok "# SKIP only root may create the first admin"
	exit 0
fi
# make check builds the bench programs beside the test peers in tests/emu.
load=${EKTP_EMU_DIR:-$top/build/default/emu}
load=${load%/emu}/bench/api_load
if [ ! -x "$load" ]; then
	not_ok "the load client $load is built"
	done_testing
	exit
fi

# About 2.5 s per card: the batch of 10 outlasts the run.
slow='delay = 400\ntimeout = 60000\n'
write_conf "$(sim_print_devices "$slow" "$slow")$(stock_items 100 500)"
start_daemon
"$load" "$SOCK" "$DAEMON_PID" 5 16 10 1 2.0 >"$T/load.out" 2>&1
rc=$?
sed 's/^/# /' "$T/load.out"
is "api_load exits 0" "$rc" 0
like "no error answer and no lost request" "$(cat "$T/load.out")" \
	"error answers 0   lost 0"
like "every enrollment is stored, no session left open" "$(cat "$T/load.out")" \
	"records +([0-9]+) stored .*\\(want \\1\\) +sessions left open 0"
like "the batch printed during the load" "$(cat "$T/load.out")" \
	"[1-9][0-9]* of 10 cards printed during the load .* running at its end"
check "ektpd still runs" kill -0 "$DAEMON_PID"
check "no answer 5xx was logged" test "$(grep -c 'answered 5[0-9][0-9]' "$T/ektpd.log")" = 0
stop_daemon
is "ektpd stops cleanly" "$DAEMON_RC" 0
done_testing
