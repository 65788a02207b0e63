#!/usr/bin/env bash
# More of the SIP trunks, through portcullisd and its real children in a
# network namespace, sipp playing the carriers and the users, pcctl
# reading the state. Proves: OPTIONS probing (a silent peer goes down in
# `pcctl trunks`, calls skip it, it comes back up when it answers again);
# ring groups (parallel: the first to answer wins, the other phone gets
# CANCEL; serial: the first does not answer within the group's ring_s, the
# second rings); a regex route to a trunk and a route to a URI; call
# admission (per user 486, per trunk max_calls and max_cps 503, the total
# 503 after a reload) with their counters and CDRs; peers by host name
# (resolved from a hosts file of the namespace, refreshed; a name that does
# not resolve is a peer that is down); a reload that leaves a trunk alone
# does not re-register it.
. "$(dirname "$0")/lib.sh"
it_begin

B=$IT_BUILD
PD=$B/mgmt/portcullisd
PCCTL_BIN=$B/mgmt/pcctl
T=$IT_TMP
X=$(cd "$(dirname "$0")/trunk" && pwd)
for f in "$PD" "$PCCTL_BIN" "$B/sbc/portcullis-edge" "$B/core/portcullis-core"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
command -v sipp >/dev/null || { echo "Bail out! sipp not installed"; exit 1; }

ns_add pbx
NSDIR=/etc/netns/$(ns pbx)
# `ip netns exec` bind-mounts the files of /etc/netns/NAME over /etc: the
# peers' host names resolve from this hosts file, and the resolver's DNS
# server is one nobody answers inside the namespace (no real DNS traffic).
mkdir -p "$NSDIR"
cat >"$NSDIR/hosts" <<H
127.0.0.1 localhost
127.0.0.12 sbc-a.carrier.test
127.0.0.13 sbc-a.carrier.test
127.0.0.15 refresh.carrier.test
H
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$NSDIR/resolv.conf"
trap 'rc=$?; rm -rf "$NSDIR"; (exit $rc); it_cleanup' EXIT
IP=127.0.0.1
chmod 755 "$T"

write_cfg() { # $1: call_limits object
	cat >"$T/pc.json" <<J
{"runtime_dir": "$T/rt", "state_dir": "$T/st",
 "listen": [{"transport": "udp", "address": "$IP", "port": 5060}],
 "auth": {"algorithms": ["MD5"]},
 "sip": {"t1_ms": 100, "t2_ms": 400, "no_answer_s": 5},
 "supervisor": {"restart_backoff_ms": 100},
 "users": [{"user": "alice", "password": "alicepw", "max_calls": 1},
           {"user": "bob", "password": "bobpw"},
           {"user": "carol", "password": "carolpw"}],
 "groups": [{"name": "sales", "members": ["bob", "carol"]},
            {"name": "support", "members": ["carol", "bob"],
             "strategy": "serial", "ring_s": 2}],
 "call_limits": $1,
 "limits": {"invite_rate": 5, "invite_burst": 5, "flood_drops": 20},
 "trunks": [
   {"name": "probed", "options_interval_s": 1, "failover_timeout_ms": 3000,
    "peers": [{"address": "127.0.0.5", "weight": 100},
              {"address": "127.0.0.6", "weight": 0}]},
   {"name": "inbound", "options_interval_s": 0,
    "peers": [{"address": "127.0.0.2"}]},
   {"name": "rx", "options_interval_s": 0,
    "peers": [{"address": "127.0.0.8"}]},
   {"name": "lim", "options_interval_s": 0, "max_calls": 1,
    "peers": [{"address": "127.0.0.9"}]},
   {"name": "cpsin", "options_interval_s": 0, "max_cps": 1,
    "peers": [{"address": "127.0.0.11"}]},
   {"name": "refresh", "options_interval_s": 0, "dns_refresh_s": 5,
    "peers": [{"address": "refresh.carrier.test"}]},
   {"name": "fast", "options_interval_s": 0,
    "peers": [{"address": "127.0.0.21"}]},
   {"name": "fast_acl", "options_interval_s": 0,
    "peers": [{"address": "192.0.2.1"}],
    "inbound": {"acl": ["127.0.0.24/30"]}},
   {"name": "named", "options_interval_s": 0, "dns_refresh_s": 300,
    "peers": [{"address": "sbc-a.carrier.test", "weight": 10},
              {"address": "nowhere.carrier.test"}],
    "outbound_auth": {"username": "acct1", "password": "regpw"},
    "register": {"enabled": true, "expires": 600}}],
 "routes": [
   {"match": {"prefix": "+49"}, "trunk": "probed"},
   {"match": {"regex": "^\\\\+1555[0-9]{4}\$"}, "trunk": "rx"},
   {"match": {"prefix": "7"}, "uri": "sip:127.0.0.7:5060"},
   {"match": {"prefix": "+44"}, "trunk": "lim"},
   {"match": {"prefix": "+33"}, "trunk": "named"},
   {"match": {"from": "trunks", "prefix": "+4930100"}, "group": "sales"},
   {"match": {"from": "trunks", "prefix": "+4930200"}, "group": "support"},
   {"match": {"from": "trunks", "prefix": "+4930300"},
    "uri": "sip:127.0.0.22:5060"}]}
J
}
write_cfg '{}'

