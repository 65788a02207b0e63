#!/usr/bin/env bash
# Whole-appliance acceptance, attacks and bad input (acceptance/net.sh):
#  5. an attacker on the public side floods REGISTER, INVITE and OPTIONS,
#     scans with a scanner User-Agent and guesses passwords, each from its
#     own address: every one is banned in the kernel (element of the ban
#     set; its packets counted as dropped before they reach any socket),
#     while an alice->bob call placed during the attack succeeds;
#  7. a corpus of malformed messages (acceptance/corpus, by category) sent
#     to the edge: each gets the right answer or is dropped, and the
#     appliance still serves afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acceptance/net.sh"
it_begin
acc_need
net_up
obs_up
ATT_REG=$WAN.66
ATT_INV=$WAN.67
ATT_OPT=$WAN.68
ATT_SCAN=$WAN.69
ATT_GUESS=$WAN.70
MAL=$WAN.80
for a in $ATT_INV $ATT_OPT $ATT_SCAN $ATT_GUESS $MAL; do
	in_ns attacker ip addr add $a/24 dev pub0
done
net_start_appliance
tap "appliance starts" status_ok

# ---------- 5. attack ----------
tap "attack: alice registers (behind NAT)" ua_register alice alice $ALICE 5062
tap "attack: bob registers (behind NAT)" ua_register bob bob $BOB 5062
sipua() { local n=$1; shift; in_ns "$n" python3 "$SIPUA" "$@"; }
# ban4 ADDR: ADDR is an element of the product's kernel ban set.
ban4_has() {
	in_ns sbc nft -j list set inet portcullis ban4 | python3 -c '
import json, sys
els = [o["set"].get("elem", []) for o in json.load(sys.stdin)["nftables"] if "set" in o][0]
vals = [e["elem"]["val"] if isinstance(e, dict) else e for e in els]
sys.exit(0 if sys.argv[1] in vals else 1)' "$1"
}

# The call that must survive the attack: started first, lasts through it.
uas_start bob bob $BOB 5062 7000 during-bob 300 9
uac_start alice alice $ALICE 5062 7100 bob during-alice 300 9 6000
bg attacker flood-reg python3 "$SIPUA" flood $ATT_REG:5060 $SBC:5060 REGISTER 1500 500
PID_REG=$IT_LAST_PID
bg attacker flood-inv python3 "$SIPUA" flood $ATT_INV:5060 $SBC:5060 INVITE 1500 500
PID_INV=$IT_LAST_PID
bg attacker flood-opt python3 "$SIPUA" flood $ATT_OPT:5060 $SBC:5060 OPTIONS 1500 500
PID_OPT=$IT_LAST_PID
bg attacker scan python3 "$SIPUA" options $ATT_SCAN:5060 $SBC:5060 friendly-scanner 3
PID_SCAN=$IT_LAST_PID
bg attacker guess python3 "$SIPUA" guess $ATT_GUESS:5060 $SBC:5060 alice 12
PID_GUESS=$IT_LAST_PID
for p in $PID_REG $PID_INV $PID_OPT $PID_SCAN $PID_GUESS; do wait_pid $p 200; done

tap "attack: the REGISTER flooder is banned in the kernel set" wait_until 5 ban4_has $ATT_REG
tap "attack: the INVITE flooder is banned in the kernel set" wait_until 5 ban4_has $ATT_INV
tap "attack: the OPTIONS flooder is banned in the kernel set" wait_until 5 ban4_has $ATT_OPT
tap "attack: the scanner (User-Agent friendly-scanner) is banned" wait_until 5 ban4_has $ATT_SCAN
tap "attack: the password guesser is banned" wait_until 5 ban4_has $ATT_GUESS
scan_unanswered() { grep -q '^answered=0 of 3' "$IT_TMP/scan.log"; }
tap "attack: the scanner got no answer at all" scan_unanswered
bans_listed() {
	pcctl --json bans list | pq '
s = json.dumps(r)
all(a in s for a in "'"$ATT_REG $ATT_INV $ATT_OPT $ATT_SCAN $ATT_GUESS"'".split())'
}
tap "attack: pcctl bans list names all five" bans_listed
tap "attack: alice->bob call placed during the attack completed" wait_until 20 sipp_done_ok during-alice
tap "attack: bob's side of it completed" wait_until 10 sipp_done_ok during-bob
tap "attack: its media alice->bob arrived (>= 270 of 300)" wait_until 8 rtp_got during-bob 270
tap "attack: its media bob->alice arrived (>= 270 of 300)" wait_until 8 rtp_got during-alice 270

# Dropped in the kernel: the banned sources' packets reach the sbc
# (counted before the product's ban chain) and go no further.
IN1=$(obs att_in)
PASS1=$(obs att_passed)
sipua attacker flood $ATT_REG:5061 $SBC:5060 OPTIONS 100 200 >"$IT_TMP/after-ban.out"
sipua attacker flood $ATT_INV:5061 $SBC:5060 REGISTER 100 200 >>"$IT_TMP/after-ban.out"
IN2=$(obs att_in)
PASS2=$(obs att_passed)
tap "attack: 200 packets from banned sources arrive at the sbc ($IN1 -> $IN2)" sh -c "[ $((IN2 - IN1)) -ge 200 ]"
tap "attack: none of them gets past the ban ($PASS1 -> $PASS2)" sh -c "[ '$PASS1' = '$PASS2' ]"
tap "attack: the banned sources got no answer" sh -c "! grep -v 'answered=0$' '$IT_TMP/after-ban.out'"
uas_start bob bob $BOB 5062 7010 after-bob 100 5
uac_start alice alice $ALICE 5062 7110 bob after-alice 100 5 2000
tap "attack: a call after the attack completes" wait_until 20 sipp_done_ok after-alice
tap "attack: with media (>= 90 of 100)" wait_until 8 rtp_got after-bob 90

# ---------- 7. malformed input ----------
CORPUS=$ACC_DIR/corpus
corpus_run() {
	sipua attacker corpus $MAL:5090 $SBC:5060 "$CORPUS" >"$IT_TMP/corpus.out" 2>&1
	cat "$IT_TMP/corpus.out"
}
corpus_run >/dev/null
for f in "$CORPUS"/*.sip; do
	name=$(basename "$f" .sip)
	line=$(grep "^[a-zA-Z]* $name.sip:" "$IT_TMP/corpus.out")
	tap "bad input: $name -> ${line#*: }" sh -c "case '$line' in 'ok '*) true ;; *) false ;; esac"
done
no_restart() { local n; n=$(child_field edge restarts); echo "restarts=$n"; [ "$n" = 0 ]; }
tap "bad input: the edge never restarted" no_restart
opt_ok() { sipua carol options $CAROL:5070 $SBC:5060; }
tap "bad input: the appliance still answers OPTIONS afterwards" opt_ok
tap "bad input: alice still registers afterwards" ua_register alice alice $ALICE 5062
tap "no sanitizer report from any daemon" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$IT_TMP/portcullisd.log'"

it_end
