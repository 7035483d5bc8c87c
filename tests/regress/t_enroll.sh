#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Enrollment through the API: every demographic problem at once, guided
# capture from the simulators with quality gates, retries and forced
# captures, exceptions, uploads and their refusals, the face background rule,
# commit (incomplete, whole), a session that survives a restart, supervisor
# decisions, re-enrollment, the 16-year-old's print hold, coverage, and
# images sealed at rest (no clear bytes on disk; a flipped or moved blob is
# detected).
. "$(dirname "$0")/lib.sh"
setup
SYNTH="${EKTP_EMU_DIR:-$top/build/default/emu}/synthpng"
write_conf "$(sim_devices 'poll_interval = 200\n')[enroll]\nmin_age = 16\n"
start_daemon
add_staff
add_user sup supervisor 123456 "$ADMIN" || not_ok "add a supervisor"
SUP=$(login sup 123456)

# resident NIK BIRTH GENDER MARITAL [EXTRA-JSON]: a demographics body.
resident() {
	jq -nc --arg nik "$1" --arg birth "$2" --arg gender "$3" --arg marital "$4" \
		--argjson extra "${5:-{\}}" '{nik: $nik, kk: "6172010101100001",
		name: "SITI RAHAYU", birth_place: "SINGKAWANG", birth_date: $birth, gender: $gender,
		blood_type: "A", religion: "ISLAM", marital_status: $marital, occupation: "WIRASWASTA",
		address: "JL. DIPONEGORO NO. 12", rt: "001", rw: "002",
		village_code: "61.72.01.1001", citizenship: "WNI"} + $extra'
}

# Invalid demographics: every problem, each with field, rule and value.
api POST /v1/enrollments '{"nik":"61720112","name":"siti","birth_date":"1990-02-30","gender":"L"}' "$OP"
is "invalid demographics answer 400" "$STATUS" 400
check "every problem is listed (at least 14)" test "$(jget '.error.problems | length')" -ge 14
like "each names its field and rule" "$(jget '[.error.problems[] | .field + "=" + .rule] | join(" ")')" \
	"nik=nik.length.*name=name.*birth_date=birth_date.*gender=gender"
is "the offending value is given" "$(jget '.error.problems[] | select(.field == "nik") | .value')" 61720112
like "the message counts them" "$(jget .error.message)" "^1[4-9] problems"

NIK1=6172015203900001 # a woman born 12 March 1990: day 12 + 40
api POST /v1/enrollments "$(resident $NIK1 1990-03-12 PEREMPUAN KAWIN)" "$OP"
is "valid demographics open a session" "$STATUS" 201
ID1=$(jget .id)
is "without warnings" "$(jget '.warnings | length')" 0
api POST /v1/enrollments "$(resident $NIK1 1990-03-12 PEREMPUAN KAWIN)" "$OP"
is "a second session for the same NIK is refused" "$STATUS" 409

api POST "/v1/enrollments/$ID1/commit" "" "$OP"
is "an empty session cannot be committed" "$STATUS" 409
is "and every missing position is listed" "$(jget '.error.missing | length')" 14

# Fingers from the simulator; the little left finger is amputated.
for p in 1 2 3 4 5 6 7 8 9; do
	api POST "/v1/enrollments/$ID1/capture/finger" "{\"position\":$p}" "$OP"
	[ "$(jget .status)" = accepted ] || not_ok "finger $p: $BODY"
done
is "a healthy scanner's fingers are accepted" "$(jget .status)" accepted
like "with the algorithm and version" "$(jget .algorithm)" "^ektp-fp-blockwise/1$"
api POST "/v1/enrollments/$ID1/capture/finger" '{"position":11}' "$OP"
is "a finger position out of range is refused" "$STATUS" 400
api POST "/v1/enrollments/$ID1/exceptions" '{"modality":"finger","position":10,"kind":"amputated","reason":"work accident 2015"}' "$OP"
is "an exception is recorded" "$STATUS" 201
api POST "/v1/enrollments/$ID1/exceptions" '{"modality":"finger","position":9,"kind":"sunburnt","reason":"x"}' "$OP"
is "an unknown exception kind is refused" "$STATUS" 400
like "naming the kinds" "$(jget .error.message)" "missing, amputated, bandaged or other"

