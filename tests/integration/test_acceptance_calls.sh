#!/usr/bin/env bash
# Whole-appliance acceptance, calls: portcullisd with edge, core and relay
# in an "sbc" namespace on a public segment, alice and bob each behind a
# masquerading NAT, carol and a trunk on the public side (see
# acceptance/net.sh). Proves, through real sipp phones and real RTP:
#  1. registration with digest (MD5 and SHA-256) from behind NAT, a wrong
#     password refused, registrations in `pcctl reg list`;
#  2. alice calls bob: ringing, answer, media both ways through the relay,
#     forwarded by the kernel (nft counters rise, the relay's sockets see
#     nothing after latching), BYE, the map entries gone;
#  3. topology: nothing carol, alice or bob receives names the sbc's
#     inside, core, or the other party (headers and SDP);
#  4. re-INVITE hold/resume, CANCEL before answer, busy, no answer,
#     forking to two devices of one user;
#  and calls from carol (public) and from the carrier trunk (no digest).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acceptance/net.sh"
it_begin
acc_need
net_up
obs_up
net_start_appliance
tap "appliance starts: portcullisd with edge, core and relay" status_ok
# With the service account present, every child must have dropped to it
# (and relay kept only its capabilities); without it they run on as root.
dropped() {
	local c pid uid want
	want=$(id -u portcullis)
	for c in edge core relay; do
		pid=$(child_field $c pid)
		uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
		echo "$c pid $pid uid $uid"
		[ "$uid" = "$want" ] || return 1
	done
}
if getent passwd portcullis >/dev/null; then
	tap "the children run as the portcullis account after binding" dropped
fi

# ---------- 1. registration ----------
cap_start alice
cap_start bob
cap_start carol
cap_start trunk

tap "reg: alice registers from behind NAT (MD5 digest, sipp)" ua_register alice alice $ALICE 5062
tap "reg: bob registers from behind NAT (MD5 digest, sipp)" ua_register bob bob $BOB 5062
sha_reg() { in_ns carol python3 "$SIPUA" register $CAROL:5062 $SBC:5060 carol "$PW_carol" SHA-256; }
tap "reg: carol registers with SHA-256 digest" sha_reg
sha_reg_nat() { in_ns alice python3 "$SIPUA" register $ALICE:5070 $SBC:5060 alice "$PW_alice" SHA-256; }
tap "reg: alice registers a second device with SHA-256 from behind NAT" sha_reg_nat
wrong_pw() {
	sipp_run bob reg-wrong -sf "$ACC_SIPP/reg_wrong.xml" -i $BOB -p 5066 -t u1 \
		-s bob -au bob -ap not-the-password -m 1 "$SBC:5060"
}
tap "reg: a wrong password is refused (MD5)" wrong_pw
wrong_sha() {
	in_ns carol python3 "$SIPUA" register $CAROL:5064 $SBC:5060 carol wrong-pw SHA-256
	[ $? = 1 ]
}
tap "reg: a wrong password is refused (SHA-256)" wrong_sha
reg_listed() {
	pcctl --json reg list | pq '
rows = json.dumps(r)
all(u + "@example.test" in rows for u in ("alice", "bob", "carol"))'
}
tap "reg: pcctl reg list shows alice, bob and carol" wait_until 5 reg_listed
# Behind NAT the binding must be reached through the NAT's public address.
reg_nat_addr() {
	pcctl --json reg list | pq '
rows = [x for x in r if "alice@" in json.dumps(x)]
any("'$ALICE_PUB'" in json.dumps(x) for x in rows) or print(rows)'
}
tap "reg: alice's binding records the NAT's public source address" reg_nat_addr
no_wrong_device() {
	pcctl --json reg list | pq '
not any(":5066" in json.dumps(x) for x in r if "bob@" in json.dumps(x))'
}
tap "reg: the refused device is not registered" no_wrong_device

