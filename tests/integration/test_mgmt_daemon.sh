#!/usr/bin/env bash
# portcullisd as systemd runs it and as an init script would: readiness on
# $NOTIFY_SOCKET (READY=1 once edge, core and relay said HELLO; STOPPING=1
# on SIGTERM) and, without -f, a parent that returns 0 only when the
# appliance is up. Real children, inside a network namespace.
set -u
. "$(dirname "$0")/lib.sh"

PD=$IT_BUILD/mgmt/portcullisd
PCCTL_BIN=$IT_BUILD/mgmt/pcctl
it_begin
chmod 755 "$IT_TMP"
ns_add pd

cfg=$IT_TMP/portcullis.json
echo "{\"runtime_dir\": \"$IT_TMP/rt\", \"state_dir\": \"$IT_TMP/st\"}" >"$cfg"
sock=$IT_TMP/rt/mgmt.sock
notify=$IT_TMP/notify.sock
msgs=$IT_TMP/notify.txt

# A stand-in for systemd's notification socket: records every datagram.
bg - notify python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        d = s.recv(4096).decode()
        f.write(d.replace("\n", " ") + "\n")
        f.flush()' "$notify" "$msgs"
wait_until 5 test -S "$notify"

daemon_start() {
	local start end
	start=$(date +%s)
	in_ns pd env NOTIFY_SOCKET="$notify" "$PD" -c "$cfg" 2>"$IT_TMP/portcullisd.log"
	local rc=$?
	end=$(date +%s)
	[ "$rc" = 0 ] || { echo "parent exited $rc"; return 1; }
	# The parent returned only once everything ran.
	"$PCCTL_BIN" --socket "$sock" --json status | grep -q '^{"ok":true' ||
		{ "$PCCTL_BIN" --socket "$sock" status; return 1; }
	[ $((end - start)) -lt 30 ]
}
tap "without -f: the parent exits 0 once all processes run" daemon_start
tap "READY=1 on NOTIFY_SOCKET" wait_until 5 grep -q "READY=1" "$msgs"
hup() {
	local pid
	pid=$("$PCCTL_BIN" --socket "$sock" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["processes"][0]["pid"])')
	kill -HUP "$pid" && wait_until 10 grep -q "RELOADING=1" "$msgs"
}
tap "SIGHUP: RELOADING=1" hup
stop() {
	local pid
	pid=$("$PCCTL_BIN" --socket "$sock" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["processes"][0]["pid"])')
	kill -TERM "$pid"
	wait_until 20 sh -c "! kill -0 $pid 2>/dev/null" || { echo "still running"; return 1; }
	grep -q "STOPPING=1" "$msgs" && wait_until 5 sh -c "! ip netns pids '$(ns pd)' | grep -q ."
}
tap "SIGTERM: STOPPING=1, everything gone" stop
tap "the socket file is removed" test ! -e "$sock"
broken() {
	# A child that cannot start: the parent reports failure after the
	# ready timeout instead of claiming success.
	mkdir -p "$IT_TMP/nochild"
	echo "{\"runtime_dir\": \"$IT_TMP/rt2\", \"state_dir\": \"$IT_TMP/st2\", \"supervisor\": {\"ready_timeout_ms\": 500}}" >"$IT_TMP/c2.json"
	in_ns pd env PORTCULLIS_LIBEXEC="$IT_TMP/nochild" timeout 30 "$PD" -c "$IT_TMP/c2.json" 2>"$IT_TMP/pd2.log"
	local rc=$?
	local pid
	pid=$("$PCCTL_BIN" --socket "$IT_TMP/rt2/mgmt.sock" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["processes"][0]["pid"])' 2>/dev/null)
	[ -n "$pid" ] && kill -TERM "$pid"
	[ "$rc" = 1 ] || { echo "parent exited $rc"; return 1; }
	grep -q "not all processes ready" "$IT_TMP/pd2.log"
}
tap "without -f: the parent exits 1 when the processes cannot start" broken
it_end
