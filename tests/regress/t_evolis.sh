#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Evolis printer driver against the project's printer emulator
# (tests/emu/evoemu) over TCP, driven as ektpd drives it: through the device
# manager (tests/emu/evo_drive).  What the driver did is checked on the
# emulator's side: its control port's status JSON (counters, card position,
# error mode), the cards it drew (card-NNNN.png) and its byte log.
#
# Cases: identify and status; a card fed, printed (from a PNG, compared with
# the picture the emulator draws from the same job) and ejected; a print with
# no card inside refused (media-needed) without the printer picking; every fault
# of the emulator (jam at pick, print and eject; ribbon out before and during
# a job; cover open; feeder empty; reject box full; output hopper full;
# cleaning required, cleared by the cleaning cycle; power loss mid-job: the
# driver reconnects, sets Pem;2 again, reports the card inside, and the
# reject works), each with its CUPS reason in both the refusal and the
# status; slow replies (io_timeout below the emulator's motion time): a
# timeout naming the command, no hang, and the printer usable afterwards; a
# bad uri is a configuration error.
. "$(dirname "$0")/lib.sh"
EMU_DIR="${EKTP_EMU_DIR:-$top/build/default/emu}"
EMU="$EMU_DIR/evoemu"
DRIVE="$EMU_DIR/evo_drive"
EMU_PID=""

setup
for prog in "$EMU" "$DRIVE"; do
	if [ ! -x "$prog" ]; then
		not_ok "$prog is built (make builds it)"
		exit 1
	fi
done

finish() {
	emu_stop
	if [ "$FAILS" -gt 0 ]; then
		for f in "$T/drive.out" "$T/emu.err"; do
			echo "# $f (last 40 lines):"
			tail -n 40 "$f" 2>/dev/null | sed 's/^/#   /'
		done
	fi
	teardown
}
trap finish EXIT

# emu_start [OPTIONS]: a fresh emulator (its own state file and output
# folder); sets PORT and CTL.
emu_start() {
	emu_stop
	# The last emulator's "port" line must not be read for this one's.
	rm -rf "$T/emu" "$T/emu.out"
	mkdir -p "$T/emu/out"
	"$EMU" serve --port 0 --ctl-port 0 --state "$T/emu/state" --out "$T/emu/out" "$@" \
		>"$T/emu.out" 2>"$T/emu.err" &
	EMU_PID=$!
	local i
	for i in $(seq 1 $((100 * SLOW))); do
		if read -r _ PORT _ CTL <"$T/emu.out" 2>/dev/null && [ -n "${CTL:-}" ]; then
			URI="tcp://127.0.0.1:$PORT"
			return 0
		fi
		sleep 0.05
	done
	not_ok "the emulator started"
	exit 1
}

# The emulator ends a motion before it exits on SIGTERM (up to a few
# seconds with a large --card-ms): wait for it, then make sure.
emu_stop() {
	local i
	if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then
		kill -TERM "$EMU_PID"
		for i in $(seq 1 $((100 * SLOW))); do
			kill -0 "$EMU_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$EMU_PID" 2>/dev/null
		wait "$EMU_PID" 2>/dev/null
	fi
	EMU_PID=""
}

ectl() { "$EMU" ctl "$CTL" "$@"; }
# A control command as an evo_drive step, run between two steps of one drive.
step() { printf 'run:%q ctl %q %s' "$EMU" "$CTL" "$*"; }
# jemu FILTER: jq on the emulator's status.
jemu() { ectl status | jq -r "$1"; }

