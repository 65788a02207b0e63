# The acceptance network (sourced by tests/integration/test_acceptance_*.sh
# after lib.sh and it_begin). A whole appliance, portcullisd with its three
# children, in the "sbc" namespace, and the outside world around it:
#
#   alice 192.168.57.2 -- alice-nat (masquerade) --+
#   bob   192.168.58.2 -- bob-nat   (masquerade) --+-- br0 in "wan" -- sbc 10.57.0.1
#   carol 10.57.0.20, trunk 10.57.0.30,            |   (public segment)   |
#   attacker 10.57.0.66 ---------------------------+            inside 172.16.57.1
#                                                                      |
#                                                      "inside" 172.16.57.2 (a PBX side)
#
# net_up builds it; net_start_appliance writes the config and starts
# portcullisd; helpers run sipp, tcpdump, pcctl and nft in the right place.
# Everything is removed by lib.sh's cleanup (namespaces, processes).

ACC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ACC_SIPP=$ACC_DIR/sipp
PD=$IT_BUILD/mgmt/portcullisd
PCCTL_BIN=$IT_BUILD/mgmt/pcctl
RTPSEND=$IT_BUILD/tests/tools/rtpsend
SIPUA=$ACC_DIR/sipua.py

WAN=10.57.0
SBC=$WAN.1
SBC_IN=172.16.57.1
INSIDE=172.16.57.2
ALICE=192.168.57.2
BOB=192.168.58.2
ALICE_PUB=$WAN.11
BOB_PUB=$WAN.12
CAROL=$WAN.20
TRUNK=$WAN.30
ATTACKER=$WAN.66
DOMAIN=example.test
PW_alice=alice-Secret-1
PW_bob=bob-Secret-2
PW_carol=carol-Secret-3

