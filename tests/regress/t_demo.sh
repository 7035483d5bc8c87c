#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo's tour (tests/demo.sh) runs to its end on the simulators and
# leaves what it says: every chapter, the refusals with their rules, one card
# image per printed record, a chip image that verifies, the stock chart, and
# no scratch directory or daemon behind it. A tour whose daemon cannot start
# fails with a message and cleans up too.
. "$(dirname "$0")/lib.sh"
setup

if [ "$(id -u)" != 0 ]; then
	echo "ok - # SKIP the tour creates the first admin, which only root may do"
	exit 0
fi

demo() { # OUT: run the tour with its scratch space under $T/tmp
	mkdir -p "$T/tmp"
	TMPDIR="$T/tmp" DEMO_OUT="$1" EKTP_TEST_SLOW="$SLOW" \
		bash "$EKTP_SOURCE_DIR/tests/demo.sh" >"$T/demo.out" 2>&1
}

# has DESCRIPTION PATTERN: some line of the tour's output matches (grep -E).
has() {
	if grep -qE -- "$2" "$T/demo.out"; then ok "$1"; else not_ok "$1 (no line matches /$2/)"; fi
}

demo "$T/out"
rc=$?
is "the tour exits 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/demo.out"
for n in 1 2 3 4 5 6 7 8 9; do
	has "the tour tells chapter $n" "^== $n\. "
done
has "the tour ends with its summary" "== Done"
has "every sample resident is enrolled" "enrolled 20 residents, refused 2 invalid ones"
is "the operator's enroll prints a line per resident" \
	"$(grep -cE '^    [0-9]+ (print_ready|captured|approved)' "$T/demo.out")" 20
has "the first invalid resident is refused with its 5 reasons" "refused: 5 problems \(resident 1 of 2"
has "the second with its 16" "refused: 16 problems \(resident 2 of 2"
has "a refusal names the field and the rule" "village_code \(village_code.out-of-area\)"
is "the supervisor approves the three exceptions" \
	"$(grep -cE '^    record [0-9]+: print_ready' "$T/demo.out")" 3
has "the 16-year-old waits for his birthday" "approved \[print ready after: 2027-03-15\]"
has "the batch finishes" "batch 1 done"
printed=$(sed -nE 's|^    batch 1: ([0-9]+)/\1 printed$|\1|p' "$T/demo.out" | tail -n 1)
check "the batch printed every card it took" test -n "$printed"
is "one card image per printed card" "$(find "$T/out/cards" -name '*.png' | wc -l)" "${printed:-?}"
png_magic=$(printf '\211PNG')
is "the card images are PNG" "$(head -c 4 "$(find "$T/out/cards" -name '*.png' | head -n 1)")" "$png_magic"
is "the stock chart is a PNG" "$(head -c 4 "$T/out/stock.png" 2>/dev/null)" "$png_magic"
has "the exported chip image verifies" "chip verifies: every data group matches its hash"
for p in printer1 printer2; do
	has "$p printed cards" "^    $p +encoder2? +ready +idle +- +[1-9]"
done
has "the stock shows each printer's use" "printer2 +[0-9]+ +[0-9]+ +[0-9]+/700"
has "the audit chain verifies" "chain intact"
has "the daemon stops cleanly" "ektpd stopped"
is "the tour leaves no scratch directory" "$(ls -A "$T/tmp")" ""

# A daemon that cannot start: the tour says so, with the daemon's log, and
# still removes its scratch directory.
EKTPD=/bin/false demo "$T/out2"
rc=$?
is "a tour whose daemon cannot start exits 1" "$rc" 1
like "it says why" "$(cat "$T/demo.out")" "demo: FAILED: ektpd exited as it started"
is "it leaves no scratch directory either" "$(ls -A "$T/tmp")" ""

done_testing
