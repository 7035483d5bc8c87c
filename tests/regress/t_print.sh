#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Batch printing on the simulated printers, as on `make run`: the sample
# residents printed across two printers with their own encoders, first-time
# voters first, card PNGs left in the state directory; a chip failure (the
# card spoiled, the record given another card), a jam and an empty hopper (that
# printer stops with its reason, the other goes on), a batch cancelled, a
# supervisor's reprint, bad requests, and a kill -9 mid-batch settled at the
# next start (every record printed once, or back in the queue with its spoiled
# card on file).
. "$(dirname "$0")/lib.sh"
setup
devices() {
	sim_print_devices "poll_interval = 200\\ndelay = ${DELAY:-5}\\noutput_dir = $T/var/printed\\n" \
		'poll_interval = 200\n'
}
write_conf "$(devices)$(stock_items 100 500)[print]\nelection_date = 2023-02-14\n"
start_daemon
add_staff
add_user sup supervisor 123456 "$ADMIN" || not_ok "add a supervisor"
SUP=$(login sup 123456)
echo 123456 | ctl login op >/dev/null

out=$(ctl print 2>&1)
is "with nothing print_ready, print exits 1" $? 1
like "saying so" "$out" "no record is print_ready"

ctl enroll --from "$EKTP_SOURCE_DIR/tests/data/residents.json" >"$T/enroll.out" 2>&1
api GET "/v1/records?state=captured" "" "$SUP"
for id in $(jget '.records[].id'); do
	api POST "/v1/records/$id/approve" '{}' "$SUP"
done
api GET "/v1/records?state=print_ready" "" "$OP"
READY=$(jget '.records | length')
check "the samples give at least 15 print_ready records" test "$READY" -ge 15
VOTER=$(jget '.records[] | select(.name == "TJHIA MEI LING") | .id')

out=$(ctl print)
is "print exits 0 when every card printed" $? 0
like "it reports progress and the end" "$out" "batch 1 done"
BATCH=1
api GET "/v1/print/batches/$BATCH" "" "$OP"
is "the batch printed every print_ready record" "$(jget .printed)" "$READY"
is "nothing spoiled" "$(jget .spoiled)" 0
is "the first-time voter's card came first" "$(jget '.cards[0].record')" "$VOTER"
is "the records are printed" "$(api GET "/v1/records?state=printed" "" "$OP"; jget '.records | length')" "$READY"
is "card PNGs are left in the state directory, one per card" \
	"$(find "$T/var/printed" -name '*.png' | wc -l)" "$READY"
check "a card PNG is 1016x648" \
	test "$(od -An -tu1 -j16 -N8 "$(find "$T/var/printed" -name '*.png' | head -1)" | awk '{print $3*256+$4 "x" $7*256+$8}')" = 1016x648
api GET /v1/print/jobs "" "$OP"
check "both printers printed" test "$(jget '[.printers[] | select(.printed > 0)] | length')" -eq 2
is "the printers' counts add up" "$(jget '[.printers[].printed] | add')" "$READY"
out=$(ctl jobs)
like "ektpctl jobs shows the printers" "$out" "printer1"
like "and the batch" "$out" "$READY/$READY printed"

# Supervisor reprints: three records back in the queue.
IDS=$(api GET "/v1/records?state=printed&limit=3" "" "$OP"; jget '.records[].id')
api POST "/v1/records/$(echo "$IDS" | head -1)/reprint" '{"reason":"lost"}' "$OP"
is "an operator cannot order a reprint" "$STATUS" 403
api POST "/v1/records/$(echo "$IDS" | head -1)/reprint" '{}' "$SUP"
is "a reprint needs a reason" "$STATUS" 400
echo 123456 | ctl login sup >/dev/null
for id in $IDS; do
	ctl reprint "$id" --reason "card lost by the resident" >/dev/null || not_ok "reprint $id"
done
is "reprinted records are print_ready" \
	"$(api GET "/v1/records?state=print_ready" "" "$OP"; jget '.records | length')" 3
api POST "/v1/records/$VOTER/reprint" '{"reason":"again"}' "$SUP"
api POST "/v1/records/$VOTER/reprint" '{"reason":"again"}' "$SUP"
is "a print_ready record cannot be reprinted" "$STATUS" 409

# A chip that fails once: that card is spoiled, its record gets another.
api POST /v1/devices/enc1/fault '{"kind":"chip-failure","count":1}' "$TECH"
api POST /v1/devices/enc2/fault '{"kind":"chip-failure","count":1}' "$TECH"
echo 123456 | ctl login op >/dev/null
out=$(ctl print)
is "after chip failures and retries every record is printed: exit 0" $? 0
like "the spoiled cards are listed with their cause" "$out" "encode"
api GET /v1/print/batches/2 "" "$OP"
is "two cards spoiled" "$(jget .spoiled)" 2
is "four printed (the three and the voter's)" "$(jget .printed)" 4
api GET "/v1/audit?limit=1000" "" "$ADMIN"
is "each spoiled card is audited" "$(jget '[.rows[] | select(.action == "print.spoiled")] | length')" 2
is "each reprint is audited" "$(jget '[.rows[] | select(.action == "record.reprint")] | length')" 4

# A jam on printer1: it stops with the reason, printer2 prints the rest.
for id in $IDS; do
	api POST "/v1/records/$id/reprint" '{"reason":"test"}' "$SUP"
