#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make demo: a guided tour of ektp on the built-in simulators.  It starts ektpd
# with the shipped configuration on a scratch state directory, creates one
# account per role, enrolls the twenty sample residents of tests/data (and one
# invalid resident, which the daemon refuses with its reasons), lets the
# supervisor approve the exceptions, prints the cards on the two simulated
# printers, runs the technician's self-tests, shows the stock and its
# forecast, and stops the daemon.  What it leaves behind (the printed card
# images, one card's chip files, the stock chart) goes to DEMO_OUT.
#
# Environment: EKTPD, EKTPCTL (default bin/ektpd, bin/ektpctl), DEMO_OUT (default
# var/demo; emptied first), EKTP_TEST_SLOW (multiplies waits, for sanitizer builds),
# RUN_UNDER (a command the daemon runs under, e.g. valgrind's).
# Exit 0 when every step did what the tour says, else 1 with the daemon's log.
set -u
cd "$(dirname "$0")/.." || exit 2
EKTPD=$(realpath "${EKTPD:-bin/ektpd}")
EKTPCTL=$(realpath "${EKTPCTL:-bin/ektpctl}")
OUT=${DEMO_OUT:-var/demo}
SLOW=${EKTP_TEST_SLOW:-1}
PIN=123456

if [ "$(id -u)" != 0 ]; then
	echo "demo: run it as root: only root may create the first admin account" >&2
	echo "      (see README, \"Accounts and security\")" >&2
	exit 2
fi

STATE=$(mktemp -d "${TMPDIR:-/tmp}/ektp-demo.XXXXXX")
chmod 755 "$STATE"
mkdir -m 700 "$STATE/run"
# The client keeps its session token under XDG_RUNTIME_DIR: the tour's own.
export EKTP_STATE_DIR="$STATE/var" XDG_RUNTIME_DIR="$STATE/run"
DAEMON_PID=""

finish() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null
	fi
	rm -rf "$STATE"
}
trap finish EXIT

# Narration: chapter headings and prose (wrapped at 78 columns) stand between
# blank lines, never two of them in a row; commands and their output follow.
spaced=1
blank() { [ "$spaced" = 1 ] || echo; spaced=1; }
chapter() {
	blank
	printf '== %s\n' "$*"
	spaced=0
}
say() {
	blank
	printf '%s\n' "$*" | fold -s -w 78 | sed 's/ *$//'
	echo
}
# shown COMMAND-LINE: print it as typed at the prompt.
shown() {
	printf '  $ %s\n' "$*"
	spaced=0
}

fail() {
	echo
	echo "demo: FAILED: $*" >&2
	if [ -f "$STATE/ektpd.log" ]; then
		echo "demo: the daemon's log ends:" >&2
		tail -n 30 "$STATE/ektpd.log" | sed 's/^/    /' >&2
	fi
	exit 1
}

# ctl ARGS...: show the command, run it, indent what it prints; its status.
ctl() {
	shown ektpctl "$*"
	"$EKTPCTL" "$@" 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}
# must ARGS...: ctl, and the tour stops when the command fails.
must() { ctl "$@" || fail "ektpctl $* exited with status $?"; }

# login NAME: open NAME's session; the client keeps the token.
login() {
	shown ektpctl login "$1"
	printf '%s\n' "$PIN" | "$EKTPCTL" login "$1" 2>&1 | sed 's/^/    /'
	[ "${PIPESTATUS[1]}" -eq 0 ] || fail "login $1"
}
add_user() { # NAME ROLE
	shown ektpctl user add "$1" --role "$2"
	printf '%s\n' "$PIN" | "$EKTPCTL" user add "$1" --role "$2" 2>&1 | sed 's/^/    /'
	[ "${PIPESTATUS[1]}" -eq 0 ] || fail "user add $1"
}

record_ids() { # [STATE]: the ids of the records (in STATE), one per line
	"$EKTPCTL" --json records ${1:+--state "$1"} --limit 1000 | jq -r '.records[].id'
}

# ---------------------------------------------------------------------------
chapter "1. The daemon starts on the simulators"
say "ektpd runs the shipped configuration, config/ektpd.conf, whose eight devices \
are all built-in simulators: a fingerprint scanner, an iris camera, a face \
camera, a signature pad, two card printers and their two chip encoders. The \
tour changes three things, as an office does before an election: residents \
of 16 may be recorded (min_age = 16), the next election is on 2029-02-14 \
(first-time voters' cards print first), and the printed cards and all state \
go to a scratch directory that the tour removes at the end."
# The tour's copy of the shipped configuration: every edit must take, so that
# the tour notices when the shipped file changes under it.
CONF=$STATE/ektpd.conf
edits=(
	"s|^#min_age = 17\$|min_age = 16|"
	"s|^#election_date =\$|election_date = 2029-02-14|"
	"s|^#region_data = data\$|region_data = $PWD/config/data|"
	"s|^#layout = card-layout.conf\$|layout = $PWD/config/card-layout.conf|"
	"s|^output_dir = ./var/printed\$|output_dir = $STATE/var/printed|"
)
cp config/ektpd.conf "$CONF"
for e in "${edits[@]}"; do
	before=$(cksum <"$CONF")
	sed -i "$e" "$CONF"
	[ "$(cksum <"$CONF")" != "$before" ] || fail "config/ektpd.conf no longer has the line that '$e' edits"
