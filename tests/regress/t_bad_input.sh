#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input: each malformed request gets a clear 4xx naming the field and the
# rule, nothing is written, and the daemon keeps serving, including through a
# flood of parallel connections.
. "$(dirname "$0")/lib.sh"
setup
write_conf "[api]\nmax_body = 4096"
start_daemon

PIN=135790
add_user admin admin $PIN || not_ok "bootstrap admin"
TOKEN=$(login admin $PIN)
rows0=$(audit_rows)
api GET /v1/users "" "$TOKEN"
users0=$BODY

# expect DESC STATUS CODE FIELD METHOD PATH BODY
expect() {
	api "$5" "$6" "$7" "$TOKEN"
	is "$1: status" "$STATUS" "$2"
	is "$1: code" "$(jget .error.code)" "$3"
	[ -n "$4" ] && is "$1: names the field" "$(jget .error.field)" "$4"
	like "$1: has a message" "$(jget .error.message)" '.{10,}'
}

expect "malformed JSON" 400 bad_json "" POST /v1/users '{"name": "x",'
expect "not an object" 400 not_object "" POST /v1/users '["admin"]'
expect "number for a string" 400 wrong_type pin POST /v1/users '{"name":"ab","role":"operator","pin":123456}'
expect "null for a string" 400 wrong_type name POST /v1/users '{"name":null,"role":"operator","pin":"123456"}'
expect "unknown field" 400 unknown_field is_admin POST /v1/users '{"name":"ab","role":"operator","pin":"123456","is_admin":true}'
expect "missing field" 400 missing_field pin POST /v1/users '{"name":"ab","role":"operator"}'
expect "empty body" 400 missing_field name POST /v1/users ''
expect "unknown role" 400 invalid_value role POST /v1/users '{"name":"ab","role":"root","pin":"123456"}'
expect "PIN with letters" 400 invalid_value pin POST /v1/users '{"name":"ab","role":"operator","pin":"12a456"}'
expect "PIN too short" 400 invalid_value pin POST /v1/users '{"name":"ab","role":"operator","pin":"123"}'
expect "quote and SQL in a name" 400 invalid_value name POST /v1/users "{\"name\":\"x'); DROP TABLE users;--\",\"role\":\"operator\",\"pin\":\"123456\"}"
expect "double quote in a name" 400 invalid_value name POST /v1/users '{"name":"a\"b","role":"operator","pin":"123456"}'
expect "overlong name" 400 invalid_value name POST /v1/users "{\"name\":\"$(printf 'a%.0s' $(seq 40))\",\"role\":\"operator\",\"pin\":\"123456\"}"
expect "body on a GET" 400 unknown_field "" GET /v1/whoami '{"x":1}'
expect "bad query value" 400 bad_query limit GET "/v1/audit?limit=0" ''
expect "unknown query" 400 bad_query sort GET "/v1/audit?sort=id" ''
expect "unknown route" 404 not_found "" GET /v1/nothing ''
expect "wrong method" 405 method_not_allowed "" PUT /v1/users ''
expect "no such user" 404 not_found "" POST /v1/users/ghost/disable ''

printf '{"name":"a\xff\xfeb","role":"operator","pin":"123456"}' >"$T/bad-utf8"
api POST /v1/users "@$T/bad-utf8" "$TOKEN"
is "invalid UTF-8: status" "$STATUS" 400
is "invalid UTF-8: code" "$(jget .error.code)" bad_json

head -c 8000 /dev/zero | tr '\0' 'a' >"$T/big"
api POST /v1/users "@$T/big" "$TOKEN"
is "oversize body: status" "$STATUS" 413
is "oversize body: code" "$(jget .error.code)" too_large
# Refused from its Content-Length alone, before the body is sent, without a token even.
head -c 3000000 /dev/zero >"$T/huge"
STATUS=$(curl -s -m 20 -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST \
	-H 'Expect: 100-continue' --data-binary @"$T/huge" http://localhost/v1/login)
is "a 3 MB body is refused at its headers (Expect: 100-continue)" "$STATUS" 413
STATUS=$(curl -s -m 20 -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST \
	-H 'Expect:' --data-binary @"$T/huge" http://localhost/v1/login)
is "a 3 MB body sent outright is refused" "$STATUS" 413

api POST /v1/users '{"name":"ab","role":"operator","pin":"123456"}' "not-a-token"
is "malformed token" "$STATUS" 401
api POST /v1/users '{"name":"ab","role":"operator","pin":"123456"}' "$(printf '%064d' 0)"
is "unknown token" "$STATUS" 401

# A flood: 200 connections at once, half of them malformed.
pids=()
for i in $(seq 1 200); do
	if [ $((i % 2)) = 0 ]; then
		curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$SOCK" http://localhost/v1/status &
	else
		curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$SOCK" -X POST \
			--data-binary '{"user":' http://localhost/v1/login &
	fi
	pids+=($!)
done >"$T/flood" 2>&1
wait "${pids[@]}"
is "flood: 100 answered 200" "$(grep -c '^200$' "$T/flood")" 100
is "flood: 100 answered 400" "$(grep -c '^400$' "$T/flood")" 100
check "daemon alive after the flood" kill -0 "$DAEMON_PID"

api GET /v1/users "" "$TOKEN"
is "no user was written by bad input" "$BODY" "$users0"
is "no audit row was written by bad input" "$(audit_rows)" "$rows0"
api GET /v1/status
is "still serving" "$STATUS" 200
done_testing
