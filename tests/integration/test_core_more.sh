#!/usr/bin/env bash
# portcullisd with edge, core and relay in a network namespace, driven by
# sipp and pcctl (calls carry no SDP). Proves through the real daemons:
#  - 3xx recursion (RFC 3261 §16.5): bob's UA answers 302 naming carol's
#    UA; core tries carol itself, alice sees 180/200 (never the 302) and
#    completes the call with carol;
#  - calls.list shows a call being set up (ringing, with its branch), then
#    confirmed;
#  - dialogs survive a kill -9 of core: written behind to SQLite, listed
#    again after the restart, and alice's BYE then reaches bob (200) and
#    closes the call's CDR (answered, "bye caller");
#  - two edges sharing one port: bob registered over TCP through one is
#    called by alice through the other, and gets 480 once his edge is gone.
set -u
. "$(dirname "$0")/lib.sh"
it_begin

B=$IT_BUILD
PD=$B/mgmt/portcullisd
PCCTL_BIN=$B/mgmt/pcctl
SC=$(cd "$(dirname "$0")/core" && pwd)
T=$IT_TMP
for f in "$PD" "$PCCTL_BIN" "$B/sbc/portcullis-edge" "$B/core/portcullis-core" \
	"$B/relay/portcullis-relay"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
command -v sipp >/dev/null || { echo "Bail out! sipp not installed"; exit 1; }
command -v sqlite3 >/dev/null || { echo "Bail out! sqlite3 not installed"; exit 1; }

ns_add pbx
IP=127.0.0.1
# The children drop to the service account when it exists.
chmod 755 "$T"
cat >"$T/pc.json" <<J
{"runtime_dir": "$T/run", "state_dir": "$T/state", "log_level": "info",
 "listen": [{"transport": "udp", "address": "$IP", "port": 5060}],
 "auth": {"algorithms": ["MD5"]},
 "supervisor": {"restart_backoff_ms": 100},
 "users": [{"user": "alice", "password": "alicepw"},
           {"user": "bob", "password": "bobpw"}]}
J
sock=$T/run/mgmt.sock
pcctl() { "$PCCTL_BIN" --socket "$sock" "$@"; }
# pq EXPR: true iff the Python expression holds for r, the "result" of the
# JSON reply on stdin.
pq() {
	python3 -c '
import json, sys
j = json.load(sys.stdin)
r = j.get("result")
sys.exit(0 if j.get("ok") is True and eval(sys.argv[1]) else 1)' "$1"
}
child_pid() {
	pcctl --json status | python3 -c '
import json, sys
for p in (json.load(sys.stdin).get("result") or {}).get("processes", []):
    if p.get("name") == "core":
        print(p.get("pid", ""))'
}
status_ok() { pcctl --json status | pq 'True'; }

bg pbx portcullisd "$PD" -f -c "$T/pc.json"

# sp NAME ARGS...: one sipp run toward edge, bounded in time.
sp() {
	local name=$1
	shift
	in_ns pbx timeout 30 sipp "$IP:5060" -i "$IP" -m 1 -nostdin \
		-timeout 25 -timeout_error -trace_err -trace_msg \
		-message_file "$T/$name.msg" -error_file "$T/$name.err" "$@" \
		>"$T/$name.out" 2>&1
	local rc=$?
	[ "$rc" = 0 ] || { tail -5 "$T/$name.err" 2>/dev/null; tail -3 "$T/$name.out"; }
	return $rc
}
# uas NAME XML PORT: a background UAS; its pid in UAS_PID.
uas() {
	in_ns pbx timeout 60 sipp -sf "$2" -i "$IP" -p "$3" -m 1 -nostdin \
		-timeout 55 -timeout_error -trace_err -error_file "$T/$1.err" \
		-trace_msg -message_file "$T/$1.msg" >"$T/$1.out" 2>&1 &
	UAS_PID=$!
	IT_PIDS+=("$UAS_PID")
}
bound() { in_ns pbx ss -lun | grep -q ":$1 "; }
# waited PID NAME: waits in the main shell (tap's subshell cannot wait
# for this shell's children) and leaves the status in $T/NAME.rc.
waited() {
	wait "$1"
	echo $? >"$T/$2.rc"
}
# exited_ok NAME: that status was 0 (else the sipp errors are shown).
exited_ok() {
	[ "$(cat "$T/$1.rc")" = 0 ] || { tail -5 "$T/$1.err" 2>/dev/null; return 1; }
}

tap "portcullisd runs edge, core and relay" wait_until 30 status_ok
reg_bob() { sp reg_bob -sf "$SC/reg.xml" -p 5090 -s bob -au bob -ap bobpw; }
tap "bob registers (digest)" wait_until 20 reg_bob

