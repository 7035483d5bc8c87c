#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The PC/SC test bench: the real pcscd (no systemd) with vsmartcard's vpcd
# reader driver, and the project's virtual chip (tests/emu/vchip) as the card
# in "Virtual PCD 00 00".  Every process is started in the background of this
# script, recorded by PID under $PCSC_RUN and stopped by that PID (SIGTERM,
# then SIGKILL), never by name; a PID is trusted only while /proc says it is
# the program we started and not a zombie.  Readiness is asked of pcscd
# itself (tests/emu/pcsc_wait), never guessed from sleeps or exit codes.
#
#   harness.sh start                 pcscd, then the chip; waits until the card shows
#   harness.sh stop                  stops both (also after a failed start)
#   harness.sh status                "pcscd PID|stopped" and "vchip PID|stopped|torn"; 0 when both run
#   harness.sh start-card [ARGS…]    the chip alone (ARGS go to vchip: faults, --capacity …)
#   harness.sh stop-card             takes the card out; waits until pcscd sees the slot empty
#   harness.sh restart-card [--wipe] [ARGS…]  out and in again; --wipe forgets its files first
#   harness.sh start-pcscd | stop-pcscd | restart-pcscd
#                                    pcscd alone; the chip stays and reconnects (vchip -R)
#   harness.sh fault LINE…           arms chip faults now ("fail-write 3 6581", "mute 5",
#                                    "tear 1000", "clear": see tests/emu/vchip.c)
#   harness.sh isolate CMD…          runs CMD in private mount, network and PID namespaces
#
# pcscd's socket is /run/pcscd/pcscd.comm, compiled in (pcscd 1.9.9 ignores
# PCSCLITE_CSOCK_NAME), so one pcscd serves a mount namespace.  "isolate" is
# how tests run the bench: CMD gets a tmpfs on /run (its own pcscd socket), its
# own loopback (vpcd's ports, which listen on every address, stay private) and
# its own PID namespace, whose processes the kernel kills when CMD's PID 1
# ends, or when unshare dies (--kill-child): nothing outlives the test even
# when it is killed.  Without the rights for namespaces (not root), "isolate"
# runs CMD with the system's /run/pcscd under an exclusive lock
# ($PCSC_LOCK), and start refuses to run beside a pcscd it did not start.
#
# Environment: PCSC_RUN (the bench's folder: logs, pid files, the chip's state;
# default ${TMPDIR:-/tmp}/ektp-pcsc), EKTP_EMU_DIR (vchip and pcsc_wait; default
# build/default/emu), VPCD_PORT (35963), CARD_UID, CARD_STATE (default
# $PCSC_RUN/card.state), VCHIP_ARGS (extra vchip arguments), PCSCD_DEBUG=1
# (pcscd logs every APDU to $PCSC_RUN/pcscd.log), EKTP_TEST_SLOW (multiplies waits).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
RUN=${PCSC_RUN:-${TMPDIR:-/tmp}/ektp-pcsc}
EMU=${EKTP_EMU_DIR:-$top/build/default/emu}
PORT=${VPCD_PORT:-35963}
STATE=${CARD_STATE:-$RUN/card.state}
SLOW=${EKTP_TEST_SLOW:-1}
READER="Virtual PCD 00 00"
VPCD_LIB=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
SYS_DIR=/run/pcscd
PCSC_LOCK=${PCSC_LOCK:-/tmp/ektp-pcsc.lock}

say() { echo "harness: $*" >&2; }

# alive PID NAME: PID runs (not a zombie) and is the program NAME.
alive() {
	local stat
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
	stat=${stat##*) }
	[ "${stat:0:1}" != Z ] && [ "${stat:0:1}" != X ]
}

pid_of() { cat "$RUN/$1.pid" 2>/dev/null; }

# stop_pid NAME: SIGTERM, up to 3 s, then SIGKILL; removes the pid file.
stop_pid() {
	local pid
	pid=$(pid_of "$1")
	if alive "$pid" "$1"; then
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 1 $((150 * SLOW))); do
			alive "$pid" "$1" || break
			sleep 0.02
		done
		if alive "$pid" "$1"; then
			say "$1 ($pid) ignored SIGTERM; SIGKILL"
			kill -KILL "$pid" 2>/dev/null
			for _ in $(seq 1 50); do
				alive "$pid" "$1" || break
				sleep 0.02
			done
		fi
	fi
	rm -f "$RUN/$1.pid"
	! alive "$pid" "$1"
}