acc_need() {
	local f
	for f in "$PD" "$PCCTL_BIN" "$RTPSEND" "$IT_BUILD/sbc/portcullis-edge" \
		"$IT_BUILD/core/portcullis-core" "$IT_BUILD/relay/portcullis-relay"; do
		[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
	done
	for f in sipp tcpdump tshark strings nft python3; do
		command -v "$f" >/dev/null || { echo "Bail out! $f not installed"; exit 1; }
	done
}

# wan_port NS ADDR/LEN: a veth from NS to the public bridge.
WAN_N=0
wan_port() {
	local n=$1 a=$2 w
	WAN_N=$((WAN_N + 1))
	w="w${WAN_N}${n:0:6}"
	ip link add "$w" netns "$(ns wan)" type veth peer name pub0 netns "$(ns "$n")"
	ip -n "$(ns wan)" link set "$w" master br0 up
	ip -n "$(ns "$n")" addr add "$a" dev pub0
	ip -n "$(ns "$n")" link set pub0 up
}

# behind_nat NAME PUBADDR LANPREFIX: NAME-nat router on the wan, NAME behind it.
behind_nat() {
	local n=$1 pub=$2 lan=$3
	ns_add "$n-nat"
	ns_add "$n"
	wan_port "$n-nat" "$pub/24"
	ns_link "$n" "$lan.2/24" "$n-nat" "$lan.1/24"
	ns_route "$n" "$lan.1"
	ns_forwarding "$n-nat"
	ns_masquerade "$n-nat" pub0
	# A home router's UDP mapping lifetime (the kernel's 30 s would make
	# the phones' registrations expire between tests).
	in_ns "$n-nat" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=180 2>/dev/null
}

net_up() {
	ns_add wan
	ip -n "$(ns wan)" link add br0 type bridge
	ip -n "$(ns wan)" link set br0 up
	ns_add sbc
	wan_port sbc "$SBC/24"
	ns_add inside
	ns_link sbc "$SBC_IN/24" inside "$INSIDE/24"
	behind_nat alice "$ALICE_PUB" 192.168.57
	behind_nat bob "$BOB_PUB" 192.168.58
	for n in carol:$CAROL trunk:$TRUNK attacker:$ATTACKER; do
		ns_add "${n%%:*}"
		wan_port "${n%%:*}" "${n##*:}/24"
	done
}

# The appliance's configuration: short timers so that the suite is quick.
# acc_config FILE [EXTRA_JSON_MEMBERS]
acc_config() {
	cat >"$1" <<J
{
  "domains": ["$DOMAIN"],
  "listen": [
    {"transport": "udp", "address": "$SBC", "port": 5060},
    {"transport": "tcp", "address": "$SBC", "port": 5060},
    {"transport": "udp", "address": "$SBC_IN", "port": 5060, "role": "trunk",
     "trunk": "pbx", "acl_allow": ["172.16.57.0/24"]}
  ],
  "runtime_dir": "$IT_TMP/run", "state_dir": "$IT_TMP/state",
  "log_level": "info",
  "media": {"address": "$SBC", "ports": [32000, 32999], "kernel": "on",
            "timeout_s": 3, "hold_timeout_s": 20, "latch_wait_ms": 500},
  "capture": {"dir": "$IT_TMP/cap"},
  "sip": {"t1_ms": 100, "t2_ms": 400, "t4_ms": 500},
  "registrar": {"min_expires": 10, "default_expires": 300},
  "auth": {"realm": "$DOMAIN", "algorithms": ["MD5", "SHA-256"],
           "nonce_ttl_s": 60},
  "users": [{"user": "alice", "domain": "$DOMAIN", "password": "$PW_alice"},
            {"user": "bob", "domain": "$DOMAIN", "password": "$PW_bob"},
            {"user": "carol", "domain": "$DOMAIN", "password": "$PW_carol"}],
  "limits": {"invite_rate": 20, "invite_burst": 40,
             "register_rate": 20, "register_burst": 40,
             "other_rate": 50, "other_burst": 100,
             "flood_drops": 50, "flood_window_s": 5,
             "auth_fail_max": 6, "auth_fail_window_s": 30,
             "ban_timeout_s": 120, "trusted_multiplier": 10,
             "max_message_size": 4096},
  "topology": {"hide": true, "hide_call_id": true},
  "supervisor": {"restart_backoff_ms": 100}${2:+,
  $2}
}
J
}

pcctl() { in_ns sbc "$PCCTL_BIN" --socket "$IT_TMP/run/mgmt.sock" "$@"; }
# pq PYEXPR: evaluates PYEXPR with r = the "result" of `pcctl --json ARGS`
# read from stdin; prints it. Used as: pcctl --json reg list | pq 'len(r)'
pq() {
	python3 -c '
import ast, json, sys
d = json.load(sys.stdin)
if d.get("ok") is not True:
    print(json.dumps(d)); sys.exit(1)
r = d.get("result")
code = ast.parse(sys.argv[1])
last = code.body.pop() if code.body and isinstance(code.body[-1], ast.Expr) else None
exec(compile(code, "pq", "exec"))
v = eval(compile(ast.Expression(last.value), "pq", "eval")) if last else True
if v is False or v is None: sys.exit(1)
print(v)' "$1"
}
status_ok() { pcctl --json status | pq 'True' >/dev/null; }
# child_field NAME FIELD: a field of one process in `pcctl --json status`.
child_field() {
	pcctl --json status | pq "[p.get('$2') for p in r['processes'] if p.get('name') == '$1'][0]"
}

net_start_appliance() {
	# The product's default "user": the children drop to portcullis when
	# that account exists (and run on as root, saying so, when it does
	# not); they must reach runtime_dir and state_dir in our 0700 tmp dir.
	chmod 711 "$IT_TMP"
	mkdir -p "$IT_TMP/run" "$IT_TMP/state" "$IT_TMP/cap"
	ACC_CONF=$IT_TMP/portcullis.json
	acc_config "$ACC_CONF" "${1:-}"
	bg sbc portcullisd sh -c "'$PD' -f -c '$ACC_CONF'; echo \$? >'$IT_TMP/pd.rc'"
	ACC_PD_PID=$IT_LAST_PID
	wait_until 30 status_ok
}

# Observation counters of the test itself (not of the product), in a
# table of our own: what reaches the sbc from a source before the
# product's ban chain (priority -300) and after it, and media forwarded
# by the kernel (FORWARD hook: never seen by a user-space socket).
obs_up() {
	in_ns sbc nft -f - <<NFT
table inet accobs {
	counter att_in {
	}
	counter att_passed {
	}
	counter media_a2b {
	}
	counter media_b2a {
	}
	chain obs_early {
		type filter hook prerouting priority -350; policy accept;
		ip saddr $WAN.64/27 counter name "att_in"
	}
	chain obs_late {
		type filter hook prerouting priority -250; policy accept;
		ip saddr $WAN.64/27 counter name "att_passed"
	}
	chain obs_forward {
		type filter hook forward priority 0; policy accept;
		ip saddr $ALICE_PUB ip daddr $BOB_PUB udp dport != 5060 counter name "media_a2b"
		ip saddr $BOB_PUB ip daddr $ALICE_PUB udp dport != 5060 counter name "media_b2a"
	}
}
NFT
}
# obs NAME: packets of one observation counter.
obs() {
	in_ns sbc nft -j list counter inet accobs "$1" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    if "counter" in o: print(o["counter"]["packets"])'
}
# nft_elems SET|MAP: number of elements of a set/map of the product's table.
nft_elems() {
	local kind=set
	case $1 in *map*) kind=map ;; esac
	in_ns sbc nft -j list $kind inet portcullis "$1" 2>/dev/null | python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    for k in ("set", "map"):
        if k in o: print(len(o[k].get("elem", [])))'
}

