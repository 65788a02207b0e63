#!/usr/bin/env bash
# SIP trunks through the real portcullis-edge + portcullis-core in a
# network namespace, with sipp playing the carrier (on 127.0.0.2 and
# 127.0.0.4; 127.0.0.3 is a carrier peer that is down) and the users.
# Proves: registration to the carrier with its digest challenge and the
# refresh before expiry; an outbound call (dial plan: prefix, strip/prefix,
# caller ID) that fails over from the dead first peer and answers the
# carrier's 407 with a new CSeq (the caller's own restored on the way
# back, her ACK and BYE moved along; her PRACK of a reliable 183 in the
# early dialog too, RAck included); an inbound call to a DID reaching a registered user; an
# unknown DID gets 404; the trunk's call limit gives 503; a CDR for each.
. "$(dirname "$0")/lib.sh"
it_begin

B=$IT_BUILD
EDGE=$B/sbc/portcullis-edge
CORE=$B/core/portcullis-core
T=$IT_TMP
X=$(cd "$(dirname "$0")/trunk" && pwd)
for f in "$EDGE" "$CORE"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
command -v sipp >/dev/null || { echo "Bail out! sipp not installed"; exit 1; }
command -v sqlite3 >/dev/null || { echo "Bail out! sqlite3 not installed"; exit 1; }

ns_add pbx
IP=127.0.0.1
chmod 755 "$T"

cat >"$T/pc.json" <<J
{"runtime_dir": "$T/run", "state_dir": "$T/state",
 "listen": [{"transport": "udp", "address": "$IP", "port": 5060}],
 "auth": {"algorithms": ["MD5"]},
 "users": [{"user": "alice", "password": "alicepw"},
           {"user": "bob", "password": "bobpw"}],
 "trunks": [
   {"name": "carrier", "options_interval_s": 0, "max_calls": 1,
    "failover_timeout_ms": 1000,
    "peers": [{"address": "127.0.0.3", "weight": 100},
              {"address": "127.0.0.2", "weight": 0}],
    "outbound_auth": {"username": "pcx", "password": "secret"}},
   {"name": "regtrunk", "options_interval_s": 0,
    "peers": [{"address": "127.0.0.4"}],
    "outbound_auth": {"username": "acct1", "password": "regpw"},
    "register": {"enabled": true, "expires": 10}}],
 "routes": [
   {"match": {"prefix": "+49"}, "trunk": "carrier", "strip": 1,
    "prefix": "00", "caller_id": "4930999"},
   {"match": {"from": "trunks", "prefix": "+4930555"}, "user": "bob"}]}
J

