#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Evolis printer emulator (tests/emu/evoemu) at the byte level, through
# its own raw client (evoemu send) and control port (evoemu ctl): identify,
# counters, a whole card printed from a stream made by src/printer/evolis.c
# (drawn exactly as the codec drew it), the motion timing, every fault of the
# matrix with its ERR reply and where the card ends up, one connection at a
# time, a connection dropped mid-command, power loss at pick/panel/eject
# (volatile state lost, card kept, connections refused while rebooting),
# counters kept across an emulator restart, the vendor's two captured jobs
# served and replayed, and malformed streams refused.  Every emulator started
# here is stopped by the trap, and must exit 0 on SIGTERM.
. "$(dirname "$0")/lib.sh"
EMU="${EKTP_EMU_DIR:-$top/build/default/emu}/evoemu"
DATA="$EKTP_SOURCE_DIR/tests/data/evolis"
T=$(mktemp -d "${TMPDIR:-/tmp}/ektp-$TEST_NAME.XXXXXX")
EMU_PID=""
HOLD_FD=""

cleanup() {
	[ -n "$HOLD_FD" ] && exec 5>&-
	if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then
		kill -TERM "$EMU_PID"
		wait "$EMU_PID" 2>/dev/null
	fi
	if [ "$FAILS" -gt 0 ] && [ -f "$T/emu.err" ]; then
		echo "# emulator log:"
		sed 's/^/#   /' "$T/emu.err"
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# start_emu ARGS...: sets P (printer port), C (control port), EMU_PID.
start_emu() {
	rm -f "$T/emu.out" # the last emulator's "port" line must not be read for this one's
	"$EMU" serve --state "$T/state" --out "$T/out" "$@" >"$T/emu.out" 2>>"$T/emu.err" &
	EMU_PID=$!
	local i
	for i in $(seq 1 $((100 * SLOW))); do
		if read -r _ P _ C <"$T/emu.out" 2>/dev/null && [ -n "${C:-}" ]; then
			return 0
		fi
		sleep 0.02
	done
	not_ok "emulator started"
	exit 1
}

stop_emu() {
	kill -TERM "$EMU_PID"
	wait "$EMU_PID"
	EMU_RC=$?
	EMU_PID=""
}

snd() { "$EMU" send "$P" "$@"; }
ectl() { "$EMU" ctl "$C" "$@"; }
st() { "$EMU" ctl "$C" status | jq -r "$1"; }
# line N OUTPUT
line() { printf '%s\n' "$2" | sed -n "$1p"; }
wait_power() {
	local i
	for i in $(seq 1 $((100 * SLOW))); do
		[ "$(st .power)" = on ] && return 0
		sleep 0.02
	done
	return 1
}

# ---- command line ----
HELP=$("$EMU" --help)
for word in "serve" "ctl PORT" "send" "replay FILE" "job" "fault jam" "ribbon-out" "cover-open" \
	"feeder-empty" "reject-box-full" "output-full" "cleaning-required" "power-loss" \
	"set hopper" "status" "--reboot-ms"; do
	like "--help documents '$word'" "$HELP" "$word"
done
"$EMU" serve --bogus >/dev/null 2>"$T/err"
is "an unknown serve option exits 2" "$?" 2
like "and says which" "$(cat "$T/err")" "--bogus"
"$EMU" serve --ribbon-type rainbow >/dev/null 2>&1
is "an unknown ribbon type is refused" "$?" 2

# ---- identify, counters ----
start_emu --serial TEST-42 --card-ms 300 --hopper 30 --ribbon 20 --reboot-ms 300
OUT=$(snd Rtp Rsn Rfv 'Pem;2' Rem 'Rco;c' 'Rco;l' 'Rco;m' 'Rlr;p' 'Rlr;r' Rcr Rr 'Sk;f' 'Rse;o' Zzz)
is "identify: model" "$(line 1 "$OUT")" "Dualys 3 (evoemu)"
is "identify: serial" "$(line 2 "$OUT")" "TEST-42"
is "identify: firmware" "$(line 3 "$OUT")" "evoemu 1.0"
is "Pem;2 then Rem" "$(line 4 "$OUT") $(line 5 "$OUT")" "OK 2"
is "fresh counters: picked, ribbon, cleaning limit" "$(line 6 "$OUT") $(line 7 "$OUT") $(line 8 "$OUT")" "0 20 1000"
is "no card, no cleaning, ribbon fine" "$(line 9 "$OUT")|$(line 10 "$OUT")|$(line 11 "$OUT")" "NO CARD|OK|OK"
is "ribbon type, feeder, cover" "$(line 12 "$OUT") $(line 13 "$OUT") $(line 14 "$OUT")" "ymcko 0 0"
is "an unknown command" "$(line 15 "$OUT")" "ERROR CDE"

# ---- a whole card from the codec's stream ----
"$EMU" job --expect "$T/expect.png" "$T/job.bin"
check "evoemu job writes a stream" test -s "$T/job.bin"
"$EMU" job --ribbon k "$T/job-k.bin"
before=$(stat -c %s "$T/out/bytes.log")
t0=$(date +%s%N)
OUT=$(snd Sic @"$T/job.bin" Se)
t1=$(date +%s%N)
is "Sic, Ss, Sr, 5 panels, Se all answer OK" "$(printf '%s\n' "$OUT" | sort | uniq -c | tr -s ' ')" " 9 OK"
check "the card is drawn exactly as the codec drew it" cmp -s "$T/out/card-0001.png" "$T/expect.png"
is "cards.log names the card, its fate, its panels" "$(cat "$T/out/cards.log")" "0001 finished ymcko"
after=$(stat -c %s "$T/out/bytes.log")
is "bytes.log has every byte received" "$((after - before))" "$(($(stat -c %s "$T/job.bin") + 5 + 4))"
OUT=$(snd 'Rco;c' 'Rco;p' 'Rco;e' 'Rco;l' 'Rco;s')
is "counters after one card: picked, panels, ejected, ribbon, since cleaning" "$(echo $OUT)" "1 5 1 19 1"
ms=$(((t1 - t0) / 1000000))
check "one card takes its --card-ms 300 (took $ms ms)" test "$ms" -ge 290
is "motion_ms: pick 30 + 5 panels x 48 + eject 30" "$(st .motion_ms)" 300
check "busy_ms covers the card's time in the engine" test "$(st .busy_ms)" -ge 300
is "status: output hopper, input hopper, card" "$(st '"\(.output) \(.hopper) \(.card)"')" "1 29 none"

# ---- ERR CARD ----
OUT=$(snd Se Sic Sic)
is "Se without a card" "$(line 1 "$OUT")" "ERR CARD"
is "a pick with a card inside" "$(line 3 "$OUT")" "ERR CARD"
is "Rlr;p with a card inside" "$(snd 'Rlr;p')" "ERR CARD"
is "Ser rejects it" "$(snd Ser Ser | tr '\n' ' ')" "OK OK "
is "the reject box holds it" "$(st '"\(.rejected) \(.card)"')" "1 none"
like "cards.log: rejected blank" "$(tail -1 "$T/out/cards.log")" "^0002 rejected -$"

# ---- the fault matrix ----
# jam at pick: the blank is taken and sticks
ectl fault jam pick >/dev/null
is "jam pick: Sic" "$(snd Sic)" "ERR MECHANICAL"
is "jam pick: the card is stuck at the pick" "$(st '"\(.card) \(.stuck_at) \(.faults[0])"')" "stuck pick jam"
is "jam stays until cleared: Ser" "$(snd Ser)" "ERR MECHANICAL"
is "clear" "$(ectl clear)" "ok cleared"
is "a stuck card stays after clear" "$(st .card)" "stuck"
is "Se cannot move a stuck card" "$(snd Se)" "ERR MECHANICAL"
is "Ser takes it to the reject box" "$(snd Ser)" "OK"
is "rejected" "$(st '"\(.card) \(.rejected)"')" "none 2"

# jam while printing
ectl fault jam print >/dev/null
OUT=$(snd Sic @"$T/job.bin")
is "jam print: the first panel" "$(line 4 "$OUT")" "ERR MECHANICAL"
is "jam print: the card is stuck at print" "$(st '"\(.card) \(.stuck_at)"')" "stuck print"
ectl clear >/dev/null
snd Ser >/dev/null
is "jam print: rejected after clear" "$(st .card)" "none"

# jam at eject
ectl fault jam eject >/dev/null
OUT=$(snd Sic @"$T/job.bin" Se)
is "jam eject: Se" "$(line 9 "$OUT")" "ERR MECHANICAL"
is "jam eject: stuck at eject, not in the output" "$(st '"\(.card) \(.stuck_at) \(.output)"')" "stuck eject 1"
ectl clear >/dev/null
snd Ser >/dev/null
like "cards.log: the jammed card rejected with its panels" "$(tail -1 "$T/out/cards.log")" "rejected ymcko$"

# ribbon out before the job
is "fault ribbon-out before" "$(ectl fault ribbon-out before)" "ok ribbon-out before"
is "Rcr at the ribbon's end" "$(snd Rcr)" "ERR RIBBON ENDED"
left=$(st .ribbon_left)
OUT=$(snd Sic @"$T/job.bin")
is "ribbon-out: the pick works, the first panel does not" "$(line 1 "$OUT") $(line 4 "$OUT")" "OK ERR RIBBON ENDED"
is "ribbon-out before: card inside, no print taken" "$(st '"\(.card) \(.ribbon_left)"')" "print $left"
ectl clear >/dev/null
is "a new ribbon: Rcr" "$(snd Rcr)" "OK"
snd Ser >/dev/null

# ribbon out during the job
ectl fault ribbon-out during >/dev/null
is "ribbon-out during: Rcr still fine" "$(snd Rcr)" "OK"
OUT=$(snd Sic @"$T/job.bin")
is "ribbon-out during: the panel runs out" "$(line 4 "$OUT")" "ERR RIBBON ENDED"
is "ribbon-out during: the print was taken, the card stays" "$(st '"\(.card) \(.ribbon_left) \(.faults[0])"')" "print $((left - 1)) ribbon-out"
ectl clear >/dev/null
snd Ser >/dev/null

# ribbon used up: only a new ribbon helps
ectl set ribbon 0 >/dev/null
is "ribbon used up: Rcr" "$(snd Rcr)" "ERR RIBBON ENDED"
OUT=$(snd Sic @"$T/job-k.bin" Ser)
is "ribbon used up: the panel" "$(line 4 "$OUT")" "ERR RIBBON ENDED"
is "set ribbon" "$(ectl set ribbon 10)" "ok ribbon 10"
is "Rco;l" "$(snd 'Rco;l')" "10"

# cover open
ectl fault cover-open >/dev/null
OUT=$(snd 'Rse;o' Sic Scp)
is "cover open: sensor, pick, cleaning" "$(echo $OUT)" "255 ERR COVER OPEN ERR COVER OPEN"
is "cover open: no card taken" "$(st .card)" "none"
ectl clear >/dev/null
is "cover closed" "$(snd 'Rse;o')" "0"

# feeder empty, as a fault and for real
hop=$(st .hopper)
ectl fault feeder-empty >/dev/null
OUT=$(snd 'Sk;f' Sic)
is "feeder empty: Sk;f, Sic" "$(echo $OUT)" "1 ERR FEEDER EMPTY"
is "feeder empty: nothing taken" "$(st '"\(.card) \(.hopper)"')" "none $hop"
ectl clear >/dev/null
ectl set hopper 0 >/dev/null
OUT=$(snd 'Sk;f' Sic)
is "an empty hopper: Sk;f, Sic" "$(echo $OUT)" "1 ERR FEEDER EMPTY"
ectl set hopper 20 >/dev/null

# reject box full
snd Sic >/dev/null
ectl fault reject-box-full >/dev/null
is "reject box full: Ser" "$(snd Ser)" "ERR REJECT BOX FULL"
is "reject box full: the card stays" "$(st .card)" "station"
ectl clear >/dev/null
is "then Ser" "$(snd Ser)" "OK"

# output hopper full
fin=$(st .output)
ectl fault output-full >/dev/null
OUT=$(snd Sic @"$T/job-k.bin" Se)
is "output full: Se" "$(line 5 "$OUT")" "ERR HOPPER FULL"
is "output full: the card stays" "$(st '"\(.card) \(.output)"')" "print $fin"
ectl clear >/dev/null
is "then Se" "$(snd Se)" "OK"
is "finished" "$(st .output)" "$((fin + 1))"

# cleaning required
n=$(snd 'Rco;n')
ectl fault cleaning-required >/dev/null
OUT=$(snd 'Rlr;r' Sic)
is "cleaning required: Rlr;r, Sic" "$(echo $OUT)" "ERR NEED CLEANING ERR NEED CLEANING"
is "cleaning required: nothing taken" "$(st .card)" "none"
OUT=$(snd Scp 'Rlr;r' 'Rco;n' 'Rco;s')
is "Scp cleans: Rlr;r OK, one more cleaning, counter reset" "$(echo $OUT)" "OK OK $((n + 1)) 0"
is "no fault left" "$(st '.faults | length')" 0

# control port errors
for bad in "frobnicate" "fault" "fault jam sideways" "fault power-loss later" "set hopper x" \
	"set colour 3" "fault cover-open now" "fault ribbon-out whenever"; do
	# shellcheck disable=SC2086
	out=$(ectl $bad)
	rc=$?
	like "control '$bad' is refused ($rc)" "$rc $out" "^1 error .+"
done

# ---- one connection at a time; a drop mid-command ----
exec 5<>"/dev/tcp/127.0.0.1/$P"
HOLD_FD=5
sleep 0.1
"$EMU" send --timeout 400 "$P" Rtp >/dev/null 2>&1
is "a second connection waits while one is open" "$?" 4
printf '\033Rco;' >&5
sleep 0.1
exec 5>&-
HOLD_FD=""
is "after a drop mid-command the next command is clean" "$(snd Rtp)" "Dualys 3 (evoemu)"

# ---- power loss ----
c0=$(snd 'Rco;c')
snd 'Pem;2' >/dev/null
ectl fault power-loss panel >/dev/null
OUT=$(snd Sic @"$T/job.bin")
rc=$?
is "power loss at a panel: the connection closes without a reply" "$rc $(echo $OUT)" "2 OK OK OK CLOSED"
is "while rebooting" "$(st '"\(.power) \(.card) \(.error_mode) \(.sequence_open)"')" "rebooting print 0 false"
"$EMU" send "$P" Rtp >/dev/null 2>&1
is "connections are refused while it is off" "$?" 3
check "the power comes back" wait_power
OUT=$(snd Rem 'Rlr;p' 'Rco;c')
is "volatile error mode lost, card still inside, counted once" "$(echo $OUT)" "0 ERR CARD $((c0 + 1))"
snd Ser >/dev/null

ectl fault power-loss pick >/dev/null
is "power loss at a pick" "$(snd Sic)" "CLOSED"
wait_power
OUT=$(snd 'Rlr;p' 'Rco;c')
is "the blank left the hopper and was counted" "$(echo $OUT)" "ERR CARD $((c0 + 2))"
snd Ser >/dev/null

e0=$(snd 'Rco;e')
out0=$(st .output)
ectl fault power-loss eject >/dev/null
OUT=$(snd Sic @"$T/job-k.bin" Se)
is "power loss at the eject" "$(line 5 "$OUT")" "CLOSED"
wait_power
is "the card was not ejected" "$(snd 'Rlr;p' 'Rco;e' | tr '\n' ' ')" "ERR CARD $e0 "
is "the output hopper did not grow" "$(st .output)" "$out0"
is "the printed panel stays on the card" "$(snd Ser)" "OK"
like "cards.log: rejected with its K panel" "$(tail -1 "$T/out/cards.log")" "rejected k$"

is "power loss now" "$(ectl fault power-loss)" "ok power lost"
check "and back" wait_power

# ---- counters across a restart ----
BEFORE=$(snd 'Rco;c' 'Rco;p' 'Rco;n' 'Rco;e' 'Rco;l' 'Rco;s' | tr '\n' ' ')
cards=$(wc -l <"$T/out/cards.log")
stop_emu
is "SIGTERM: exit 0" "$EMU_RC" 0
like "the state file holds the counters" "$(cat "$T/state")" "picked=[0-9]+"
start_emu --clean-threshold $(( $(echo "$BEFORE" | cut -d' ' -f6) + 1 ))
is "counters survive a restart" "$(snd 'Rco;c' 'Rco;p' 'Rco;n' 'Rco;e' 'Rco;l' 'Rco;s' | tr '\n' ' ')" "$BEFORE"
is "error mode starts printer-managed" "$(snd Rem)" "0"
OUT=$(snd Sic Ser 'Rlr;r' Sic)
is "past --clean-threshold: Rlr;r and picks refuse" "$(line 3 "$OUT")|$(line 4 "$OUT")" "ERR NEED CLEANING|ERR NEED CLEANING"
is "Scp" "$(snd Scp 'Rlr;r' | tr '\n' ' ')" "OK OK "
is "card numbers continue" "$(tail -1 "$T/out/cards.log" | cut -d' ' -f1)" "$(printf '%04d' $((cards + 1)))"

# ---- the vendor's captures ----
for cap in evolis-card-text card-black; do
	OUT=$(snd @"$DATA/$cap.bin")
	is "$cap: every command of the vendor's job answers OK" "$(printf '%s\n' "$OUT" | sort | uniq -c | tr -s ' ')" " 10 OK"
	like "$cap: finished with its K panel" "$(tail -1 "$T/out/cards.log")" "finished k$"
	"$EMU" replay "$DATA/$cap.bin" --out "$T/replay-$cap" >/dev/null 2>"$T/err"
	is "$cap: replay exits 0" "$?" 0
	check "$cap: replay writes the K panel" test -s "$T/replay-$cap/panel-01-k.png"
	n=$(ls "$T"/out/card-*.png | tail -1)
	check "$cap: the served card and the replayed card are the same picture" \
		cmp -s "$n" "$T/replay-$cap/card-0001.png"
done

# ---- malformed streams ----
head -c 50000 "$DATA/card-black.bin" >"$T/cut.bin"
"$EMU" replay "$T/cut.bin" --out "$T/r1" >/dev/null 2>"$T/err"
is "a cut stream: replay exits 1" "$?" 1
like "and says why" "$(cat "$T/err")" "ends inside a command"
{ head -c 65 "$DATA/card-black.bin"; printf '\033Dbc;k;2;5;\001\377\000\000\000\r'; } >"$T/bad.bin"
"$EMU" replay "$T/bad.bin" --out "$T/r2" >/dev/null 2>"$T/err"
is "a broken panel: replay exits 1" "$?" 1
like "and names it" "$(cat "$T/err")" "Dbc"
head -c 3000 /dev/urandom >"$T/noise.bin"
"$EMU" replay "$T/noise.bin" --out "$T/r3" >/dev/null 2>&1
is "noise: replay exits 1" "$?" 1
OUT=$(snd @"$T/bad.bin" 2>&1)
is "a broken panel sent to the printer: ERROR CDE" "$(printf '%s\n' "$OUT" | tail -1)" "ERROR CDE"
is "still serving" "$(snd Rtp)" "Dualys 3 (evoemu)"

stop_emu
is "SIGTERM: exit 0 again" "$EMU_RC" 0
done_testing
