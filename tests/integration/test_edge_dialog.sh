#!/usr/bin/env bash
# Dialog cases through portcullis-edge with the real core and relay, with
# topology hiding on (max_token_len 200, so long tokens go through the
# edge's row table): a CANCEL after 180 reaches the callee and matches its
# INVITE (the edge keeps core's branch), a re-INVITE from the callee (hold,
# target refresh through the hidden Contact and Record-Route) keeps the
# relay's port, and a call whose media stops is ended by core with a BYE to
# both parties when the relay reports the timeout (MEDIA_TIMEOUT ->
# CALL_RELEASE); a call forked to two devices of bob (two early dialogs,
# core's CANCEL to the loser, which must not delete the answered call's
# media); media timeouts leave no relay stream behind (every call's end
# deletes it); UPDATE in early and confirmed dialogs (offers anchored,
# target refresh through the hidden Contact); PRACK of a reliable 183
# (RSeq/RAck end to end, the answer anchored); an attended transfer's
# INVITE with Replaces to a hidden Contact (Replaces in the callee's
# terms under hide_call_id); an edge restart in a call
# (row tokens and hidden Call-IDs still open: the tables are written to
# state_dir and read back); without the relay an INVITE with SDP gets 503.
. "$(dirname "$0")/lib.sh"
it_begin

P=10.95
it_edge_bed $P "alice bob" "EDGE CORE RELAY RELAYCTL"
cat >"$T/pc.json" <<J
{"domains": ["example.test"],
 "listen": [{"transport": "udp", "address": "$SBC", "port": 5060}],
 "runtime_dir": "$T/run", "state_dir": "$T/state",
 "user": "root", "group": "root",
 "media": {"address": "$SBC", "ports": [32000, 32999], "timeout_s": 3,
           "hold_timeout_s": 3},
 "auth": {"realm": "example.test", "algorithms": ["MD5"]},
 "users": [{"user": "bob", "domain": "example.test", "password": "b-secret-2"}],
 "topology": {"hide": true, "hide_call_id": true, "max_token_len": 200}}
J
bg sbc core "$CORE" -c "$T/pc.json"
# Under relayctl's supervise: its ctl socket tells how many calls relay
# holds (it keeps idle port pairs bound, so bound ports do not).
bg sbc relay "$RELAYCTL" supervise "$T/relay-ctl.sock" -- "$RELAY" -c "$T/pc.json"
RELAY_PID=$IT_LAST_PID
bg sbc edge "$EDGE" -c "$T/pc.json"
EDGE_PID=$IT_LAST_PID
up() { grep -q "connected to core" "$T/edge.log" && grep -q "connected to relay" "$T/edge.log"; }
tap "edge, core and relay up" wait_until 15 up

SIPP_COMMON="-nostdin -timeout 40s -timeout_error -trace_err"
tap "bob registers" sh -c "ip netns exec $(ns bob) timeout 30 sipp $SIPP_COMMON \
	-error_file '$T/reg.err' -sf '$D/reg.xml' -i $P.2.2 -p 5062 -s bob -au bob \
	-ap b-secret-2 -m 1 $SBC:5060 >'$T/reg.out' 2>&1"
uas() { # uas SCENARIO NAME [SIP_PORT MEDIA_PORT]
	local sp=${3:-5062} mp=${4:-6000}
	rm -f "$T/$2.rc"
	bg bob "$2" sh -c "timeout 60 sipp $SIPP_COMMON -sf '$D/$1' -i $P.2.2 \
		-p $sp -mi $P.2.2 -mp $mp -s bob -m 1 -trace_msg \
		-message_file '$T/$2.msg' -error_file '$T/$2.err'; echo \$? >'$T/$2.rc'"
	wait_until 5 sh -c "ip netns exec $(ns bob) ss -lun 'sport = :$sp' | grep -q $sp"
}
uas_ok() { [ "$(cat "$T/$1.rc" 2>/dev/null)" = 0 ]; }
printf 'SEQUENTIAL\nbob;\n' >"$T/callee.csv"
call() { it_edge_call "$@"; } # call SCENARIO NAME PORT

