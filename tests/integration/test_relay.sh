#!/usr/bin/env bash
# portcullis-relay in network namespaces: two UAs (a, b) on either side of
# a relay namespace (r), plus a stranger (x). Real RTP packets (rtpsend)
# both ways; the relay is driven over relay.sock and ctl with relayctl.
# Proves: kernel forwarding after latching (relay's sockets see nothing
# more while the kernel's counters rise), strangers are not forwarded,
# re-target loses no packet, delete stops forwarding at once, kill -9 keeps
# media flowing and the restarted relay lists the stream, media timeout,
# bans, capture, and the user-space fallback.
. "$(dirname "$0")/lib.sh"
it_begin

B=$IT_BUILD
RELAYCTL=$B/tests/tools/relayctl
RTP=$B/tests/tools/rtpsend
RELAY=$B/relay/portcullis-relay
T=$IT_TMP
for f in "$RELAYCTL" "$RTP" "$RELAY"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done

ns_add a
ns_add r
ns_add b
ns_add x
ns_link a 10.81.1.2/24 r 10.81.1.1/24
IF_A=$IT_LAST_IFA
IF_RA=$IT_LAST_IFB
ns_link b 10.81.2.2/24 r 10.81.2.1/24
IF_B=$IT_LAST_IFA
IF_RB=$IT_LAST_IFB
ns_link x 10.81.3.2/24 r 10.81.3.1/24
ns_route a 10.81.1.1
ns_route b 10.81.2.1
ns_route x 10.81.3.1
ns_forwarding r
# A second address for b (the re-target moves b there).
in_ns b ip addr add 10.81.2.3/24 dev "$IF_B"

conf() { # conf FILE KERNEL PORT_LO PORT_HI RUNDIR
	cat >"$1" <<J
{"runtime_dir": "$5", "state_dir": "$5/state",
 "listen": [{"transport": "udp", "address": "10.81.1.1", "port": 5060}],
 "media": {"address": "10.81.1.1", "ports": [$3, $4], "kernel": "$2",
           "timeout_s": 2, "latch_wait_ms": 0},
 "capture": {"dir": "$5/cap"}}
J
}

mkdir -p "$T/k" "$T/u"
# The relay drops to the configured user (default portcullis) when it
# exists, handing its own directories over first; the test's temporary
# directory must let it through.
chmod 711 "$T"
conf "$T/k.json" auto 30000 30099 "$T/k"
SOCK=$T/k/relay.sock
CTL=$T/k/ctl.sock
# This relay reads its kernel counters with one filtered conntrack dump
# per tick (the IPv6 one below by a lookup per component, the default
# below 4,096 components): the counter, timeout and restart checks cover it.
bg r relay env PC_RELAY_CT_DUMP_MIN=0 "$RELAYCTL" supervise "$CTL" -- "$RELAY" -c "$T/k.json"
SUP_PID=$IT_LAST_PID

rc() { in_ns r "$RELAYCTL" -s "$SOCK" "$@"; }
ctl() { in_ns r "$RELAYCTL" ctl "$CTL" "$@"; }
# field CALL KEY: a value from media.list.
field() {
	ctl media.list | grep "call_id=$1 " | head -1 | tr ' ' '\n' |
		sed -n "s/^$2=//p"
}
st() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1" 2>/dev/null; }
# ua NAME NS LOCAL DEST COUNT SECONDS [SSRC]
ua() {
	bg "$2" "$1" "$RTP" -l "$3" -d "$4" -n "$5" -r 100 -t "$6" \
		-s "${7:-0x1234}" -w 0.3 -f "$T/$1.stats"
	eval "PID_$1=$IT_LAST_PID"
}
wait_pid() { local i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; }
ge() { [ "${1:-0}" -ge "$2" ]; }
eq() { [ "${1:-x}" = "$2" ]; }