# ---------- 2. alice calls bob, both behind NAT ----------
uas_start bob bob $BOB 5062 7000 call1-bob 250 8
uac_start alice alice $ALICE 5062 7100 bob call1-alice 250 8 5000
in_kernel() {
	media_rows '
rows = [x for x in r]
len(rows) >= 1 and all(x.get("kernel") is True and x.get("latched") is True for x in rows)'
}
tap "call: media of the call is latched and handed to the kernel" wait_until 6 in_kernel
user_pk() { media_rows 'sum(x["user_packets"] for x in r)'; }
kern_pk() { media_rows 'sum(x["kernel_packets"] for x in r)'; }
U1=$(user_pk)
K1=$(kern_pk)
A1=$(obs media_a2b)
B1=$(obs media_b2a)
M1=$(nft_elems dmap4)
sleep 1.5
U2=$(user_pk)
K2=$(kern_pk)
A2=$(obs media_a2b)
B2=$(obs media_b2a)
tap "call: the map of the relay's table holds the call's streams ($M1 entries)" sh -c "[ ${M1:-0} -ge 2 ]"
tap "call: nft counters of forwarded media rise alice->bob ($A1 -> $A2)" sh -c "[ $((${A2:-0} - ${A1:-0})) -ge 40 ]"
tap "call: nft counters of forwarded media rise bob->alice ($B1 -> $B2)" sh -c "[ $((${B2:-0} - ${B1:-0})) -ge 40 ]"
tap "call: the relay's kernel counters rise ($K1 -> $K2)" sh -c "[ ${K2:-0} -gt ${K1:-0} ]"
tap "call: the relay process receives nothing after latching ($U1 -> $U2)" sh -c "[ -n '$U1' ] && [ '$U1' = '$U2' ]"
tap "call: alice's side completed (407 digest, 180, 200, ACK, BYE)" wait_until 20 sipp_done_ok call1-alice
tap "call: bob's side completed (INVITE, 180, 200, ACK, BYE)" wait_until 10 sipp_done_ok call1-bob
got_ringing() { grep -q '^SIP/2.0 180' "$IT_TMP/call1-alice.msg"; }
tap "call: alice heard ringing (180)" got_ringing
tap "call: media alice->bob arrived (>= 225 of 250 RTP packets)" wait_until 8 rtp_got call1-bob 225
tap "call: media bob->alice arrived (>= 225 of 250 RTP packets)" wait_until 8 rtp_got call1-alice 225
maps_empty() { [ "$(nft_elems dmap4)" = 0 ] && [ "$(nft_elems smap4)" = 0 ]; }
tap "call: the map entries are gone after BYE" wait_until 5 maps_empty
no_media() { media_rows 'len(r) == 0'; }
tap "call: pcctl media list is empty after BYE" wait_until 5 no_media
no_calls() { pcctl --json calls list | pq 'len(r) == 0'; }
tap "call: pcctl calls list is empty after BYE" wait_until 5 no_calls

# the carrier peer (trunk, public side, no digest) calls bob
trunk_call() {
	printf 'SEQUENTIAL\nbob;\n' >"$IT_TMP/trunk.csv"
	sipp_run trunk trunk-call -sf "$ACC_SIPP/uac_trunk.xml" -i $TRUNK -p 5060 -t u1 \
		-s +15551234 -inf "$IT_TMP/trunk.csv" -d 2000 -key lport 7500 -key rtpn 100 \
		-key rtpt 5 -key rtpsend "$ACC_DIR/rtpwrap.sh $RTPSEND" -key stats "$IT_TMP/trunk-call.rtp" \
		-m 1 "$SBC:5060"
}
uas_start bob bob $BOB 5062 7030 trunk-bob 100 5
tap "call: the carrier trunk calls bob (behind NAT): completed" trunk_call
tap "call: bob's side of the trunk call completed" wait_until 10 sipp_done_ok trunk-bob
tap "call: media trunk->bob arrived (>= 90 of 100)" wait_until 8 rtp_got trunk-bob 90
tap "call: media bob->trunk arrived (>= 90 of 100)" wait_until 8 rtp_got trunk-call 90

# carol (public, no NAT) calls alice (behind NAT; her second device, the
# SHA-256 one, is registered too and does not answer).
uas_start alice alice $ALICE 5062 7200 call2-alice 150 6
uac_start carol carol $CAROL 5066 7300 alice call2-carol 150 6 3000
tap "call: carol (public) calls alice (behind NAT): completed" wait_until 20 sipp_done_ok call2-carol
tap "call: alice's side of carol's call completed" wait_until 10 sipp_done_ok call2-alice
tap "call: media carol->alice arrived (>= 130 of 150)" wait_until 8 rtp_got call2-alice 130
tap "call: media alice->carol arrived (>= 130 of 150)" wait_until 8 rtp_got call2-carol 130

