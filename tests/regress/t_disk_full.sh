#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A full disk during enrollment: the database is capped ([daemon]
# database_max_mb), so a write fails exactly as on a full disk.  The capture
# that does not fit is refused with 507 and a clear message, the session and
# its earlier captures are kept, nothing is corrupted, and once there is room
# the session goes on and commits.
. "$(dirname "$0")/lib.sh"
setup
SYNTH="${EKTP_EMU_DIR:-$top/build/default/emu}/synthpng"
write_conf "[daemon]\ndatabase_max_mb = 1\n"
start_daemon
add_staff
mkdir -p "$T/png"
for p in 1 2 3 4 5 6 7 8 9 10; do "$SYNTH" finger 80$p $p "$T/png/finger-$p.png"; done
"$SYNTH" iris 81 1 "$T/png/iris-1.png" && "$SYNTH" iris 82 2 "$T/png/iris-2.png"
"$SYNTH" face 83 db1514 "$T/png/face-0.png" && "$SYNTH" signature 84 "$T/png/signature-0.png"
upload() { # ID MODALITY POSITION: sets STATUS and BODY
	STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X PUT \
		-H "Authorization: Bearer $OP" -H 'Content-Type: image/png' \
		--data-binary "@$T/png/$2-$3.png" "http://localhost/v1/enrollments/$1/capture/$2?position=$3")
	BODY=$(cat "$T/body")
}
api POST /v1/enrollments '{"nik":"6172011203900001","kk":"6172010101100001","name":"BUDI SANTOSO",
	"birth_place":"SINGKAWANG","birth_date":"1990-03-12","gender":"LAKI-LAKI","blood_type":"O",
	"religion":"ISLAM","marital_status":"KAWIN","occupation":"WIRASWASTA",
	"address":"JL. MERDEKA NO. 1","rt":"001","rw":"002","village_code":"61.72.01.1001",
	"citizenship":"WNI"}' "$OP"
ID=$(jget .id)
kept=0
for p in 1 2 3 4 5 6 7 8 9 10; do
	upload "$ID" finger $p
	[ "$STATUS" = 200 ] || break
	kept=$p
done
is "a capture that does not fit is refused with 507" "$STATUS" 507
is "as disk_full" "$(jget .error.code)" disk_full
like "saying the disk is full" "$(jget .error.message)" "full"
check "after some captures fitted ($kept)" test "$kept" -gt 0
api GET "/v1/enrollments/$ID" "" "$OP"
is "the session is kept, open" "$(jget .state)" open
is "with every capture that fitted" "$(jget '.captures | length')" "$kept"
api POST "/v1/enrollments/$ID/commit" "" "$OP"
is "a commit of the incomplete session is still refused as incomplete" "$STATUS" 409
check "the database is intact" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
api GET /v1/audit/verify "" "$ADMIN"
is "the audit chain is intact" "$(jget .ok)" true

# Room again: the session goes on where it stopped and commits.
stop_daemon
write_conf ""
start_daemon
for slot in $(seq $((kept + 1)) 10 | sed 's/^/finger:/') iris:1 iris:2 face:0 signature:0; do
	upload "$ID" "${slot%:*}" "${slot#*:}"
	[ "$STATUS" = 200 ] || not_ok "upload $slot after the disk has room: $STATUS $BODY"
done
api POST "/v1/enrollments/$ID/commit" "" "$OP"
is "with room again the session commits" "$STATUS" 201
api GET "/v1/records/$ID" "" "$OP"
is "as a whole record" "$(jget '.biometrics | length')" 14

done_testing