# A worn iris camera: low quality for four attempts, then forced.
api POST /v1/devices/iris/fault '{"kind":"low-quality","count":4}' "$TECH"
statuses=""
for i in 1 2 3 4; do
	api POST "/v1/enrollments/$ID1/capture/iris" '{"position":1}' "$OP"
	statuses="$statuses $(jget .status)"
done
is "below the threshold: retry, retry, retry, then forced" "$statuses" " retry retry retry forced"
like "the forced answer says a supervisor must approve" "$(jget .message)" "supervisor"
api POST "/v1/enrollments/$ID1/capture/iris" '{"position":1}' "$OP"
is "no attempt beyond the last" "$STATUS" 409

# The session survives a restart (kill -9 included).
stop_daemon KILL
is "the workstation key was created in the state directory, mode 0600" \
	"$(stat -c %a "$T/var/workstation.key" 2>&1)" 600
chmod 644 "$T/var/workstation.key"
out=$("$EKTPD" -c "$CONF" -S "$T/var" 2>&1)
is "ektpd refuses to start with a key file others may read" $? 1
like "naming the file and the rule" "$out" "workstation.key.*0644.*chmod 600"
chmod 600 "$T/var/workstation.key"
start_daemon
api GET "/v1/enrollments/$ID1" "" "$OP"
is "after kill -9 the session is still open" "$(jget .state)" open
is "with its captures and exception" "$(jget '(.captures | length) + (.exceptions | length)')" 11
is "and what is still missing" "$(jget '[.missing[] | .modality + (.position | tostring)] | join(",")')" \
	"iris2,face0,signature0"

api POST "/v1/enrollments/$ID1/capture/iris" '{"position":2}' "$OP"
api POST "/v1/enrollments/$ID1/capture/face" '' "$OP"
is "the face matches the birth-year rule (1990: blue)" "$(jget .status)" accepted
like "and says so" "$(jget .message)" "background blue"
api POST "/v1/enrollments/$ID1/capture/signature" '' "$OP"
is "a signature is accepted" "$(jget .status)" accepted
api POST "/v1/enrollments/$ID1/commit" "" "$OP"
is "a complete session commits" "$STATUS" 201
is "as a record waiting for a supervisor" "$(jget .state)" captured
is "for the forced capture and the exception" "$(jget '.needs_approval | join(",")')" "forced-capture,exception"
api POST "/v1/enrollments/$ID1/capture/face" '' "$OP"
is "a committed session takes no more captures" "$STATUS" 409

api GET "/v1/records/$ID1" "" "$OP"
is "the record holds 13 images' metadata" "$(jget '.biometrics | length')" 13
is "and never image bytes" "$(jget '[.. | objects | keys[]] | map(select(test("png|sealed|pixels"))) | length')" 0
is "the forced iris is marked" "$(jget '.biometrics[] | select(.modality == "iris" and .position == 1) | .forced')" true
api POST "/v1/records/$ID1/approve" "" "$OP"
is "an operator cannot approve" "$STATUS" 403
api POST "/v1/records/$ID1/hold" '{"reason":""}' "$SUP"
is "a hold needs a reason" "$STATUS" 400
api POST "/v1/records/$ID1/hold" '{"reason":"check the amputation note"}' "$SUP"
is "a supervisor puts it on hold" "$(jget .state)" on_hold
api POST "/v1/records/$ID1/approve" "" "$SUP"
is "and approves it: print_ready" "$(jget .state)" print_ready
api POST "/v1/records/$ID1/approve" "" "$SUP"
is "approving twice is a conflict" "$STATUS" 409