ready() { ctl status | grep -q 'kernel='; }
tap "relay starts and answers status" wait_until 10 ready
tap "status says kernel" eq "$(ctl status | tr ' ' '\n' | sed -n 's/^kernel=//p')" 1
if id -u portcullis >/dev/null 2>&1; then
	tap "relay.sock belongs to the service account" sh -c "[ \"\$(stat -c %U '$SOCK')\" = portcullis ]"
fi

# --- call 1: both parties behind NAT, latched from their packets ---
PA=$(rc offer c1 ta - 10.81.1.2:4000 nat | sed -n 's/.*port=//p')
PB=$(rc answer c1 tb ta 10.81.2.2:6000 nat | sed -n 's/.*port=//p')
# PA is the port given to b (offer reply), PB the one given to a.
tap "offer and answer allocate even ports" sh -c "[ \$(( $PA % 2 )) = 0 ] && [ \$(( $PB % 2 )) = 0 ] && [ $PA != $PB ]"
ua ua_a a 10.81.1.2:4000 "10.81.1.1:$PB" 300 5 0xaaaa
ua ua_b b 10.81.2.2:6000 "10.81.1.1:$PA" 300 5 0xbbbb
kernel_on() { eq "$(field c1 kernel)" 1; }
tap "stream goes to the kernel after latching" wait_until 5 kernel_on
sleep 1
U1=$(field c1 user_packets)
K1=$(field c1 kernel_packets)
sleep 1.5
U2=$(field c1 user_packets)
K2=$(field c1 kernel_packets)
tap "relay's sockets receive nothing more after latching ($U1 -> $U2)" eq "$U2" "$U1"
tap "latching took a few packets in user space ($U1)" sh -c "[ $U1 -ge 2 ] && [ $U1 -le 20 ]"
tap "kernel counters rise ($K1 -> $K2)" sh -c "[ ${K2:-0} -gt ${K1:-0} ]"
wait_pid "$PID_ua_a"
wait_pid "$PID_ua_b"
tap "a -> b: every RTP packet arrived" eq "$(st "$T/ua_b.stats" unique)" 300
tap "b -> a: every RTP packet arrived" eq "$(st "$T/ua_a.stats" unique)" 300
# c1 is silent now: relay tells its peers (timeout_s 2).
tap "MEDIA_TIMEOUT after the media stopped" sh -c "ip netns exec $(ns r) '$RELAYCTL' -s '$SOCK' wait-timeout 6 | grep -q 'call_id=c1'"

# --- a stranger sends to a's relay port: nothing reaches b ---
ua sink_b b 10.81.2.2:6000 10.81.1.1:1 0 4
# A prober (RTP-bleed): valid RTP, but not the SSRC a latched with.
ua stranger x 10.81.3.2:4000 "10.81.1.1:$PB" 100 2 0x5555
wait_pid "$PID_stranger"
tap "stranger sent its packets" eq "$(st "$T/stranger.stats" sent)" 100
wait_pid "$PID_sink_b"
tap "stranger's packets are not forwarded" eq "$(st "$T/sink_b.stats" received)" 0
tap "relay counted them as strangers ($(field c1 strangers))" ge "$(field c1 strangers)" 100


# --- bans: a banned source is dropped before forwarding ---
# stat KEY: a counter of the relay's "stats" row.
stat() { ctl stats | tr ' ' '\n' | sed -n "s/^$1=//p"; }
K0=$(stat banned_drops_kernel_packets)
B0=$(stat banned_drops_kernel_bytes)
tap "stats has the kernel ban drop counters ($K0 packets, $B0 bytes)" \
	sh -c "[ -n '$K0' ] && [ -n '$B0' ]"