wait_probe() { # pcsc_wait arguments…
	"$EMU/pcsc_wait" -t $((10 * SLOW)) "$@"
}

# vpcd listens on PORT (read from /proc/net/tcp: a probing connect would be taken for a card).
vpcd_listening() {
	local hex
	hex=$(printf '%04X' "$PORT")
	grep -qE "^ *[0-9]+: [0-9A-F]+:$hex [0-9A-F]+:0000 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# spawn NAME COMMAND…: starts COMMAND in the background with its output in
# $RUN/NAME.log and its PID in $RUN/NAME.pid.  A small subshell waits for it,
# so it is reaped the moment it ends (a zombie would keep pcscd's stale pid
# file alive) and its exit status lands in $RUN/NAME.exit (vchip: 3 = torn).
spawn() {
	local name=$1
	shift
	rm -f "$RUN/$name.exit"
	(
		"$@" >>"$RUN/$name.log" 2>&1 </dev/null &
		echo $! >"$RUN/$name.pid"
		wait $!
		echo $? >"$RUN/$name.exit"
	) >>"$RUN/harness.log" 2>&1 </dev/null &
	for _ in $(seq 1 200); do
		[ -s "$RUN/$name.pid" ] && return 0
		sleep 0.005
	done
	return 1
}

start_pcscd() {
	local pid
	mkdir -p "$RUN/reader.conf.d"
	if alive "$(pid_of pcscd)" pcscd; then
		say "pcscd runs already ($(pid_of pcscd))"
		return 0
	fi
	if [ -e "$SYS_DIR/pcscd.pid" ]; then
		# pcscd ends its pid file with a NUL byte.
		pid=$(tr -d '\0\n' <"$SYS_DIR/pcscd.pid")
		if alive "$pid" pcscd; then
			say "another pcscd (pid $pid) owns $SYS_DIR; stop it, or run under 'harness.sh isolate'"
			return 1
		fi
		rm -f "$SYS_DIR/pcscd.pid" "$SYS_DIR/pcscd.comm" # stale, from a killed pcscd
	fi
	if [ -S "$SYS_DIR/pcscd.comm" ]; then
		say "$SYS_DIR/pcscd.comm exists without a pcscd (systemd's pcscd.socket?); not starting"
		return 1
	fi
	[ -r "$VPCD_LIB" ] || { say "no $VPCD_LIB: install vsmartcard-vpcd"; return 1; }
	printf 'FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:0x%X\nLIBPATH      %s\nCHANNELID    0x%X\n' \
		"$PORT" "$VPCD_LIB" "$PORT" >"$RUN/reader.conf.d/vpcd"
	# Never --auto-exit: pcscd would leave after 60 s without clients, chip or not.
	local debug=()
	[ "${PCSCD_DEBUG:-0}" = 1 ] && debug=(--debug --apdu)
	rm -f "$RUN/pcscd.pid"
	spawn pcscd pcscd --foreground --config "$RUN/reader.conf.d" "${debug[@]}"
	for _ in $(seq 1 $((250 * SLOW))); do
		vpcd_listening && break
		alive "$(pid_of pcscd)" pcscd || break
		sleep 0.02
	done
	if ! wait_probe -r "$READER" 2>>"$RUN/harness.log"; then
		say "pcscd did not come up; its log:"
		tail -n 20 "$RUN/pcscd.log" >&2
		return 1
	fi
}

stop_pcscd() {
	stop_pid pcscd || { say "pcscd would not stop"; return 1; }
	# A pcscd stopped by SIGKILL leaves its files; SIGTERM removes them.
	local pid
	if [ -e "$SYS_DIR/pcscd.pid" ]; then
		pid=$(tr -d '\0\n' <"$SYS_DIR/pcscd.pid")
		alive "$pid" pcscd || rm -f "$SYS_DIR/pcscd.pid" "$SYS_DIR/pcscd.comm"
	fi
	return 0
}

start_card() {
	if alive "$(pid_of vchip)" vchip; then
		say "vchip runs already ($(pid_of vchip))"
		return 0
	fi
	local args=(--port "$PORT" --state "$STATE" --control "$RUN/vchip.ctl" --wait $((5 * SLOW))
		--reconnect $((30 * SLOW)) -v)
	[ -n "${CARD_UID:-}" ] && args+=(--uid "$CARD_UID")
	# shellcheck disable=SC2206 # VCHIP_ARGS is a list of words on purpose
	[ -n "${VCHIP_ARGS:-}" ] && args+=($VCHIP_ARGS)
	rm -f "$RUN/vchip.ctl" "$RUN/vchip.pid"
	spawn vchip "$EMU/vchip" "${args[@]}" "$@"
	if ! wait_probe -r "$READER" -c 2>>"$RUN/harness.log"; then
		say "the card did not show; vchip's log:"
		tail -n 20 "$RUN/vchip.log" >&2
		return 1
	fi
}

stop_card() {
	stop_pid vchip || { say "vchip would not stop"; return 1; }
	# Wait for the holder subshell to note the exit, then for pcscd to see the slot empty.
	for _ in $(seq 1 100); do
		[ -e "$RUN/vchip.exit" ] && break
		sleep 0.01
	done
	if alive "$(pid_of pcscd)" pcscd; then
		wait_probe -r "$READER" -e 2>>"$RUN/harness.log" || return 1
	fi
	return 0
}

status() {
	local rc=0 pid
	pid=$(pid_of pcscd)
	if alive "$pid" pcscd; then echo "pcscd $pid"; else echo "pcscd stopped"; rc=1; fi
	pid=$(pid_of vchip)
	if alive "$pid" vchip; then
		echo "vchip $pid"
	elif [ "$(cat "$RUN/vchip.exit" 2>/dev/null)" = 3 ]; then
		echo "vchip torn"
		rc=1
	else
		echo "vchip stopped"
		rc=1
	fi
	return $rc
}

isolate() {
	local net=(-n) lo="ip link set lo up"
	if ! command -v ip >/dev/null; then
		# No iproute2 to bring a private loopback up: share the host's ports.
		net=()
		lo=true
	fi
	if [ "$(id -u)" = 0 ] && unshare -m "${net[@]}" -p -f --mount-proc true 2>/dev/null; then
		# The inner shell is PID 1 of the new namespace: when it ends, so does
		# everything started under it.
		exec unshare -m "${net[@]}" -p -f --mount-proc --propagation private --kill-child \
			bash -c "mount -t tmpfs -o mode=0755 tmpfs /run && $lo && \"\$@\"" \
			isolate "$@"
	fi
	say "no private namespaces here: using the system's $SYS_DIR under the lock $PCSC_LOCK"
	exec flock "$PCSC_LOCK" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
isolate) isolate "$@" ;;
esac
mkdir -p "$RUN"
case $cmd in
start)
	start_pcscd && start_card "$@" && exit 0
	say "start failed; stopping what did start"
	stop_card
	stop_pcscd
	exit 1
	;;
stop)
	stop_card
	card=$?
	stop_pcscd
	exit $((card || $?))
	;;
status) status ;;
start-card) start_card "$@" ;;
stop-card) stop_card ;;
restart-card)
	stop_card || exit 1
	if [ "${1:-}" = --wipe ]; then
		rm -f "$STATE"
		shift
	fi
	start_card "$@"
	;;
start-pcscd) start_pcscd ;;
stop-pcscd) stop_pcscd ;;
restart-pcscd)
	stop_pcscd || exit 1
	start_pcscd || exit 1
	# The chip reconnects by itself (vchip --reconnect): wait until it shows.
	wait_probe -r "$READER" -c 2>>"$RUN/harness.log"
	;;
fault)
	printf '%s\n' "$@" >"$RUN/vchip.ctl.tmp" && mv "$RUN/vchip.ctl.tmp" "$RUN/vchip.ctl"
	;;
*)
	sed -n '/^#   harness.sh/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