# A second resident, uploaded as PNG files captured elsewhere.
mkdir -p "$T/png"
for p in 1 2 3 4 5 6 7 8 9 10; do "$SYNTH" finger 40$p $p "$T/png/finger-$p.png"; done
"$SYNTH" iris 41 1 "$T/png/iris-1.png" && "$SYNTH" iris 42 2 "$T/png/iris-2.png"
"$SYNTH" face 43 0090ff "$T/png/face-blue.png" && "$SYNTH" face 43 db1514 "$T/png/face-red.png"
"$SYNTH" signature 44 "$T/png/signature.png"
# upload ID MODALITY POSITION FILE [TYPE]: sets STATUS and BODY.
upload() {
	STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X PUT \
		-H "Authorization: Bearer $OP" -H "Content-Type: ${5:-image/png}" \
		--data-binary "@$4" "http://localhost/v1/enrollments/$1/capture/$2?position=$3")
	BODY=$(cat "$T/body")
}
NIK2=6172011204960002 # a man born 12 April 1996
api POST /v1/enrollments "$(resident $NIK2 1996-04-12 LAKI-LAKI "BELUM KAWIN" '{"name":"ANDI WIJAYA"}')" "$OP"
ID2=$(jget .id)
upload "$ID2" finger 1 "$T/png/face-blue.png"
is "a colour image as a fingerprint is refused" "$STATUS" 400
like "naming the rule" "$(jget .error.message)" "grey"
printf 'not a png' >"$T/junk"
upload "$ID2" finger 1 "$T/junk"
is "a file that is not a PNG is refused" "$STATUS" 400
upload "$ID2" finger 1 "$T/png/finger-1.png" image/jpeg
is "a body that is not image/png is refused" "$STATUS" 415
for p in 1 2 3 4 5 6 7 8 9 10; do
	upload "$ID2" finger $p "$T/png/finger-$p.png"
	[ "$(jget .status)" = accepted ] || not_ok "upload finger $p: $BODY"
done
is "uploaded fingerprints are scored and accepted" "$(jget .status)" accepted
upload "$ID2" iris 1 "$T/png/iris-1.png"
upload "$ID2" iris 2 "$T/png/iris-2.png"
upload "$ID2" face 0 "$T/png/face-red.png"
is "a red background for an even birth year is not accepted" "$(jget .status)" retry
like "the answer says which colour is needed" "$(jget .message)" "needs blue"
upload "$ID2" face 0 "$T/png/face-blue.png"
is "the blue one is" "$(jget .status)" accepted
upload "$ID2" signature 0 "$T/png/signature.png"
api POST "/v1/enrollments/$ID2/commit" "" "$OP"
is "nothing to approve: print_ready at once" "$(jget .state)" print_ready

# Images are sealed at rest.
dd if="$T/png/finger-3.png" of="$T/chunk" bs=1 skip=200 count=48 status=none
found=$(sqlite3 "$DB" "SELECT instr(readfile('$DB'), readfile('$T/chunk')) +
	instr(COALESCE(readfile('$DB-wal'), x''), readfile('$T/chunk'))")
is "the database holds none of an uploaded image's bytes in clear" "$found" 0
api GET "/v1/records/$ID2/export" "" "$OP"
is "only a supervisor exports images" "$STATUS" 403
api GET "/v1/records/$ID2/export" "" "$SUP"
is "an export opens every image" "$(jget '.files | length')" 14
jget '.files[] | select(.name == "finger-03.png") | .png_base64' | base64 -d >"$T/out.png"
check "and gives back the uploaded file exactly" cmp -s "$T/out.png" "$T/png/finger-3.png"
sqlite3 "$DB" "UPDATE biometrics SET sealed = substr(sealed, 1, 40) ||
	CASE WHEN substr(sealed, 41, 1) = x'00' THEN x'01' ELSE x'00' END || substr(sealed, 42)
	WHERE owner = $ID2 AND modality = 'finger' AND position = 5"
api GET "/v1/records/$ID2/export" "" "$SUP"
is "one flipped byte in a stored image is detected" "$STATUS" 500
like "naming the image" "$(jget .error.message)" "finger 5"
sqlite3 "$DB" "UPDATE biometrics SET sealed = (SELECT sealed FROM biometrics
	WHERE owner = $ID1 AND modality = 'finger' AND position = 5)
	WHERE owner = $ID2 AND modality = 'finger' AND position = 5"
api GET "/v1/records/$ID2/export" "" "$SUP"
is "an image moved from another record is detected" "$STATUS" 500
sqlite3 "$DB" "UPDATE biometrics SET sealed = (SELECT sealed FROM biometrics
	WHERE owner = $ID1 AND modality = 'finger' AND position = 4)
	WHERE owner = $ID1 AND modality = 'finger' AND position = 5"
api GET "/v1/records/$ID1/export" "" "$SUP"
is "an image moved to another finger of the same record is detected" "$STATUS" 500
api GET "/v1/audit?after=0&limit=1000" "" "$ADMIN"
check "exports are audited, failed ones too" test \
	"$(jget '[.rows[] | select(.action == "record.export")] | length')" -ge 3

