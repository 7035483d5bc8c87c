#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ektpctl's enrollment commands end to end on simulated devices: enroll
# --from the 20 residents of tests/data (device captures, uploaded PNGs,
# exceptions, a 16-year-old, a WNA), a file of invalid residents refused with
# every reason, a failed resident abandoned while the next goes on,
# re-enrollment, the interactive enrollment on a pseudo-terminal, open
# sessions, records listed and filtered, record show by id and by NIK, the
# supervisor's approve / hold / reject, record export to PNG files, the
# coverage report, --json output and usage errors.
. "$(dirname "$0")/lib.sh"
DATA="$EKTP_SOURCE_DIR/tests/data"
setup
# Offices record 16-year-olds before an election (ektp-domain.md 2.5); their
# cards wait for the 17th birthday.
write_conf "$(sim_devices '')[enroll]\nmin_age = 16\n"
start_daemon
add_staff
add_user sup supervisor 123456 "$ADMIN" || not_ok "add a supervisor"

# The PNG signature, in hex, of FILE's first 8 bytes.
png_sig() { head -c 8 "$1" | od -An -tx1 | tr -d ' \n'; }
PNG=89504e470d0a1a0a

# ---- usage errors (exit 2) ----
usage() { # DESCRIPTION ARGS...
	local desc=$1
	shift
	ctl "$@" </dev/null >/dev/null 2>"$T/err"
	is "usage error: $desc exits 2" $? 2
}
usage "enroll without --from off a terminal" enroll
usage "an unknown state" records --state bogus
usage "a NIK that is not 16 digits" records --nik 12345
usage "an impossible date" records --from 2026-02-30
usage "a limit of 0" records --limit 0
usage "reject without --reason" reject 1
usage "hold with an empty reason" hold 1 --reason ""
usage "export without a folder" record export 1
usage "coverage by week" report coverage --by week
usage "'enrollment' alone" enrollment
usage "approve without an id" approve
usage "an unknown option" records --colour red
ctl enroll </dev/null 2>&1 | grep -q "terminal"
is "enroll off a terminal says it needs one" $? 0
like "help lists the enrollment commands" "$(ctl --help)" "record export ID DIR"

# ---- enroll --from the 20 residents ----
echo 123456 | ctl login tech >/dev/null
ctl enroll --from "$DATA/residents.json" >"$T/out" 2>"$T/err"
is "a technician may not enroll: exit 1" $? 1
is "said once, not once per resident" "$(grep -c 'may not' "$T/err") $(wc -c <"$T/out")" "1 0"
echo 123456 | ctl login op >/dev/null
start=$SECONDS
out=$(ctl enroll --from "$DATA/residents.json")
is "enroll --from residents.json exits 0" $? 0
echo "# 20 residents enrolled in $((SECONDS - start)) s"
is "one line per resident" "$(printf '%s\n' "$out" | wc -l)" 20
is "every line is ID STATE [...]" \
	"$(printf '%s\n' "$out" | grep -cE '^[0-9]+ (print_ready|approved|captured)( \[[^]]+\])*$')" 20
