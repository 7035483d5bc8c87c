# SPDX-License-Identifier: MIT
#
# Helpers for the regression scripts: a private daemon on a private state
# directory, API calls through curl --unix-socket, and TAP output ("ok -" /
# "not ok -") that tests/run counts.  Source it, then call setup.

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${EKTPD:=$top/bin/ektpd}" "${EKTPCTL:=$top/bin/ektpctl}" "${EKTP_SOURCE_DIR:=$top}"
: "${EKTP_PLUGIN:=$top/build/default/plugins/sim-plugin.so}"
TEST_NAME=$(basename "$0" .sh)
SLOW=${EKTP_TEST_SLOW:-1} # multiplies waits, for sanitizer builds
T=""
DAEMON_PID=""
FAILS=0

setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/ektp-$TEST_NAME.XXXXXX")
	chmod 755 "$T"
	mkdir -p "$T/run"
	chmod 700 "$T/run"
	export HOME="$T" XDG_RUNTIME_DIR="$T/run" EKTP_STATE_DIR="$T/var"
	SOCK="$T/var/ektpd.sock"
	DB="$T/var/ektp.db"
	CONF="$T/ektpd.conf"
	# Cheap PIN hashes keep the tests fast; the default cost is tested by unit tests.
	write_conf ""
	trap teardown EXIT
}

# write_conf EXTRA: the test config; EXTRA lines follow in [auth] unless they open a section.
# The region tables and the card layout come from the source tree.
write_conf() {
	local extra=$1 head="" section line
	for section in "enroll|region_data = $EKTP_SOURCE_DIR/config/data" \
		"card|layout = $EKTP_SOURCE_DIR/config/card-layout.conf"; do
		line=${section#*|}
		section=${section%%|*}
		if [[ "$extra" == *"[$section]\n"* ]]; then
			extra=${extra/"[$section]\n"/"[$section]\n$line\n"}
		else
			head="$head[$section]\n$line\n"
		fi
	done
	printf '%b[auth]\nscrypt_n = 1024\n%b\n' "$head" "$extra" >"$CONF"
}

# sim_devices EXTRA: a [device CLASS] section on the simulator of every class,
# each with the option lines EXTRA (e.g. "poll_interval = 100\n"); for write_conf.
sim_devices() {
	local class
	for class in fingerprint iris face signature printer encoder; do
		printf '[device %s]\\ndriver = sim-%s\\n%s' "$class" "$class" "$1"
	done
}

# stock_items CARDS PRINTS: a stock catalogue for write_conf in which every
# printer starts with CARDS blank cards and a ribbon of PRINTS prints (the
# simulated printer's ribbon holds 500), with more of each in the storeroom.
stock_items() {
	printf '[item blank-card]\\nkind = card\\nopening = storeroom:1000, printers:%s\\n' "$1"
	printf '[item ribbon]\\nkind = ribbon\\nprints = %s\\n' "$2"
	printf 'opening = storeroom:5, printers:%s\\n' "$2"
	printf '[item cleaning-card]\\nkind = cleaning\\nopening = storeroom:5\\n'
}

teardown() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null
	fi
	if [ "$FAILS" -gt 0 ] && [ -f "$T/ektpd.log" ]; then
		echo "# daemon log:"
		sed 's/^/#   /' "$T/ektpd.log"
	fi
	rm -rf "$T"
}

ok() { echo "ok - $*"; }
not_ok() {
	echo "not ok - $*"
	FAILS=$((FAILS + 1))
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is DESCRIPTION GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi
}

# like DESCRIPTION TEXT PATTERN (grep -E)
like() {
	if printf '%s' "$2" | grep -qE -- "$3"; then ok "$1"; else
		not_ok "$1 ('$2' does not match /$3/)"
	fi
}

start_daemon() {
	local under=()
	read -r -a under <<<"${RUN_UNDER:-}"
	"${under[@]}" "$EKTPD" -c "$CONF" -S "$T/var" "$@" >>"$T/ektpd.log" 2>&1 &
	DAEMON_PID=$!
	local i
	for i in $(seq 1 $((100 * SLOW))); do
		if curl -s -o /dev/null --unix-socket "$SOCK" http://localhost/v1/status; then
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	not_ok "daemon started"
	cat "$T/ektpd.log"
	exit 1
}

# stop_daemon [SIGNAL]: sets DAEMON_RC.
stop_daemon() {
	kill -"${1:-TERM}" "$DAEMON_PID"
	wait "$DAEMON_PID"
	DAEMON_RC=$?
	DAEMON_PID=""
}