sock=$T/rt/mgmt.sock
pcctl() { "$PCCTL_BIN" --socket "$sock" "$@"; }
# pyq EXPR [ARGS...]: pcctl --json ARGS, EXPR evaluated with r = the reply.
pyq() {
	local e=$1
	shift
	pcctl --json "$@" | python3 -c "import json,sys; r=json.load(sys.stdin); sys.exit(0 if ($e) else 1)"
}
# The row of trunk $1's peer $2 in `pcctl trunks` has $3 (a Python test
# on p, the row).
peer_is() { pyq "any(p['name'] == '$1' and p['peer'].startswith('$2') and ($3) for p in r['result'])" trunks; }
stat() { pcctl --json stats | python3 -c "import json,sys; r=json.load(sys.stdin)['result']; print(r['core']['$1'])"; }

# sp NAME ARGS...: one sipp run in the namespace, bounded in time.
sp() {
	local name=$1
	shift
	in_ns pbx timeout 40 sipp -nostdin -timeout 35 -timeout_error \
		-trace_err -trace_msg -message_file "$T/$name.msg" \
		-error_file "$T/$name.err" "$@" >"$T/$name.out" 2>&1
	local rc=$?
	[ "$rc" = 0 ] || { tail -5 "$T/$name.err" 2>/dev/null; tail -3 "$T/$name.out"; }
	return $rc
}
# spbg NAME ARGS...: the same in the background; SPBG_PID.
spbg() {
	sp "$@" &
	SPBG_PID=$!
	IT_PIDS+=("$SPBG_PID")
}
# spd NAME ARGS...: a long-running sipp (no time limit) in the background;
# SPD_PID is sipp's own pid, so stop() ends it.
spd() {
	local name=$1
	shift
	ip netns exec "$(ns pbx)" sipp -nostdin -trace_msg -message_file \
		"$T/$name.msg" "$@" >"$T/$name.out" 2>&1 &
	SPD_PID=$!
	IT_PIDS+=("$SPD_PID")
}
bound() { in_ns pbx ss -lun | grep -q "$1:$2 "; }
# A UDP sink on $1:5060 that writes the first line of each datagram to
# $2 and answers nothing (a carrier that stopped answering).
sink() {
	ip netns exec "$(ns pbx)" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5060))
with open(sys.argv[2], "a") as f:
    while True:
        d = s.recv(65535)
        f.write(d.split(b"\r\n", 1)[0].decode("latin-1") + "\n")
        f.flush()
' "$1" "$2" &
	SINK_PID=$!
	IT_PIDS+=("$SINK_PID")
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; return 0; }

# The named trunk's carrier registrar on both addresses of its name.
sink 127.0.0.13 "$T/sink13.log"
SINK13=$SINK_PID
spbg named_reg -m 1 -sf "$X/carrier_reg_cseq.xml" -i 127.0.0.12 -p 5060
NREG_PID=$SPBG_PID
wait_until 5 bound 127.0.0.12 5060
bg pbx portcullisd "$PD" -f -c "$T/pc.json"
tap "portcullisd runs core, edge and relay" wait_until 30 pyq 'r["ok"]' status

