#!/usr/bin/env bash
# portcullis-edge's limits and lists with the real core and relay (edge
# under relayctl's supervise, which reassembles multi-part ctl replies):
#  - flows.list with 2,000 UDP flows (2,000 source addresses) comes back
#    whole, in several parts (IPC_F_MORE), not cut at one datagram;
#  - 2,000 scanners banned while the relay is not running: bans.list lists
#    them all, and when the relay starts the edge pushes every running ban
#    into the relay's kernel ban set, whose bans.list lists them all too;
#  - the global cap: after a reload to a low global_rate, a burst from
#    several sources gets some answers from core and the rest 503 with
#    Retry-After from the edge, which counts them and goes on answering.
. "$(dirname "$0")/lib.sh"
it_begin

P=10.97
it_edge_bed $P crowd "EDGE CORE RELAY RELAYCTL"
# The crowd sends from any address of 10.97.64.0/18 (AnyIP), routed back.
in_ns crowd ip route add local $P.64.0/18 dev lo
in_ns sbc ip route add $P.64.0/18 via $P.1.2

conf() { # conf FILE GLOBAL_RATE
	cat >"$1" <<J
{"domains": ["example.test"],
 "listen": [{"transport": "udp", "address": "$SBC", "port": 5060}],
 "runtime_dir": "$T/run", "state_dir": "$T/state",
 "user": "root", "group": "root", "log_level": "info",
 "media": {"address": "$SBC", "ports": [36000, 36099], "kernel": "on"},
 "limits": {"other_rate": 1000, "other_burst": 1000, "global_rate": $2,
            "retry_after_s": 7, "max_sources": 10000}}
J
}
conf "$T/pc.json" 100000
conf "$T/pc-cap.json" 50