tap "ban a's address" rc ban 10.81.1.2 60
tap "bans.list shows it" sh -c "ip netns exec $(ns r) '$RELAYCTL' ctl '$CTL' bans.list | grep -q 'addr=10.81.1.2'"
ua sink_b2 b 10.81.2.2:6000 10.81.1.1:1 0 3
ua ua_a2 a 10.81.1.2:4000 "10.81.1.1:$PB" 100 2 0xaaaa
wait_pid "$PID_ua_a2"
wait_pid "$PID_sink_b2"
tap "banned source's media is dropped" eq "$(st "$T/sink_b2.stats" received)" 0
K1=$(stat banned_drops_kernel_packets)
B1=$(stat banned_drops_kernel_bytes)
tap "the kernel counted the banned packets ($K0 -> $K1 packets)" ge "${K1:-0}" $((${K0:-0} + 100))
tap "... and their bytes ($B0 -> $B1)" ge "${B1:-0}" $((${B0:-0} + 100 * 28))
tap "unban" rc unban 10.81.1.2
ua sink_b3 b 10.81.2.2:6000 10.81.1.1:1 0 3
ua ua_a3 a 10.81.1.2:4000 "10.81.1.1:$PB" 100 2 0xaaaa
wait_pid "$PID_sink_b3"
tap "media flows again after unban" eq "$(st "$T/sink_b3.stats" unique)" 100

# --- a's NAT rebinds: same SSRC from a new port; relay re-latches ---
ua sink_b6 b 10.81.2.2:6000 10.81.1.1:1 0 4
ua ua_a6r a 10.81.1.2:4001 "10.81.1.1:$PB" 200 3 0xaaaa
wait_pid "$PID_sink_b6"
tap "media flows on after a NAT rebinding ($(st "$T/sink_b6.stats" unique)/200)" eq "$(st "$T/sink_b6.stats" unique)" 200
tap "re-latched to the new source" sh -c "ip netns exec $(ns r) '$RELAYCTL' ctl '$CTL' media.list | grep 'call_id=c1 ' | grep -q 'peers=10.81.1.2:4001'"
tap "and forwarded in the kernel again" eq "$(field c1 kernel)" 1

# --- capture of the call's media, both sides of the NAT ---
tap "capture.start for c1" ctl capture.start call_id=c1 path=c1.pcap max_seconds:=10
ua sink_b4 b 10.81.2.2:6000 10.81.1.1:1 0 2
ua ua_a4 a 10.81.1.2:4001 "10.81.1.1:$PB" 50 1 0xaaaa
wait_pid "$PID_sink_b4"
tap "capture.stop" ctl capture.stop path=c1.pcap
tap "pcap holds a's packets to the relay" sh -c "tcpdump -nr '$T/k/cap/c1.pcap' 2>/dev/null | grep -q '10.81.1.2.4001 > 10.81.1.1.$PB'"
tap "pcap holds the relay's packets to b" sh -c "tcpdump -nr '$T/k/cap/c1.pcap' 2>/dev/null | grep -q '10.81.1.1.$PA > 10.81.2.2.6000'"

# --- capture of the SIP ports (no call named) ---
tap "capture.start for the SIP ports" ctl capture.start path=sip.pcap max_seconds:=10
ua sipper a 10.81.1.2:5999 10.81.1.1:5060 5 1 0x1
wait_pid "$PID_sipper"
tap "capture.stop (SIP)" ctl capture.stop path=sip.pcap
tap "pcap holds what reached port 5060" sh -c "tcpdump -nr '$T/k/cap/sip.pcap' 2>/dev/null | grep -q '10.81.1.2.5999 > 10.81.1.1.5060'"
tap "and no media" sh -c "! tcpdump -nr '$T/k/cap/sip.pcap' 2>/dev/null | grep -q '4001'"

# --- delete stops forwarding at once ---
ua ua_a5 a 10.81.1.2:4001 "10.81.1.1:$PB" 400 4 0xaaaa
ua sink_b5 b 10.81.2.2:6000 10.81.1.1:1 0 5
flowing() { ge "$(st "$T/sink_b5.stats" received)" 50; }
tap "media flows before delete" wait_until 5 flowing
tap "delete" rc delete c1
sleep 0.3
N1=$(st "$T/sink_b5.stats" received)
sleep 1
N2=$(st "$T/sink_b5.stats" received)
tap "nothing forwarded after delete ($N1 -> $N2)" eq "$N2" "$N1"
tap "media.list no longer has c1" sh -c "! ip netns exec $(ns r) '$RELAYCTL' ctl '$CTL' media.list | grep -q 'call_id=c1 '"
tap "query of a deleted call fails" sh -c "! ip netns exec $(ns r) '$RELAYCTL' -s '$SOCK' query c1"
wait_pid "$PID_ua_a5"