# The states the file's residents must end in, in file order: exceptions wait
# for a supervisor, the 16-year-old is approved until 2027-03-15, the rest are
# ready to print.
today=$(date +%F)
want=$(jq -r --arg today "$today" '.[] |
	if (.exceptions // []) != [] then "captured [needs: exception]"
	elif .birth_date == "2010-03-15" and $today < "2027-03-15" then "approved [print ready after: 2027-03-15]"
	else "print_ready" end' "$DATA/residents.json")
is "each resident ends in the expected state" "$(printf '%s\n' "$out" | cut -d' ' -f2-)" "$want"
ID_BUDI=$(printf '%s\n' "$out" | sed -n 1p | cut -d' ' -f1)
ID_FAUZI=$(printf '%s\n' "$out" | sed -n 7p | cut -d' ' -f1)
ID_NURHAYATI=$(printf '%s\n' "$out" | sed -n 8p | cut -d' ' -f1)
ID_MEILING=$(printf '%s\n' "$out" | sed -n 9p | cut -d' ' -f1)
ID_RIZKY=$(printf '%s\n' "$out" | sed -n 13p | cut -d' ' -f1)
ID_SURYADI=$(printf '%s\n' "$out" | sed -n 14p | cut -d' ' -f1)
ID_TAN=$(printf '%s\n' "$out" | sed -n 20p | cut -d' ' -f1)
is "no session is left open" "$(ctl enrollments)" "no open enrollments"

api GET "/v1/records/$ID_MEILING" "" "$OP"
is "uploaded PNGs are recorded as uploads" \
	"$(jget '[.biometrics[] | select(.source == "upload") | .modality + "-" + (.position | tostring)] | sort | join(",")')" \
	"finger-2,signature-0"
is "the other 12 positions came from the devices" \
	"$(jget '[.biometrics[] | select(.source == "device")] | length')" 12
api GET "/v1/records/$ID_SURYADI" "" "$OP"
is "two exceptions replace two captures" \
	"$(jget '[.exceptions[].position] | sort | join(",")') $(jget '.biometrics | length')" "9,10 12"
api GET "/v1/records/$ID_TAN" "" "$OP"
is "the WNA is recorded with the nationality" "$(jget .demographics.nationality)" MALAYSIA

# ---- invalid residents: every reason, exit 1, nothing recorded ----
out=$(ctl enroll --from "$DATA/residents-invalid.json" 2>&1)
is "residents-invalid.json exits 1" $? 1
is "both invalid residents are refused (the second after the first)" \
	"$(printf '%s\n' "$out" | grep -c '^- refused:')" 2
like "the first refusal counts 5 problems" "$out" "^- refused: 5 problems \(resident 1 of 2"
for rule in nik.length name.chars birth_date.invalid rt.format village_code.unknown \
	nik.day nik.month nik.serial kk.digits name.spacing gender.unknown blood_type.unknown \
	religion.unknown marital_status.unknown occupation.unknown address.chars rt.zero \
	rw.format village_code.out-of-area nationality.unexpected; do
	like "the refusal names $rule" "$out" "\($rule\)"
done
like "a problem shows its field and value" "$out" 'village_code \(village_code.unknown\) "61.72.01.1099"'
is "enroll --json gives each resident's answers" \
	"$(ctl --json enroll --from "$DATA/residents-invalid.json" | jq -c '[.[] | .enrollment.error.problems | length]')" \
	"[5,16]"
is "nothing was recorded" "$(ctl --json records | jq '.records | length')" 20

# ---- a failing resident is abandoned, the next goes on; re-enrollment ----
jq --arg img "$DATA/images/signature.png" '[
	(.[0] | .nik = "6172010508850099" | .images = {"finger-1": $img}),
	.[0],
	(.[0] | .reenroll = true)
]' "$DATA/residents.json" >"$T/mixed.json"
out=$(ctl enroll --from "$T/mixed.json" 2>&1)
is "a file with failures exits 1" $? 1
like "a bad upload fails its resident, naming the rule" "$out" \
	"^[0-9]+ failed: finger-1: .*height 150.*; session abandoned"
like "a NIK with an active record is refused" "$out" "^- refused: .*\(resident 2 of 3"
like "a re-enrollment is recorded for approval" "$out" "^[0-9]+ captured \[needs: reenroll\]"
ID_REENROLL=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) captured \[needs: reenroll\].*/\1/p')
ID_FAILED=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) failed:.*/\1/p')
is "the failed session is not left open" "$(ctl enrollments)" "no open enrollments"
like "the failed session shows as abandoned" "$(ctl enrollment show "$ID_FAILED")" "enrollment $ID_FAILED: abandoned"

jq '[.[2] | .nik = "6172021402720099"]' "$DATA/residents.json" >"$T/one.json"
out=$(ctl --json enroll --from "$T/one.json")
is "enroll --json exits 0" $? 0
is "enroll --json holds the creation, 14 captures and the commit" \
	"$(printf '%s' "$out" | jq -c '.[0] | [.enrollment.state, (.captures | length), .commit.state]')" \
	'["open",14,"print_ready"]'

# ---- open sessions ----
api POST /v1/enrollments "$(jq -c '.[1] | .nik = "6101016111880099"' "$DATA/residents.json")" "$OP"
is "a session opened by the API" "$STATUS" 201
SID=$(jget .id)
like "enrollments lists the open session with 14 missing" "$(ctl enrollments)" "^$SID +6101016111880099 +SITI AMINAH +op +.* 14$"
out=$(ctl enrollment show "$SID")
like "enrollment show names the state" "$out" "enrollment $SID: open"
like "enrollment show lists what is missing" "$out" "missing: finger-1, finger-2, .*iris-2, face, signature"
is "enrollment show --json is the API's answer" "$(ctl --json enrollment show "$SID" | jq '.missing | length')" 14
is "enrollment abandon exits 0" "$(ctl enrollment abandon "$SID" >/dev/null; echo $?)" 0
is "the abandoned session is no longer open" "$(ctl enrollments)" "no open enrollments"
ctl enrollment show 999999 >/dev/null 2>&1
is "an unknown enrollment exits 1" $? 1

