#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Logins through the real daemon: lockout after repeated wrong PINs (423),
# its expiry, idle expiry of tokens, and the bootstrap rule for non-root peers.
. "$(dirname "$0")/lib.sh"
setup
write_conf "max_failed_logins = 3\nlockout = 2\nsession_idle = 2\n[daemon]\nsocket_group = nogroup"
start_daemon

# Another user on this machine, in the socket's group, but not root.
if [ "$(id -u)" = 0 ] && getent group nogroup >/dev/null && command -v setpriv >/dev/null; then
	chgrp nogroup "$T/var" # the state directory is 0750: its group reaches the socket
	code=$(setpriv --reuid=65534 --regid="$(getent group nogroup | cut -d: -f3)" --clear-groups \
		curl -s -m 10 -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST \
		-d '{"name":"evil","role":"admin","pin":"123456"}' http://localhost/v1/users)
	is "a non-root peer cannot create the first admin" "$code" 401
	is "the socket belongs to the configured group" "$(stat -c %G "$SOCK")" nogroup
else
	not_ok "this test needs root, setpriv and the group nogroup"
fi
api POST /v1/users '{"name":"boss","role":"operator","pin":"123456"}'
is "root may create only an admin while none exists" "$STATUS" 403
add_user admin admin 123456
check "root creates the first admin" test "$STATUS" = 201

api POST /v1/login '{"user":"admin","pin":"000000"}'
is "1st wrong PIN: 401" "$STATUS" 401
api POST /v1/login '{"user":"admin","pin":"000000"}'
is "2nd wrong PIN: 401" "$STATUS" 401
api POST /v1/login '{"user":"admin","pin":"000000"}'
is "3rd wrong PIN locks: 423" "$STATUS" 423
like "the lock message says until when" "$(jget .error.message)" "locked until [0-9T:-]+Z"
api POST /v1/login '{"user":"admin","pin":"123456"}'
is "the right PIN is refused while locked" "$STATUS" 423
sleep 3
api POST /v1/login '{"user":"admin","pin":"123456"}'
is "the right PIN works after the lockout" "$STATUS" 200
TOKEN=$(jget .token)
api POST /v1/login '{"user":"admin","pin":"000000"}'
is "the failure count restarted after the good login" "$STATUS" 401

api GET /v1/whoami "" "$TOKEN"
is "the token works while in use" "$STATUS" 200
sleep 1
api GET /v1/whoami "" "$TOKEN"
is "use restarts the idle timer" "$STATUS" 200
sleep 3
api GET /v1/whoami "" "$TOKEN"
is "an idle token expires" "$STATUS" 401

TOKEN=$(login admin 123456)
api GET /v1/audit "" "$TOKEN"
is "the audit log shows the lock" "$(jget '[.rows[] | select(.action == "login" and .result == "locked")] | length')" 1
# Two wrong PINs before the lock and one after; a refusal at the lock itself writes nothing.
is "the audit log shows the refused logins" "$(jget '[.rows[] | select(.action == "login" and .result == "denied")] | length')" 3
done_testing