# api METHOD PATH [BODY] [TOKEN]: sets STATUS and BODY.
api() {
	local args=(-s -m $((30 * SLOW)) -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X "$1")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
	STATUS=$(curl "${args[@]}" "http://localhost$2")
	BODY=$(cat "$T/body" 2>/dev/null)
}

# jget FILTER: applies a jq filter to the last BODY.
jget() { printf '%s' "$BODY" | jq -r "$1"; }

# q SQL: the daemon's database, read directly (the daemon stopped or killed).
q() { sqlite3 "$DB" "$1"; }

# sim_print_devices [PRINTER_LINES [ENCODER_LINES]]: config sections for the four
# capture simulators and two simulated printers, printer1 and printer2, each
# wired to its own simulated encoder (enc1, enc2; none when NO_ENCODER is
# set).  The LINES, "key = value\\n" each, go into every printer's or
# encoder's section.
sim_print_devices() {
	local d
	for d in fingerprint iris face signature; do
		printf '[device %s]\\ndriver = sim-%s\\n' "$d" "$d"
	done
	for d in 1 2; do
		printf '[device printer%s]\\ndriver = sim-printer\\nserial = PR%s\\n' "$d" "$d"
		[ -n "${NO_ENCODER:-}" ] || printf 'encoder = enc%s\\n' "$d"
		printf '%s' "${1:-}"
		printf '[device enc%s]\\ndriver = sim-encoder\\nserial = EN%s\\n' "$d" "$d"
		printf '%s' "${2:-}"
	done
}

# tally_enrollments_after_kill ID: what a kill -9 left of the enrollments,
# added to the caller's counters: bad_integrity (integrity_check not ok),
# partial (records without their 14 sealed images), orphans (a committed
# session without its record or a record without its session), leftovers
# (a capture row without its image), and committed or cut (whether session
# ID's commit landed).  t_enroll_crash and t_crash.
tally_enrollments_after_kill() {
	[ "$(q 'PRAGMA integrity_check')" = ok ] || bad_integrity=$((bad_integrity + 1))
	partial=$((partial + $(q "SELECT count(*) FROM records r WHERE
		(SELECT count(*) FROM biometrics WHERE owner = r.id AND sealed IS NOT NULL) != 14")))
	orphans=$((orphans + $(q "SELECT count(*) FROM enrollments e WHERE (state = 'committed') !=
		EXISTS (SELECT 1 FROM records WHERE id = e.id)")))
	leftovers=$((leftovers + $(q "SELECT count(*) FROM biometrics
		WHERE kind = 'capture' AND (sealed IS NULL OR length(sealed) < 100)")))
	if [ "$(q "SELECT state FROM enrollments WHERE id = $1")" = committed ]; then
		committed=$((committed + 1))
	else
		cut=$((cut + 1))
	fi
}

# add_user NAME ROLE PIN TOKEN (TOKEN empty: the root bootstrap)
add_user() {
	api POST /v1/users "{\"name\":\"$1\",\"role\":\"$2\",\"pin\":\"$3\"}" "${4:-}"
	[ "$STATUS" = 201 ]
}

# login NAME PIN: prints the token.
login() {
	api POST /v1/login "{\"user\":\"$1\",\"pin\":\"$2\"}"
	jget .token
}

# add_staff: the first admin (as root), a technician "tech" and an operator
# "op", all with PIN 123456; sets ADMIN, TECH and OP to their tokens.
add_staff() {
	add_user admin admin 123456 || not_ok "create the first admin"
	ADMIN=$(login admin 123456)
	add_user tech technician 123456 "$ADMIN" || not_ok "add a technician"
	add_user op operator 123456 "$ADMIN" || not_ok "add an operator"
	TECH=$(login tech 123456)
	OP=$(login op 123456)
}

# wait_state DEVICE STATE [REASONS]: polls with token $OP until the device
# shows STATE (and exactly REASONS, comma-separated, when given); 5 s.
wait_state() {
	local i
	for i in $(seq 1 $((50 * SLOW))); do
		api GET "/v1/devices/$1" "" "$OP"
		if [ "$(jget .state)" = "$2" ] && { [ -z "${3:-}" ] || [ "$(jget '.reasons | join(",")')" = "$3" ]; }; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

ctl() { "$EKTPCTL" -S "$T/var" "$@"; }

audit_rows() {
	api GET /v1/status
	jget .counts.audit_rows
}

done_testing() {
	[ "$FAILS" -eq 0 ]
}