# ---------- 4. mid-call and failure cases ----------
# The INVITE/response pair fails with CODE: uac_fail.xml with CODE filled in.
uac_fail() { # uac_fail NS USER IP PORT CALLEE LOG CODE
	local pw
	eval "pw=\$PW_$2"
	sed "s/@CODE@/$7/g" "$ACC_SIPP/uac_fail.xml" >"$IT_TMP/uac_fail_$7.xml"
	printf 'SEQUENTIAL\n%s;\n' "$5" >"$IT_TMP/$6.csv"
	sipp_run "$1" "$6" -sf "$IT_TMP/uac_fail_$7.xml" -i "$3" -p "$4" -t u1 -s "$2" \
		-au "$2" -ap "$pw" -inf "$IT_TMP/$6.csv" -key lport 7400 -m 1 "$SBC:5060"
}
media_clear() { media_rows 'len(r) == 0'; }
calls_clear() { pcctl --json calls list | pq 'len(r) == 0'; }

# hold and resume
uas_start bob bob $BOB 5062 7010 hold-bob 175 7 uas_hold.xml
uac_start alice alice $ALICE 5062 7110 bob hold-alice 175 7 1300 uac_hold.xml
tap "hold: alice's call with hold and resume re-INVITEs completed" wait_until 25 sipp_done_ok hold-alice
tap "hold: bob answered the hold and the resume" wait_until 10 sipp_done_ok hold-bob
hold_seen() { grep -q '^a=sendonly' "$IT_TMP/hold-bob.msg" && grep -q '^a=recvonly' "$IT_TMP/hold-alice.msg"; }
tap "hold: bob saw a=sendonly, alice got a=recvonly back" hold_seen
resumed() {
	local n
	n=$(grep -c '^a=sendrecv' "$IT_TMP/hold-bob.msg")
	[ "$n" -ge 2 ]
}
tap "hold: the resume re-INVITE (a=sendrecv) reached bob" resumed
# (alice's own offers name her address; every answer must name the relay)
hold_sdp_relay() {
	local n
	n=$(tr -d '\r' <"$IT_TMP/hold-alice.msg" | grep -c "^c=IN IP4 $SBC\$")
	echo "answers naming the relay: $n"
	[ "$n" -ge 3 ] && ! tr -d '\r' <"$IT_TMP/hold-alice.msg" | grep '^c=IN IP4' | grep -v -e "IP4 $SBC\$" -e "IP4 $ALICE\$"
}
tap "hold: every SDP alice received names the relay" hold_sdp_relay
tap "hold: media alice->bob flowed around hold/resume (>= 155 of 175)" wait_until 8 rtp_got hold-bob 155
tap "hold: media bob->alice flowed around hold/resume (>= 155 of 175)" wait_until 8 rtp_got hold-alice 155
same_port() { [ "$(tr -d '\r' <"$IT_TMP/hold-alice.msg" | grep '^m=audio' | grep -v ' 7110 ' | sort -u | wc -l)" = 1 ]; }
tap "hold: the relay kept the same port for alice through hold and resume" same_port
tap "hold: no media stream left after BYE" wait_until 5 media_clear

# CANCEL before answer
uas_start bob bob $BOB 5062 7000 cancel-bob 0 1 uas_ring.xml
printf 'SEQUENTIAL\nbob;\n' >"$IT_TMP/cancel-alice.csv"
cancel_call() {
	sipp_run alice cancel-alice -sf "$ACC_SIPP/uac_cancel.xml" -i $ALICE -p 5062 -t u1 \
		-s alice -au alice -ap "$PW_alice" -inf "$IT_TMP/cancel-alice.csv" \
		-key lport 7100 -m 1 "$SBC:5060"
}
tap "cancel: alice cancels after ringing: 200 for CANCEL, 487, ACK" cancel_call
tap "cancel: bob's phone got the CANCEL and answered 487" wait_until 10 sipp_done_ok cancel-bob
tap "cancel: calls list empty" wait_until 5 calls_clear
tap "cancel: media list empty" wait_until 5 media_clear

# busy
uas_start bob bob $BOB 5062 7000 busy-bob 0 1 uas_busy.xml
tap "busy: bob's 486 Busy Here reaches alice" uac_fail alice alice $ALICE 5062 bob busy-alice 486
tap "busy: bob's phone got its ACK" wait_until 10 sipp_done_ok busy-bob
tap "busy: media list empty" wait_until 5 media_clear