# --- CANCEL ---
uas uas_cancel.xml bob-cancel
tap "alice's CANCEL after 180: 200 to CANCEL, 487 to INVITE" call uac_cancel.xml cancel 5064
tap "bob got the CANCEL, matched it to the INVITE, and the ACK" wait_until 15 uas_ok bob-cancel
# The CANCEL bob got carries the same branch as the INVITE he got.
same_branch() {
	local f=$T/bob-cancel.msg ib cb
	ib=$(grep -m1 -A2 '^INVITE ' "$f" | sed -n 's/^Via: .*branch=\([^;]*\).*/\1/p')
	cb=$(grep -m1 -A2 '^CANCEL ' "$f" | sed -n 's/^Via: .*branch=\([^;]*\).*/\1/p')
	echo "invite=$ib cancel=$cb"
	[ -n "$ib" ] && [ "$ib" = "$cb" ]
}
tap "the CANCEL's branch equals the INVITE's at bob" same_branch

# --- re-INVITE from the callee (hold) ---
uas uas_reinv.xml bob-reinv
tap "call with a re-INVITE from bob, then bob's BYE" call uac_reinv.xml reinv 5066
tap "bob's side: 200 to his re-INVITE, ACK, BYE answered" wait_until 15 uas_ok bob-reinv
# The relay port alice was given for bob in the 200 and in the re-INVITE
# is the same (re-offers keep their ports).
# one_bob_port NAME: the m= lines alice received in $T/NAME.msg (bob's
# media, as the relay anchors it) all name one port.
one_bob_port() {
	local p
	p=$(awk '/message received/{r=1} /message sent/{r=0} r && /^m=audio/{print $2}' \
		"$T/$1.msg" | sort -u)
	echo "relay ports for bob, as alice saw them in $1: $p"
	[ -n "$p" ] && [ "$(echo "$p" | wc -l)" = 1 ]
}
# in the 200 and in the re-INVITE
tap "the relay port for bob's media is the same before and after hold" one_bob_port reinv
tap "alice saw bob's re-INVITE with the SBC's address only" sh -c \
	"! grep -q '$P.2.2' '$T/reinv.msg'"

# --- UPDATE (RFC 3311) in an early and in a confirmed dialog ---
# alice's UPDATE after bob's 183 carries a new offer; bob's UPDATE after
# the answer carries a new offer (media to port 6020) and a new Contact
# (sip:bob-upd@..., a target refresh): alice's BYE, sent to the target she
# got in that UPDATE (an edge address with a token), must reach bob's new
# Contact, and both offers must be anchored on the relay.
uas uas_update.xml bob-update
tap "UPDATE in the early dialog, then in the confirmed one, then BYE" call uac_update.xml update 5074
tap "bob's side: both UPDATEs answered, BYE at his refreshed target (sip:bob-upd@)" wait_until 15 uas_ok bob-update
# sdp_of FILE METHOD_OR_STATUS DIR: the c= and m= lines of the messages of
# that kind received (DIR=received) in a sipp trace.
sdp_lines() {
	awk -v want="$2" '/message received/{r=1; s=0; next} /message sent/{r=0; next}
		r && s == 0 && NF > 0 { s = (index($0, want) == 1) ? 1 : 2 }
		r && s == 1 && /^(c=|m=)/ { print }' "$1"
}
# anchored_at NAME KIND PORT: the SDP of KIND messages in NAME's trace
# names the relay's address, and not bob's own media port PORT.
anchored_at() {
	local l
	l=$(sdp_lines "$T/$1.msg" "$2")
	echo "SDP of '$2' in $1's trace: $l"
	echo "$l" | grep -q "^c=IN IP4 $SBC" && ! echo "$l" | grep -q "^m=audio $3 "
}
tap "bob's UPDATE offer reached alice anchored (relay address, not port 6020)" \
	anchored_at update "UPDATE " 6020
update_anchored_at_bob() {
	local l a
	l=$(sdp_lines "$T/bob-update.msg" "UPDATE ")
	a=$(sdp_lines "$T/bob-update.msg" "SIP/2.0 200")
	echo "early UPDATE at bob: $l; 200s at bob: $a"
	echo "$l" | grep -q "^c=IN IP4 $SBC" && echo "$a" | grep -q "^c=IN IP4 $SBC" &&
		! echo "$l $a" | grep -q "$P.1.2"
}
tap "alice's early UPDATE offer and her answer reached bob anchored" update_anchored_at_bob
# in the 183, the 200s and the UPDATE
tap "the relay kept bob's port across both UPDATEs (re-anchored, not re-allocated)" one_bob_port update
tap "alice saw nothing of bob's address through the UPDATEs" sh -c "! grep -q '$P.2.2' '$T/update.msg'"
tap "bob saw nothing of alice's address" sh -c "! grep -q '$P.1.2' '$T/bob-update.msg'"
tap "the target bob refreshed reached alice as an edge address" sh -c \
	"grep -A12 '^UPDATE ' '$T/update.msg' | grep '^Contact:' | grep -q '@$SBC'"