# --- call 4: programmed at the answer (no packet reached user space), b
# speaks first: the flow's one conntrack entry has b's tuple as its
# original side; the delete names only a's tuple (found as the entry's
# reply side) and must still stop both directions at once ---
PA=$(rc offer c4 ta - 10.81.1.2:4300 | sed -n 's/.*port=//p')
Q4=$((PA & ~3))
qopen() { in_ns r nft list map inet portcullis pqmap | grep -q "[{ ]$Q4 : accept"; }
# Both legs wait for their parties: one element opens the call's quad.
tap "c4: one quad verdict opens both pairs after the offer" qopen
PB=$(rc answer c4 tb ta 10.81.2.2:6300 | sed -n 's/.*port=//p')
tap "c4: legs at p and p ^ 2 ($PA, $PB)" eq "$((PA ^ 2))" "$PB"
k4() { eq "$(field c4 kernel)" 1; }
tap "c4 in the kernel at the answer" wait_until 5 k4
tap "c4: its quad is closed once in the kernel" sh -c "! ip netns exec $(ns r) nft list map inet portcullis pqmap | grep -q '[{ ]$Q4 : accept'"
bg b ua_b9 "$RTP" -l 10.81.2.2:6300 -d "10.81.1.1:$PA" -n 800 -r 100 -t 9 -s 0xbbbb -w 0.2 -f "$T/ua_b9.stats"
PID_ua_b9=$IT_LAST_PID
bg a ua_a9 "$RTP" -l 10.81.1.2:4300 -d "10.81.1.1:$PB" -n 700 -r 100 -t 9 -s 0xaaaa -w 1.2 -f "$T/ua_a9.stats"
PID_ua_a9=$IT_LAST_PID
both() { ge "$(st "$T/ua_a9.stats" received)" 50 && ge "$(st "$T/ua_b9.stats" received)" 50; }
tap "c4: media flows both ways in the kernel" wait_until 6 both
tap "c4: relay's sockets heard nothing (kernel from the first packet)" eq "$(field c4 user_packets)" 0
tap "delete c4" rc delete c4
sleep 0.3
A1=$(st "$T/ua_a9.stats" received)
B1=$(st "$T/ua_b9.stats" received)
sleep 1
A2=$(st "$T/ua_a9.stats" received)
B2=$(st "$T/ua_b9.stats" received)
tap "c4: nothing forwarded to a after delete ($A1 -> $A2)" eq "$A2" "$A1"
tap "c4: nothing forwarded to b after delete ($B1 -> $B2)" eq "$B2" "$B1"
wait_pid "$PID_ua_a9"
wait_pid "$PID_ua_b9"

# --- call 2: re-target mid-stream (b moves to another address) ---
PA=$(rc offer c2 ta - 10.81.1.2:4100 | sed -n 's/.*port=//p')
PB=$(rc answer c2 tb ta 10.81.2.2:6100 | sed -n 's/.*port=//p')
ua sink_old b 10.81.2.2:6100 10.81.1.1:1 0 8
ua sink_new b 10.81.2.3:6102 10.81.1.1:1 0 8
ua ua_a6 a 10.81.1.2:4100 "10.81.1.1:$PB" 500 7 0xaaaa
half() { ge "$(st "$T/sink_old.stats" received)" 150; }
tap "media reaches b's first address" wait_until 6 half
tap "re-answer with b's new address" rc answer c2 tb ta 10.81.2.3:6102
wait_pid "$PID_ua_a6"
wait_pid "$PID_sink_new"
O=$(st "$T/sink_old.stats" unique)
N=$(st "$T/sink_new.stats" unique)
tap "re-target: new address receives ($N)" ge "$N" 100
tap "re-target loses no packet ($O + $N = 500)" eq "$((O + N))" 500

