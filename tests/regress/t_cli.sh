#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ektpctl end to end: status, the root bootstrap, login, users, PINs, audit,
# exit codes, and tampering with the audit log found by `audit verify`.
. "$(dirname "$0")/lib.sh"
setup
start_daemon

out=$(ctl status)
is "status exits 0" $? 0
like "status shows the version" "$out" "ektpd 0\.1\.0"
like "status tells that no admin exists" "$out" "no admin"
api GET /v1/status
is "curl --unix-socket answers status" "$STATUS" 200
is "status JSON has the schema version" "$(jget .database.schema_version)" 7
is "ektpctl --json status is the API's JSON" "$(ctl --json status | jq -r .version)" "0.1.0"

"$EKTPCTL" -S "$T/nowhere" status >/dev/null 2>"$T/err"
is "unreachable daemon exits 3" $? 3
like "unreachable daemon is named" "$(cat "$T/err")" "cannot reach ektpd"
ctl frobnicate >/dev/null 2>&1
is "unknown command exits 2" $? 2
ctl user add >/dev/null 2>&1
is "missing argument exits 2" $? 2
like "--help lists the commands" "$(ctl --help)" "audit verify"

echo 112233 | ctl user add admin --role admin >/dev/null
is "root creates the first admin without a token" $? 0
echo 112233 | ctl user add admin2 --role admin >/dev/null 2>&1
is "a second tokenless admin is refused" $? 1
echo 000000 | ctl login admin >/dev/null 2>"$T/err"
is "wrong PIN exits 1" $? 1
like "wrong PIN is said" "$(cat "$T/err")" "wrong user or PIN"
echo 112233 | ctl login admin >/dev/null
is "login exits 0" $? 0
tokfile=$(find "$XDG_RUNTIME_DIR" -type f -name 'token-*')
is "the token is kept in one file" "$(echo "$tokfile" | wc -l)" 1
is "the token file is mode 600" "$(stat -c %a "$tokfile")" 600
like "whoami names the admin" "$(ctl whoami)" "admin"

echo 445566 | ctl user add op1 --role operator >/dev/null
is "admin adds an operator" $? 0
echo 445566 | ctl user add op1 --role operator >/dev/null 2>"$T/err"
is "a duplicate user exits 1" $? 1
like "the duplicate is named" "$(cat "$T/err")" "exists already"
echo 445566 | ctl user add sup1 --role supervisor >/dev/null
list=$(ctl user list)
like "user list shows op1 as operator" "$list" "op1 +operator"
is "user list --json has 3 users" "$(ctl --json user list | jq '.users | length')" 3
echo 778899 | ctl user pin op1 >/dev/null
is "admin sets another's PIN" $? 0

echo 445566 | ctl login op1 >/dev/null 2>&1
is "the old PIN no longer works" $? 1
echo 778899 | ctl login op1 >/dev/null
is "the new PIN works" $? 0
ctl user list >/dev/null 2>"$T/err"
is "an operator may not list users" $? 1
printf '000000\n121212\n' | ctl user pin op1 >/dev/null 2>&1
is "own PIN change with a wrong current PIN is refused" $? 1
printf '778899\n121212\n' | ctl user pin op1 >/dev/null
is "own PIN change with the current PIN works" $? 0
ctl logout >/dev/null
is "logout exits 0" $? 0
ctl whoami >/dev/null 2>"$T/err"
is "after logout whoami exits 1" $? 1
like "after logout the user is told to log in" "$(cat "$T/err")" "login"

echo 112233 | ctl login admin >/dev/null
ctl user disable op1 >/dev/null
is "admin disables op1" $? 0
echo 121212 | ctl login op1 >/dev/null 2>"$T/err"
is "a disabled user cannot log in" $? 1
ctl user disable admin >/dev/null 2>"$T/err"
is "the last admin cannot be disabled" $? 1

out=$(ctl audit list)
like "audit list shows the user.add row" "$out" "user\.add +op1"
like "audit list shows a refused login" "$out" "login +op1 +denied"
out=$(ctl audit verify)
is "audit verify exits 0 on an intact log" $? 0
like "audit verify says intact" "$out" "intact"

# Tamper with row 3 by hand, as someone with the database file would.
orig=$(sqlite3 "$DB" "SELECT target FROM audit WHERE id = 3")
sqlite3 "$DB" "UPDATE audit SET target = 'mallory' WHERE id = 3"
out=$(ctl audit verify 2>&1)
is "audit verify exits 1 after an edit" $? 1
like "audit verify names the edited row" "$out" "row 3"
is "the API names the first bad row" "$(ctl --json audit verify | jq .first_bad)" 3
sqlite3 "$DB" "UPDATE audit SET target = '$orig' WHERE id = 3"
ctl audit verify >/dev/null 2>&1
is "the chain verifies again once the row is restored" $? 0
sqlite3 "$DB" "DELETE FROM audit WHERE id = 5"
is "a deleted row is found at the next one" "$(ctl --json audit verify | jq .first_bad)" 6
sqlite3 "$DB" "DELETE FROM audit WHERE id >= 5"
is "deleting the newest rows is found" "$(ctl --json audit verify | jq .ok)" false

# A fresh database while a token from the old one is still on file (var/ wiped):
# the first admin can still be created.
stop_daemon
rm -f "$DB" "$DB-wal" "$DB-shm"
start_daemon
out=$(printf '246810\n246810\n' | ctl user add boss --role admin 2>&1)
is "user add creates the first admin despite a stale token" $? 0
like "and says so" "$out" "created user boss"
done_testing