# sipp_run NS LOG ARGS...: one sipp run in a namespace, in the foreground.
SIPP_COMMON="-nostdin -timeout 30s -timeout_error -trace_err"
sipp_run() {
	local n=$1 log=$2
	shift 2
	in_ns "$n" timeout 45 sipp $SIPP_COMMON -error_file "$IT_TMP/$log.err" \
		-trace_msg -message_file "$IT_TMP/$log.msg" "$@" >"$IT_TMP/$log.out" 2>&1
}
# sipp_bg NS LOG ARGS...: the same in the background; exit status in LOG.rc.
sipp_bg() {
	local n=$1 log=$2 a
	shift 2
	rm -f "$IT_TMP/$log.rc"
	printf -v a '%q ' "$@"
	bg "$n" "$log" sh -c "timeout 60 sipp $SIPP_COMMON -error_file '$IT_TMP/$log.err' \
		-trace_msg -message_file '$IT_TMP/$log.msg' $a; echo \$? >'$IT_TMP/$log.rc'"
}
sipp_done_ok() { [ "$(cat "$IT_TMP/$1.rc" 2>/dev/null)" = 0 ]; }
# udp_listening NS PORT
udp_listening() { [ -n "$(in_ns "$1" ss -lun "sport = :$2" | tail -n +2)" ]; }

# ua_register NS USER IP PORT [PASSWORD]: REGISTER with MD5 digest (sipp).
ua_register() {
	local pw=${5:-}
	[ -n "$pw" ] || eval "pw=\$PW_$2"
	sipp_run "$1" "reg-$2-$4" -sf "$ACC_SIPP/reg.xml" -i "$3" -p "$4" -t u1 \
		-s "$2" -au "$2" -ap "$pw" -m 1 "$SBC:5060"
}

# Captures of what a party receives (all interfaces of its namespace).
cap_start() {
	bg "$1" "cap-$1" tcpdump -i any -U -n -s 0 -w "$IT_TMP/$1.pcap" udp or tcp or icmp
	eval "CAP_PID_$1=$IT_LAST_PID"
	wait_until 5 test -s "$IT_TMP/$1.pcap"
}
cap_stop() {
	local p i=0
	eval "p=\$CAP_PID_$1"
	kill -INT "$p" 2>/dev/null
	while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
		i=$((i + 1))
		sleep 0.1
	done
}

# Waits for a background pid to end (bounded).
wait_pid() {
	local i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt "${2:-300}" ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# uas_start NS USER IP PORT LPORT LOG RTPN RTPT [SCENARIO]: a phone that
# answers one call (acceptance/sipp/uas.xml) with RTP from LPORT; in the
# background; stats of its RTP in $IT_TMP/LOG.rtp.
uas_start() {
	rm -f "$IT_TMP/$6.rtp"
	sipp_bg "$1" "$6" -sf "$ACC_SIPP/${9:-uas.xml}" -i "$3" -p "$4" -t u1 -s "$2" \
		-key lport "$5" -key rtpn "$7" -key rtpt "$8" -key rtpsend "$ACC_DIR/rtpwrap.sh $RTPSEND" \
		-key stats "$IT_TMP/$6.rtp" -m 1
	wait_until 5 udp_listening "$1" "$4"
}
# uac_start NS USER IP PORT LPORT CALLEE LOG RTPN RTPT HOLD_MS [SCENARIO]:
# a phone that calls CALLEE (acceptance/sipp/uac.xml, digest as USER), RTP
# from LPORT for HOLD_MS, then BYE; in the background.
uac_start() {
	local pw
	eval "pw=\$PW_$2"
	rm -f "$IT_TMP/$7.rtp"
	printf 'SEQUENTIAL\n%s;\n' "$6" >"$IT_TMP/$7.csv"
	sipp_bg "$1" "$7" -sf "$ACC_SIPP/${11:-uac.xml}" -i "$3" -p "$4" -t u1 -s "$2" \
		-au "$2" -ap "$pw" -inf "$IT_TMP/$7.csv" -d "${10}" \
		-key lport "$5" -key rtpn "$8" -key rtpt "$9" -key rtpsend "$ACC_DIR/rtpwrap.sh $RTPSEND" \
		-key stats "$IT_TMP/$7.rtp" -m 1 "$SBC:5060"
}
# rtp_stat LOG KEY: a counter of rtpsend's stats file (sent, received, unique).
rtp_stat() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$IT_TMP/$1.rtp" 2>/dev/null; }
# media_field CALLNUM KEY: a field of the first media row (pcctl --json media list).
media_rows() { pcctl --json media list | pq "$1"; }
# rtp_got LOG N: the phone of LOG received at least N distinct RTP packets.
rtp_got() {
	local n
	n=$(rtp_stat "$1" unique)
	echo "unique=$n"
	[ "${n:-0}" -ge "$2" ]
}
