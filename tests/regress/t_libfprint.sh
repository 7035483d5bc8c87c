#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The libfprint driver against libfprint's own virtual_image device: the test
# plays the finger through the FP_VIRTUAL_IMAGE socket (tests/emu/fpfeed).
# A good print, retry errors, a fatal error, an image without ridges, a finger
# that never comes (timeout, API still answering), a client libfprint drops,
# the device disappearing and coming back, and configuration errors.
. "$(dirname "$0")/lib.sh"
setup
FEED="${EKTP_EMU_DIR:-$top/build/default/emu}/fpfeed"
export FP_VIRTUAL_IMAGE="$T/vimg.sock"

write_conf "[device finger]\ndriver = libfprint\ndevice = virtual_image\npoll_interval = 200\ntimeout = $((2000 * SLOW))\n"
check "ektpd -n accepts a libfprint device" "$EKTPD" -n -c "$CONF"
printf '[device f]\ndriver = libfprint\nppi = 5\n' >"$T/bad.conf"
like "a resolution out of range is refused, naming file and line" \
	"$("$EKTPD" -n -c "$T/bad.conf" 2>&1)" "bad.conf:3: \[device f\] ppi: '5' is not a whole number from 100"

start_daemon
add_staff
check "the virtual_image device comes up ready" wait_state finger ready
is "its driver is libfprint" "$(jget .driver)" libfprint
# The firmware comes with the first status read after the open: wait for it.
for i in $(seq 1 $((50 * SLOW))); do
	api GET /v1/devices/finger "" "$OP"
	[ "$(jget .firmware)" != null ] && break
	sleep 0.1
done
is "the libfprint driver id is reported as its firmware" "$(jget .firmware)" virtual_image

# selftest_with STEP...: runs the self-test while fpfeed plays STEP; sets STATUS and BODY.
selftest_with() {
	curl -s -m $((30 * SLOW)) -o "$T/selftest.json" -w '%{http_code}' --unix-socket "$SOCK" \
		-X POST -H "Authorization: Bearer $TECH" \
		http://localhost/v1/devices/finger/selftest >"$T/selftest.status" &
	local pid=$!
	[ $# -gt 0 ] && { sleep 0.3; "$FEED" "$FP_VIRTUAL_IMAGE" "$@" || not_ok "fpfeed $*"; }
	wait "$pid"
	STATUS=$(cat "$T/selftest.status")
	BODY=$(cat "$T/selftest.json")
}

selftest_with synth 7
is "a capture of a simulated print passes the self-test" "$(jget .ok)" true
check "and scores above the minimum" test "$(jget .figures.quality)" -ge 40
like "and names the quality algorithm" "$(jget .figures.algorithm)" "ektp-fp"

selftest_with retry 1
is "a retry error fails the capture" "$(jget .ok)" false
like "with libfprint's words for it" "$(jget .message)" "too short"
check "and leaves the device ready" wait_state finger ready

selftest_with blank
like "an image without ridges asks for a retry" "$(jget .message)" "[Mm]inutiae detection failed"

selftest_with error 5
like "a fatal device error fails the capture" "$(jget .message)" "protocol error"
check "the device is ready again after a fatal error" wait_state finger ready

# A finger that never comes: the capture times out; the API answers meanwhile.
start=$(date +%s%N)
curl -s -o "$T/st.json" --unix-socket "$SOCK" -X POST -H "Authorization: Bearer $TECH" \
	http://localhost/v1/devices/finger/selftest &
pid=$!
sleep 0.3
worst=0
for i in 1 2 3 4 5; do
	t=$(curl -s -o /dev/null -w '%{time_total}' --unix-socket "$SOCK" http://localhost/v1/status)
	ms=$(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 + 0.999 }') # rounded up
	[ "$ms" -gt "$worst" ] && worst=$ms
done
check "while a capture waits, the API answers within 100 ms (worst $worst ms)" test "$worst" -lt $((100 * SLOW))
wait "$pid"
elapsed=$((($(date +%s%N) - start) / 1000000))
BODY=$(cat "$T/st.json")
like "a finger that never comes fails with a timeout" "$(jget .message)" "no answer within"
check "after about the device's timeout ($elapsed ms)" test "$elapsed" -ge $((2000 * SLOW)) -a "$elapsed" -lt $((4000 * SLOW))
check "and the device is ready again for the next person" wait_state finger ready

selftest_with huge
like "a client that libfprint drops ends in a timeout, not a hang" "$(jget .message)" "no answer within"
check "the device recovers from it" wait_state finger ready
selftest_with synth 8
is "and captures again" "$(jget .ok)" true

# The device disappears mid-capture, then comes back without a restart.
before=$(audit_rows)
selftest_with remove
like "a device removed mid-capture fails that capture, saying so" "$(jget .message)" "removed"
api GET /v1/devices/finger "" "$OP"
reasons=$(jget '.reasons | join(",")')
[ "$(jget .state)" = ready ] && reasons="came back before we looked"
check "it comes back ready without a restart" wait_state finger ready
api GET "/v1/audit?after=$before" "" "$ADMIN"
like "its absence and return are audited" \
	"$(jget '[.rows[] | select(.action == "device.state") | .detail | tojson] | join(" ")')" "absent.*ready"
selftest_with synth 9
is "and captures after its return" "$(jget .ok)" true
[ "$reasons" = "came back before we looked" ] || is "while away it was offline" "$reasons" offline

# No such libfprint device.
stop_daemon
write_conf "[device finger]\ndriver = libfprint\ndevice = nonesuch\npoll_interval = 200\n"
start_daemon
check "a libfprint device that is not there stays absent" wait_state finger absent offline
like "and says which device it looked for" "$(jget .last_error)" 'no libfprint device "nonesuch".*found'

done_testing