# ---- 3xx recursion ----
# (edge's NAT Contact aliasing is on: with everything on one address it
# takes bob's UA for one behind NAT, yet must leave the 302's Contact,
# which names carol, alone.)
uas r_bob "$SC/uas_302.xml" 5090
BOB=$UAS_PID
uas r_carol "$SC/uas.xml" 5095
CAROL=$UAS_PID
wait_until 5 bound 5090 && wait_until 5 bound 5095
tap "alice calls bob, who redirects (302) to carol: 200, ACK, BYE" \
	sp r_alice -sf "$SC/uac.xml" -p 5070 -s bob -au alice -ap alicepw
waited "$BOB" r_bob
waited "$CAROL" r_carol
tap "bob's UA answered 302 and got core's ACK" exited_ok r_bob
tap "carol's UA got the INVITE, ACK and BYE" exited_ok r_carol
no302() {
	grep -q "SIP/2.0 200 OK" "$T/r_alice.msg" &&
		! grep -q "SIP/2.0 302" "$T/r_alice.msg"
}
tap "alice never saw the 302" no302
followed() { grep -q "^INVITE sip:carol@$IP:5095 " "$T/r_carol.msg"; }
tap "core sent carol an INVITE to the 302's Contact" followed

# ---- calls.list and dialogs across a core restart ----
CID="restart-1@test"
uas h_bob "$SC/uas_hold.xml" 5090
BOB=$UAS_PID
wait_until 5 bound 5090
in_ns pbx timeout 30 sipp "$IP:5060" -i "$IP" -m 1 -nostdin -timeout 25 \
	-timeout_error -cid_str "restart-%u@test" -sf "$SC/uac_setup.xml" \
	-p 5070 -s bob -au alice -ap alicepw -trace_err -trace_msg \
	-message_file "$T/h_alice.msg" -error_file "$T/h_alice.err" \
	>"$T/h_alice.out" 2>&1 &