done
shown ektpd -c "$CONF" -S "$STATE/var"
read -r -a under <<<"${RUN_UNDER:-}"
"${under[@]}" "$EKTPD" -c "$CONF" -S "$STATE/var" 2>"$STATE/ektpd.log" &
DAEMON_PID=$!
for _ in $(seq $((100 * SLOW))); do
	"$EKTPCTL" status >/dev/null 2>&1 && break
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "ektpd exited as it started"
	sleep 0.1
done
must status
n=0
for _ in $(seq $((100 * SLOW))); do
	n=$(grep -c -- '-> ready' "$STATE/ektpd.log")
	[ "$n" -ge 8 ] && break
	sleep 0.1
done
[ "$n" -ge 8 ] || fail "only $n of the 8 simulated devices became ready"

# ---------------------------------------------------------------------------
chapter "2. An account for each role"
say "While no admin exists, root may create the first one without logging in. \
The admin then adds the operator who enrolls residents at the counter, the \
supervisor who approves exceptions and keeps the stock, and the technician \
who looks after the devices. Each signs in with a PIN."
add_user admin admin
login admin
add_user op operator
add_user sup supervisor
add_user tech technician
must user list

# ---------------------------------------------------------------------------
chapter "3. The technician tests every device"
say "The technician lists the devices with their state, then runs every \
device's self-test: a capture scored against its quality gate, or a status \
read from a printer or an encoder."
login tech
must devices
must selftest all

# ---------------------------------------------------------------------------
chapter "4. The operator enrolls twenty residents"
say "tests/data/residents.json holds twenty invented residents of Kota \
Singkawang. For each one ektpctl opens a session, records the exceptions the \
file declares (an amputated finger, a bandaged eye), captures ten \
fingerprints, two irises, the photo and the signature from the simulators, \
each against its quality gate, and commits the record in one transaction. \
One line per resident: its record id and state."
login op
must enroll --from tests/data/residents.json
residents=$(jq length tests/data/residents.json)
enrolled=$(record_ids | wc -l)
[ "$enrolled" -eq "$residents" ] || fail "$residents residents in the file, $enrolled records"
say "A record is never half-written: a resident whose data breaks the rules is \
refused with every reason at once, each naming its field and rule, and \
nothing is stored for it. tests/data/residents-invalid.json holds two such \
residents:"
if ctl enroll --from tests/data/residents-invalid.json; then
	fail "the invalid residents were accepted"
fi
refused=$(jq length tests/data/residents-invalid.json)
[ "$(record_ids | wc -l)" -eq "$enrolled" ] || fail "a refused resident left a record"
say "(ektpctl exits 1 when a resident was refused.)"

# ---------------------------------------------------------------------------
chapter "5. The supervisor decides on the exceptions"
say "Records captured with an exception wait for a supervisor. The supervisor \
looks at them and approves each one."
login sup
must records --state captured
waiting=$(record_ids captured)
[ -n "$waiting" ] || fail "no record waits for a supervisor"
for id in $waiting; do
	must approve "$id"
done
must records --state approved
say "An approved record whose resident is not yet seventeen stays approved: \
its card waits until the birthday."

# ---------------------------------------------------------------------------
chapter "6. The cards are printed"
say "The operator prints every print-ready record. Each card's chip data is \
signed and written on the printer's encoder, then the face is printed; the \
cards are shared between the two printers, and the stock ledger takes one \
blank card and one ribbon print for each."
login op
ready=$(record_ids print_ready | wc -l)
[ "$ready" -gt 0 ] || fail "no record is print-ready"
must print
must jobs
printed=$(record_ids printed | wc -l)
[ "$printed" -eq "$ready" ] || fail "$ready records were print-ready, $printed printed"

# ---------------------------------------------------------------------------
chapter "7. What the printers made"
rm -rf "$OUT"
mkdir -p "$OUT/cards"
cp "$STATE"/var/printed/*.png "$OUT/cards/" 2>/dev/null
n=$(find "$OUT/cards" -name '*.png' | wc -l)
[ "$n" -eq "$printed" ] || fail "$printed cards printed, $n card images written"
say "The simulated printers write each card face as a 300 dpi PNG. The tour \
copied the $n images to $OUT/cards/. The supervisor exports one card's signed \
chip image, and anyone may check its signature:"
login sup
first=$(record_ids printed | head -n 1)
must card export "$first" "$OUT/chip-$first"
must card verify "$OUT/chip-$first"

# ---------------------------------------------------------------------------
chapter "8. Stock and forecast"
say "Every card took a blank and a ribbon print from the ledger, which started \
from the opening stock declared in config/ektpd.conf. The supervisor sees \
the shelf and the printers, the forecast of each item's runout, the day's \
report, and a chart of the levels."
must stock
must stock forecast
must report daily
must report stock --chart "$OUT/stock.png"

# ---------------------------------------------------------------------------
chapter "9. The audit trail, and a clean stop"
say "Every change above left a row in the audit log, chained by hashes; the \
supervisor verifies the whole chain. Then the daemon is stopped with SIGTERM: \
it finishes what it is doing and exits 0."
must audit verify
shown kill -TERM "$DAEMON_PID"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=""
tail -n 2 "$STATE/ektpd.log" | sed 's/^/    /'
[ "$rc" -eq 0 ] || fail "ektpd exited with status $rc"

chapter "Done"
say "The tour enrolled $enrolled residents, refused $refused invalid ones, printed $printed \
cards and stopped cleanly. Look at $OUT/cards/*.png, $OUT/stock.png and \
$OUT/chip-$first/. The README's tours go through each part by hand."