for code in 404 486 503; do
	sed "s/\"CODE\"/\"$code\"/" "$X/user_uac_fail.xml" >"$T/user_uac_$code.xml"
done

# ---- users ------------------------------------------------------------
for u in bob:5090 carol:5091; do
	tap "${u%:*} registers with us" wait_until 15 \
		sp "reg_${u%:*}" -m 1 -sf "$X/user_reg.xml" "$IP:5060" -i $IP \
		-p "${u#*:}" -s "${u%:*}" -au "${u%:*}" -ap "${u%:*}pw"
done

# ---- OPTIONS probing --------------------------------------------------
# 127.0.0.5 (weight 100, first choice) answers its probes, then stops;
# 127.0.0.6 answers throughout.
spd probed_b -m 100000 -sf "$X/carrier_uas_probed.xml" -i 127.0.0.6 -p 5060
PB=$SPD_PID
spd probed_a1 -m 100000 -sf "$X/carrier_options.xml" -i 127.0.0.5 -p 5060
PA=$SPD_PID
tap "a peer that answers its OPTIONS is up" wait_until 10 sh -c \
	"grep -q '^OPTIONS ' '$T/probed_a1.msg' && grep -q '^SIP/2.0 200' '$T/probed_a1.msg' &&
	$(declare -f pcctl pyq peer_is); PCCTL_BIN='$PCCTL_BIN' sock='$sock'
	peer_is probed 127.0.0.5 \"p['state'] == 'up' and p['probes_failed'] == 0\""
stop "$PA"
wait_until 5 sh -c "! ip netns exec $(ns pbx) ss -lun | grep -q '127.0.0.5:5060 '"
sink 127.0.0.5 "$T/sink5.log"
SINK5=$SINK_PID
tap "when it stops answering it goes down in pcctl trunks" \
	wait_until 20 peer_is probed 127.0.0.5 "p['state'] == 'down' and p['probes_failed'] >= 1"
tap "the answering peer stays up" peer_is probed 127.0.0.6 "p['state'] == 'up'"
skip_down() {
	local fo
	fo=$(stat trunk_failovers)
	sp alice_probed -m 1 -sf "$X/user_uac.xml" "$IP:5060" -i $IP -p 5070 \
		-s +4930123 -au alice -ap alicepw || return 1
	grep -q "INVITE sip:+4930123@127.0.0.6" "$T/probed_b.msg" || { echo "no INVITE at .6"; return 1; }
	! grep -q INVITE "$T/sink5.log" || { echo "the down peer got the INVITE"; return 1; }
	[ "$(stat trunk_failovers)" = "$fo" ] || { echo "failed over"; return 1; }
}
tap "a call skips the down peer (straight to the one that is up)" skip_down
stop "$SINK5"
wait_until 5 sh -c "! ip netns exec $(ns pbx) ss -lun | grep -q '127.0.0.5:5060 '"
spd probed_a2 -m 100000 -sf "$X/carrier_options.xml" -i 127.0.0.5 -p 5060
PA=$SPD_PID
tap "the peer comes back up when it answers again" \
	wait_until 15 peer_is probed 127.0.0.5 "p['state'] == 'up'"
stop "$PA"
stop "$PB"

# ---- ring groups ------------------------------------------------------
sed 's|<pause milliseconds="0"/>|<pause milliseconds="1000"/>|' \
	"$X/user_uas.xml" >"$T/user_uas_1s.xml"