# sp NAME ARGS...: one sipp run in the namespace, bounded in time.
sp() {
	local name=$1
	shift
	in_ns pbx timeout 30 sipp -m 1 -nostdin -timeout 25 -timeout_error \
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
bound() { in_ns pbx ss -lun | grep -q "$1:5060 \|$1:$2 "; }

# The carrier's registrar listens before core starts registering.
spbg carrier_reg -sf "$X/carrier_reg.xml" -i 127.0.0.4 -p 5060
REG_PID=$SPBG_PID
wait_until 5 bound 127.0.0.4 5060
bg pbx core "$CORE" -f -c "$T/pc.json"
wait_until 10 test -S "$T/run/core.sock"
bg pbx edge "$EDGE" -f -c "$T/pc.json"

tap "bob registers with us" wait_until 15 \
	sp reg_bob -sf "$X/user_reg.xml" "$IP:5060" -i 127.0.0.1 -p 5090 \
	-s bob -au bob -ap bobpw

# outbound CARRIER_XML ALICE_XML NAME: alice's call to +4930123456 through
# trunk carrier, the carrier's sipp (127.0.0.2) playing CARRIER_XML;
# traces carrier_NAME and alice_NAME.
outbound() {
	spbg "carrier_$3" -sf "$X/$1" -i 127.0.0.2 -p 5060
	local pid=$SPBG_PID
	wait_until 5 bound 127.0.0.2 5060 || return 1
	sp "alice_$3" -sf "$X/$2" "$IP:5060" -i 127.0.0.1 -p 5070 \
		-s +4930123456 -au alice -ap alicepw || return 1
	wait "$pid"
}
tap "outbound call: dead first peer, failover, carrier's 401 answered, number and caller ID rewritten" \
	outbound carrier_uas_auth.xml user_uac.xml out
# The carrier saw CSeq 3 on the answer to its 401; alice must see her own.
alice_cseq() {
	grep -q "^CSeq: 2 INVITE" "$T/alice_out.msg" &&
		! grep -q "^CSeq: 3 INVITE" "$T/alice_out.msg"
}
tap "alice's responses carry her CSeq (the carrier's retry had the next one)" alice_cseq

# The same with a reliable 183 (RFC 3262): alice's PRACK in the early
# dialog counts from her CSeq, which is one behind the carrier's after the
# challenge; the carrier must see it (CSeq and RAck) in its own numbers,
# and alice the 200 to it in hers.
tap "outbound call with PRACK after the carrier's 401: CSeq and RAck moved both ways" \
	outbound carrier_uas_auth_prack.xml user_uac_prack.xml prack

inbound() {
	spbg bob_in -sf "$X/user_uas.xml" -i 127.0.0.1 -p 5090
	local pid=$SPBG_PID
	wait_until 5 bound 127.0.0.1 5090 || return 1
	sp carrier_in -sf "$X/carrier_uac.xml" "$IP:5060" -i 127.0.0.2 \
		-p 5060 -s +4930555 || return 1
	wait "$pid"
}
tap "inbound call from the carrier to DID +4930555 reaches bob" inbound
tap "an unknown DID gets 404" \
	sp carrier_404 -sf "$X/carrier_uac_404.xml" "$IP:5060" -i 127.0.0.2 \
	-p 5060 -s +4930666

limit() {
	# bob rings for 3 s: the first call holds the trunk's only slot.
	sed 's|<pause milliseconds="0"/>|<pause milliseconds="3000"/>|' \
		"$X/user_uas.xml" >"$T/user_uas_slow.xml"
	spbg bob_slow -sf "$T/user_uas_slow.xml" -i 127.0.0.1 -p 5090
	local uas=$SPBG_PID
	wait_until 5 bound 127.0.0.1 5090 || return 1
	spbg carrier_first -sf "$X/carrier_uac.xml" "$IP:5060" -i 127.0.0.2 \
		-p 5060 -s +4930555
	local first=$SPBG_PID
	wait_until 5 grep -q "180 Ringing" "$T/bob_slow.msg" || return 1
	sp carrier_503 -sf "$X/carrier_uac_503.xml" "$IP:5060" -i 127.0.0.2 \
		-p 5061 -s +4930555 || return 1
	wait "$first" && wait "$uas"
}
tap "the trunk's max_calls reached: 503" limit

# tap runs its command in a subshell, which cannot wait for our child.
wait "$REG_PID"
REG_RC=$?
[ "$REG_RC" = 0 ] || tail -5 "$T/carrier_reg.err" 2>/dev/null
tap "registration to the carrier: challenge answered, refreshed before expiry" \
	test "$REG_RC" = 0

q() { sqlite3 "$T/state/portcullis.db" "$1"; }
cdrs() {
	[ "$(q "SELECT count(*) FROM cdr WHERE direction='outbound' AND
		trunk='carrier' AND status=200 AND answer_ms>0 AND
		end_ms>=answer_ms AND callee='+4930123456' AND
		caller LIKE 'alice@%'")" = 2 ] &&
	[ "$(q "SELECT count(*) FROM cdr WHERE direction='inbound' AND
		status=200 AND callee='+4930555' AND reason LIKE 'bye%'")" = 2 ] &&
	[ "$(q "SELECT count(*) FROM cdr WHERE status=404 AND
		callee='+4930666'")" = 1 ] &&
	[ "$(q "SELECT count(*) FROM cdr WHERE status=503 AND
		reason='limit trunk'")" = 1 ]
}
tap "a CDR for each call attempt in SQLite" wait_until 5 cdrs
tap "the same CDRs as JSON lines" \
	bash -c "[ \$(grep -c '\"call_id\"' '$T/state/cdr.jsonl') = 6 ] &&
		grep -q '\"status\":503' '$T/state/cdr.jsonl'"
it_end
