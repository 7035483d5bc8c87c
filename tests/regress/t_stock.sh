#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The consumables ledger on the simulated printers, as on `make run`: the
# shelf and both printers shown; bad movements refused with the field and
# rule; printing consumes a blank and a ribbon print per card in the ledger;
# an empty hopper, a due cleaning and a daily quota each stop that printer
# with its reason while the other goes on; `ektpctl clean` records the
# cleaning and takes a cleaning card; a deliberate difference between the
# ledger and a printer's ribbon count raises an alert with both figures;
# reports in three formats; the chart is a PNG; concurrent movements leave
# consistent balances; a restart does not write the opening stock again.
. "$(dirname "$0")/lib.sh"
setup
devices() {
	sim_print_devices 'poll_interval = 200\ndelay = 5\n' 'poll_interval = 200\n'
	printf '[item blank-card]\\nkind = card\\nunit_price = 10000\\npack_size = 100\\nlow = 30\\ncritical = 10\\n'
	printf 'opening = storeroom:50, printers:3\\n'
	printf '[item ribbon-ymcko]\\nkind = ribbon\\nprints = 500\\nunit_price = 1500000\\nlow = 1\\ncritical = 0\\n'
	printf 'opening = storeroom:2, printers:500\\n'
	printf '[item cleaning-card]\\nkind = cleaning\\npack_size = 5\\nunit_price = 60000\\nopening = storeroom:1\\n'
	printf '[stock]\\nclean_threshold = 5\\nhopper_capacity = 10\\n'
}
write_conf "$(devices)"
start_daemon
add_staff
add_user sup supervisor 123456 "$ADMIN" || not_ok "add a supervisor"
SUP=$(login sup 123456)
echo 123456 | ctl login sup >/dev/null

# level ITEM LOCATION: on hand by GET /v1/stock.
level() {
	api GET /v1/stock "" "$SUP"
	jget ".levels[] | select(.item == \"$1\" and .location == \"$2\") | .on_hand"
}
# ledger_sum ITEM LOCATION: the sum of the ledger's movements, read from the database.
ledger_sum() {
	sqlite3 "$DB" "SELECT coalesce(SUM(qty), 0) FROM stock_moves WHERE item = '$1' AND location = '$2'"
}

out=$(ctl stock)
is "ektpctl stock exits 0" $? 0
like "it shows the storeroom" "$out" "blank-card +storeroom +50"
like "and both printers" "$out" "printer2"
is "the opening stock: 3 cards in printer1" "$(level blank-card printer1)" 3
is "500 ribbon prints in printer2" "$(level ribbon-ymcko printer2)" 500
api GET /v1/stock "" "$SUP"
is "2 ribbon rolls with a low mark of 1 are not flagged" \
	"$(jget '.levels[] | select(.item == "ribbon-ymcko" and .location == "storeroom") | .flag // ""')" ""
is "50 blank cards above a low mark of 30 are not flagged" \
	"$(jget '.levels[] | select(.item == "blank-card" and .location == "storeroom") | .flag // ""')" ""
is "the blank cards' total is 56" "$(jget '.levels[] | select(.item == "blank-card" and .location == "all") | .on_hand')" 56
check "ektpctl stock --json is the server's JSON" sh -c "'$EKTPCTL' -S '$T/var' stock --json | jq -e '.levels | length > 0' >/dev/null"

