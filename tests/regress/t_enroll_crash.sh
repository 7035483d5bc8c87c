#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kill -9 at random moments while residents are captured and committed, then
# restart, many times over (EKTP_CRASH_TRIALS, default 200; a quarter of that
# under a sanitizer build).  After every trial: PRAGMA integrity_check is ok,
# no record is partial (every record holds all its images; every committed
# session has its record; every capture row its image), and the audit chain
# holds.
# At the end, sessions cut short are resumed and committed.
. "$(dirname "$0")/lib.sh"
setup
SYNTH="${EKTP_EMU_DIR:-$top/build/default/emu}/synthpng"
TRIALS=${EKTP_CRASH_TRIALS:-$((SLOW > 1 ? 50 : 200))}
write_conf ""
start_daemon
add_staff

mkdir -p "$T/png"
for p in 1 2 3 4 5 6 7 8 9 10; do "$SYNTH" finger 70$p $p "$T/png/finger-$p.png"; done
"$SYNTH" iris 71 1 "$T/png/iris-1.png" && "$SYNTH" iris 72 2 "$T/png/iris-2.png"
"$SYNTH" face 73 db1514 "$T/png/face-0.png" && "$SYNTH" signature 74 "$T/png/signature-0.png"
SLOTS="finger:1 finger:2 finger:3 finger:4 finger:5 finger:6 finger:7 finger:8 finger:9 finger:10 iris:1 iris:2 face:0 signature:0"

put() { # ID MODALITY POSITION
	curl -s -o /dev/null -m 10 --unix-socket "$SOCK" -X PUT -H "Authorization: Bearer $OP" \
		-H 'Content-Type: image/png' --data-binary "@$T/png/$2-$3.png" \
		"http://localhost/v1/enrollments/$1/capture/$2?position=$3"
}
# capture_and_commit ID SLOT...: those images, then the commit (runs until killed).
capture_and_commit() {
	local id=$1 slot
	shift
	for slot in "$@"; do put "$id" "${slot%:*}" "${slot#*:}"; done
	curl -s -o /dev/null -m 10 --unix-socket "$SOCK" -X POST -H "Authorization: Bearer $OP" \
		"http://localhost/v1/enrollments/$id/commit"
}

bad_integrity=0 partial=0 orphans=0 leftovers=0 broken_chain=0 committed=0 cut=0
for trial in $(seq 1 "$TRIALS"); do
	nik=$(printf '6172011203%02d%04d' 90 "$trial")
	api POST /v1/enrollments "{\"nik\":\"$nik\",\"kk\":\"6172010101100001\",\"name\":\"BUDI SANTOSO\",
		\"birth_place\":\"SINGKAWANG\",\"birth_date\":\"1990-03-12\",\"gender\":\"LAKI-LAKI\",
		\"blood_type\":\"O\",\"religion\":\"ISLAM\",\"marital_status\":\"KAWIN\",
		\"occupation\":\"WIRASWASTA\",\"address\":\"JL. MERDEKA NO. 1\",\"rt\":\"001\",\"rw\":\"002\",
		\"village_code\":\"61.72.01.1001\",\"citizenship\":\"WNI\"}" "$OP"
	id=$(jget .id)
	[ "$STATUS" = 201 ] || { not_ok "trial $trial: session not opened ($STATUS $BODY)"; break; }
	# Most images first; the kill lands among the last captures and the commit.
	for slot in ${SLOTS% face:0 signature:0}; do put "$id" "${slot%:*}" "${slot#*:}"; done
	capture_and_commit "$id" face:0 signature:0 &
	work=$!
	sleep "0.$(printf '%03d' $((RANDOM % 250)))"
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=""
	wait "$work" 2>/dev/null

	tally_enrollments_after_kill "$id"
	start_daemon
	if [ $((trial % 25)) = 0 ] || [ "$trial" = "$TRIALS" ]; then
		api GET /v1/audit/verify "" "$ADMIN"
		[ "$(jget .ok)" = true ] || broken_chain=$((broken_chain + 1))
	fi
done

echo "# $TRIALS trials: $committed killed after their commit, $cut before it"
is "integrity_check ok after every kill ($TRIALS trials)" "$bad_integrity" 0
is "no partial record after any kill" "$partial" 0
is "every committed session has its record, every record its session" "$orphans" 0
is "every stored capture holds its image" "$leftovers" 0
is "the audit chain verifies throughout" "$broken_chain" 0
check "kills landed both before and after commits" test "$committed" -gt 0 -a "$cut" -gt 0

# Sessions cut short resume: the missing images, then the commit.
resumed=0 failed=0
for id in $(q "SELECT id FROM enrollments WHERE state = 'open' ORDER BY id DESC LIMIT 10"); do
	api GET "/v1/enrollments/$id" "" "$OP"
	for slot in $(jget '.missing[] | .modality + ":" + (.position | tostring)'); do
		put "$id" "${slot%:*}" "${slot#*:}"
	done
	api POST "/v1/enrollments/$id/commit" "" "$OP"
	if [ "$STATUS" = 201 ]; then resumed=$((resumed + 1)); else failed=$((failed + 1)); fi
done
is "every interrupted session (of the last 10) resumes and commits ($resumed)" "$failed" 0

done_testing