ALICE=$!
IT_PIDS+=("$ALICE")
ringing() {
	pcctl --json calls list | pq "any(c['call_id'] == '$CID' and
		c['state'] == 'ringing' and
		c['branch'].startswith('sip:bob@$IP:5090') for c in r)"
}
tap "calls list shows the call ringing, with bob's branch" wait_until 10 ringing
waited "$ALICE" h_alice
tap "alice's call is answered and ACKed" exited_ok h_alice
confirmed() {
	pcctl --json calls list | pq "any(c['call_id'] == '$CID' and
		c['state'] == 'confirmed' for c in r)"
}
tap "calls list shows it confirmed" wait_until 5 confirmed
stored() {
	[ "$(sqlite3 "$T/state/dialogs.db" \
		"SELECT count(*) FROM dialogs WHERE call_id = '$CID'")" = 1 ]
}
tap "the dialog is written behind to SQLite" wait_until 5 stored
OLD=$(child_pid)
restarted() {
	local p
	p=$(child_pid)
	[ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$OLD" ] && status_ok
}
killed() { [ -n "$OLD" ] && kill -9 "$OLD" && wait_until 20 restarted; }
tap "kill -9 of core: portcullisd restarts it" killed
tap "after the restart, calls list still shows the call" wait_until 10 confirmed
# alice's BYE along the route set she learnt (from her trace of the 200).
route=$(awk '/^SIP\/2.0 200/{f=1} f && /^Record-Route:/{sub(/^Record-Route:/,""); gsub(/\r/,""); r = r (r ? "," : "") $0} f && /^$/{f=0} END{print r}' "$T/h_alice.msg")
bye() {
	[ -n "$route" ] || { echo "no Record-Route in alice's 200"; return 1; }
	sp h_bye -sf "$SC/uac_bye.xml" -p 5070 -cid_str "restart-%u@test" \
		-key ruri "sip:bob@$IP:5090" -key route "Route:$route"
}
tap "alice's BYE after the restart reaches bob: 200" wait_until 10 bye
waited "$BOB" h_bob
tap "bob's UA got the BYE" exited_ok h_bob
gone() { pcctl --json calls list | pq "not any(c['call_id'] == '$CID' for c in r)"; }
tap "the call has left calls list" wait_until 5 gone
cdr_closed() {
	[ "$(sqlite3 "$T/state/portcullis.db" "SELECT count(*) FROM cdr WHERE
		call_id = '$CID' AND status = 200 AND answer_ms > 0 AND
		end_ms >= answer_ms AND reason = 'bye caller'")" = 1 ]
}
tap "the call's CDR is closed (answered, bye caller)" wait_until 10 cdr_closed
row_gone() {
	[ "$(sqlite3 "$T/state/dialogs.db" \
		"SELECT count(*) FROM dialogs WHERE call_id = '$CID'")" = 0 ]
}
tap "its dialog row is deleted" wait_until 5 row_gone

# ---- two edges on one port (SO_REUSEPORT), TCP ----
# Standalone core with two edges sharing 127.0.0.1:5060. The kernel
# spreads connections over the edges by their 4-tuple, so a probe finds a
# client port landing on each; bob's TCP connection is then held by one
# edge and alice's by the other. A connection id means nothing in another
# edge (each numbers its own from 1: alice's may well carry bob's), so core
# must send bob's INVITE through bob's edge.
ns_add two
cat >"$T/two.json" <<J
{"runtime_dir": "$T/run2", "state_dir": "$T/state2", "log_level": "info",
 "listen": [{"transport": "udp", "address": "$IP", "port": 5060},
            {"transport": "tcp", "address": "$IP", "port": 5060}],
 "auth": {"require": false},
 "users": [{"user": "alice", "password": "alicepw"},
           {"user": "bob", "password": "bobpw"}]}
J
listeners() {
	[ "$(in_ns two ss -Hltnp "sport = :5060" | grep -o 'pid=[0-9]*' |
		sort -u | wc -l)" = "$1" ]
}
bg two core2 "$B/core/portcullis-core" -f -c "$T/two.json"
wait_until 10 test -S "$T/run2/core.sock"
bg two edge_a "$B/sbc/portcullis-edge" -f -c "$T/two.json"
wait_until 10 listeners 1
bg two edge_b "$B/sbc/portcullis-edge" -f -c "$T/two.json"
two_up() { listeners 2 && grep -q "edge 1 connected" "$T/core2.log"; }
tap "two edges listen on $IP:5060/tcp and both reach core" wait_until 15 two_up
in_ns two python3 "$SC/tcp_ua.py" probe "$IP" 5060 21000 12 >"$T/probe.txt" 2>&1
BOBP=$(awk 'NR == 1 && $2 != "none" {print $1}' "$T/probe.txt")
BOBE=$(awk 'NR == 1 {print $2}' "$T/probe.txt")
ALICEP=$(awk -v e="$BOBE" '$2 != e && $2 != "none" {print $1; exit}' "$T/probe.txt")
probed() { [ -n "$BOBP" ] && [ -n "$ALICEP" ] || { cat "$T/probe.txt"; return 1; }; }
tap "client ports landing on each edge found" probed
in_ns two timeout 40 python3 "$SC/tcp_ua.py" bob "$IP" 5060 "${BOBP:-21000}" \
	"$T/bob.ready" >"$T/bob_tcp.out" 2>&1 &
BOB=$!
IT_PIDS+=("$BOB")
held_by() {
	in_ns two ss -Htnp state established "( sport = :5060 and dport = :$1 )" |
		grep -q "pid=$2,"
}
bob_on_edge() { test -s "$T/bob.ready" && held_by "$BOBP" "$BOBE"; }
tap "bob registers over TCP through one edge" wait_until 10 bob_on_edge
alice_tcp() {
	in_ns two timeout 30 sipp "$IP:5060" -t t1 -i "$IP" -p "$1" -m 1 \
		-nostdin -timeout 25 -timeout_error -sf "$SC/$2" -trace_err \
		-error_file "$T/$3.err" -trace_msg -message_file "$T/$3.msg" \
		>"$T/$3.out" 2>&1 ||
		{ tail -5 "$T/$3.err" 2>/dev/null; return 1; }
}
tap "alice (TCP, the other edge) calls bob: 180, 200, ACK, BYE" \
	alice_tcp "${ALICEP:-21001}" uac_tcp.xml t_alice
call_ok() { [ "$(cat "$T/bob.ready.call" 2>/dev/null)" = ok ]; }
tap "bob got the INVITE, ACK and BYE on his own connection" wait_until 5 call_ok
# bob's edge dies: his connection with it. Core must not hand his flow to
# the other edge (where its id names some other connection): 480.
{
	kill -9 "$BOBE"
	wait "$BOBE"
} 2>/dev/null
gone_edge() { grep -q "disconnected" "$T/core2.log" && listeners 1; }
tap "bob's edge killed; core sees it go" wait_until 10 gone_edge
tap "a call to bob's TCP flow whose edge is gone gets 480" \
	alice_tcp 22000 uac_480.xml t_alice480
kill "$BOB" 2>/dev/null
it_end