# Bad movements: each refused with its field and rule, nothing written.
moves=$(sqlite3 "$DB" "SELECT count(*) FROM stock_moves")
api POST /v1/stock/receive '{"item":"blank-card","qty":0}' "$SUP"
is "receiving 0 is refused (400)" "$STATUS" 400
like "naming qty" "$(jget .error.message)" "qty"
api POST /v1/stock/receive '{"item":"blank-card","qty":-5}' "$SUP"
is "receiving -5 is refused" "$STATUS" 400
api POST /v1/stock/receive '{"item":"blank-card","qty":99999999}' "$SUP"
is "an absurd quantity is refused" "$STATUS" 400
like "saying why" "$(jget .error.message)" "max_quantity"
api POST /v1/stock/receive '{"item":"gold-card","qty":5}' "$SUP"
is "an unknown item is refused (404)" "$STATUS" 404
like "listing the items" "$(jget .error.message)" "blank-card"
api POST /v1/stock/receive '{"item":"blank-card","qty":5,"location":"printer1"}' "$SUP"
is "receiving into a printer is refused" "$STATUS" 400
like "saying stock goes to the storeroom" "$(jget .error.message)" "storeroom"
api POST /v1/stock/adjust '{"item":"blank-card","location":"storeroom","qty":-2}' "$SUP"
is "an adjustment without a reason is refused" "$STATUS" 400
like "naming reason" "$(jget .error.message)" "reason"
api POST /v1/stock/adjust '{"item":"blank-card","location":"shelf9","qty":2,"reason":"x"}' "$SUP"
is "an unknown location is refused (404)" "$STATUS" 404
api POST /v1/stock/adjust '{"item":"blank-card","location":"storeroom","qty":-51,"reason":"count"}' "$SUP"
is "an adjustment below zero is refused (409)" "$STATUS" 409
api POST /v1/stock/load '{"printer":"printer1","item":"ribbon-ymcko","qty":2}' "$SUP"
is "two ribbon rolls at once are refused" "$STATUS" 400
api POST /v1/stock/load '{"printer":"printer1","item":"blank-card","qty":20}' "$SUP"
is "more cards than the hopper holds are refused" "$STATUS" 400
api POST /v1/stock/spoil '{"item":"blank-card","location":"storeroom","qty":1,"cause":"bad luck"}' "$SUP"
is "a spoil with an unknown cause is refused" "$STATUS" 400
api POST /v1/stock/receive '{"item":"blank-card","qty":5}' "$OP"
is "an operator cannot receive stock" "$STATUS" 403
is "no refused movement was written" "$(sqlite3 "$DB" "SELECT count(*) FROM stock_moves")" "$moves"
out=$(ctl stock receive blank-card abc 2>&1)
check "ektpctl refuses a quantity that is not a number" test $? -ne 0
like "naming it" "$out" "QTY|qty|abc"

# Good movements.
check "receive 100 cards of lot L-77" ctl stock receive blank-card 100 --lot L-77 --supplier "PT Kartu" >/dev/null
is "the storeroom holds 150" "$(level blank-card storeroom)" 150
check "spoil 2 damaged cards" ctl stock spoil blank-card storeroom 2 --cause damaged >/dev/null
check "adjust -3 after a count" ctl stock adjust blank-card storeroom -3 --reason "stock count" >/dev/null
is "the storeroom holds 145" "$(level blank-card storeroom)" 145
is "the balance is the sum of its movements" "$(ledger_sum blank-card storeroom)" 145
out=$(ctl stock history blank-card)
like "history shows the receipt with its lot" "$out" "L-77"
like "and the adjustment's reason" "$out" "stock count"
api POST /v1/stock/receive '{"item":"blank-card","qty":1}' "$SUP"
sqlite3 "$DB" "UPDATE stock_moves SET qty = 1000 WHERE id = 1" 2>/dev/null
is "the ledger cannot be rewritten" "$(sqlite3 "$DB" "SELECT qty FROM stock_moves WHERE id = 1")" 50
sqlite3 "$DB" "DELETE FROM stock_moves" 2>/dev/null
check "nor emptied" test "$(sqlite3 "$DB" "SELECT count(*) FROM stock_moves")" -gt 0

# Printing the samples: 3 cards in each hopper.
echo 123456 | ctl login op >/dev/null
ctl enroll --from "$EKTP_SOURCE_DIR/tests/data/residents.json" >"$T/enroll.out" 2>&1
api GET "/v1/records?state=captured" "" "$SUP"
for id in $(jget '.records[].id'); do
	api POST "/v1/records/$id/approve" '{}' "$SUP"
done
api GET "/v1/records?state=print_ready" "" "$OP"
READY=$(jget '.records | length')
check "the samples give at least 15 print_ready records" test "$READY" -ge 15