bg sbc core "$CORE" -c "$T/pc.json"
bg sbc edge "$RELAYCTL" supervise "$T/edge-ctl.sock" -- "$EDGE" -c "$T/pc.json"
edge_ctl() { in_ns sbc "$RELAYCTL" ctl "$T/edge-ctl.sock" "$@"; }
core_up() { edge_ctl status | grep -q 'core_connected=1\|core_connected=true'; }
tap "edge and core up (no relay yet)" wait_until 15 core_up
burst() { # burst BASE NADDR PER_ADDR [UA] > out
	in_ns crowd timeout 60 python3 "$D/burst.py" "$1" "$2" "$3" $SBC 5060 ${4:+"$4"}
}
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
stat_of() { edge_ctl stats | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# --- 2,000 UDP flows ---
burst $P.64.0 2000 1 >"$T/flows.out"
echo "# $(cat "$T/flows.out")"
flows_answered() { [ "$(field answered <"$T/flows.out")" -ge 1990 ]; }
tap "2,000 OPTIONS from 2,000 addresses are answered" flows_answered
edge_ctl flows.list >"$T/flows.list"
nflows() { grep -c "kind=udp remote=$P\.\(6[4-9]\|7[0-9]\)\." "$T/flows.list"; }
flows_all() { local n; n=$(nflows); echo "flows listed: $n (of 2000)"; [ "$n" -ge 2000 ]; }
tap "flows.list lists all 2,000 flows (a reply of several parts)" flows_all
big_enough() {
	local b
	b=$(wc -c <"$T/flows.list")
	echo "listed $b bytes of text"
	[ "$b" -gt 70000 ]
}
tap "... more than one datagram's worth" big_enough

# --- 2,000 bans without the relay, pushed when it starts ---
burst $P.96.0 2000 1 friendly-scanner >"$T/scan.out"
echo "# $(cat "$T/scan.out")"
scan_silent() { [ "$(field answered <"$T/scan.out")" = 0 ]; }
tap "the scanners got no answer" scan_silent
nbans() { edge_ctl bans.list | grep -c "addr=$P\.\(9[6-9]\|10[0-9]\|11[01]\)\..*reason=scanner"; }
bans_all() { local n; n=$(nbans); echo "bans listed: $n (of 2000)"; [ "$n" -ge 2000 ]; }
tap "bans.list lists all 2,000 bans (several parts)" wait_until 5 bans_all
bg sbc relay "$RELAYCTL" supervise "$T/relay-ctl.sock" -- "$RELAY" -c "$T/pc.json"
relay_ctl() { in_ns sbc "$RELAYCTL" ctl "$T/relay-ctl.sock" "$@"; }
relay_up() { edge_ctl status | grep -q 'relay_connected=1\|relay_connected=true'; }
tap "the relay starts and the edge connects" wait_until 15 relay_up
ban4_count() {
	in_ns sbc nft -j list set inet portcullis ban4 2>/dev/null | python3 -c '
import json, sys
els = [o["set"].get("elem", []) for o in json.load(sys.stdin)["nftables"] if "set" in o][0]
vals = [e["elem"]["val"] if isinstance(e, dict) else e for e in els]
print(sum(1 for v in vals if isinstance(v, str) and v.startswith("'$P'.")))'
}
pushed() { local n; n=$(ban4_count); echo "kernel ban set: ${n:-0} of 2000"; [ "${n:-0}" -ge 2000 ]; }
tap "the edge pushed its 2,000 running bans into the kernel ban set" wait_until 15 pushed
rbans() { relay_ctl bans.list | grep -c "addr=$P\.\(9[6-9]\|10[0-9]\|11[01]\)\."; }
rbans_all() { local n; n=$(rbans); echo "relay bans listed: $n (of 2000)"; [ "$n" -ge 2000 ]; }
tap "the relay's bans.list lists all 2,000 too (several parts)" wait_until 5 rbans_all

# --- the global cap: 503 with Retry-After, and the edge goes on ---
reload_ok() { edge_ctl reload path="$T/pc-cap.json" | grep -q "applied=.*limits"; }
tap "reload to global_rate 50" reload_ok
G0=$(stat_of drops_global)
burst $P.80.0 8 100 >"$T/cap.out"
echo "# $(cat "$T/cap.out")"
some_answered() { local n; n=$(field s200 <"$T/cap.out"); echo "200s: $n"; [ "$n" -ge 20 ] && [ "$n" -le 200 ]; }
tap "a burst of 800 from 8 sources: some are answered by core" some_answered
some_503() {
	local n r
	n=$(field s503 <"$T/cap.out")
	r=$(field retry_after <"$T/cap.out")
	echo "503s: $n, with Retry-After: $r"
	[ "$n" -ge 400 ] && [ "$n" = "$r" ]
}
tap "... the rest 503 with Retry-After from the edge" some_503
ra7() {
	in_ns crowd timeout 10 python3 - $SBC <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.97.1.2", 0))
s.settimeout(3)
a, p = s.getsockname()
for k in range(200):
    m = (f"OPTIONS sip:{sys.argv[1]} SIP/2.0\r\nVia: SIP/2.0/UDP {a}:{p};branch=z9hG4bKra{k}\r\n"
         f"Max-Forwards: 70\r\nFrom: <sip:ra@{a}>;tag=ra{k}\r\nTo: <sip:{sys.argv[1]}>\r\n"
         f"Call-ID: ra{k}@t\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    s.sendto(m.encode(), (sys.argv[1], 5060))
while True:
    d = s.recv(65536)
    if d.startswith(b"SIP/2.0 503"):
        sys.exit(0 if b"\r\nRetry-After: 7\r\n" in d else 1)
PY
}
tap "the 503 carries the configured Retry-After (7)" ra7
counted() { local n; n=$(stat_of drops_global); echo "drops_global $G0 -> $n"; [ "$n" -ge $((G0 + 400)) ]; }
tap "the edge counted the capped requests (drops_global)" counted
answers_on() {
	local o
	o=$(burst $P.90.0 1 1)
	echo "$o"
	[ "$(echo "$o" | field s200)" = 1 ]
}
tap "after the burst the edge answers again" wait_until 10 answers_on
tap "the edge never restarted" sh -c "[ \$(grep -c 'ready:' '$T/edge.log') = 1 ]"
tap "no sanitizer report" sh -c "! grep -q 'AddressSanitizer\|runtime error' '$T/edge.log' '$T/core.log' '$T/relay.log'"
it_end
