#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The device layer on simulators: every class comes up ready, every fault kind
# shows its state and reason, a hung device times out while the API stays
# responsive, unplug and replug, config errors name file and line, and state
# changes are audited.
. "$(dirname "$0")/lib.sh"
setup

DEVICES=$(sim_devices 'poll_interval = 100\ntimeout = 400\n')
write_conf "$DEVICES[device printer2]\ndriver = sim-printer\nserial = PR-2\nribbon = 123\nfaults = cover-open\npoll_interval = 100\n[device vendor]\nplugin = $EKTP_PLUGIN\nserial = VND-1\npoll_interval = 100\n"

# Configuration errors, checked by -n before anything starts.
bad() { # DESCRIPTION SECTION-TEXT EXPECTED-PATTERN
	printf '%b' "$2" >"$T/bad.conf"
	out=$("$EKTPD" -n -c "$T/bad.conf" 2>&1)
	is "$1: -n exits 1" $? 1
	like "$1: names file, line and rule" "$out" "^$T/bad.conf:$3"
}
bad "unknown driver" "[device x]\ndriver = nonesuch\n" "2: \[device x\] driver: no driver 'nonesuch'"
bad "no driver" "[device x]\nseed = 3\n" "1: \[device x\]: no driver given"
bad "unknown option" "[device x]\ndriver = sim-iris\nribbon = 4\n" "3: \[device x\]: driver 'sim-iris' has no option 'ribbon'"
bad "bad value" "[device x]\ndriver = sim-printer\nribbon = lots\n" "3: \[device x\] ribbon: 'lots' is not a whole number"
bad "out of range" "[device x]\ndriver = sim-face\ntimeout = 1\n" "3: \[device x\] timeout: '1' is not a whole number from 50"
bad "bad device name" "[device Bad Name]\ndriver = sim-face\n" "1: \[device Bad Name\]: a device name"
bad "plug-in that is not there" "[device x]\nplugin = nowhere.so\n" "2: \[device x\] plugin: cannot load"
libz=$(/sbin/ldconfig -p | awk '/libz\.so\.1 /{print $NF; exit}') # any library without our symbol
bad "plug-in without a driver table" "[device x]\nplugin = $libz\n" "2: \[device x\] plugin: .* exports no ektp_hal_driver"
bad "plug-in named wrongly" "[device x]\nplugin = $EKTP_PLUGIN\ndriver = sim-printer\n" "3: \[device x\] driver: 'sim-printer', but the plug-in's driver is 'plugin-sim-printer'"
bad "unknown fault in the config" "[device x]\ndriver = sim-printer\nfaults = jam, smoke\n" "3: \[device x\] faults: no fault 'smoke'"
cp "$EKTP_PLUGIN" "$T/vendor.so"
printf '[device x]\nplugin = vendor.so\n' >"$T/rel.conf"
is "a plug-in path relative to a config given by a relative path" \
	"$(cd "$T" && "$EKTPD" -n -c rel.conf 2>&1)" "configuration OK"
bad "device twice" "[device x]\ndriver = sim-face\n[device x]\ndriver = sim-face\n" "3: section \[device x\] given twice"

start_daemon
add_staff


for class in fingerprint iris face signature printer encoder; do
	check "$class simulator comes up ready" wait_state "$class" ready
done
check "a fault given in the config shows from the start" wait_state printer2 fault cover-open
check "a driver loaded from a shared object comes up ready" wait_state vendor ready
api GET /v1/devices/vendor "" "$OP"
is "the plug-in's driver name is shown" "$(jget .driver)" plugin-sim-printer
is "the plug-in device reports its serial" "$(jget .serial)" VND-1
api GET /v1/devices/printer2 "" "$OP"
is "the configured serial is reported" "$(jget .serial)" PR-2
is "the firmware version is reported" "$(jget .firmware)" sim-1
is "the ribbon counter is reported" "$(jget .counters.supply_remaining)" 123
api GET /v1/devices "" "$OP"
is "all eight devices are listed" "$(jget '.devices | length')" 8
echo 123456 | ctl login op >/dev/null
out=$(ctl devices 2>&1)
like "ektpctl devices shows the printer ready" "$out" "printer +printer +sim-printer +ready"
like "ektpctl devices shows printer2's reason" "$out" "printer2 +printer +sim-printer +fault +cover-open"

# fault DEVICE KIND [COUNT]
fault() {
	local body="{\"kind\":\"$2\"${3:+,\"count\":$3}}"
	api POST "/v1/devices/$1/fault" "$body" "$TECH"
}
for pair in jam:media-jam ribbon-out:marker-supply-empty cover-open:cover-open hopper-empty:media-empty; do
	kind=${pair%%:*} reason=${pair#*:}
	fault printer "$kind"
	is "fault $kind accepted" "$STATUS" 200
	check "fault $kind: printer shows fault $reason" wait_state printer fault "$reason"
	fault printer clear
	check "after clear the printer is ready" wait_state printer ready
done
fault printer cleaning-required
check "cleaning-required degrades the printer" wait_state printer degraded cleaning-required
fault printer clear
wait_state printer ready
fault encoder chip-failure
check "chip-failure shows the encoder in fault" wait_state encoder fault chip-failure
fault encoder clear
check "after clear the encoder is ready" wait_state encoder ready
fault printer chip-failure
is "chip-failure is an encoder's fault, not a printer's" "$STATUS" 400

fault fingerprint unplug
check "unplug: the device goes absent" wait_state fingerprint absent offline
api GET /v1/devices/fingerprint "" "$OP"
like "unplug: the reason is said" "$(jget .last_error)" "unplugged"
fault fingerprint replug
check "replug: the device comes back ready without a restart" wait_state fingerprint ready

fault face slow 3
check "slow answers keep the device ready" wait_state face ready

# A hung device: the API keeps answering quickly, the device times out and recovers.
fault iris timeout 1
start=$(date +%s%N)
for i in 1 2 3 4 5; do api GET /v1/status; done
ms=$((($(date +%s%N) - start) / 5000000))
check "the API answers within 100 ms while a device hangs (${ms} ms)" test "$ms" -lt $((100 * SLOW))
check "the hung device shows fault timed-out" wait_state iris fault timed-out
check "the hung device recovers once it answers" wait_state iris ready

fault printer nonesuch
is "an unknown fault kind is refused" "$STATUS" 400
like "and the known kinds are listed" "$(jget .error.message)" "known: .*jam"
fault ghost jam
is "an unknown device is 404" "$STATUS" 404
api POST /v1/devices/printer/fault '{"kind":"jam"}' "$OP"
is "an operator may not inject faults" "$STATUS" 403
ctl device fault printer jam --count 2 >/dev/null 2>&1
is "ektpctl device fault as an operator exits 1" $? 1

api GET "/v1/audit?limit=1000" "" "$ADMIN"
is "each injected fault is audited" \
	"$(jget '[.rows[] | select(.action == "device.fault")] | length')" 16
like "state changes are audited with their reasons" \
	"$(jget '[.rows[] | select(.action == "device.state" and .target == "printer") | .detail.reasons] | join(" ")')" \
	"media-jam.*marker-supply-empty.*cover-open.*media-empty.*cleaning-required"
api GET /v1/audit/verify "" "$ADMIN"
is "the audit chain verifies" "$(jget .ok)" true
stop_daemon
is "the daemon stops cleanly with devices running" "$DAEMON_RC" 0
done_testing