# no answer: carol's registered device is gone (nothing listens there)
tap "no answer: a call to a registered device that never answers ends with 408" \
	uac_fail alice alice $ALICE 5062 carol noans-alice 408
tap "no answer: the media stream is deleted after the 408" wait_until 5 media_clear

# forking: bob registers a second device; both ring, one answers
tap "fork: bob registers a second device" ua_register bob bob $BOB 5064
two_bob() { pcctl --json reg list | pq 'len([x for x in r if "bob@" in json.dumps(x)]) >= 2'; }
tap "fork: reg list shows both of bob's devices" two_bob
uas_start bob bob $BOB 5064 7002 fork-bob2 0 1 uas_ring.xml
uas_start bob bob $BOB 5062 7020 fork-bob1 100 6
uac_start alice alice $ALICE 5062 7120 bob fork-alice 100 6 2000
tap "fork: alice's call is answered by one of bob's devices" wait_until 20 sipp_done_ok fork-alice
tap "fork: bob's first device answered and got the BYE" wait_until 10 sipp_done_ok fork-bob1
tap "fork: bob's second device rang and was cancelled (487)" wait_until 10 sipp_done_ok fork-bob2
tap "fork: media flows to the device that answered (>= 80 of 100)" wait_until 8 rtp_got fork-bob1 80
tap "fork: media flows back to alice (>= 80 of 100)" wait_until 8 rtp_got fork-alice 80

# ---------- 3. topology ----------
cap_stop alice
cap_stop bob
cap_stop carol
cap_stop trunk
# payload_lacks PCAP ADDR...: no packet names ADDR (IP headers are binary,
# so a text search finds only what SIP headers and SDP carry).
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
# only_from NS PCAP ADDR...: every IPv4 packet to the party comes from ADDR.
only_from() {
	local own=$1 pcap=$2 src
	shift 2
	src=$(tshark -r "$pcap" -Y "ip.dst == $own && !icmp" -T fields -e ip.src 2>/dev/null | sort -u)
	for a in $src; do
		case " $* " in *" $a "*) ;; *) echo "packet from $a"; return 1 ;; esac
	done
	[ -n "$src" ]
}
INNER="$SBC_IN $INSIDE 127.0.0.1 core.sock $IT_TMP"
tap "topology: alice received nothing naming bob, carol or the inside" \
	payload_lacks "$IT_TMP/alice.pcap" $INNER $BOB $BOB_PUB $CAROL
tap "topology: bob received nothing naming alice, carol or the inside" \
	payload_lacks "$IT_TMP/bob.pcap" $INNER $ALICE $ALICE_PUB $CAROL
tap "topology: carol received nothing naming alice, bob or the inside" \
	payload_lacks "$IT_TMP/carol.pcap" $INNER $ALICE $ALICE_PUB $BOB $BOB_PUB
tap "topology: the trunk received nothing naming bob or the inside" \
	payload_lacks "$IT_TMP/trunk.pcap" $INNER $BOB $BOB_PUB $ALICE $ALICE_PUB $CAROL
tap "topology: every packet alice received came from the sbc" only_from $ALICE "$IT_TMP/alice.pcap" $SBC
tap "topology: every packet bob received came from the sbc" only_from $BOB "$IT_TMP/bob.pcap" $SBC
tap "topology: every packet carol received came from the sbc" only_from $CAROL "$IT_TMP/carol.pcap" $SBC
tap "topology: every packet the trunk received came from the sbc" only_from $TRUNK "$IT_TMP/trunk.pcap" $SBC
captured_calls() {
	strings -n 6 "$IT_TMP/bob.pcap" | grep -q 'INVITE sip:bob' &&
		strings -n 6 "$IT_TMP/bob.pcap" | grep -q "c=IN IP4 $SBC" &&
		strings -n 6 "$IT_TMP/carol.pcap" | grep -q 'INVITE sip:carol' &&
		strings -n 6 "$IT_TMP/alice.pcap" | grep -q "c=IN IP4 $SBC" &&
		strings -n 6 "$IT_TMP/trunk.pcap" | grep -q "c=IN IP4 $SBC"
}
tap "topology: the captures hold the calls' INVITEs and SDP (not vacuous)" captured_calls
tap "no sanitizer report from any daemon" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$IT_TMP/portcullisd.log'"

it_end
