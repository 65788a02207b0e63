#!/usr/bin/env bash
# portcullis-edge with the real portcullis-core and portcullis-relay in a
# namespace (sbc), driven by sipp from UA namespaces: alice and bob on
# their own links, carol behind a NAT namespace (masquerade), an attacker
# and a sender of malformed messages. Proves: 503 + Retry-After while core
# is down and reconnection; REGISTER through edge and core (UDP and TCP);
# calls with SDP anchored on the relay, answered and hung up by the callee;
# topology hiding (what each party captures names neither the other party
# nor anything inside); a NATed UA reachable for an incoming call; a
# REGISTER flood banned while calls from others keep working; a burst of
# malformed INVITEs (UDP and TCP) answered while the edge keeps serving;
# ctl stats/flows.list/bans.list/log.level; a live reload adding a listener
# ACL; failed authentications (AUTH_FAILED from core) banning the guesser.
. "$(dirname "$0")/lib.sh"
it_begin

P=10.93
it_edge_bed $P "alice bob att nat mal" "EDGE CORE RELAY RELAYCTL"
ns_add carol
ns_link carol 192.168.93.2/24 nat 192.168.93.1/24
ns_route carol 192.168.93.1
ns_forwarding nat
ns_masquerade nat "${IT_UA_IF[nat]}"

cat >"$T/pc.json" <<J
{"domains": ["example.test"],
 "listen": [{"transport": "udp", "address": "$SBC", "port": 5060},
            {"transport": "tcp", "address": "$SBC", "port": 5060}],
 "runtime_dir": "$T/run", "state_dir": "$T/state",
 "user": "root", "group": "root", "log_level": "info",
 "media": {"address": "$SBC", "ports": [31000, 31999], "kernel": "auto"},
 "auth": {"realm": "example.test", "algorithms": ["MD5"]},
 "users": [{"user": "alice", "domain": "example.test", "password": "a-secret-1"},
           {"user": "bob", "domain": "example.test", "password": "b-secret-2"},
           {"user": "carol", "domain": "example.test", "password": "c-secret-3"}],
 "limits": {"register_rate": 5, "register_burst": 20, "flood_drops": 40,
            "flood_window_s": 10, "invite_rate": 2000, "invite_burst": 20000,
            "other_rate": 2000, "other_burst": 20000},
 "topology": {"hide": true, "hide_call_id": true}}
J

SIPP_COMMON="-nostdin -timeout 20s -timeout_error -trace_err"
# sipp_in NS LOG ARGS...: one sipp run in a namespace (foreground).
# On failure it prints why (sipp's errors, the daemons' last words): the
# TAP comments of a failing case are all a CI excerpt shows.
sipp_in() {
	local n=$1 log=$2 rc
	shift 2
	in_ns "$n" timeout -k 5 40 sipp $SIPP_COMMON -error_file "$T/$log.err" "$@" \
		>"$T/$log.out" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "sipp $log exited $rc at $(date +%T.%N)"
		tail -c 1500 "$T/$log.err" 2>/dev/null
		grep -v '^$' "$T/$log.out" | tail -5
		tail -4 "$T/edge.log" "$T/core.log" "$T/relay.log" 2>/dev/null
	fi
	return "$rc"
}
register() { # register NS USER PASS IP PORT TRANSPORT(u1|t1)
	sipp_in "$1" "reg-$2-$6" -sf "$D/reg.xml" -i "$4" -p "$5" -t "$6" \
		-s "$2" -au "$2" -ap "$3" -m 1 "$SBC:5060"
}
options() { # options NS IP PORT WANT [UA]
	sed -e "s/@WANT@/$4/" -e "s/@UA@/${5:-edge-it}/" "$D/options.xml" \
		>"$T/options-$3.xml"
	sipp_in "$1" "opt-$3" -sf "$T/options-$3.xml" -i "$2" -p "$3" \
		-m 1 -recv_timeout 3000 \
		-trace_msg -message_file "$T/opt-$3.msg" "$SBC:5060"
}
edge_ctl() { in_ns sbc "$RELAYCTL" ctl "$T/edge-ctl.sock" "$@"; }

