#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The daemon's life: config checking with -n, the socket and file modes, one
# daemon per socket, SIGHUP reloads, SIGTERM exits 0 with nothing half-done.
. "$(dirname "$0")/lib.sh"
setup

out=$("$EKTPD" -n -c "$EKTP_SOURCE_DIR/config/ektpd.conf")
is "the shipped config checks OK" "$out" "configuration OK"
printf '[auth]\nsession_idle = 900\n\n[api]\nmax_bdy = 10\n' >"$T/bad.conf"
out=$("$EKTPD" -n -c "$T/bad.conf" 2>&1)
is "-n on a bad config exits 1" $? 1
is "-n names file, line and key" "$out" "$T/bad.conf:5: unknown key 'max_bdy' in [api]"
printf '[auth]\nlockout = 0\n' >"$T/bad.conf"
out=$("$EKTPD" -n -c "$T/bad.conf" 2>&1)
like "-n names an out-of-range value" "$out" "^$T/bad.conf:2: lockout: 0 is out of range"
"$EKTPD" -c "$T/bad.conf" -S "$T/var" >/dev/null 2>&1
is "ektpd refuses to start on a bad config" $? 1
"$EKTPD" --bogus >/dev/null 2>&1
is "an unknown flag exits 2" $? 2

start_daemon
is "the socket is mode 660" "$(stat -c %a "$SOCK")" 660
is "the database is not readable by others" "$(stat -c %A "$DB" | cut -c8-10)" "---"
"$EKTPD" -c "$CONF" -S "$T/var" >"$T/second.log" 2>&1
is "a second daemon on the same socket exits 1" $? 1
like "and says why" "$(cat "$T/second.log")" "another ektpd is serving"
api GET /v1/status
is "the first daemon still serves" "$STATUS" 200

# SIGHUP: a reloadable key applies, a start-only key is reported, a broken
# file is refused and the old settings stay.
add_user admin admin 123123
write_conf "session_idle = 3\n[daemon]\ndatabase = other.db"
kill -HUP "$DAEMON_PID"
sleep $((1 * SLOW))
like "SIGHUP reloads one setting" "$(cat "$T/ektpd.log")" "reloaded .*1 setting changed"
like "SIGHUP names the start-only key" "$(cat "$T/ektpd.log")" "daemon.database changed but is read at start only"
TOKEN=$(login admin 123123)
api GET /v1/whoami "" "$TOKEN"
is "a fresh token works" "$STATUS" 200
sleep $((5 * SLOW))
api GET /v1/whoami "" "$TOKEN"
is "the reloaded idle timeout expires the token" "$STATUS" 401
printf '[auth]\nsession_idle = banana\n' >"$CONF"
kill -HUP "$DAEMON_PID"
sleep $((1 * SLOW))
like "a broken file on SIGHUP is refused" "$(cat "$T/ektpd.log")" "not reloaded: .*session_idle"
check "the daemon survives a broken reload" kill -0 "$DAEMON_PID"

# SIGTERM while logins are being hashed: they finish or are dropped whole.
for i in 1 2 3 4 5; do
	curl -s -m 10 -o /dev/null --unix-socket "$SOCK" -X POST \
		-d '{"user":"admin","pin":"123123"}' http://localhost/v1/login &
done
stop_daemon TERM
is "SIGTERM exits 0" "$DAEMON_RC" 0
check "SIGTERM removes the socket" test ! -e "$SOCK"
is "the database is intact" "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok
write_conf ""
start_daemon
TOKEN=$(login admin 123123)
api GET /v1/audit/verify "" "$TOKEN"
is "the audit chain verifies after the restart" "$(jget .ok)" true
api GET /v1/status
is "the sessions survive a restart" "$(jget '.counts.active_sessions >= 1')" true
stop_daemon INT
is "SIGINT exits 0" "$DAEMON_RC" 0
done_testing