# wait_reason PRINTER PATTERN: until the printer's lane shows a reason matching PATTERN.
wait_reason() {
	local i
	for i in $(seq 1 $((100 * SLOW))); do
		api GET /v1/print/jobs "" "$OP"
		jget ".printers[] | select(.name == \"$1\") | .reason // \"\"" | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	return 1
}
# wait_printed PRINTER N: until PRINTER has printed N cards.
wait_printed() {
	local i
	for i in $(seq 1 $((100 * SLOW))); do
		[ "$(printed_on "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
printed_on() {
	sqlite3 "$DB" "SELECT count(*) FROM print_cards WHERE printer = '$1' AND phase = 'done'"
}

echo 123456 | ctl login op >/dev/null
ctl print --wait no >/dev/null
check "printer1 stops when its hopper is empty by the ledger" wait_reason printer1 "no blank cards"
check "so does printer2" wait_reason printer2 "no blank cards"
like "the reason names the fix" "$(api GET /v1/print/jobs "" "$OP"; jget '.printers[0].reason')" "ektpctl stock load printer1"
like "ektpctl jobs shows it" "$(ctl jobs)" "no blank cards"
is "printer1 printed 3" "$(printed_on printer1)" 3
is "printer1's hopper is empty in the ledger" "$(level blank-card printer1)" 0
api GET /v1/stock "" "$SUP"
is "and flagged empty" "$(jget '.levels[] | select(.item == "blank-card" and .location == "printer1") | .flag')" empty
is "ribbon: 3 prints used on printer1" "$(level ribbon-ymcko printer1)" 497

# Loading printer1 (hopper_capacity 10): it prints 2 more, then its cleaning is due (threshold 5).
echo 123456 | ctl login sup >/dev/null
check "load printer1 with cards (fills the hopper)" ctl stock load printer1 blank-card >/dev/null
check "printer1 stops for cleaning after 5 cards" wait_reason printer1 "cleaning due"
like "saying who runs what" "$(api GET /v1/print/jobs "" "$OP"; jget '.printers[0].reason')" "ektpctl clean printer1"
is "printer1 printed 5" "$(printed_on printer1)" 5
api GET /v1/stock "" "$SUP"
is "the stock view shows 5 cards since cleaning" "$(jget '.printers[] | select(.printer == "printer1") | .since_clean')" 5
out=$(ctl clean printer1 2>&1)
like "a supervisor may not clean (technician's job)" "$out" "may not call"
echo 123456 | ctl login tech >/dev/null
check "the technician cleans printer1" ctl clean printer1 >/dev/null
is "the cleaning took the storeroom's cleaning card" "$(level cleaning-card storeroom)" 0
check "printer1 prints again, up to its next cleaning" wait_printed printer1 10
check "which stops it again" wait_reason printer1 "cleaning due: 5 cards"
out=$(ctl clean printer1 2>&1)
is "without a cleaning card, clean fails" $? 1
like "saying so" "$out" "no cleaning card"
echo 123456 | ctl login sup >/dev/null
ctl stock receive cleaning-card 5 --supplier "PT Bersih" >/dev/null
echo 123456 | ctl login tech >/dev/null
check "with a kit received, the cleaning runs" ctl clean printer1 >/dev/null

# A daily quota on printer2: it has printed 3 today; a quota of 4 lets one more through.
echo 123456 | ctl login sup >/dev/null
check "set printer2's ration" ctl ration printer2 --daily 4 --hourly 100 >/dev/null
ctl stock load printer2 blank-card >/dev/null
check "printer2 stops at its daily quota" wait_reason printer2 "daily quota used: 4 of 4"
is "printer2 printed 4" "$(printed_on printer2)" 4
api GET /v1/stock "" "$SUP"
is "the stock view shows nothing left today" "$(jget '.printers[] | select(.printer == "printer2") | .left_today')" 0
ctl ration printer2 --daily 0 --hourly 0 >/dev/null
# The rest of the queue: whoever stops is loaded or cleaned, as the office would.
ctl stock receive cleaning-card 10 >/dev/null
for i in $(seq 1 $((300 * SLOW))); do
	api GET "/v1/records?state=printing" "" "$OP"
	left=$(jget '.records | length')
	api GET /v1/print/jobs "" "$OP"
	jobs=$BODY
	[ "$left" = 0 ] && [ "$(jget '[.printers[] | select(.card != null)] | length')" = 0 ] && break
	for p in printer1 printer2; do
		why=$(jq -r ".printers[] | select(.name == \"$p\") | .reason // \"\"" <<<"$jobs")
		case $why in
		*"cleaning due"*) api POST "/v1/devices/$p/clean" '{}' "$TECH" && sleep 0.3 ;;
		*"no blank cards"*) api POST /v1/stock/load "{\"printer\":\"$p\",\"item\":\"blank-card\"}" "$SUP" ;;
		esac
	done
	sleep 0.1
done
[ "$left" = 0 ] || { api GET /v1/print/jobs "" "$OP"; echo "# $BODY"; }
api GET "/v1/records?state=printed" "" "$OP"
is "every record is printed in the end" "$(jget '.records | length')" "$READY"