# ---- interactive enrollment on a pseudo-terminal ----
# A NIK the daemon refuses (day 73) is asked again alone; "123" fails the
# local check; the name is typed in lower case; the first finger is poor once
# and retried.
api POST /v1/devices/fingerprint/fault '{"kind":"low-quality","count":1}' "$TECH"
printf '%s\n' 123 6172017308850001 6172012003150099 "agus salim" singkawang 1985-08-05 1 4 1 2 \
	WIRASWASTA "JL. MERDEKA NO. 1" 1 2 61.72.01.1002 1 6172010508850042 "" r y >"$T/answers"
script -qec "$EKTPCTL -S $T/var enroll" /dev/null <"$T/answers" >"$T/tty" 2>&1
is "interactive enroll exits 0" $? 0
tty=$(tr -d '\r' <"$T/tty")
like "a NIK of the wrong length is refused as typed" "$tty" "nik must be 16 digits"
like "the daemon's refusal is shown" "$tty" "nik \(nik.day\)"
is "only the failing field is asked again" "$(printf '%s\n' "$tty" | grep -o 'NIK (16 digits)' | wc -l)" 3
like "a poor capture offers retry, exception, accept" "$tty" "\[r\]etry, \[e\]xception, \[a\]ccept best"
like "a summary comes before the commit" "$tty" "summary"
like "the committed record is printed" "$tty" "(^|\] )[0-9]+ print_ready$"
api GET "/v1/records?nik=6172010508850042" "" "$OP"
is "the name typed in lower case was recorded in capitals" "$(jget '.records[0].name')" "AGUS SALIM"

# ---- records: list and filter ----
out=$(ctl records)
is "records lists every record and a heading" "$(printf '%s\n' "$out" | wc -l)" 24
like "records shows the columns" "$out" "^ID +CREATED +NIK +NAME +STATE +OPERATOR +NEEDS APPROVAL"
is "records --state captured" "$(ctl records --state captured | tail -n +2 | wc -l)" 4
is "records --nik" "$(ctl records --nik 6172041503100003 | tail -n +2 | awk '{print $1}')" "$ID_RIZKY"
out=$(ctl records --limit 5)
is "records --limit 5 shows 5" "$(printf '%s\n' "$out" | grep -cE '^[0-9]+ ')" 5
like "and says there are more" "$out" "more records"
is "records --from today" "$(ctl --json records --from "$today" --to "$today" | jq '.records | length')" 23
is "records --to yesterday" "$(ctl --json records --to "$(date -d yesterday +%F)" | jq '.records | length')" 0
is "records --json holds next_after" "$(ctl --json records --limit 2 | jq -c '[(.records | length), (.next_after != null)]')" "[2,true]"

# ---- record show by id and by NIK ----
out=$(ctl record show "$ID_BUDI")
is "record show exits 0" $? 0
like "record show names the state" "$out" "^record $ID_BUDI: print_ready"
like "record show lists the demographics" "$out" "name +BUDI SANTOSO"
like "record show lists each capture's quality" "$out" "finger-10 +[0-9]+ +40 "
like "record show lists the signature last" "$(printf '%s\n' "$out" | tail -1)" "^signature "
is "record show prints no image bytes" "$(printf '%s' "$out" | wc -c | awk '$1 < 10000 {print "small"}')" small
out=$(ctl record show 6172044310620002)
like "record show NIK shows its one active record" "$out" "^record $ID_NURHAYATI: captured"
like "with the exception and its reason" "$out" "iris-2 +bandaged +MATA KIRI DIPERBAN"
out=$(ctl record show 6172010508850001)
like "a re-enrolled NIK shows both active records" "$out" "NIK 6172010508850001 has 2 active records"
like "the new one says what it replaces" "$out" "replaces: record $ID_BUDI"
is "record show --json NIK with two records is a list" "$(ctl --json record show 6172010508850001 | jq 'length')" 2
is "record show --json ID is the record" "$(ctl --json record show "$ID_RIZKY" | jq -r .print_ready_after)" \
	"$([ "$today" \< 2027-03-15 ] && echo 2027-03-15 || echo null)"
ctl record show 6172019999990001 >/dev/null 2>"$T/err"
is "a NIK without records exits 1" $? 1
like "and says so" "$(cat "$T/err")" "no record of NIK"
ctl record show 999999 >/dev/null 2>&1
is "an unknown record exits 1" $? 1