parallel() {
	spbg bob_par -m 1 -sf "$T/user_uas_1s.xml" -i $IP -p 5090
	local bob=$SPBG_PID
	spbg carol_par -m 1 -sf "$X/user_uas_cancel.xml" -i $IP -p 5091 -s carol
	local carol=$SPBG_PID
	wait_until 5 bound $IP 5090 && wait_until 5 bound $IP 5091 || return 1
	sp carrier_par -m 1 -sf "$X/carrier_uac.xml" "$IP:5060" -i 127.0.0.2 \
		-p 5060 -s +4930100 || return 1
	wait "$bob" && wait "$carol" || return 1
	grep -q "^CANCEL sip:carol" "$T/carol_par.msg"
}
tap "parallel group: both ring, bob answers, carol gets CANCEL" parallel
serial() {
	spbg carol_ser -m 1 -sf "$X/user_uas_cancel.xml" -i $IP -p 5091 -s carol
	local carol=$SPBG_PID
	spbg bob_ser -m 1 -sf "$X/user_uas.xml" -i $IP -p 5090
	local bob=$SPBG_PID
	wait_until 5 bound $IP 5090 && wait_until 5 bound $IP 5091 || return 1
	sp carrier_ser -m 1 -sf "$X/carrier_uac.xml" "$IP:5060" -i 127.0.0.2 \
		-p 5060 -s +4930200 || return 1
	wait "$carol" && wait "$bob" || return 1
	grep -q "^CANCEL sip:carol" "$T/carol_ser.msg" || return 1
	# carol rang for the group's ring_s (2 s), not sip.no_answer_s (5 s):
	# from her 180 (sent right after the INVITE) to the CANCEL.
	local rang
	rang=$(awk '/^-+ [0-9-]+ [0-9:.]+$/ { split($3, h, ":"); t = h[1] * 3600 + h[2] * 60 + h[3]; next }
		/^INVITE sip:carol/ && !i { i = t } /^CANCEL sip:carol/ && !c { c = t }
		END { printf "%.2f", c - i }' "$T/carol_ser.msg")
	echo "carol rang $rang s"
	awk -v r="$rang" 'BEGIN { exit !(r >= 1.8 && r < 4.5) }'
}
tap "serial group: carol rings for the group's ring_s (CANCEL after 2 s), then bob answers" serial

# ---- regex route, URI route ------------------------------------------
regex_route() {
	spbg rx -m 1 -sf "$X/carrier_uas.xml" -i 127.0.0.8 -p 5060
	local pid=$SPBG_PID
	wait_until 5 bound 127.0.0.8 5060 || return 1
	sp alice_rx -m 1 -sf "$X/user_uac.xml" "$IP:5060" -i $IP -p 5070 \
		-s +15551234 -au alice -ap alicepw || return 1
	wait "$pid" && grep -q "^INVITE sip:+15551234@127.0.0.8" "$T/rx.msg"
}
tap "a regex route sends +15551234 to its trunk" regex_route
tap "a number the regex does not match has no route (404)" \
	sp alice_norx -m 1 -sf "$T/user_uac_404.xml" "$IP:5060" -i $IP -p 5070 \
	-s +155512345 -au alice -ap alicepw
uri_route() {
	spbg far -m 1 -sf "$X/carrier_uas.xml" -i 127.0.0.7 -p 5060
	local pid=$SPBG_PID
	wait_until 5 bound 127.0.0.7 5060 || return 1
	sp alice_uri -m 1 -sf "$X/user_uac.xml" "$IP:5060" -i $IP -p 5070 \
		-s 7001 -au alice -ap alicepw || return 1
	wait "$pid" && grep -q "^INVITE sip:7001@127.0.0.7:5060" "$T/far.msg"
}
tap "a route to a URI sends 7001 to sip:7001@127.0.0.7:5060" uri_route

# ---- peers by host name, registration, reload -------------------------
tap "a host name's addresses are all peers of the trunk" \
	sh -c "$(declare -f pcctl pyq peer_is); PCCTL_BIN='$PCCTL_BIN' sock='$sock'
	peer_is named 127.0.0.12 \"p['host'] == 'sbc-a.carrier.test'\" &&
	peer_is named 127.0.0.13 \"p['host'] == 'sbc-a.carrier.test'\""
tap "a name that does not resolve is a peer that is down" \
	pyq "any(p['name'] == 'named' and p['host'] == 'nowhere.carrier.test' and p['state'] == 'down' and p['peer'] == '(none)' for p in r['result'])" trunks
wait "$NREG_PID"
NREG_RC=$?
[ "$NREG_RC" = 0 ] || tail -5 "$T/named_reg.err" 2>/dev/null
tap "registration through the name: the answer to 401 has the same Call-ID and the next CSeq" \
	test "$NREG_RC" = 0
tap "pcctl trunks: registered, once" \
	pyq "any(p['name'] == 'named' and p['registration'] == 'registered' and p['registrations'] == 1 for p in r['result'])" trunks
named_call() {
	spbg named_uas -m 1 -sf "$X/carrier_uas.xml" -i 127.0.0.12 -p 5060
	local pid=$SPBG_PID
	wait_until 5 bound 127.0.0.12 5060 || return 1
	sp alice_named -m 1 -sf "$X/user_uac.xml" "$IP:5060" -i $IP -p 5070 \
		-s +33123 -au alice -ap alicepw || return 1
	wait "$pid" || return 1
	# The name's first address first: the second got nothing but probes.
	! grep -q INVITE "$T/sink13.log"
}
tap "a call to the trunk goes to the name's first address" named_call
# Anything sent to the registrar's address after this is a REGISTER.
sink 127.0.0.12 "$T/sink12.log"
SINK12=$SINK_PID
wait_until 5 bound 127.0.0.12 5060
# The name now has one address, the other name resolves, the trunk's
# configuration is unchanged: a reload looks the names up again (well
# before dns_refresh_s, 300 s) and does not re-register.
cat >"$NSDIR/hosts" <<H
127.0.0.1 localhost
127.0.0.13 sbc-a.carrier.test
127.0.0.14 nowhere.carrier.test
127.0.0.15 refresh.carrier.test
H
write_cfg '{"max_total": 50}'
tap "pcctl config reload" pyq 'r["ok"]' config reload
peers_of() { # TRUNK PEER...: the trunk's peers are exactly these
	local t=$1
	shift
	pyq "sorted(p['peer'] for p in r['result'] if p['name'] == '$t') == sorted('$*'.split())" trunks
}
tap "a reload resolves the names again" wait_until 5 peers_of named 127.0.0.13:5060 127.0.0.14:5060
no_rereg() {
	# A changed call limit, the trunks unchanged: no new REGISTER.
	! wait_until 3 grep -q REGISTER "$T/sink12.log" || { echo "re-registered"; return 1; }
	pyq "any(p['name'] == 'named' and p['registration'] == 'registered' and p['registrations'] == 1 for p in r['result'])" trunks
}
tap "a reload that leaves the trunk alone does not re-register it" no_rereg
stop "$SINK12"
stop "$SINK13"
tap "a name resolves at start" peers_of refresh 127.0.0.15:5060
# Rewritten in place: the namespace's /etc/hosts is a bind mount of it.
sed 's/^127.0.0.15 /127.0.0.16 /' "$NSDIR/hosts" >"$T/hosts.new"
cat "$T/hosts.new" >"$NSDIR/hosts"
tap "host names are resolved again every dns_refresh_s (5 s)" \
	wait_until 15 peers_of refresh 127.0.0.16:5060

# ---- a carrier's call rate is not one noisy source's ------------------
# The edge allows 5 INVITEs/s per source (burst 5) and bans after 20
# drops (limits above). Trunk peers and inbound.acl sources are exempt
# (the global cap still holds); any other source at that rate is not.
estat() { pcctl --json stats | python3 -c "import json,sys; print(json.load(sys.stdin)['result']['edge']['$1'])"; }
banned() { pyq "any(b['addr'].split(':')[0] == '$1' for b in r['result'])" bans; }
# invites SRC N RATE: N INVITEs (no route: core answers 404) from SRC:5060.
invites() {
	in_ns pbx python3 - "$@" <<'PY'
import socket, sys, time
src, n, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 5060))
for i in range(n):
    cid = "burst-%s-%d" % (src, i)
    m = ("INVITE sip:+999%d@127.0.0.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK%s\r\n"
         "Max-Forwards: 70\r\nFrom: <sip:c@%s>;tag=%d\r\n"
         "To: <sip:+999%d@127.0.0.1>\r\nCall-ID: %s\r\n"
         "CSeq: 1 INVITE\r\nContact: <sip:c@%s:5060>\r\n"
         "Content-Length: 0\r\n\r\n") % (i, src, cid, src, i, i, cid, src)
    s.sendto(m.encode(), ("127.0.0.1", 5060))
    time.sleep(1 / rate)