# --- edge alone: core is down ---
bg sbc edge "$RELAYCTL" supervise "$T/edge-ctl.sock" -- "$EDGE" -c "$T/pc.json"
edge_ready() { grep -q "ready:" "$T/edge.log"; }
tap "edge starts and binds its listeners" wait_until 10 edge_ready
tap "core down: edge answers 503 itself" options alice $P.1.2 5090 503
tap "the 503 carries Retry-After" grep -q "^Retry-After: 5" "$T/opt-5090.msg"

# --- core and relay start; edge connects by itself ---
bg sbc core "$CORE" -c "$T/pc.json"
bg sbc relay "$RELAY" -c "$T/pc.json"
core_up() { grep -q "connected to core" "$T/edge.log"; }
relay_up() { grep -q "connected to relay" "$T/edge.log"; }
tap "edge reconnects to core by itself" wait_until 15 core_up
tap "edge connects to relay" wait_until 15 relay_up
not503() { options alice $P.1.2 5091 200; }
tap "OPTIONS is answered by core through the edge" wait_until 10 not503

# --- captures of what each outside party receives ---
capture() { # capture NS
	bg "$1" "cap-$1" tcpdump -i any -U -n -s 0 -w "$T/$1.pcap" udp or tcp
	eval "CAP_$1=$IT_LAST_PID"
}
capture alice
capture bob
capture carol
cap_ready() { [ -s "$T/alice.pcap" ] && [ -s "$T/bob.pcap" ] && [ -s "$T/carol.pcap" ]; }
wait_until 10 cap_ready