# --- the relay's own sends make no conntrack entry ---
# b (behind NAT) never speaks, so c5 stays in user space, which forwards
# a's packets to b's SDP address. A tracked send from relay port p to b
# made the entry p -> b, whose reply side b -> p is the tuple the kernel's
# NAT entry of a stream needs: while such an entry lived, a's packets were
# dropped by conntrack (or b's reached user space).
PA=$(rc offer c5 ta - 10.81.1.2:4500 nat | sed -n 's/.*port=//p')
PB=$(rc answer c5 tb ta 10.81.2.2:6500 nat | sed -n 's/.*port=//p')
ua sink_b7 b 10.81.2.2:6500 10.81.1.1:1 0 3
ua ua_a10 a 10.81.1.2:4500 "10.81.1.1:$PB" 50 2 0xaaaa
wait_pid "$PID_ua_a10"
wait_pid "$PID_sink_b7"
tap "c5: user space forwards to b's SDP address ($(st "$T/sink_b7.stats" unique)/50)" eq "$(st "$T/sink_b7.stats" unique)" 50
relay_sent_ct() { in_ns r conntrack -L -p udp 2>/dev/null | grep -E "^udp +17 +[0-9]+ src=10\.81\.1\.1 dst=10\.81\.2\.2 sport=$PA dport=6500 "; }
no_relay_sent_ct() { ! relay_sent_ct; }
tap "c5: the relay's sends made no conntrack entry" no_relay_sent_ct
tap "delete c5" rc delete c5