# drive [OPTIONS] STEPS...: evo_drive on $URI; sets OUT and RC.
drive() {
	local opts=()
	while [ $# -gt 0 ] && [[ "$1" == -* ]]; do
		opts+=("$1" "$2")
		shift 2
	done
	"$DRIVE" -u "$URI" "${opts[@]}" "$@" >"$T/drive.out" 2>>"$T/drive.err"
	RC=$?
	OUT=$(cat "$T/drive.out")
	cat "$T/drive.out" >>"$T/drive.all"
}

# line PREFIX [N]: the Nth line (default 1) of OUT that starts with PREFIX.
line() { printf '%s\n' "$OUT" | grep -F -- "$1" | sed -n "${2:-1}p"; }

# ---- identify, a card ----

emu_start --serial EVO-T-0042
drive status
is "status succeeds" "$RC" 0
is "ready" "$(line 'state ')" "state ready"
is "serial from Rsn" "$(line 'serial ')" "serial EVO-T-0042"
like "firmware from Rtp and Rfv" "$(line 'firmware ')" '^firmware .+ .+'
is "counters before any card" "$(line 'counters ')" \
	"counters total=0 since_clean=0 remaining=200 threshold=1000 finished=0 card_inside=0"
is "host-managed errors set at open (Pem;2)" "$(jemu .error_mode)" 2

# A card from a PNG; the emulator draws what it printed, and the same job
# made offline (evoemu job, with evolis.c) must draw the same picture.  The
# PNG is the emulator's drawing of its built-in test card (1016x648 RGB).
CARD_PNG="$T/card.png"
"$EMU" job --expect "$CARD_PNG" "$T/job0.bin" >/dev/null 2>&1 &&
	"$EMU" job --png "$CARD_PNG" --expect "$T/expect.png" "$T/job.bin" >/dev/null 2>&1
check "evoemu job makes a card PNG and the picture its job prints" test -s "$T/expect.png"
drive feed "print:$CARD_PNG" eject status
is "feed, print, eject succeed" "$(line 'feed:')/$(line 'print:')/$(line 'eject:')" "feed: ok/print:$CARD_PNG: ok/eject: ok"
is "counters after one card" "$(line 'counters ')" \
	"counters total=1 since_clean=1 remaining=199 threshold=1000 finished=1 card_inside=0"
is "the emulator finished one card" "$(jemu '.cards_finished')/$(jemu '.counters.c')/$(jemu '.counters.e')" "1/1/1"
check "the emulator drew the card" test -s "$T/emu/out/card-0001.png"
check "the card drawn is the picture of the job made offline" cmp -s "$T/expect.png" "$T/emu/out/card-0001.png"
# The bytes the printer got: identify, Pem;2 and the five panels of a YMCKO ribbon.
check "the byte log holds Pem;2 and five panels" \
	bash -c "grep -ac \$'\\eDb' '$T/emu/out/bytes.log' | grep -q . && grep -aq \$'\\ePem;2\\r' '$T/emu/out/bytes.log'"
is "one panel set used" "$(jemu .ribbon_left)" 199

drive feed print:test eject
is "a generated test card prints" "$RC" 0
is "two cards finished" "$(jemu .cards_finished)" 2

# A print with no card inside would make the printer pick one nobody counted.
drive print:test
like "no card inside: the print is refused" "$(line 'print:')" '^print:test: error media-needed: no card inside'
is "no card inside: the printer picked none" "$(jemu .counters.c)" 2

# ---- faults ----

# Each fault: armed or set through the control port between two steps of one
# drive (so the driver keeps what it learnt), then cleared the same way.
emu_start
drive "$(step fault jam pick)" feed status "$(step clear)" reject status
like "jam at pick: the feed is refused with media-jam" "$(line 'feed:')" '^feed: error media-jam: .*ERR MECHANICAL.*Sic'
is "jam at pick: status fault media-jam, card inside" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons media-jam,card-inside"
like "jam at pick: card_inside reported" "$(line 'counters ' 1)" 'card_inside=1$'
is "jam at pick: cleared, the reject works" "$(line 'reject:')" "reject: ok"
is "jam at pick: ready again" "$(line 'state ' 2) $(line 'reasons ' 2)" "state ready reasons "
is "jam at pick: the card went to the reject box" "$(jemu .cards_rejected)" 1

emu_start
drive feed "$(step fault jam print)" print:test status "$(step clear)" reject status
like "jam at print: refused with media-jam" "$(line 'print:')" '^print:test: error media-jam: .*ERR MECHANICAL'
is "jam at print: status" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons media-jam,card-inside"
is "jam at print: reject, ready" "$(line 'reject:') $(line 'state ' 2)" "reject: ok state ready"

emu_start
drive feed print:test "$(step fault jam eject)" eject status "$(step clear)" reject status
like "jam at eject: refused with media-jam" "$(line 'eject:')" '^eject: error media-jam: .*ERR MECHANICAL.*Se'
is "jam at eject: status" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons media-jam,card-inside"
is "jam at eject: reject, ready" "$(line 'reject:') $(line 'state ' 2)" "reject: ok state ready"
is "jam at eject: no card finished" "$(jemu .cards_finished)" 0

emu_start
drive "$(step fault ribbon-out before)" status feed print:test status "$(step clear)" reject status
is "ribbon out before: status fault marker-supply-empty" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons marker-supply-empty"
like "ribbon out before: the print is refused" "$(line 'print:')" '^print:test: error marker-supply-empty: .*ERR RIBBON ENDED'
is "ribbon out before: the card stays" "$(line 'reasons ' 2)" "reasons marker-supply-empty,card-inside"
is "ribbon out before: new ribbon, reject, ready" "$(line 'reject:') $(line 'state ' 3)" "reject: ok state ready"

emu_start
drive feed "$(step fault ribbon-out during)" print:test status "$(step clear)" reject status
like "ribbon out during: the print is refused" "$(line 'print:')" '^print:test: error marker-supply-empty: .*ERR RIBBON ENDED.*Db'
like "ribbon out during: status" "$(line 'state ' 1) $(line 'reasons ' 1)" '^state fault reasons .*marker-supply-empty.*card-inside'
is "ribbon out during: reject, ready" "$(line 'reject:') $(line 'state ' 2)" "reject: ok state ready"

emu_start
drive "$(step fault cover-open)" status feed "$(step clear)" status feed reject
is "cover open: status fault cover-open" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons cover-open"
like "cover open: the feed is refused" "$(line 'feed:' 1)" '^feed: error cover-open: .*ERR COVER OPEN'
is "cover closed: ready, feed works" "$(line 'state ' 2) $(line 'feed:' 2)" "state ready feed: ok"

emu_start
drive "$(step fault feeder-empty)" status feed "$(step clear)" status
is "feeder empty: status fault media-empty" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons media-empty"
like "feeder empty: the feed is refused" "$(line 'feed:')" '^feed: error media-empty: .*ERR FEEDER EMPTY'
is "feeder empty: no card taken" "$(line 'counters ' 1)" \
	"counters total=0 since_clean=0 remaining=200 threshold=1000 finished=0 card_inside=0"

emu_start
drive feed "$(step fault reject-box-full)" reject status "$(step clear)" reject status
like "reject box full: the reject is refused" "$(line 'reject:' 1)" '^reject: error output-area-full: .*ERR REJECT BOX FULL.*Ser'
is "reject box full: status" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons output-area-full,card-inside"
is "reject box emptied: reject, ready" "$(line 'reject:' 2) $(line 'state ' 2)" "reject: ok state ready"

emu_start
drive feed print:test "$(step fault output-full)" eject status "$(step clear)" eject status
like "output full: the eject is refused" "$(line 'eject:' 1)" '^eject: error output-area-full: .*ERR HOPPER FULL.*Se'
is "output full: status" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons output-area-full,card-inside"
is "output emptied: eject, ready" "$(line 'eject:' 2) $(line 'state ' 2)" "eject: ok state ready"
is "output emptied: the card finished" "$(jemu .cards_finished)" 1

emu_start
drive "$(step fault cleaning-required)" status feed clean status feed
is "cleaning required: status fault cleaning-required" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons cleaning-required"
like "cleaning required: the feed is refused" "$(line 'feed:' 1)" '^feed: error cleaning-required: .*ERR NEED CLEANING'
is "the cleaning cycle (Scp) succeeds" "$(line 'clean:')" "clean: ok"
is "cleaned: ready, feed works" "$(line 'state ' 2) $(line 'feed:' 2)" "state ready feed: ok"
is "cleaned: the emulator counted the cleaning" "$(jemu .counters.n)/$(jemu .since_clean)" "1/1"

# Power loss mid-job: the connection drops with no reply; the manager finds
# the printer absent, opens it again at its next poll (the driver reconnects
# and sets Pem;2 again), and the card left inside is reported and rejected.
emu_start
drive -p 200 feed "$(step fault power-loss panel)" print:test wait:absent:5000 wait:fault:10000 \
	status "$(step status)" reject status
like "power loss: the print fails, printer absent" "$(line 'print:')" '^print:test: error ABSENT: .*Db.*connection closed'
is "power loss: absent, then back" "$(line 'wait:absent') $(line 'wait:fault')" "wait:absent:5000: ok wait:fault:10000: ok"
is "power loss: after reconnecting, the card inside is reported" "$(line 'state ' 1) $(line 'reasons ' 1)" "state fault reasons card-inside"
like "power loss: card_inside=1" "$(line 'counters ' 1)" 'total=1 .*card_inside=1$'
like "power loss: Pem;2 set again after the reboot" "$(line '{"hopper"')" '"error_mode":2'
is "power loss: the reject works, ready" "$(line 'reject:') $(line 'state ' 2)" "reject: ok state ready"
is "power loss: the card went to the reject box" "$(jemu .cards_rejected)" 1

# Power loss while idle: between two drives, the printer reboots (error mode
# back to 0); the next open sets Pem;2 again.
ectl fault power-loss >/dev/null
sleep 0.7
is "after a reboot the error mode is the printer's (0)" "$(jemu .error_mode)" 0
drive status
is "a new connection sets Pem;2 again" "$(jemu .error_mode) $(line 'state ')" "2 state ready"

# ---- slow replies ----

# A pick takes 10 % of --card-ms: 3 s; io_timeout 400 ms.
emu_start --card-ms 30000
start=$(date +%s%N)
drive -T 400 -t 20000 feed
ms=$((($(date +%s%N) - start) / 1000000))
like "slow pick: a timeout naming the command and io_timeout" "$(line 'feed:')" '^feed: error TIMEOUT: p: no reply to Sic within 400 ms \(io_timeout\)'
check "slow pick: no hang (${ms} ms)" test "$ms" -lt $((2500 * SLOW))
sleep 3
drive -T 400 status
is "after the timeout the printer answers again" "$(line 'status:') $(line 'state ')" "status: ok state fault"
is "after the timeout: the card the pick took is inside" "$(line 'reasons ')" "reasons card-inside"

# The manager's timeout below io_timeout: the operation is cancelled, then
# the next status connects again.
emu_start --card-ms 30000
drive -T 10000 -t 600 feed sleep:3500 status
like "manager timeout: the feed times out" "$(line 'feed:')" '^feed: error TIMEOUT: device p: no answer within 600 ms'
is "manager timeout: the next status reads the printer" "$(line 'status:') $(line 'reasons ')" "status: ok reasons card-inside"

# ---- configuration ----

"$DRIVE" -u "tcp://no-port" status >"$T/drive.out" 2>&1
RC=$?
OUT=$(cat "$T/drive.out")
is "a bad uri is a configuration error (exit 2)" "$RC" 2
like "the message names the option and the accepted forms" "$OUT" "uri: 'tcp://no-port'.*tcp://HOST:PORT"
URI="tcp://127.0.0.1:1"
drive status
like "nothing listening: absent" "$(line 'state ') $(line 'reasons ')" '^state absent reasons offline'

emu_stop
left=$(pgrep -f -- "$T/emu" | tr '\n' ' ')
is "no emulator left running" "$left" ""
done_testing