PY
}
fast_carrier() {
	local d0
	d0=$(estat drops_ratelimit)
	spbg fast_uas -m 40 -sf "$X/carrier_uas.xml" -i 127.0.0.22 -p 5060
	local pid=$SPBG_PID
	wait_until 5 bound 127.0.0.22 5060 || return 1
	# 40 calls at 20/s: 8 times the per-source INVITE rate.
	sp fast -m 40 -r 20 -sf "$X/carrier_uac.xml" "$IP:5060" -i 127.0.0.21 \
		-p 5060 -s +4930300 || return 1
	wait "$pid" || return 1
	local ok
	ok=$(grep -c "^SIP/2.0 200" "$T/fast_uas.msg")
	echo "# carrier at 20 calls/s: $ok answers sent, rate drops +$(($(estat drops_ratelimit) - d0))"
	[ "$(estat drops_ratelimit)" = "$d0" ] || { echo "rate-limited"; return 1; }
}
tap "a trunk peer's 40 calls at 20/s are all answered, none rate-limited" fast_carrier
not_banned() { ! banned "$1"; }
tap "the trunk peer is not banned" not_banned 127.0.0.21
# exempt ADDR: 40 INVITEs at 20/s from ADDR, none rate-limited or banned.
exempt() {
	local d0
	d0=$(estat drops_ratelimit)
	invites "$1" 40 20 || return 1
	[ "$(estat drops_ratelimit)" = "$d0" ] || { echo "rate-limited"; return 1; }
	not_banned "$1"
}
tap "a source in a trunk's inbound.acl: 40 INVITEs at 20/s, none limited" exempt 127.0.0.25
tap "a peer by host name (core told the edge its address): none limited" exempt 127.0.0.16
other_source() {
	local d0 n
	d0=$(estat drops_ratelimit)
	invites 127.0.0.30 40 20 || return 1
	n=$(($(estat drops_ratelimit) - d0))
	echo "# other source at 20 INVITEs/s: $n of 40 rate-limited"
	[ "$n" -ge 20 ]
}
tap "any other source at the same rate is limited" other_source
tap "... and banned by the flood detector" wait_until 5 banned 127.0.0.30
# A new edge (kill -9, restarted by portcullisd) learns the peers core
# resolved at once when it connects: sbc-a.carrier.test (127.0.0.13) is
# looked up again only after dns_refresh_s, 300 s.
edge_pid() {
	pcctl --json status | python3 -c '
import json, sys
for p in json.load(sys.stdin)["result"]["processes"]:
    if p["name"] == "edge" and p["state"] == "running":
        print(p["pid"])'
}
edge_moved() { local p; p=$(edge_pid); [ -n "$p" ] && [ "$p" != "$1" ]; }
new_edge() {
	local old
	old=$(edge_pid)
	[ -n "$old" ] || return 1
	kill -9 "$old"
	wait_until 20 edge_moved "$old" && wait_until 10 pyq 'r["ok"]' status
}
tap "kill -9 of the edge: portcullisd starts a new one" new_edge
tap "the new edge exempts a peer by host name at once (no lookup since)" exempt 127.0.0.13