# --- kill -9 mid-stream: media flows on, the new relay lists the stream ---
# The stream goes to the kernel with a backlog at its sockets, as on a busy
# host: the relay is paused (SIGSTOP) while both parties start. What user
# space forwards after the switch's conntrack deletes would make entries
# from its ports whose reply side is the parties' media: the flow would
# stay in user space while the maps say kernel, and stop with the relay.
PA=$(rc offer c3 ta - 10.81.1.2:4200 nat | sed -n 's/.*port=//p')
PB=$(rc answer c3 tb ta 10.81.2.2:6200 nat | sed -n 's/.*port=//p')
# Evidence for the counts below: what each party sent and received (which
# sequence numbers were lost, and when), drops of the relay's sockets and
# of conntrack in r, and when the pause, the switch and the kill were.
bg a c3cap_a tcpdump -i "$IF_A" -nn -U -w "$T/c3a.pcap" udp port 4200
CAP_A=$IT_LAST_PID
bg b c3cap_b tcpdump -i "$IF_B" -nn -U -w "$T/c3b.pcap" udp port 6200
CAP_B=$IT_LAST_PID
c3cap() { grep -q listening "$T/c3cap_a.log" && grep -q listening "$T/c3cap_b.log"; }
wait_until 5 c3cap
# udp_stat NS FIELD: a counter of the namespace's Udp line in /proc/net/snmp.
udp_stat() {
	in_ns "$1" awk -v f="$2" '$1 == "Udp:" { if (!c) { for (i = 2; i <= NF; i++) if ($i == f) c = i } else { print $c; exit } }' /proc/net/snmp
}
# Packets conntrack dropped in r (a clash of entries, among others).
ct_drops() { in_ns r conntrack -S 2>/dev/null | tr ' ' '\n' | awk -F= '$1 == "drop" || $1 == "insert_failed" { s += $2 } END { print s + 0 }'; }
RBUF0=$(udp_stat r RcvbufErrors)
RBUF0_A=$(udp_stat a RcvbufErrors)
RBUF0_B=$(udp_stat b RcvbufErrors)
CTD0=$(ct_drops)
now() { date +%s.%N; }
OLD=$(cat "$CTL.pid")
T_STOP=$(now)
kill -STOP "$OLD"
# Bounds the pause whatever the scheduler does to this script: a socket
# holds 256 of these packets (2.56 s of a sender), and a longer pause
# lost the newest ones there, before the stream was ever in the kernel.
(sleep 2 && kill -CONT "$OLD") 2>/dev/null &
GUARD=$!
# Each counts what it receives for 9 s from its own start: the other
# may start well after it on a loaded host (0.9 s seen), and its last
# packets must still be counted (with 7 s, 11 of b's were not).
ua ua_a7 a 10.81.1.2:4200 "10.81.1.1:$PB" 600 9 0xaaaa
ua ua_b7 b 10.81.2.2:6200 "10.81.1.1:$PA" 600 9 0xbbbb
# 50 packets each way wait: more than one read batch (32) per socket.
backlog() { ge "$(st "$T/ua_a7.stats" sent)" 50 && ge "$(st "$T/ua_b7.stats" sent)" 50; }
tap "c3: a backlog waits while the relay is paused" wait_until 5 backlog
kill -CONT "$OLD"
T_CONT=$(now)
AT_CONT="a sent $(st "$T/ua_a7.stats" sent), b sent $(st "$T/ua_b7.stats" sent)"
kill "$GUARD" 2>/dev/null
k3() { eq "$(field c3 kernel)" 1; }
tap "c3 in the kernel" wait_until 5 k3
# The flow's entry is the kernel's (DNAT to the other party), none made by
# a send from a relay port of c3 (whose reply side would be a party's
# media, or with a remapped port, a stale entry).
user_ct() { in_ns r conntrack -L -p udp 2>/dev/null | grep -E "^udp +17 +[0-9]+ src=10\.81\.1\.1 dst=10\.81\.[12]\.2 sport=($PA|$PB) "; }
kernel_ct() { ! user_ct; }
tap "c3: no conntrack entry made by a send from its relay ports" wait_until 2 kernel_ct
U1=$(field c3 user_packets)
sleep 1
U2=$(field c3 user_packets)
tap "c3: relay's sockets receive nothing more after the switch ($U1 -> $U2)" eq "$U2" "$U1"
T_KILL=$(now)
kill -9 "$OLD"
gone() { [ "$(cat "$CTL.pid")" != "$OLD" ]; }
wait_until 5 gone
relisted() { ctl media.list | grep -q 'call_id=c3 '; }
tap "restarted relay lists the stream" wait_until 10 relisted
T_BACK=$(now)
tap "restarted relay sees it in the kernel" eq "$(field c3 kernel)" 1
wait_pid "$PID_ua_a7"
wait_pid "$PID_ua_b7"
RBUF1=$(udp_stat r RcvbufErrors)
RBUF1_A=$(udp_stat a RcvbufErrors)
RBUF1_B=$(udp_stat b RcvbufErrors)
CTD1=$(ct_drops)
kill -INT "$CAP_A" "$CAP_B" 2>/dev/null
wait_pid "$CAP_A"
wait_pid "$CAP_B"
# rtp_seqs PCAP FILTER: "time seq" of each RTP packet FILTER matches
# (IPv4 without options: the sequence number is at byte 30).
rtp_seqs() {
	tcpdump -r "$1" -nn -tt -x "$2" 2>/dev/null | awk '
		function hx(s, i, v) { for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
		function out() { if (h != "") print t, hx(substr(h, 61, 4)); h = "" }
		/^[0-9]/ { out(); t = $1; next }
		/0x[0-9a-f]+:/ { for (i = 2; i <= NF; i++) h = h $i }
		END { out() }'
}
# lost NAME SENT RECEIVED STATS: the sequence numbers in SENT missing
# from RECEIVED (what reached the receiver's interface), with when each
# was sent, in s after the STOP; when the last packet arrived and when
# the receiving rtpsend stopped counting (its stats file's last write).
lost() {
	awk -v n="$1" -v s="$T_STOP" -v c="$T_CONT" -v k="$T_KILL" -v b="$T_BACK" \
	    -v e="$(date -r "$4" +%s.%N)" '
		NR == FNR { got[$2] = 1; last = $1; next }
		{ sent++ } !($2 in got) { m++; if (m <= 16) l = l sprintf(" %d@%.3f", $2, $1 - s) }
		END { printf "%s: %d sent, %d lost:%s (CONT %.3f KILL %.3f BACK %.3f; last in %.3f, counted until %.3f)\n", n, sent, m, l, c - s, k - s, b - s, last - s, e - s }' "$3" "$2"
}
# arrived STATS: all 600 packets, or why not (the last lines, which tap
# shows: the relay's log, conntrack, the drops, the lost packets).
arrived() {
	eq "$(st "$1" unique)" 600 && return 0
	tail -6 "$T/relay.log"
	in_ns r conntrack -L -p udp 2>/dev/null | head -4
	echo "at CONT: $AT_CONT; receive-buffer drops: relay +$((RBUF1 - RBUF0)), a +$((RBUF1_A - RBUF0_A)), b +$((RBUF1_B - RBUF0_B)); conntrack drops in r +$((CTD1 - CTD0))"
	rtp_seqs "$T/c3a.pcap" "src host 10.81.1.2 and src port 4200" >"$T/c3a.sent"
	rtp_seqs "$T/c3b.pcap" "src host 10.81.1.1 and dst port 6200" >"$T/c3b.got"
	rtp_seqs "$T/c3b.pcap" "src host 10.81.2.2 and src port 6200" >"$T/c3b.sent"
	rtp_seqs "$T/c3a.pcap" "src host 10.81.1.1 and dst port 4200" >"$T/c3a.got"
	lost "a->b" "$T/c3a.sent" "$T/c3b.got" "$T/ua_b7.stats"
	lost "b->a" "$T/c3b.sent" "$T/c3a.got" "$T/ua_a7.stats"
	return 1
}
tap "media kept flowing across kill -9 (a->b $(st "$T/ua_b7.stats" unique)/600)" arrived "$T/ua_b7.stats"
tap "media kept flowing across kill -9 (b->a $(st "$T/ua_a7.stats" unique)/600)" arrived "$T/ua_a7.stats"
tap "c3: the relay's sockets dropped nothing (+$((RBUF1 - RBUF0)))" eq "$RBUF1" "$RBUF0"
tap "c3: conntrack dropped nothing in r (+$((CTD1 - CTD0)))" eq "$CTD1" "$CTD0"
tap "delete after restart" rc delete c3
tap "delete c2" rc delete c2
tap "no forwarding entries left" sh -c "! ip netns exec $(ns r) nft list map inet portcullis dmap4 | grep -q elements"

# --- the fallback: user-space forwarding (media.kernel off) ---
conf "$T/u.json" off 31000 31099 "$T/u"
bg r relay_u "$RELAY" -c "$T/u.json"
USOCK=$T/u/relay.sock
usock() { [ -S "$USOCK" ]; }
tap "user-space relay starts" wait_until 10 usock
tap "it says so at start" grep -q "USER SPACE" "$T/relay_u.log"
PA=$(in_ns r "$RELAYCTL" -s "$USOCK" offer c4 ta - 10.81.1.2:4300 nat | sed -n 's/.*port=//p')
REP=$(in_ns r "$RELAYCTL" -s "$USOCK" answer c4 tb ta 10.81.2.2:6300 nat)
PB=$(echo "$REP" | sed -n 's/.*port=//p')
tap "reply says user space" sh -c "echo '$REP' | grep -q kernel=0"
ua ua_a8 a 10.81.1.2:4300 "10.81.1.1:$PB" 300 5 0xaaaa
ua ua_b8 b 10.81.2.2:6300 "10.81.1.1:$PA" 300 5 0xbbbb
wait_pid "$PID_ua_a8"
wait_pid "$PID_ua_b8"
tap "fallback a -> b" eq "$(st "$T/ua_b8.stats" unique)" 300
tap "fallback b -> a" eq "$(st "$T/ua_a8.stats" unique)" 300
tap "fallback counts user-space packets" sh -c "in_q=\$(ip netns exec $(ns r) '$RELAYCTL' -s '$USOCK' query c4); echo \"\$in_q\" | grep -q 'packets=600'"

# --- IPv6: the same kernel path through the ip6 maps ---
in_ns a ip addr add fd81:1::2/64 dev "$IF_A" nodad
in_ns r ip addr add fd81:1::1/64 dev "$IF_RA" nodad
in_ns b ip addr add fd81:2::2/64 dev "$IF_B" nodad
in_ns r ip addr add fd81:2::1/64 dev "$IF_RB" nodad
in_ns a ip -6 route add default via fd81:1::1
in_ns b ip -6 route add default via fd81:2::1
in_ns r sysctl -qw net.ipv6.conf.all.forwarding=1
mkdir -p "$T/v6"
cat >"$T/v6.json" <<J
{"runtime_dir": "$T/v6", "state_dir": "$T/v6/state",
 "media": {"address": "fd81:1::1", "ports": [32000, 32099], "kernel": "on",
           "timeout_s": 2, "latch_wait_ms": 0}}
J
# One relay per namespace owns the table: stop the IPv4 one first.
kill "$SUP_PID" 2>/dev/null
wait "$SUP_PID" 2>/dev/null
in_ns r "$RELAY" --teardown -c "$T/k.json" >/dev/null 2>&1
bg r relay_v6 "$RELAY" -c "$T/v6.json"
V6SOCK=$T/v6/relay.sock
v6up() { [ -S "$V6SOCK" ]; }
tap "IPv6 relay starts in the kernel" wait_until 10 v6up
PA=$(in_ns r "$RELAYCTL" -s "$V6SOCK" offer c6 ta - "[fd81:1::2]:4400" nat | sed -n 's/.*port=//p')
PB=$(in_ns r "$RELAYCTL" -s "$V6SOCK" answer c6 tb ta "[fd81:2::2]:6400" nat | sed -n 's/.*port=//p')
ua ua_a9 a "[fd81:1::2]:4400" "[fd81:1::1]:$PB" 300 5 0xaaaa
ua ua_b9 b "[fd81:2::2]:6400" "[fd81:1::1]:$PA" 300 5 0xbbbb
wait_pid "$PID_ua_a9"
wait_pid "$PID_ua_b9"
tap "IPv6 a -> b" eq "$(st "$T/ua_b9.stats" unique)" 300
tap "IPv6 b -> a" eq "$(st "$T/ua_a9.stats" unique)" 300
tap "IPv6 stream forwarded by the kernel" sh -c "ip netns exec $(ns r) '$RELAYCTL' -s '$V6SOCK' query c6 | grep -q kernel=1"
# 600 packets, a few of them in user space before latching: the rest
# were counted by conntrack and read by tuple.
v6k() { in_ns r "$RELAYCTL" -s "$V6SOCK" query c6 | head -1 | tr ' ' '\n' | sed -n 's/^packets=//p' | { read -r n; [ "${n:-0}" -ge 580 ]; }; }
tap "IPv6 kernel counters read by tuple" wait_until 3 v6k
tap "IPv6 map entries" sh -c "ip netns exec $(ns r) nft list map inet portcullis dmap6 | grep -q 'fd81:1::2 . 4400'"

# --- teardown removes only relay's table ---
in_ns r nft add table ip operator
tap "--teardown removes the relay's table" in_ns r "$RELAY" --teardown -c "$T/v6.json"
tap "table is gone" sh -c "! ip netns exec $(ns r) nft list table inet portcullis >/dev/null 2>&1"
tap "operator's table is untouched" in_ns r nft list table ip operator

it_end