# The ledger's consumption equals the pipeline's cards.
for p in printer1 printer2; do
	is "$p: blanks consumed = cards the printer took" \
		"$(sqlite3 "$DB" "SELECT -SUM(qty) FROM stock_moves WHERE item = 'blank-card' AND location = '$p' AND kind IN ('consume','return')")" \
		"$(sqlite3 "$DB" "SELECT count(*) FROM print_cards WHERE printer = '$p' AND started_at IS NOT NULL AND phase <> 'void'")"
	is "$p: ribbon prints consumed = cards printed" \
		"$(sqlite3 "$DB" "SELECT -SUM(qty) FROM stock_moves WHERE item = 'ribbon-ymcko' AND location = '$p' AND kind IN ('consume','return')")" \
		"$(printed_on "$p")"
done
api GET /v1/stock/alerts "" "$SUP"
is "the ledger agrees with the simulated printers: no alert" "$(jget '.alerts | length')" 0

# A deliberate difference: the ledger loses 7 ribbon prints; a self-test reconciles.
echo 123456 | ctl login sup >/dev/null
ctl stock adjust ribbon-ymcko printer1 -7 --reason "test: a miscount" >/dev/null
LEDGER=$(level ribbon-ymcko printer1)
api POST /v1/devices/printer1/selftest '{}' "$TECH"
for i in $(seq 1 $((50 * SLOW))); do
	api GET /v1/stock/alerts "" "$SUP"
	[ "$(jget '.alerts | length')" -gt 0 ] && break
	sleep 0.1
done
is "the self-test raised an alert" "$(jget '.alerts[0].what')" "ribbon prints left"
is "with the ledger's figure" "$(jget '.alerts[0].ledger')" "$LEDGER"
is "and the printer's" "$(jget '.alerts[0].printer_count')" "$((LEDGER + 7))"
like "ektpctl stock shows it" "$(ctl stock)" "ALERT.*printer1"

# Reports and the chart.
for r in daily monthly spoilage procurement; do
	out=$(ctl report "$r")
	is "report $r (table) exits 0" $? 0
	csv=$(ctl report "$r" --format csv)
	json=$(ctl report "$r" --format json)
	like "report $r (csv) has a header row" "$(printf '%s' "$csv" | head -1)" "^[a-z_]+(,[a-z_]+)+"
	check "report $r (json) has rows" sh -c "printf '%s' '$json' | jq -e '.rows | length > 0' >/dev/null"
done
like "the daily report counts today's cards" "$(ctl report daily --format csv)" "total,,$READY,"
like "procurement prices packs in rupiah" "$(ctl report procurement --format csv | head -1)" "packs.*cost_rupiah"
is "the spoilage report charges the damaged cards" \
	"$(ctl report spoilage --format json | jq -r '.rows[] | select(.[0] == "damaged") | .[2]')" 2
out=$(ctl report daily --from 2026-13-01 2>&1)
like "a bad date is refused, naming the field" "$out" "from"
check "the stock chart is written" ctl report stock --chart "$T/stock.png"
is "as a PNG" "$(head -c 8 "$T/stock.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
check "of a readable size" test "$(stat -c %s "$T/stock.png")" -gt 5000
api GET /v1/stock/forecast "" "$SUP"
check "the forecast gives blank cards a runout date" \
	test -n "$(jget '.levels[] | select(.item == "blank-card" and .location == "all") | .runout // empty')"

# Concurrent movements: twenty receipts and twenty adjustments at once.
before=$(level blank-card storeroom)
pids=()
for i in $(seq 1 20); do
	curl -s -o /dev/null --unix-socket "$SOCK" -H "Authorization: Bearer $SUP" -H 'Content-Type: application/json' \
		--data-binary '{"item":"blank-card","qty":3}' http://localhost/v1/stock/receive &
	pids+=($!)
	curl -s -o /dev/null --unix-socket "$SOCK" -H "Authorization: Bearer $SUP" -H 'Content-Type: application/json' \
		--data-binary '{"item":"blank-card","location":"storeroom","qty":-1,"reason":"count"}' http://localhost/v1/stock/adjust &
	pids+=($!)
done
wait "${pids[@]}" # not the daemon, also a child of this shell
is "concurrent movements leave the balance consistent" "$(level blank-card storeroom)" $((before + 40))
is "and equal to the sum of the movements" "$(ledger_sum blank-card storeroom)" $((before + 40))

# A restart writes no opening stock again.
n=$(sqlite3 "$DB" "SELECT count(*) FROM stock_moves")
stop_daemon
start_daemon
is "no movement is added at restart" "$(sqlite3 "$DB" "SELECT count(*) FROM stock_moves")" "$n"
is "the audit chain verifies" "$(api GET /v1/audit/verify "" "$ADMIN"; jget .ok)" true
stop_daemon
is "the daemon stops cleanly (under a sanitizer: nothing leaked)" "$DAEMON_RC" 0
done_testing