# ---- call admission -------------------------------------------------
sed 's|<pause milliseconds="0"/>|<pause milliseconds="4000"/>|' \
	"$X/carrier_uas.xml" >"$T/carrier_uas_slow.xml"
# hold NAME: alice's call to trunk lim ringing 4 s at its carrier;
# HOLD_UAS, HOLD_UAC.
hold() {
	spbg "$1_uas" -m 1 -sf "$T/carrier_uas_slow.xml" -i 127.0.0.9 -p 5060
	HOLD_UAS=$SPBG_PID
	wait_until 5 bound 127.0.0.9 5060 || return 1
	spbg "$1_uac" -m 1 -sf "$X/user_uac.xml" "$IP:5060" -i $IP -p 5070 \
		-s +4411 -au alice -ap alicepw
	HOLD_UAC=$SPBG_PID
	wait_until 5 grep -q "180 Ringing" "$T/$1_uac.msg"
}
limits_user_trunk() {
	local ru rt
	ru=$(stat calls_rejected_user)
	rt=$(stat calls_rejected_trunk)
	hold hold1 || return 1
	# alice (max_calls 1) already has a call: 486.
	sp alice_486 -m 1 -sf "$T/user_uac_486.xml" "$IP:5060" -i $IP -p 5071 \
		-s +4412 -au alice -ap alicepw || return 1
	# The trunk's only slot is taken (calls both ways): 503.
	sp lim_503 -m 1 -sf "$X/carrier_uac_503.xml" "$IP:5060" -i 127.0.0.9 \
		-p 5061 -s +4930100 || return 1
	wait "$HOLD_UAC" && wait "$HOLD_UAS" || return 1
	[ "$(stat calls_rejected_user)" = $((ru + 1)) ] || { echo "user counter"; return 1; }
	[ "$(stat calls_rejected_trunk)" = $((rt + 1)) ] || { echo "trunk counter"; return 1; }
	pyq "any(p['name'] == 'lim' and p['rejected'] == 1 for p in r['result'])" trunks
}
tap "per-user limit 486 and trunk max_calls 503, counters rise" limits_user_trunk
cps() {
	local rt
	rt=$(stat calls_rejected_trunk)
	# Four calls within 0.2 s, one admitted per second: 2 or 3 refused.
	sp cps -m 4 -r 20 -rp 1000 -sf "$X/carrier_uac_limit.xml" "$IP:5060" \
		-i 127.0.0.11 -p 5060 -s +4930999 || return 1
	local n=$(($(stat calls_rejected_trunk) - rt))
	[ "$n" -ge 2 ] && [ "$n" -le 3 ] || { echo "$n refused"; return 1; }
	pyq "any(p['name'] == 'cpsin' and p['rejected'] == $n for p in r['result'])" trunks
}
tap "trunk max_cps: calls beyond one per second get 503, counted" cps
write_cfg '{"max_total": 1}'
tap "pcctl config reload (total limit 1)" pyq 'r["ok"]' config reload
total() {
	local r0
	r0=$(stat calls_rejected_total)
	hold hold2 || return 1
	# max_total 1 (the reload): any second call, here the carrier's.
	sp total_503 -m 1 -sf "$X/carrier_uac_503.xml" "$IP:5060" -i 127.0.0.2 \
		-p 5060 -s +4930100 || return 1
	wait "$HOLD_UAC" && wait "$HOLD_UAS" || return 1
	[ "$(stat calls_rejected_total)" = $((r0 + 1)) ]
}
tap "total limit (set by the reload): 503, counted" total
tap "the second reload did not re-register either" \
	pyq "any(p['name'] == 'named' and p['registrations'] == 1 for p in r['result'])" trunks
cdrs() {
	pcctl --json cdr --limit 200 >"$T/cdr.json" || return 1
	python3 - "$T/cdr.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["result"]
def n(**kw):
    return sum(1 for c in rows if all(c.get(k) == v for k, v in kw.items()))
want = [
    (n(status=486, reason="limit user", callee="+4412"), 1),
    (n(status=503, reason="limit trunk", trunk="lim"), 1),
    (n(status=503, reason="limit total", trunk="inbound"), 1),
    (n(status=200, trunk="lim", direction="outbound"), 2),
    (n(status=200, trunk="named", callee="+33123"), 1),
    (n(status=200, direction="internal", callee="7001"), 1),
    (n(status=404, callee="+155512345"), 1),
    (n(status=200, trunk="rx", callee="+15551234"), 1),
    (n(status=200, direction="inbound", callee="+4930200"), 1),
]
cps = n(status=503, reason="limit trunk", trunk="cpsin")
bad = [w for w in want if w[0] != w[1]]
if bad or cps < 2:
    print("mismatch:", bad, "cps", cps)
    for c in rows:
        print(c)
    sys.exit(1)
PY
}
tap "pcctl cdr: a CDR for each refused and each answered attempt" wait_until 5 cdrs

it_end
