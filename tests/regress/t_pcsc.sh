#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The PC/SC encoder driver through the real pcscd, vsmartcard's vpcd reader
# driver and the project's virtual chip (tests/emu/vchip), started and stopped
# by tests/pcsc/harness.sh.  The driver is driven as ektpd drives it, through
# the device manager (tests/emu/pcsc_encode).  What it writes is read back by
# OpenSC (opensc-explorer, opensc-tool), not by ektp's code.  Cases: a multi-
# file chip and its timing, files kept or re-created by size, odd chunk sizes,
# GET RESPONSE, a file too large for the chip (6A84), a memory failure
# (6581), a chip that does not answer (the driver's and the manager's
# timeouts), a tear mid-write and the retry, the card taken out, pcscd
# restarted between two encodes and stopped, readers not found, a bad option.
#
# The script runs itself again inside the bench's private namespaces
# (harness.sh isolate: its own /run/pcscd, loopback and PID namespace), then
# checks from outside that nothing the bench started is still running.
. "$(dirname "$0")/lib.sh"
HARNESS="$top/tests/pcsc/harness.sh"
EMU="${EKTP_EMU_DIR:-$top/build/default/emu}"
export EKTP_EMU_DIR="$EMU"

if [ -z "${EKTP_PCSC_INNER:-}" ]; then
	missing=""
	for tool in pcscd opensc-tool opensc-explorer; do
		command -v "$tool" >/dev/null || missing="$missing $tool"
	done
	[ -r /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || missing="$missing vsmartcard-vpcd"
	if [ -n "$missing" ]; then
		echo "ok - # SKIP the PC/SC bench needs:$missing (make deps installs them)"
		exit 0
	fi
	if [ "$(id -u)" != 0 ] && ! [ -w /run/pcscd ]; then
		echo "ok - # SKIP pcscd's socket is /run/pcscd: the PC/SC bench runs as root"
		exit 0
	fi
	run=$(mktemp -d "${TMPDIR:-/tmp}/ektp-pcsc.XXXXXX")
	# TMPDIR: the inner test's own files land in $run too, removed below even after a kill.
	TMPDIR="$run" EKTP_PCSC_INNER=1 PCSC_RUN="$run" "$HARNESS" isolate bash "$0"
	rc=$?
	# Every process of the bench names $run on its command line (pcscd's
	# --config, vchip's --state): none may be left once the namespace is gone.
	left=$(pgrep -f -- "$run" | tr '\n' ' ')
	if [ -z "$left" ]; then
		ok "nothing the bench started still runs (pgrep -f $run finds nothing)"
	else
		not_ok "left running after the test: PIDs $left"
		for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
		rc=1
	fi
	rm -rf "$run"
	exit "$rc"
fi

setup
H() { "$HARNESS" "$@"; }
READER="Virtual PCD 00 00"
# An 8 KB chip (8244 bytes): like the data groups of an e-KTP's LDS application.
CHIP=(0101:2048:1 0102:4096:2 0103:1500:3 011B:600:4)
ENC_LOG="$T/encode.log"

finish() {
	local pcscd_pid vchip_pid
	pcscd_pid=$(cat "$PCSC_RUN/pcscd.pid" 2>/dev/null)
	vchip_pid=$(cat "$PCSC_RUN/vchip.pid" 2>/dev/null)
	H stop
	local gone=yes pid
	for pid in $pcscd_pid $vchip_pid; do
		if [ -r "/proc/$pid/stat" ] && ! grep -q ') Z' "/proc/$pid/stat"; then gone="no ($pid)"; fi
	done
	is "harness stop leaves neither pcscd ($pcscd_pid) nor vchip ($vchip_pid) running" "$gone" yes
	if [ "$FAILS" -gt 0 ]; then
		for f in "$ENC_LOG" "$PCSC_RUN/vchip.log" "$PCSC_RUN/pcscd.log" "$PCSC_RUN/harness.log"; do
			echo "# $f (last 40 lines):"
			tail -n 40 "$f" 2>/dev/null | sed 's/^/#   /'
		done
	fi
	rm -rf "$T"
}
trap finish EXIT

# enc ARGS…: runs pcsc_encode; sets RAW (its stdout) and OUT (the same on one
# line: newlines become spaces); stderr goes to the log.
enc() {
	echo "\$ pcsc_encode $*" >>"$ENC_LOG"
	RAW=$("$EMU/pcsc_encode" "$@" 2>>"$ENC_LOG")
	echo "$RAW" >>"$ENC_LOG"
	OUT=$(printf '%s' "$RAW" | tr '\n' ' ')
}

# readback FID…: opensc-explorer reads each EF of the application into $T/got/FID.bin.
readback() {
	local f script="$T/explorer.script"
	rm -rf "$T/got"
	mkdir -p "$T/got"
	echo "cd aid:A0000002471001" >"$script"
	for f in "$@"; do echo "get $f $T/got/$f.bin" >>"$script"; done
	opensc-explorer -r 0 -c default "$script" >>"$ENC_LOG" 2>&1
}

# chip_log_mark / chip_log_count PATTERN: counts vchip's log lines since the mark.
chip_log_mark() { MARK=$(wc -l <"$PCSC_RUN/vchip.log"); }
chip_log_count() { tail -n +$((MARK + 1)) "$PCSC_RUN/vchip.log" | grep -c -- "$1"; }

ms_now() { echo $(($(date +%s%N) / 1000000)); }

# ---- the bench ----
t0=$(ms_now)
if ! H start; then
	not_ok "the bench starts (pcscd, vpcd, vchip)"
	exit 1
fi
ok "the bench starts: pcscd, vpcd and the virtual chip ($(($(ms_now) - t0)) ms)"
like "opensc-tool -l sees the reader with a card in it" "$(opensc-tool -l 2>&1)" \
	"0 +Yes +$READER"
like "opensc-tool -a reads the chip's ATR" "$(opensc-tool -r 0 -a 2>&1)" \
	"3b:8a:80:01:65:6b:74:70:2d:76:63:68:69:70"
if command -v pcsc_scan >/dev/null; then
	like "pcsc_scan -r lists the virtual reader" "$(pcsc_scan -r 2>&1)" "0: $READER"
else
	ok "# SKIP pcsc_scan (pcsc-tools) is not installed"
fi

# ---- through the manager ----
enc -s
like "the driver opens the reader and reads the card's UID as its serial" "$OUT" \
	"state ready.*serial 04A1B2C3D4E5F6"
like "and names the reader" "$OUT" "firmware $READER"

mkdir -p "$T/want"
enc -o "$T/want" "${CHIP[@]}"
like "an 8 KB chip of four files is written and read back" "$OUT" "^encode 1: ok 8244 bytes"
readback 0101 0102 0103 011B
for f in 0101 0102 0103 011B; do
	check "opensc-explorer reads EF $f back as written" cmp -s "$T/got/$f.bin" "$T/want/$f.bin"
done
raw=$(opensc-tool -r 0 -c default -s "00 A4 04 0C 07 A0 00 00 02 47 10 01" \
	-s "00 A4 02 0C 02 01 1B" -s "00 B0 02 50 08" 2>&1 | tail -n 1 | cut -c1-23)
want=$(od -An -tx1 -j 592 -N 8 "$T/want/011B.bin" | tr -d '\n' | sed 's/^ //' | tr a-f A-F)
is "opensc-tool's raw READ BINARY of EF 011B at 592 agrees" "$raw" "$want"

# Timing: five encodes against the same stack read by OpenSC, in this run.
chip_log_mark
enc -n 5 "${CHIP[@]}"
ms=$(printf '%s\n' "$RAW" | sed -n 's/.* in \([0-9]*\) ms$/\1/p')
n=$(printf '%s\n' "$ms" | grep -c .)
mean=$(printf '%s\n' "$ms" | awk '{ s += $1 } END { if (NR) printf "%d", s / NR }')
apdus=$(($(chip_log_count ' -> ') / 5))
t0=$(ms_now)
readback 0101 0102 0103 011B
base=$(($(ms_now) - t0))
echo "# 8 KB encode (8244 bytes written and read back, $apdus APDUs, chunk 240):" \
	"mean ${mean:-?} ms over $n (each: ${ms//$'\n'/ }); baseline in this run: opensc-explorer" \
	"process reading the same 8244 bytes: $base ms"
is "five encodes in a row succeed" "$n" 5
check "an 8 KB encode takes under a second (mean ${mean:-?} ms)" test "${mean:-99999}" -lt $((1000 * SLOW))
is "files of the right size are written over, not created again" "$(chip_log_count 'CREATE FILE')" 0

enc 0101:2048:1 0102:4096:2 0103:1000:5 011B:600:4
like "a file of another size is deleted and created again" "$OUT" "^encode 1: ok 7744 bytes"
enc -o "$T/want" 0103:1000:5
readback 0103
check "OpenSC reads the re-created EF 0103 with its new size" cmp -s "$T/got/0103.bin" "$T/want/0103.bin"

chip_log_mark
enc -k 17 -o "$T/want" 0104:1000:9
like "chunks of 17 bytes: the last one short" "$OUT" "^encode 1: ok 1000 bytes"
is "1000 bytes in chunks of 17 take 59 UPDATE BINARY" "$(chip_log_count 'UPDATE BINARY')" 59
readback 0104
check "and read back by OpenSC as written" cmp -s "$T/got/0104.bin" "$T/want/0104.bin"

# A chip that answers in parts: 61xx and GET RESPONSE.
H restart-card --max-response 100 >/dev/null 2>&1
chip_log_mark
enc "${CHIP[@]}"
like "a chip answering 100 bytes at a time through GET RESPONSE is read back" "$OUT" "^encode 1: ok"
check "(it did answer with 61xx)" test "$(chip_log_count 'GET RESPONSE')" -gt 30
H restart-card >/dev/null 2>&1

# ---- the chip refuses ----
enc -x 0101:2100:1
like "a personalised chip (create_files = false) refuses a file larger than its EF: 6A84" "$OUT" \
	"error DEVICE: enc: UPDATE BINARY of EF 0101 at offset 1920 \(180 bytes\): SW 6A84 \(not enough memory space in the file\)"

H fault "fail-write 3 6581"
enc "${CHIP[@]}"
like "a memory failure on the third write is reported with file, offset and SW" "$OUT" \
	"error DEVICE: enc: UPDATE BINARY of EF 0101 at offset 480 \(240 bytes\): SW 6581 \(memory failure\)"
enc "${CHIP[@]}"
like "the next encode succeeds" "$OUT" "^encode 1: ok"

# ---- the chip does not answer ----
H fault "mute-write 5"
t0=$(ms_now)
enc -T 1000 -p 200 -A 400 "${CHIP[@]}"
elapsed=$(($(ms_now) - t0))
like "a chip that does not answer fails after apdu_timeout" "$OUT" \
	"error TIMEOUT: enc: the chip did not answer UPDATE BINARY of EF 0101 at offset 960 \(240 bytes\) within 1000 ms"
check "in about that time ($elapsed ms for the whole run)" test "$elapsed" -lt $((3000 * SLOW))
like "the encoder then shows fault chip-not-answering" "$OUT" "state fault +reasons chip-not-answering"
H restart-card >/dev/null 2>&1
enc "${CHIP[@]}"
like "once the card is taken out and back, it encodes again" "$OUT" "^encode 1: ok"

H fault "mute-write 2"
enc -T 10000 -t 1000 -p 200 -A 400 "${CHIP[@]}"
like "when the manager's timeout comes first, it answers the encode" "$OUT" \
	"error TIMEOUT: device enc: no answer within 1000 ms"
like "the driver returns on the cancel at once: the manager polls it again" "$OUT" \
	"state fault +reasons chip-not-answering"
check "(the driver said it was cancelled)" grep -q "cancelled during UPDATE BINARY" "$ENC_LOG"
H restart-card >/dev/null 2>&1

# ---- a tear mid-write ----
cp "$T/want/0102.bin" "$T/old0102.bin"
mkdir -p "$T/new"
H fault "tear 3000"
enc -o "$T/new" 0101:2048:7 0102:4096:7
like "a card torn away mid-write fails the encode" "$OUT" \
	"error DEVICE: enc: the chip stopped answering during UPDATE BINARY of EF 0102 at offset 720"
like "(the chip lost power: vchip exited torn)" "$(H status)" "vchip torn"
H restart-card >/dev/null 2>&1
readback 0102
check "after the tear EF 0102 holds 952 new bytes (3000 - 2048)" cmp -s -n 952 "$T/got/0102.bin" "$T/new/0102.bin"
check "and the old bytes after them (the chip kept its state)" cmp -s -i 952 "$T/got/0102.bin" "$T/old0102.bin"
enc 0101:2048:7 0102:4096:7
like "the retry after putting the card back succeeds" "$OUT" "^encode 1: ok 6144 bytes"
readback 0102
check "and OpenSC reads the whole new EF 0102" cmp -s "$T/got/0102.bin" "$T/new/0102.bin"

# ---- the card taken out ----
H stop-card
enc -p 100 -A 300 "${CHIP[@]}"
like "with no card in the station the encode fails absent" "$OUT" \
	"error ABSENT: enc: no card in the station \(SCardConnect: SCARD_E_NO_SMARTCARD\)"
like "and the encoder is ready again, without a card serial" "$OUT" "state ready +reasons +serial +firmware $READER"
H start-card

# ---- pcscd restarted between two encodes of one process ----
rm -f "$T/go"
"$EMU/pcsc_encode" -w "$T/go" "${CHIP[@]}" >"$T/two.out" 2>>"$ENC_LOG" &
encoder=$!
for _ in $(seq 1 $((100 * SLOW))); do grep -q "encode 1" "$T/two.out" && break; sleep 0.05; done
H restart-pcscd
touch "$T/go"
wait "$encoder"
OUT=$(tr '\n' ' ' <"$T/two.out")
like "an encode before pcscd restarts succeeds" "$OUT" "^encode 1: ok"
like "and the next one after the restart, on a new context" "$OUT" "encode 2: ok"
check "(the driver saw pcscd go and established a new context)" grep -q "pcscd went away" "$ENC_LOG"

H stop-pcscd
enc "${CHIP[@]}"
like "with pcscd stopped the encoder is absent, saying why" "$OUT" \
	"error ABSENT: .*pcscd is not running \(SCardEstablishContext: SCARD_E_NO_SERVICE\)"
H start-pcscd && "$EMU/pcsc_wait" -r "$READER" -c -t $((10 * SLOW))
enc "${CHIP[@]}"
like "pcscd back, the chip reconnected: it encodes again" "$OUT" "^encode 1: ok"

# ---- configuration ----
enc -s -r "No Such Reader"
like "a reader that is not there: absent, listing the readers" "$OUT" \
	"state absent.*error enc: no reader matching \"No Such Reader\" \(readers: \"Virtual PCD 00 00\", \"Virtual PCD 00 01\"\)"
enc -s -r "Virtual PCD"
like "a name two readers share is refused, not taken as the first" "$OUT" \
	"error enc: more than one reader matches \"Virtual PCD\""
enc -k 300 "${CHIP[@]}"
like "a chunk beyond short APDUs is a configuration error" "$OUT" \
	"config error: .*chunk: '300' is not a whole number from 1 to 255"

# Under check-asan the test programs are sanitized: a report anywhere fails.
check "no sanitizer reports from pcsc_encode or vchip" \
	bash -c "! grep -l 'Sanitizer\\|runtime error' '$ENC_LOG' '$PCSC_RUN/vchip.log'"

done_testing