# --- REGISTER and a call, UDP ---
tap "alice registers over UDP" register alice alice a-secret-1 $P.1.2 5062 u1
tap "bob registers over UDP" register bob bob b-secret-2 $P.2.2 5062 u1
# uas NS NAME IP PORT TRANSPORT: the callee, in the background.
uas() {
	bg "$1" "uas-$2" sh -c "timeout 60 sipp $SIPP_COMMON -sf '$D/uas.xml' \
		-i $3 -p $4 -t $5 -mi $3 -mp 6000 -s $2 -m 1 \
		-trace_msg -message_file '$T/uas-$2.msg' \
		-error_file '$T/uas-$2.err'; echo \$? >'$T/uas-$2.rc'"
}
uas_ok() { [ "$(cat "$T/uas-$1.rc" 2>/dev/null)" = 0 ]; }
uas_done() { # uas_done NAME: the callee's sipp ended well within 20 s
	wait_until 20 uas_ok "$1" && return 0
	echo "uas $1: rc=$(cat "$T/uas-$1.rc" 2>/dev/null || echo running)"
	tail -c 1500 "$T/uas-$1.err" 2>/dev/null
	grep -E '^(SIP/2.0|[A-Z]+ sip:)' "$T/uas-$1.msg" 2>/dev/null | tail -8
	return 1
}
call() { # call NS IP PORT TRANSPORT CALLEE LOG
	printf 'SEQUENTIAL\n%s;\n' "$5" >"$T/callee-$5.csv"
	sipp_in "$1" "$6" -sf "$D/uac.xml" -i "$2" -p "$3" -t "$4" -mi "$2" \
		-mp 6100 -s "$6" -inf "$T/callee-$5.csv" -m 1 \
		-trace_msg -message_file "$T/$6.msg" "$SBC:5060"
}
uas bob bob $P.2.2 5062 u1
# listening NS -u|-t PORT: a socket of the UA's sipp is bound.
listening() { [ -n "$(in_ns "$1" ss -l"${2#-}"n "sport = :$3" | tail -n +2)" ]; }
wait_until 5 listening bob -u 5062
tap "alice calls bob (UDP): 180/200 with SDP, ACK, callee's BYE" call alice $P.1.2 5064 u1 bob call1
tap "bob's side of the call completed" uas_done bob

# Media was anchored: the SDP each side got names the relay.
sdp_has_relay() { grep -q "^c=IN IP4 $SBC" "$1"; }
tap "alice got the relay's address in bob's SDP" sdp_has_relay "$T/call1.msg"
tap "bob got the relay's address in alice's SDP" sdp_has_relay "$T/uas-bob.msg"

# --- what each outside party received names no one else ---
stop_captures() {
	kill -INT "$CAP_alice" "$CAP_bob" "$CAP_carol" 2>/dev/null
	local i=0
	while kill -0 "$CAP_alice" 2>/dev/null || kill -0 "$CAP_bob" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 50 ] && break; sleep 0.1
	done
}
# payload_lacks PCAP ADDR...: no packet payload names any ADDR (the IP
# headers are binary, so a text search finds only what SIP/SDP carry).
payload_lacks() {
	local pcap=$1 a
	shift
	[ -s "$pcap" ] || { echo "no capture $pcap"; return 1; }
	for a in "$@"; do
		if strings -n 6 "$pcap" | grep -F -- "$a"; then
			echo "found $a in $pcap"
			return 1
		fi
	done
}
payload_has() { strings -n 6 "$1" | grep -q -F -- "$2"; }

# --- TCP: bob registers and answers over TCP, alice calls over TCP ---
tap "bob registers over TCP" register bob bob b-secret-2 $P.2.2 5066 t1
uas bob bobtcp $P.2.2 5066 t1
wait_until 5 listening bob -t 5066
rm -f "$T/uas-bobtcp.rc"
tap "alice calls bob over TCP (connection reuse / new connection)" call alice $P.1.2 5068 t1 bob call2
tap "bob's TCP side of the call completed" uas_done bobtcp

# --- NAT: carol registers from behind a masquerading router ---
tap "carol registers from behind NAT" register carol carol c-secret-3 192.168.93.2 5062 u1
uas carol carol 192.168.93.2 5062 u1
wait_until 5 listening carol -u 5062
tap "alice calls carol (behind NAT): the INVITE reaches her" call alice $P.1.2 5070 u1 carol call3
tap "carol's side of the call completed" uas_done carol

stop_captures
tap "bob saw nothing of alice or carol" payload_lacks "$T/bob.pcap" $P.1.2 192.168.93.2 $P.4.2
tap "alice saw nothing of bob or carol" payload_lacks "$T/alice.pcap" $P.2.2 192.168.93.2 $P.4.2
tap "carol saw nothing of alice" payload_lacks "$T/carol.pcap" $P.1.2 $P.2.2
tap "captures did see the calls (the check is not vacuous)" sh -c \
	"strings -n 6 '$T/bob.pcap' | grep -q 'INVITE sip:bob' && strings -n 6 '$T/bob.pcap' | grep -q 'c=IN IP4 $SBC'"

# --- ctl: stats, flows, status ---
# (the ctl socket is a file: reachable from outside the namespace)
stat_of() { edge_ctl stats | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ge() { [ "${1:-0}" -ge "$2" ]; }
tap "ctl status answers with core and relay connected" sh -c \
	"'$RELAYCTL' ctl '$T/edge-ctl.sock' status | grep -q 'core_connected=1\|core_connected=true'"
tap "ctl stats counts the INVITEs" ge "$(stat_of sip_in_invite)" 3
flows_has_alice() { edge_ctl flows.list | grep -q "remote=$P.1.2"; }
tap "ctl flows.list lists the UDP flows" flows_has_alice

# --- a REGISTER flood is banned; other callers are not disturbed ---
# bob answers this call on a second phone. Port 5062 still receives call2's
# INVITE: that branch never answered, so core retransmits it for up to 32 s
# (RFC 3261 17.1.1.2) and may not CANCEL it without a provisional response;
# a new UAS on 5062 would take such a retransmission for its call.
tap "bob registers a second phone over UDP" register bob bob b-secret-2 $P.2.2 5074 u1
uas bob bob2 $P.2.2 5074 u1
wait_until 5 listening bob -u 5074
bg att flood sh -c "timeout 30 sipp -nostdin -sf '$D/flood.xml' -i $P.3.2 -p 5099 \
	-r 400 -m 2000 -timeout 10s $SBC:5060; true"
banned() { grep -q "banned $P.3.2" "$T/edge.log"; }
tap "the flooding source is banned" wait_until 15 banned
tap "a call from alice during the flood succeeds" call alice $P.1.2 5072 u1 bob call4
tap "bob's side of that call completed" uas_done bob2
bans_has_att() { edge_ctl bans.list | grep -q "$P.3.2"; }
tap "bans.list shows the attacker" bans_has_att
att_silenced() { ! options att $P.3.2 5098 200; }
tap "the banned source gets no answer any more" att_silenced

# --- malformed INVITEs, PROTOS-style, over UDP and TCP ---
mal() { # mal udp|tcp COUNT
	in_ns mal timeout 90 python3 "$D/mutate.py" "$1" $SBC 5060 "$2" >"$T/mal-$1.out" 2>&1
}
answered_enough() { # answered_enough FILE: at least a third answered
	local s a
	s=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$1")
	a=$(sed -n 's/.*answered=\([0-9]*\).*/\1/p' "$1")
	echo "sent=$s answered=$a"
	[ "${s:-0}" -ge 1000 ] && [ "${a:-0}" -ge $((s / 3)) ]
}
tap "2000 malformed INVITEs over UDP are sent" mal udp 2000
tap "the edge answered them (400s naming the fault, or core's answers)" answered_enough "$T/mal-udp.out"
tap "1000 malformed INVITEs over TCP are sent" mal tcp 1000
tap "over TCP they are answered too" answered_enough "$T/mal-tcp.out"
tap "the edge counted its 400s" ge "$(stat_of bad_requests)" 100
probe_400() { in_ns mal python3 "$D/mutate.py" probe $SBC 5060 | grep -qx "SIP/2.0 400 CSeq method does not match"; }
tap "a 400 names the fault in its reason phrase" probe_400
tap "the edge still serves: OPTIONS from alice" options alice $P.1.2 5093 200
tap "the edge never restarted" sh -c "[ \$(grep -c 'ready:' '$T/edge.log') = 1 ]"
tap "no sanitizer report from the edge" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$T/edge.log'"

# --- live reload: an ACL on the UDP listener shuts the sender out ---
sed 's|{"transport": "udp", "address": "'$SBC'", "port": 5060}|{"transport": "udp", "address": "'$SBC'", "port": 5060, "acl_deny": ["'$P'.5.0/24"]}|' \
	"$T/pc.json" >"$T/pc2.json"
tap "the new config names the ACL" grep -q acl_deny "$T/pc2.json"
reload_ok() { edge_ctl reload path="$T/pc2.json" | grep -q "applied=.*acl"; }
tap "ctl reload applies limits and ACLs live" reload_ok
probe_denied() { ! in_ns mal timeout 5 python3 "$D/mutate.py" probe $SBC 5060; }
tap "the denied network gets no answer after the reload" probe_denied
tap "others are still served after the reload" options alice $P.1.2 5094 200
tap "the edge still never restarted" sh -c "[ \$(grep -c 'ready:' '$T/edge.log') = 1 ]"

# --- failed authentications reported by core ban the guesser ---
guess() {
	local i
	for i in $(seq 1 12); do
		register carol carol wrong-password 192.168.93.2 $((5200 + i)) u1
	done
	return 0
}
tap "twelve REGISTERs with a wrong password from behind the NAT" guess
auth_banned() { grep -q "banned $P.4.2 .*(auth failures)" "$T/edge.log"; }
tap "core's AUTH_FAILED reports get the source banned" wait_until 10 auth_banned
tap "ctl log.level changes the level" sh -c "'$RELAYCTL' ctl '$T/edge-ctl.sock' log.level level=debug"
bad_level() { ! edge_ctl log.level level=loud; }
tap "ctl log.level refuses an unknown level" bad_level

it_end