done
api POST /v1/devices/printer1/fault '{"kind":"jam"}' "$TECH"
wait_state printer1 fault || not_ok "printer1 shows the jam"
out=$(ctl print)
is "with printer1 jammed the batch still completes" $? 0
api GET /v1/print/jobs "" "$OP"
is "printer1 is stopped" "$(jget '.printers[0].activity')" stopped
like "with its reason" "$(jget '.printers[0].reason')" "media-jam"
is "printer2 printed the batch" "$(api GET /v1/print/batches/3 "" "$OP"; jget '[.cards[] | select(.phase == "done") | .printer] | unique | join(",")')" printer2
api POST /v1/devices/printer1/fault '{"kind":"clear"}' "$TECH"

# An empty hopper on both: the batch waits, saying why; cancelled.
for id in $IDS; do
	api POST "/v1/records/$id/reprint" '{"reason":"test"}' "$SUP"
done
api POST /v1/devices/printer1/fault '{"kind":"hopper-empty"}' "$TECH"
api POST /v1/devices/printer2/fault '{"kind":"hopper-empty"}' "$TECH"
wait_state printer1 fault && wait_state printer2 fault || not_ok "the printers show empty hoppers"
out=$(ctl print --wait no)
like "print --wait no returns at once" "$out" "batch 4"
sleep 1
api GET /v1/print/jobs "" "$OP"
like "printer1 waits for blank cards" "$(jget '.printers[0].reason')" "media-empty"
like "printer2 too" "$(jget '.printers[1].reason')" "media-empty"
out=$(ctl print cancel 4)
like "the batch is cancelled" "$out" "cancelled"
is "its records are print_ready again" \
	"$(api GET "/v1/records?state=print_ready" "" "$OP"; jget '.records | length')" 3
ctl print cancel 4 >/dev/null 2>&1
is "a finished batch cannot be cancelled" $? 1
api POST /v1/devices/printer1/fault '{"kind":"clear"}' "$TECH"
api POST /v1/devices/printer2/fault '{"kind":"clear"}' "$TECH"

api POST /v1/print/batches '{"printer":"nosuch"}' "$OP"
is "an unknown printer is refused" "$STATUS" 404
like "naming the field" "$(jget .error.message)" "printer"
api POST /v1/print/batches '{"max":0}' "$OP"
is "max 0 is refused" "$STATUS" 400
api POST /v1/print/batches '{}' "$TECH"
is "a technician cannot start a batch" "$STATUS" 403
api GET /v1/print/batches/99 "" "$OP"
is "an unknown batch is 404" "$STATUS" 404

# kill -9 in the middle of a batch: at the next start every begun card is
# settled; no record is printed twice, none is lost.
stop_daemon
DELAY=400
write_conf "$(devices)$(stock_items 100 500)"
start_daemon
api GET "/v1/records?state=printed&limit=1000" "" "$SUP"
for id in $(jget '.records[].id'); do
	api POST "/v1/records/$id/reprint" '{"reason":"crash test"}' "$SUP"
done
api POST /v1/print/batches '{}' "$OP"
# Kill while a card is being fed: each printer step takes 400 ms, and a card
# is void or spoiled until it has been printed and ejected (a card killed once
# ejected may rightly be settled as done, so that phase is not waited for).
for i in $(seq 1 $((200 * SLOW))); do
	api GET /v1/print/batches/5 "" "$OP"
	[ "$(jget '[.cards[] | select(.phase == "picked")] | length')" -gt 0 ] && break
	sleep 0.02
done
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
DELAY=5
write_conf "$(devices)$(stock_items 100 500)"
start_daemon
for i in $(seq 1 $((100 * SLOW))); do
	api GET /v1/print/batches/5 "" "$SUP"
	[ "$(jget .state)" = done ] && break
	sleep 0.2
done
is "the batch finishes after the restart" "$(jget .state)" done
check "no card is left half-begun" \
	test "$(jget '[.cards[] | select(.phase | test("picked|encoded|printed|ejected"))] | length')" -eq 0
is "every record of the batch has at most one finished card" \
	"$(jget '[.cards[] | select(.phase == "done") | .record] | group_by(.) | map(length) | max // 0')" 1
check "the kill came mid-batch: a card was settled as spoiled or void" \
	test "$(jget '[.cards[] | select(.phase == "spoiled" or .phase == "void")] | length')" -ge 1
api GET "/v1/records?limit=1000" "" "$SUP"
is "no record is left printing" "$(jget '[.records[] | select(.state == "printing")] | length')" 0
spoiled_or_void=$(api GET /v1/print/batches/5 "" "$SUP"; jget '[.cards[] | select(.phase == "spoiled" or .phase == "void") | .record] | unique | length')
back=$(api GET "/v1/records?state=print_ready&limit=1000" "" "$SUP"; jget '.records | length')
check "every record is printed, or back in the queue with its card on file" test "$back" -le "$spoiled_or_void"

# Printers without encoders can take no card: a batch is refused, not queued
# to wait forever.
stop_daemon
NO_ENCODER=1
write_conf "$(devices)$(stock_items 100 500)"
start_daemon
api GET /v1/print/batches "" "$OP"
batches=$(jget '.batches | length')
api POST /v1/print/batches '{}' "$OP"
is "with no printer wired to an encoder, a batch is refused" "$STATUS" 409
like "saying no printer has one, and what to set" "$(jget .error.message)" \
	"no printer has an encoder \\(printer1, printer2\\): set \"encoder\""
api POST /v1/print/batches '{"printer":"printer2"}' "$OP"
is "asking for one such printer is refused too" "$STATUS" 409
like "naming it and its section" "$(jget .error.message)" "printer2 has no encoder: set \"encoder\" in \\[device printer2\\]"
out=$(ctl print 2>&1)
is "ektpctl print exits 1 at once" $? 1
like "with the reason" "$out" "no printer has an encoder"
is "no batch was added" "$(api GET /v1/print/batches "" "$OP"; jget '.batches | length')" "$batches"
done_testing
