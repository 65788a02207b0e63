#!/usr/bin/env bash
# Whole-appliance acceptance, faults (acceptance/net.sh):
#  6. kill -9 of relay during a call: the media keeps flowing (kernel),
#     relay comes back and lists the call; kill -9 of core: registrations
#     survive, new calls work after the restart; kill -9 of edge: it is
#     restarted and the phones reach it again; a bad configuration reload
#     is refused and the old configuration keeps running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/acceptance/net.sh"
it_begin
acc_need
net_up
obs_up
net_start_appliance
tap "appliance starts" status_ok
tap "faults: alice registers (behind NAT)" ua_register alice alice $ALICE 5062
tap "faults: bob registers (behind NAT)" ua_register bob bob $BOB 5062
sipua() { local n=$1; shift; in_ns "$n" python3 "$SIPUA" "$@"; }

# restarted NAME OLDPID: a new pid, running, and every process up.
restarted() {
	local pid st
	pid=$(child_field "$1" pid)
	st=$(child_field "$1" state)
	[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$2" ] && [ "$st" = running ] && status_ok
}
in_kernel() { media_rows 'len(r) >= 1 and all(x.get("kernel") is True for x in r)'; }
media_clear() { media_rows 'len(r) == 0'; }
maps_empty() { [ "$(nft_elems dmap4)" = 0 ] && [ "$(nft_elems smap4)" = 0 ]; }
regs_intact() {
	pcctl --json reg list | pq '
s = json.dumps(r)
"alice@example.test" in s and "bob@example.test" in s'
}
# a_call LOG HOLD_MS RTPN N: a whole alice->bob call with media; true when
# both sides completed and bob got 90% of the RTP.
# Each call has media ports of its own (an earlier call's RTP senders may
# still be draining): N picks 7000+N (bob) and 7100+N (alice).
a_call() { # a_call LOG HOLD_MS RTPN N
	uas_start bob bob $BOB 5062 $((7000 + $4)) "$1-bob" "$3" $(($2 / 1000 + 3))
	uac_start alice alice $ALICE 5062 $((7100 + $4)) bob "$1-alice" "$3" $(($2 / 1000 + 3)) "$2"
	wait_until 25 sipp_done_ok "$1-alice" && wait_until 10 sipp_done_ok "$1-bob" &&
		wait_until 8 rtp_got "$1-bob" $(($3 * 9 / 10))
}

# ---------- kill -9 relay during a call ----------
uas_start bob bob $BOB 5062 7000 relay-bob 400 12
uac_start alice alice $ALICE 5062 7100 bob relay-alice 400 12 8000
tap "relay kill: the call's media is in the kernel" wait_until 8 in_kernel
CALLID=$(media_rows 'r[0]["call_id"]')
OLD=$(child_field relay pid)
kill -9 "$OLD"
tap "relay kill: portcullisd restarts the relay" wait_until 15 restarted relay "$OLD"
relisted() { media_rows 'any(x["call_id"] == "'"$CALLID"'" and x["kernel"] is True for x in r)'; }
tap "relay kill: the restarted relay lists the call, in the kernel" wait_until 10 relisted
tap "relay kill: the call completes (BYE) after the restart" wait_until 25 sipp_done_ok relay-alice
tap "relay kill: bob's side completed" wait_until 10 sipp_done_ok relay-bob
tap "relay kill: media alice->bob kept flowing (>= 380 of 400)" wait_until 8 rtp_got relay-bob 380
tap "relay kill: media bob->alice kept flowing (>= 380 of 400)" wait_until 8 rtp_got relay-alice 380
tap "relay kill: the BYE removed the call from the new relay's maps" wait_until 5 maps_empty
last_exit_9() { child_field relay last_exit | grep -q 'signal 9'; }
tap "relay kill: the restart cause is recorded (signal 9)" last_exit_9

# ---------- kill -9 core ----------
OLD=$(child_field core pid)
kill -9 "$OLD"
tap "core kill: portcullisd restarts core" wait_until 15 restarted core "$OLD"
tap "core kill: registrations survive the restart" wait_until 5 regs_intact
tap "core kill: a new alice->bob call with media works" a_call core 2000 100 2

# ---------- kill -9 edge ----------
OLD=$(child_field edge pid)
kill -9 "$OLD"
tap "edge kill: portcullisd restarts the edge" wait_until 15 restarted edge "$OLD"
opt_ok() { sipua carol options $CAROL:5070 $SBC:5060 >/dev/null; }
tap "edge kill: carol reaches it again (OPTIONS answered)" wait_until 10 opt_ok
tap "edge kill: alice re-registers" ua_register alice alice $ALICE 5062
tap "edge kill: bob re-registers" ua_register bob bob $BOB 5062
tap "edge kill: an alice->bob call with media works" a_call edge 2000 100 4

# ---------- bad configuration reload ----------
PIDS=$(for c in edge core relay; do child_field $c pid; done | tr '\n' ' ')
cp "$ACC_CONF" "$IT_TMP/good.json"
# invite_rate 0 is out of range (1..100000), and a listener on an address
# the sbc does not have.
python3 - "$ACC_CONF" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["limits"]["invite_rate"] = 0
c["listen"].append({"transport": "udp", "address": "10.57.0.1", "port": 70000})
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
reload_refused() {
	local out
	out=$(pcctl --json config reload)
	echo "$out" | tee "$IT_TMP/reload.out"
	echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["ok"] is False and d["error"]["message"] else 1)'
}
tap "reload: a bad configuration is refused with an error" reload_refused
names_fault() { grep -Eq 'portcullis.json:[0-9]+:[0-9]+: limits.invite_rate: must be between' "$IT_TMP/reload.out" && grep -Eq 'portcullis.json:[0-9]+:[0-9]+: listen\[3\].port' "$IT_TMP/reload.out"; }
tap "reload: the error names both faulty keys with file:line:column" names_fault
same_pids() { [ "$(for c in edge core relay; do child_field $c pid; done | tr '\n' ' ')" = "$PIDS" ] && status_ok; }
tap "reload: every process keeps running (same pids)" same_pids
cp "$IT_TMP/good.json" "$ACC_CONF"
tap "reload: the old configuration still serves (OPTIONS)" opt_ok
tap "reload: calls still work" a_call reload 2000 100 6
tap "no sanitizer report from any daemon" sh -c "! grep -q 'ERROR: AddressSanitizer\|runtime error' '$IT_TMP/portcullisd.log'"

it_end