# Re-enrollment keeps the old record until a supervisor approves the new one.
api POST /v1/enrollments "$(resident $NIK2 1996-04-12 LAKI-LAKI "BELUM KAWIN" '{"name":"ANDI WIJAYA"}')" "$OP"
is "a NIK with an active record is refused" "$STATUS" 409
like "saying it would be a re-enrollment" "$(jget .error.message)" "re-enrollment"
api POST /v1/enrollments "$(resident $NIK2 1996-04-12 LAKI-LAKI "BELUM KAWIN" '{"name":"ANDI WIJAYA","reenroll":true}')" "$OP"
ID3=$(jget .id)
for p in 1 2 3 4 5 6 7 8 9 10; do upload "$ID3" finger $p "$T/png/finger-$p.png"; done
upload "$ID3" iris 1 "$T/png/iris-1.png"; upload "$ID3" iris 2 "$T/png/iris-2.png"
upload "$ID3" face 0 "$T/png/face-blue.png"; upload "$ID3" signature 0 "$T/png/signature.png"
api POST "/v1/enrollments/$ID3/commit" "" "$OP"
is "a re-enrollment needs approval" "$(jget '.needs_approval | join(",")')" reenroll
api GET "/v1/records/$ID2" "" "$OP"
is "the old record stays meanwhile" "$(jget .state)" print_ready
api POST "/v1/records/$ID3/approve" "" "$SUP"
api GET "/v1/records/$ID2" "" "$OP"
is "approval supersedes the old record" "$(jget .state)" superseded
api GET "/v1/records?nik=$NIK2" "" "$OP"
is "both records of the NIK are listed" "$(jget '[.records[].state] | join(",")')" "superseded,print_ready"

# A 16-year-old (min_age 16): recorded, but printable only from the 17th birthday.
birth=$(date -d "16 years ago -30 days" +%F)
nik16="617201$(date -d "$birth" +%d%m%y)0003"
api POST /v1/enrollments "$(resident "$nik16" "$birth" LAKI-LAKI "BELUM KAWIN" '{"name":"RIZKY PRATAMA"}')" "$OP"
is "a 16-year-old can be recorded when min_age is 16" "$STATUS" 201
ID4=$(jget .id)
is "with the 17th birthday as print_ready_after" "$(jget .print_ready_after)" "$(date -d "$birth +17 years" +%F)"
for p in 1 2 3 4 5 6 7 8 9 10; do upload "$ID4" finger $p "$T/png/finger-$p.png"; done
upload "$ID4" iris 1 "$T/png/iris-1.png"; upload "$ID4" iris 2 "$T/png/iris-2.png"
face=$([ $(($(date -d "$birth" +%Y) % 2)) = 1 ] && echo red || echo blue)
upload "$ID4" face 0 "$T/png/face-$face.png"; upload "$ID4" signature 0 "$T/png/signature.png"
api POST "/v1/enrollments/$ID4/commit" "" "$OP"
is "the record is approved but not print_ready" "$(jget .state)" approved

# Abandon erases a session's images.
api POST /v1/enrollments "$(resident 6172016505010004 2001-05-25 PEREMPUAN KAWIN)" "$OP"
ID5=$(jget .id)
upload "$ID5" finger 1 "$T/png/finger-1.png"
api POST "/v1/enrollments/$ID5/abandon" "" "$OP"
is "a session can be abandoned" "$(jget .state)" abandoned
is "its images are gone" "$(sqlite3 "$DB" "SELECT count(*) FROM biometrics WHERE owner = $ID5")" 0

# Coverage.
api GET /v1/reports/coverage "" "$SUP"
is "coverage counts active records" "$(jget .recorded)" 3
is "for the office's regency" "$(jget .regency_name)" "Kota Singkawang"
check "against a target from its population" test "$(jget .target)" -gt 100000
is "per kecamatan" "$(jget '.rows[0].key + " " + .rows[0].name')" "61.72.01 Singkawang Tengah"
api GET "/v1/reports/coverage?by=day" "" "$SUP"
is "or per day" "$(jget '.rows[0].key')" "$(date +%F)"
api GET "/v1/reports/coverage?by=month" "" "$SUP"
is "an unknown grouping is refused" "$STATUS" 400

api GET /v1/audit/verify "" "$ADMIN"
is "the audit chain verifies after all this" "$(jget .ok)" true
check "PRAGMA integrity_check is ok" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok

done_testing
