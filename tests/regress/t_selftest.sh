#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Technician self-tests on every simulated class, their stored history, and
# the degradation trend: a scanner whose quality declines is marked degraded
# with its figures.
. "$(dirname "$0")/lib.sh"
setup
write_conf "[trend]\nwindow = 5\nquality_drop = 15\n$(sim_devices 'poll_interval = 200\n')"
start_daemon
add_staff
sleep 1

for class in fingerprint iris face signature printer encoder; do
	api POST "/v1/devices/$class/selftest" "" "$TECH"
	is "$class self-test answers 200" "$STATUS" 200
	is "$class self-test passes on a healthy simulator" "$(jget .ok)" true
	like "$class self-test measures latency" "$(jget .figures | jq -c .)" '"(latency_ms|serial)"'
done
api POST /v1/devices/fingerprint/selftest "" "$TECH"
like "a fingerprint self-test names its algorithm" "$(jget .figures.algorithm)" "ektp-fp"
check "a fingerprint self-test scores at least the minimum" test "$(jget .figures.quality)" -ge 40
api POST /v1/devices/iris/selftest "" "$TECH"
check "an iris self-test reports the usable iris area" test "$(jget '.figures.usable_iris_area > 0')" = true

echo 123456 | ctl login tech >/dev/null
out=$(ctl selftest all 2>/dev/null)
is "ektpctl selftest all exits 0 when all pass" $? 0
like "ektpctl selftest all lists every device" "$out" "encoder +ok"
out=$(ctl selftest history fingerprint)
like "ektpctl selftest history shows the stored results" "$out" "ok +tech +fingerprint captured"
api GET /v1/devices/fingerprint/selftests "" "$TECH"
is "the history holds every fingerprint self-test" "$(jget '.selftests | length')" 3

api POST /v1/devices/fingerprint/fault '{"kind":"low-quality","count":1}' "$TECH"
api POST /v1/devices/fingerprint/selftest "" "$TECH"
is "a poor capture fails the self-test" "$(jget .ok)" false
like "and says it is below the minimum" "$(jget .message)" "BELOW minimum"
ctl selftest fingerprint >/dev/null 2>&1
is "ektpctl selftest exits 0 once the scanner recovers" $? 0
api POST /v1/devices/printer/fault '{"kind":"jam"}' "$TECH"
sleep 0.5
ctl selftest printer >/dev/null 2>&1
is "ektpctl selftest exits 1 for a jammed printer" $? 1
api POST /v1/devices/printer/fault '{"kind":"clear"}' "$TECH"
api POST /v1/devices/ghost/selftest "" "$TECH"
is "self-test of an unknown device is 404" "$STATUS" 404
api POST /v1/devices/iris/selftest "" "$OP"
is "an operator may not run self-tests" "$STATUS" 403

# Degradation: 5 healthy captures form the baseline (window 5), then the
# iris camera wears down capture by capture.
for i in 1 2 3 4 5; do api POST /v1/devices/iris/selftest "" "$TECH"; done
api GET /v1/devices/iris "" "$OP"
is "a healthy camera is not declining" "$(jget .trend.declining)" false
api POST /v1/devices/iris/fault '{"kind":"quality-decline"}' "$TECH"
for i in $(seq 1 10); do api POST /v1/devices/iris/selftest "" "$TECH"; done
api GET /v1/devices/iris "" "$OP"
is "a declining camera is found" "$(jget .trend.declining)" true
is "and marked degraded" "$(jget .state)" degraded
like "with the reason quality-declining" "$(jget '.reasons | join(",")')" "quality-declining"
like "and the figures" "$(jget .trend.summary)" "mean quality [0-9]+, baseline [0-9]+, over last 5 captures"
like "shown as its last error" "$(jget .last_error)" "baseline"
api GET "/v1/audit?limit=1000" "" "$ADMIN"
like "the change to degraded is audited" \
	"$(jget '[.rows[] | select(.action == "device.state" and .target == "iris") | .detail.to] | join(" ")')" \
	"degraded"
# 6 + 2 single tests, 6 from "selftest all", 3 fingerprint/printer checks, 15 iris trend tests.
is "every self-test is audited" "$(jget '[.rows[] | select(.action == "device.selftest")] | length')" 32

# A signature pad that answers ever more slowly: latency-rising.
for i in 1 2 3 4 5; do api POST /v1/devices/signature/selftest "" "$TECH"; done
api POST /v1/devices/signature/fault '{"kind":"slow"}' "$TECH"
for i in 1 2 3 4 5; do api POST /v1/devices/signature/selftest "" "$TECH"; done
api POST /v1/devices/signature/fault '{"kind":"clear"}' "$TECH"
api GET /v1/devices/signature "" "$OP"
is "a device slowing down is marked degraded" "$(jget .state)" degraded
like "with the reason latency-rising" "$(jget '.reasons | join(",")')" "latency-rising"
like "and its latency against the baseline" "$(jget .trend.summary)" "latency [0-9]+ ms \\(baseline [0-9]+\\)"

# The trend is kept in the database: after a restart the camera is still degraded.
stop_daemon
start_daemon
OP=$(login op 123456)
sleep 1
api GET /v1/devices/iris "" "$OP"
is "after a restart the declining camera is still degraded" "$(jget .state)" degraded
like "with its reason" "$(jget '.reasons | join(",")')" "quality-declining"
done_testing
