#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Card production for a record on make-run-like settings: the face preview,
# the signed chip image checked by the real openssl CLI, verification of a
# record or an exported folder (an altered group is named), encoding on the
# simulated encoder (a chip failure refused), test keys made and labelled when
# none are configured, and a half-configured signer refused.
. "$(dirname "$0")/lib.sh"
setup
write_conf "$(sim_devices 'poll_interval = 200\n')"
start_daemon
add_staff
add_user sup supervisor 123456 "$ADMIN" || not_ok "add a supervisor"
echo 123456 | ctl login op >/dev/null
like "with no signer configured, test keys are made and said to be test keys" \
	"$(cat "$T/ektpd.log")" "TEST keys from $T/var/test-pki"
check "the test CA says so in its subject" \
	grep -q "NOT FOR PRODUCTION" <(openssl x509 -in "$T/var/test-pki/test-ca-cert.pem" -noout -subject)

# One resident from the samples, and one that stays captured (an exception).
jq '[.[0]]' "$EKTP_SOURCE_DIR/tests/data/residents.json" >"$T/one.json"
jq '[.[] | select(.exceptions != null)][0:1]' "$EKTP_SOURCE_DIR/tests/data/residents.json" >"$T/exc.json"
out=$(ctl enroll --from "$T/one.json")
ID=$(printf '%s' "$out" | awk '{print $1}')
like "a sample resident is enrolled print_ready" "$out" "print_ready"
out=$(ctl enroll --from "$T/exc.json")
CAPTURED=$(printf '%s' "$out" | awk '{print $1}')

ctl card preview "$ID" "$T/card.png" >/dev/null
is "card preview writes a PNG" "$(head -c 8 "$T/card.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
is "of 1016x648 dots" "$(od -An -tu1 -j16 -N8 "$T/card.png" | awk '{print $3*256+$4 "x" $7*256+$8}')" 1016x648
ctl card preview "$ID" "$T/card.png" >/dev/null 2>&1
is "an existing file is not overwritten" $? 1

echo 123456 | ctl login sup >/dev/null
out=$(ctl card export "$ID" "$T/chip")
is "card export exits 0" $? 0
like "and says the chip is signed with test keys" "$out" "TEST keys"
check "the chip fits 8 KB" test "$(cat "$T"/chip/* | wc -c)" -le 8192
check "openssl cms -verify accepts the security object against the CA" \
	openssl cms -verify -inform DER -in "$T/chip/SOD.der" -CAfile "$T/var/test-pki/test-ca-cert.pem" \
	-out "$T/econtent.der"
dg1=$(sha256sum "$T/chip/DG1.bin" | cut -c1-64)
check "the signed content lists DG1's SHA-256" grep -qi "$dg1" <(od -An -tx1 -v "$T/econtent.der" | tr -d ' \n')
out=$(ctl card verify "$T/chip")
is "card verify on the exported folder exits 0" $? 0
like "naming the signer" "$out" "TEST DOCUMENT SIGNER"
check "card verify on the record exits 0" ctl card verify "$ID"
printf 'x' | dd of="$T/chip/DG2.bin" bs=1 seek=100 conv=notrunc status=none
out=$(ctl card verify "$T/chip")
is "an altered portrait fails verification" $? 1
like "naming DG2" "$out" "DG2"
dg2=$(sha256sum "$T/chip/DG2.bin" | cut -c1-64)
check "and the signed content does not list the altered portrait's hash" \
	test -z "$(od -An -tx1 -v "$T/econtent.der" | tr -d ' \n' | grep -io "$dg2")"
api GET "/v1/records/$ID/chip" "" "$OP"
is "an operator cannot export a chip" "$STATUS" 403

echo 123456 | ctl login op >/dev/null
out=$(ctl card encode "$ID" encoder)
is "card encode on the simulated encoder exits 0" $? 0
like "and says the chip read back equal" "$out" "read back equal"
api POST "/v1/devices/encoder/fault" '{"kind":"chip-failure"}' "$TECH"
out=$(ctl card encode "$ID" encoder 2>&1)
is "a chip failure fails the encode" $? 1
like "saying so" "$out" "chip failure"
api POST "/v1/devices/encoder/fault" '{"kind":"clear"}' "$TECH"
out=$(ctl card encode "$CAPTURED" encoder 2>&1)
is "a record still waiting for approval is not encoded" $? 1
like "saying why" "$out" "only a print_ready record"
api POST "/v1/records/$ID/encode" '{"encoder":"fingerprint"}' "$OP"
is "a device that is no encoder is refused" "$STATUS" 409
api GET "/v1/audit?limit=1000" "" "$ADMIN"
is "each encode is audited, failed ones too" \
	"$(jget '[.rows[] | select(.action == "card.encode")] | length')" 3

# A half-configured signer stops the start, naming the keys.
stop_daemon
write_conf "[card]\nsigner_cert = /nonexistent.pem\n"
out=$("$EKTPD" -c "$CONF" -S "$T/var" 2>&1)
is "ektpd refuses a signer certificate without its key and CA" $? 1
like "naming the three keys" "$out" "signer_cert, signer_key and ca_cert go together"

done_testing
