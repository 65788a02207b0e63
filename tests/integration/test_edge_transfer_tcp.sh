#!/usr/bin/env bash
# The target of an attended transfer registered over TCP behind NAT: bob
# (namespace bob, 192.168.89.2) reaches the SBC only through namespace nat,
# which masquerades him, and registers over one TCP connection with a
# Contact the SBC cannot reach. alice calls him; carol then calls him at
# the Contact alice got (the edge's hidden form: what a REFER hands on),
# as after a transfer. Carol's INVITE must reach bob on the connection he
# registered on, exactly as alice's call did, and both calls complete
# (200, ACK, BYE). Twice: with the edge aliasing NATed Contacts (the
# default: the hidden Contact names the NAT's address and TCP source port,
# with no ;transport) and without (it names bob's private address, with
# ;transport=tcp). Topology hiding on, the real edge and core, no relay.
. "$(dirname "$0")/lib.sh"
it_begin

P=10.89
it_edge_bed $P "alice nat" "EDGE CORE"
NAT_OUT=${IT_UA_IF[nat]}
ns_add bob
ns_link bob 192.168.89.2/24 nat 192.168.89.1/24
ns_route bob 192.168.89.1
ns_forwarding nat
ns_masquerade nat "$NAT_OUT"

conf() { # conf CONTACT_ALIAS
	cat >"$T/pc.json" <<J
{"domains": ["example.test"],
 "listen": [{"transport": "udp", "address": "$SBC", "port": 5060},
            {"transport": "tcp", "address": "$SBC", "port": 5060}],
 "runtime_dir": "$T/run", "state_dir": "$T/state",
 "user": "root", "group": "root",
 "auth": {"require": false},
 "nat": {"contact_alias": $1},
 "topology": {"hide": true}}
J
}
conf true
bg sbc core "$CORE" -c "$T/pc.json"
bg sbc edge "$EDGE" -c "$T/pc.json"
EDGE_PID=$IT_LAST_PID
up() { grep -q "connected to core" "$T/edge.log"; }
tap "edge and core up" wait_until 15 up

# round NAME CONTACT: bob registers over TCP from behind the NAT with
# CONTACT, alice calls him, carol calls his hidden Contact; both hang up.
round() {
	local n=$1 contact=$2
	rm -f "$T/$n.ready" "$T/$n.rc"
	bg bob "$n-bob" sh -c "timeout 60 python3 '$D/xfer_tcp.py' bob $SBC 5060 \
		'$contact' '$T/$n.ready'; echo \$? >'$T/$n.rc'"
	tap "$n: bob registers over TCP through the NAT" wait_until 15 test -s "$T/$n.ready"
	tap "$n: alice's call and carol's call to bob's hidden Contact are answered and hung up" \
		in_ns alice timeout 60 python3 "$D/xfer_tcp.py" alice $P.1.2 $SBC 5060
	bob_ok() { [ "$(cat "$T/$n.rc" 2>/dev/null)" = 0 ]; }
	tap "$n: bob got both calls (INVITE, ACK, BYE) on his registered connection" \
		wait_until 15 bob_ok
	sed 's/^/# /' "$T/$n-bob.log"
}
round aliased "sip:bob@192.168.89.2:5070"

# The edge again without Contact aliasing: the hidden Contact is bob's own.
kill "$EDGE_PID"
tcp_free() { ! in_ns sbc ss -Hltn "sport = :5060" | grep -q .; }
wait_until 10 tcp_free
wait "$EDGE_PID" 2>/dev/null
conf false
: >"$T/edge.log"
bg sbc edge "$EDGE" -c "$T/pc.json"
tap "edge up again without contact_alias" wait_until 15 up
round own "sip:bob@192.168.89.2:5070;transport=tcp"

it_end
