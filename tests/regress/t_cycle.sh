#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One resident's whole cycle on the simulators, as short as it can be: the
# first sample resident enrolled with ektpctl (fourteen captures against their
# quality gates, then the commit), the card printed (chip data signed and
# encoded, the face rendered and printed, a blank and a ribbon print taken
# from the ledger), the chip image exported and verified, the audit chain
# checked, then SIGTERM: the daemon must exit 0.  make check-valgrind runs
# this with the daemon under memcheck, where any memory error, or a leak
# found at exit, makes that status 99.
. "$(dirname "$0")/lib.sh"
setup
# Under memcheck a capture takes seconds: device timeouts stretch with SLOW.
devices() {
	local class wait="timeout = $((5000 * SLOW))"
	for class in fingerprint iris face signature encoder; do
		printf '[device %s]\\ndriver = sim-%s\\n%s\\n' "$class" "$class" "$wait"
	done
	printf '[device printer]\\ndriver = sim-printer\\nencoder = encoder\\noutput_dir = %s\\n%s\\n' "$T/var/printed" "$wait"
}
write_conf "$(devices)$(stock_items 10 500)"
start_daemon
add_staff
add_user sup supervisor 123456 "$ADMIN" || not_ok "add a supervisor"
SUP=$(login sup 123456)

jq '.[0:1]' "$EKTP_SOURCE_DIR/tests/data/residents.json" >"$T/one.json"
echo 123456 | ctl login op >/dev/null
out=$(cd "$EKTP_SOURCE_DIR" && ctl enroll --from "$T/one.json" 2>&1)
is "the resident is enrolled" "$?" 0
like "its record is print-ready" "$out" "print_ready"
id=$(ctl --json records --state print_ready | jq -r '.records[0].id')

out=$(ctl print 2>&1)
is "ektpctl print ends" "$?" 0
is "the record is printed" "$(ctl --json records --state printed | jq -r '.records[0].id')" "$id"
is "one card face was written" "$(find "$T/var/printed" -name '*.png' | wc -l)" 1
api GET /v1/stock "" "$SUP"
is "the printer's ledger lost one blank" \
	"$(jget '.levels[] | select(.item == "blank-card" and .location == "printer") | .on_hand')" 9

echo 123456 | ctl login sup >/dev/null
check "the chip image is exported" ctl card export "$id" "$T/chip"
check "its signature verifies" ctl card verify "$T/chip"
api GET /v1/audit/verify "" "$ADMIN"
is "the audit chain verifies" "$(jget .ok)" true

stop_daemon TERM
is "ektpd exits 0 on SIGTERM (under memcheck: no error, no leak)" "$DAEMON_RC" 0
grep -E '^==[0-9]+== ' "$T/ektpd.log" | head -40 | sed 's/^/# /'
done_testing