# --- PRACK (RFC 3262): a reliable 183 with the answer, PRACK in the early dialog ---
# Supported/Require/RSeq/RAck pass end to end; the PRACK follows the
# 183's Record-Route and hidden Contact; the 183's answer is anchored and
# the 200 without SDP keeps the relay's stream.
uas uas_prack.xml bob-prack
tap "a reliable 183, alice's PRACK answered in the early dialog, then 200, ACK, BYE" \
	call uac_prack.xml prack 5078
tap "bob's side: Supported: 100rel seen, the PRACK's RAck named his RSeq and INVITE CSeq" \
	wait_until 15 uas_ok bob-prack
tap "the 183's answer reached alice anchored on the relay" \
	anchored_at prack "SIP/2.0 183" 6000
tap "alice saw nothing of bob's address through the PRACK exchange" sh -c "! grep -q '$P.2.2' '$T/prack.msg'"
tap "bob saw nothing of alice's address" sh -c "! grep -q '$P.1.2' '$T/bob-prack.msg'"

# --- media timeout: core ends the call ---
uas uas_wait.xml bob-wait
tap "a call without media is ended by core's BYE at alice" call uac_wait.xml quiet 5068
tap "... and at bob" wait_until 20 uas_ok bob-wait
released() { grep -q "media timeout: releasing call" "$T/edge.log"; }
tap "the edge turned the relay's MEDIA_TIMEOUT into CALL_RELEASE" released
# --- media timeouts must not orphan relay streams (B3) ---
# The edge used to forget a call when the relay reported its media
# stopped, so the call's end sent no MEDIA_DELETE. The call above (ended
# by core's BYEs after the timeout) and one with early media that stops
# before the callee refuses (core's 486 to alice) must leave no stream.
uas uas_busy_late.xml bob-busy 5062 6000
tap "early media, silence past the media timeout, then 486 to alice" call uac_busy.xml busy 5073
tap "... bob got the ACK for his 486" wait_until 15 uas_ok bob-busy
busy_timed_out() { [ "$(grep -c "media timeout: releasing call" "$T/edge.log")" -ge 2 ]; }
tap "the relay reported the early media as stopped before the 486" busy_timed_out
relay_calls() {
	in_ns sbc "$RELAYCTL" ctl "$T/relay-ctl.sock" stats | tr ' ' '\n' | sed -n 's/^calls=//p'
}
no_relay_calls() { [ "$(relay_calls)" = 0 ]; }
streams_gone() {
	wait_until 10 no_relay_calls && return 0
	echo "relay still holds $(relay_calls) call(s)"
	return 1
}
tap "every call's relay stream so far was deleted (relay holds no call)" streams_gone

# --- forking: bob on two devices; one answers, core cancels the other ---
tap "bob registers a second device" sh -c "ip netns exec $(ns bob) timeout 30 sipp $SIPP_COMMON \
	-error_file '$T/reg2.err' -sf '$D/reg.xml' -i $P.2.2 -p 5072 -s bob -au bob \
	-ap b-secret-2 -m 1 $SBC:5060 >'$T/reg2.out' 2>&1"
uas uas_cancel.xml fork-ringer 5062 6000
uas uas_long.xml fork-answerer 5072 6010
P0=$(relay_calls)
call uac.xml fork 5069 & FORK_PID=$!
tap "the other device got core's CANCEL through the edge and matched it" wait_until 20 uas_ok fork-ringer
# core's CANCEL to the losing branch ends that branch, not the call (B2):
# the answered call (up for 2 s) still has its relay stream.
has_streams() {
	local n
	n=$(relay_calls)
	echo "relay calls: $n (before the call: $P0)"
	[ "$n" -gt "$P0" ]
}
tap "the answered call keeps its relay stream after the loser's CANCEL" has_streams
wait "$FORK_PID"
FORK_RC=$?
tap "alice's call forks to both devices and is answered by one" [ "$FORK_RC" = 0 ]
tap "the answering device completed the call (its BYE went through)" wait_until 20 uas_ok fork-answerer
two_early_dialogs() {
	local tags
	tags=$(awk '/message received/{r=1} /message sent/{r=0} r' "$T/fork.msg" |
		grep -A6 '^SIP/2.0 180' | sed -n 's/^To:.*tag=\([^;>]*\).*/\1/p' | sort -u | wc -l)
	echo "distinct To tags in 180s at alice: $tags"
	[ "$tags" = 2 ]
}
tap "alice saw two early dialogs (two 180s with their own tags)" two_early_dialogs
tap "alice saw no address of bob's devices" sh -c "! grep -q '$P.2.2' '$T/fork.msg'"