# ---- supervisor decisions ----
ctl approve "$ID_FAUZI" >/dev/null 2>&1
is "an operator may not approve" $? 1
ctl record export "$ID_BUDI" "$T/nope" >/dev/null 2>&1
is "an operator may not export" $? 1
check "a refused export creates no folder" test ! -e "$T/nope"
echo 123456 | ctl login sup >/dev/null
is "approve a captured record" "$(ctl approve "$ID_FAUZI")" "record $ID_FAUZI: print_ready"
is "hold a captured record" "$(ctl hold "$ID_NURHAYATI" --reason "MATA KIRI BELUM SEMBUH")" \
	"record $ID_NURHAYATI: on_hold"
like "the hold's reason is shown" "$(ctl record show "$ID_NURHAYATI")" "^record $ID_NURHAYATI: on_hold: MATA KIRI BELUM SEMBUH"
is "approve a held record" "$(ctl --json approve "$ID_NURHAYATI" | jq -r .state)" print_ready
is "reject a record" "$(ctl reject "$ID_SURYADI" --reason "SIDIK JARI PERLU DIREKAM ULANG")" \
	"record $ID_SURYADI: rejected"
ctl reject "$ID_SURYADI" --reason again >/dev/null 2>"$T/err"
is "rejecting a rejected record exits 1" $? 1
ctl approve "$ID_BUDI" >/dev/null 2>&1
is "approving a print-ready record exits 1" $? 1
is "the re-enrollment is approved" "$(ctl --json approve "$ID_REENROLL" | jq -r .state)" print_ready
is "and its predecessor superseded" "$(ctl --json record show "$ID_BUDI" | jq -r .state)" superseded
is "records --state rejected" "$(ctl records --state rejected | tail -n +2 | awk '{print $1}')" "$ID_SURYADI"

# ---- record export ----
out=$(ctl record export "$ID_MEILING" "$T/export/meiling")
is "record export exits 0" $? 0
is "record export prints the files written" "$(printf '%s\n' "$out" | grep -c '\.png (')" 14
is "the export folder is private" "$(stat -c %a "$T/export/meiling")" 700
n=0
for f in "$T"/export/meiling/*.png; do [ "$(png_sig "$f")" = "$PNG" ] && n=$((n + 1)); done
is "every exported file is a PNG" "$n" 14
check "the uploaded fingerprint is among them" test -s "$T/export/meiling/finger-02.png"
before=$(stat -c %Y "$T/export/meiling/face.png")
ctl record export "$ID_MEILING" "$T/export/meiling" >/dev/null 2>"$T/err"
is "exporting over existing files exits 1" $? 1
like "and refuses to overwrite" "$(cat "$T/err")" "exists already"
is "the existing files are untouched" "$(stat -c %Y "$T/export/meiling/face.png")" "$before"
out=$(ctl --json record export "$ID_FAUZI" "$T/export/fauzi")
is "record export --json exits 0" $? 0
is "an export without the amputated finger has 13 files" "$(printf '%s' "$out" | jq '.files | length')" 13
is "the --json answer carries paths, not image data" \
	"$(printf '%s' "$out" | jq -c '[([.files[] | has("png_base64")] | any), (.files[0].path | startswith("'"$T"'"))]')" \
	"[false,true]"
check "finger-07 is not exported" test ! -e "$T/export/fauzi/finger-07.png"

# ---- coverage ----
out=$(ctl report coverage)
is "report coverage exits 0" $? 0
like "coverage names the regency" "$out" "Kota Singkawang \(61\.72\)"
like "coverage shows the target line" "$out" "^target: [0-9,]+ to record \(population [0-9,]+, adult share [0-9]+ %\); recorded [0-9]+"
cov=$(ctl --json report coverage)
is "coverage --json rows add up to the recorded total" \
	"$(printf '%s' "$cov" | jq '([.rows[].records] | add) == .recorded')" true
want=$(printf '%s' "$cov" | jq -r '.rows[] | select(.key == "61.72.01") | .records')
like "the table shows Singkawang Tengah's count" "$out" "^61\.72\.01 +Singkawang Tengah +$want$"
like "the total row" "$out" "^TOTAL +$(printf '%s' "$cov" | jq .recorded)$"
like "coverage by day has today's row" "$(ctl report coverage --by day)" "^$today +[0-9]+$"
is "coverage from tomorrow counts nothing" \
	"$(ctl --json report coverage --from "$(date -d tomorrow +%F)" | jq .recorded)" 0

# ---- the daemon gone ----
stop_daemon
ctl records >/dev/null 2>&1
is "records without a daemon exits 3" $? 3
ctl enroll --from "$DATA/residents.json" >/dev/null 2>&1
is "enroll without a daemon exits 3" $? 3
done_testing
