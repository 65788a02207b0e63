#!/usr/bin/env bash
# RFC 5626 (outbound) at portcullis-edge, with the real core and relay:
# bob registers over TCP with Supported: outbound, reg-id and +sip.instance
# and a Contact nobody can reach (as behind a NAT). The edge adds a Path
# (RFC 3327) with a flow token and ;ob, which the registrar returns in its
# 200; alice's call to bob then arrives on exactly that TCP connection,
# without the edge's Route. Once bob's connection is gone, a call to him
# gets 430 Flow Failed (the edge does not try his unreachable Contact).
. "$(dirname "$0")/lib.sh"
it_begin

P=10.98
it_edge_bed $P "alice bob" "EDGE CORE RELAY"
cat >"$T/pc.json" <<J
{"domains": ["example.test"],
 "listen": [{"transport": "udp", "address": "$SBC", "port": 5060},
            {"transport": "tcp", "address": "$SBC", "port": 5060}],
 "runtime_dir": "$T/run", "state_dir": "$T/state",
 "user": "root", "group": "root",
 "media": {"address": "$SBC", "ports": [37000, 37099]},
 "auth": {"realm": "example.test", "algorithms": ["MD5"]},
 "users": [{"user": "bob", "domain": "example.test", "password": "b-secret-2"}],
 "topology": {"hide": true, "hide_call_id": true}}
J
bg sbc core "$CORE" -c "$T/pc.json"
bg sbc relay "$RELAY" -c "$T/pc.json"
bg sbc edge "$EDGE" -c "$T/pc.json"
up() { grep -q "connected to core" "$T/edge.log" && grep -q "connected to relay" "$T/edge.log"; }
tap "edge, core and relay up" wait_until 15 up

SIPP_COMMON="-nostdin -timeout 40s -timeout_error -trace_err"
rm -f "$T/bob.rc"
bg bob bob sh -c "timeout 60 sipp $SIPP_COMMON -sf '$D/uas_outbound.xml' \
	-oocsf '$D/uas_outbound_call.xml' -i $P.2.2 -p 5062 -t t1 -mi $P.2.2 -mp 6000 \
	-s bob -au bob -ap b-secret-2 -m 1 -trace_msg -message_file '$T/bob.msg' \
	-error_file '$T/bob.err' $SBC:5060; echo \$? >'$T/bob.rc'"
registered() { grep -q "^SIP/2.0 200" "$T/bob.msg" 2>/dev/null; }
tap "bob registers over TCP with outbound (reg-id, +sip.instance)" wait_until 15 registered
path_ob() {
	local p
	p=$(grep -A12 "^SIP/2.0 200" "$T/bob.msg" | grep -m1 "^Path:")
	echo "$p"
	echo "$p" | grep -q "^Path: <sip:[A-Za-z0-9_-]\{20,\}@$SBC:5060;transport=tcp;lr;ob>"
}
tap "the registrar's 200 carries the edge's Path: flow token and ;ob" path_ob

printf 'SEQUENTIAL\nbob;\n' >"$T/callee.csv"
call() { it_edge_call "$@"; } # call SCENARIO NAME PORT
tap "alice calls bob; bob answers and hangs up" call uac.xml call1 5064
# bob's sipp has one TCP connection (the one it registered on) and its
# Contact is unreachable: the INVITE came on the registered flow.
invite_on_flow() {
	grep -q "^INVITE sip:bob@192.0.2.55:5099" "$T/bob.msg" &&
		grep -B3 "^INVITE " "$T/bob.msg" | grep -q "TCP message received"
}
tap "the INVITE reached bob on his registered TCP connection" invite_on_flow
no_ob_route() {
	! awk '/^INVITE /{r=1} r && /^$/{exit} r' "$T/bob.msg" | grep -q "^Route:.*;ob"
}
tap "... without the edge's own Route (the flow token was consumed)" no_ob_route
tap "... and bob saw nothing of alice" sh -c "! grep -q '$P.1.2' '$T/bob.msg'"

bob_done() { [ -f "$T/bob.rc" ]; }
tap "bob's UA goes away (its TCP connection closes)" wait_until 30 bob_done
conn_gone() { ! in_ns sbc ss -Htn state established "( sport = :5060 )" | grep -q "$P.2.2"; }
tap "the edge sees the connection closed" wait_until 10 conn_gone
tap "a new call to bob gets 430 Flow Failed" call uac_430.xml call2 5066
no_connect() { ! grep -q "192.0.2.55" "$T/edge.log"; }
tap "the edge did not try bob's unreachable Contact" no_connect
tap "no sanitizer report from the edge" sh -c "! grep -q 'AddressSanitizer\|runtime error' '$T/edge.log'"
it_end