tap "the forked call's relay stream was deleted at its BYE" streams_gone

# --- the target of an attended transfer (RFC 3891 Replaces) ---
# carol calls bob at the remote target alice got from him (the edge's
# hidden Contact, what a REFER hands on) with Replaces naming alice's call
# as alice knows it; with hide_call_id bob knows that call by the sealed
# Call-ID, and must get Replaces in his own terms. He answers, ends the
# replaced call, carol hangs up.
rm -f "$T/xfer-bob.rc"
bg bob xfer-bob sh -c "timeout 60 python3 '$D/replaces.py' bob $P.2.2 5062 $SBC; echo \$? >'$T/xfer-bob.rc'"
wait_until 5 sh -c "ip netns exec $(ns bob) ss -lun 'sport = :5062' | grep -q 5062"
tap "carol's INVITE to bob's hidden Contact with Replaces is answered; the replaced call ends" \
	in_ns alice timeout 60 python3 "$D/replaces.py" alice $P.1.2 $SBC 5060
xfer_bob_ok() { [ "$(cat "$T/xfer-bob.rc" 2>/dev/null)" = 0 ]; }
tap "bob got Replaces in his terms (his Call-ID and tags), answered it, his BYE reached alice" \
	wait_until 15 xfer_bob_ok
pkill -f "replaces.py bob $P.2.2" 2>/dev/null || true

# --- an edge restart in the middle of a call ---
# The long tokens of this config name rows of the edge's table, and hidden
# Call-IDs need the table of their creators: both are written behind to
# state_dir and read back at start, so bob's BYE after the restart (Route
# and Request-URI tokens naming rows, alice's real Call-ID restored for
# her) still reaches alice and ends the call.
uas uas_restart.xml bob-restart 5062 6000
call uac_restart.xml restart 5076 & RESTART_CALL=$!
acked() { grep -q "^ACK " "$T/bob-restart.msg" 2>/dev/null; }
tap "a call is up (bob got the ACK)" wait_until 15 acked
rows_used() { grep "^Record-Route:" "$T/bob-restart.msg" | head -1 | awk '{ exit !(length($0) < 200) }'; }
tap "its Record-Route token is a short one (names a row)" rows_used
kill "$EDGE_PID"
edge_gone() { ! kill -0 "$EDGE_PID" 2>/dev/null; }
tap "the edge stops on SIGTERM" wait_until 10 edge_gone
tap "it left its tables in state_dir" sh -c "[ -s '$T/state/topology.rows' ] && [ -s '$T/state/topology.callids' ]"
bg sbc edge-restarted sh -c "exec '$EDGE' -c '$T/pc.json' >>'$T/edge.log' 2>&1"
EDGE_PID=$IT_LAST_PID
up2() { [ "$(grep -c "connected to core" "$T/edge.log")" -ge 2 ]; }
tap "a new edge starts and connects to core" wait_until 15 up2
restored() { grep -q "topology rows: [1-9][0-9]* restored" "$T/edge.log" && grep -q "Call-ID creators: [1-9][0-9]* restored" "$T/edge.log"; }
tap "the new edge restored the row table and the Call-ID creators" restored
tap "bob's BYE after the restart reached alice (tokens opened from restored rows)" wait_until 20 uas_ok bob-restart
wait "$RESTART_CALL"
RESTART_RC=$?
tap "alice got the BYE with her own Call-ID and the call ended" [ "$RESTART_RC" = 0 ]
no_bad_tokens() { ! grep -q "damaged token" "$T/edge.log"; }
tap "no token was refused as damaged" no_bad_tokens

# --- without the relay no call is set up half-anchored ---
kill "$RELAY_PID"
relay_gone() { grep -q "relay connection lost" "$T/edge.log"; }
tap "the edge notices the relay is gone" wait_until 10 relay_gone
tap "an INVITE with SDP is then answered 503 by the edge" call uac_503.xml norelay 5070
tap "no sanitizer report from the edge" sh -c "! grep -q 'AddressSanitizer\|runtime error' '$T/edge.log'"
it_end
