#!/usr/bin/env bash
# portcullis-edge + portcullis-core in a network namespace, driven by sipp
# (no relay: the calls carry no SDP, so edge needs no media anchoring).
# Proves through the real daemons: REGISTER with digest auth (401 then
# 200), a wrong password is refused, a call from alice to bob's sipp UAS
# (407 challenge, auth, ringing, answer, ACK, BYE), a CANCELled call (487),
# and that a kill -9 of core keeps bob's registration (a call after the
# restart still reaches him).
. "$(dirname "$0")/lib.sh"
it_begin

B=$IT_BUILD
EDGE=$B/sbc/portcullis-edge
CORE=$B/core/portcullis-core
T=$IT_TMP
for f in "$EDGE" "$CORE"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
command -v sipp >/dev/null || { echo "Bail out! sipp not installed"; exit 1; }

ns_add pbx
IP=127.0.0.1
# The daemons drop to the service account when it exists: let it reach
# the runtime directory inside this run's temporary directory.
chmod 755 "$T"

cat >"$T/pc.json" <<J
{"runtime_dir": "$T/run", "state_dir": "$T/state",
 "listen": [{"transport": "udp", "address": "$IP", "port": 5060}],
 "auth": {"algorithms": ["MD5", "SHA-256"]},
 "users": [{"user": "alice", "password": "alicepw"},
           {"user": "bob", "password": "bobpw"}]}
J

start_core() {
	bg pbx core "$CORE" -f -c "$T/pc.json"
	CORE_PID=$IT_LAST_PID
	wait_until 10 test -S "$T/run/core.sock"
}
start_core
bg pbx edge "$EDGE" -f -c "$T/pc.json"
# Edge answers OPTIONS itself only when core is absent; once it has core,
# an OPTIONS to the proxy gets core's 200.
cat >"$T/options.xml" <<'X'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options">
<send retrans="500"><![CDATA[
OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:probe@[remote_ip]>;tag=[call_number]
To: <sip:[remote_ip]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
X

cat >"$T/reg.xml" <<'X'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Max-Forwards: 70
Expires: 600
Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Max-Forwards: 70
Expires: 600
[authentication]
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
X

# A REGISTER whose credentials are refused: challenged again.
sed 's|<recv response="200"/>|<recv response="401"/>|' "$T/reg.xml" >"$T/reg_bad.xml"

cat >"$T/uas.xml" <<'X'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas">
<recv request="INVITE"/>
<send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]b[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:bob@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
<send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]b[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:bob@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
<recv request="ACK"/>
<recv request="BYE"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
X

cat >"$T/uac.xml" <<'X'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac">
<send retrans="500"><![CDATA[
INVITE sip:bob@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:alice@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
<recv response="407" auth="true"/>
<send><![CDATA[
ACK sip:bob@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
<send retrans="500"><![CDATA[
INVITE sip:bob@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: <sip:alice@[local_ip]:[local_port]>
Max-Forwards: 70
[authentication]
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="200" rrs="true"/>
<send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 ACK
[routes]
Max-Forwards: 70
Content-Length: 0

]]></send>
<pause milliseconds="300"/>
<send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 3 BYE
[routes]
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
</scenario>
X

cat >"$T/uas_cancel.xml" <<'X'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas_cancel">
<recv request="INVITE">
  <action><ereg regexp="Via: [^\r\n]*" search_in="msg" check_it="true" assign_to="invvia"/></action>
</recv>
<send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]c[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:bob@[local_ip]:[local_port]>
Content-Length: 0

]]></send>
<recv request="CANCEL"/>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
<send><![CDATA[
SIP/2.0 487 Request Terminated
[$invvia]
[last_From:]
[last_To:];tag=[pid]c[call_number]
[last_Call-ID:]
CSeq: [cseq] INVITE
Content-Length: 0

]]></send>
<recv request="ACK"/>
</scenario>
X

cat >"$T/uac_cancel.xml" <<'X'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac_cancel">
<send retrans="500"><![CDATA[
INVITE sip:bob@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:alice@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
<recv response="407" auth="true"/>
<send><![CDATA[
ACK sip:bob@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
<send retrans="500"><![CDATA[
INVITE sip:bob@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: <sip:alice@[local_ip]:[local_port]>
Max-Forwards: 70
[authentication]
Content-Length: 0

]]></send>
<recv response="100" optional="true"/>
<recv response="180"/>
<send retrans="500"><![CDATA[
CANCEL sip:bob@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 CANCEL
Max-Forwards: 70
Content-Length: 0

]]></send>
<recv response="200"/>
<recv response="487"/>
<send><![CDATA[
ACK sip:bob@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-6]
From: <sip:alice@[remote_ip]>;tag=[call_number]
To: <sip:bob@[remote_ip]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
</scenario>
X

# sipp CMD: one run in the namespace, bounded in time.
sp() {
	local name=$1
	shift
	in_ns pbx timeout 20 sipp "$IP:5060" -m 1 -nostdin \
		-timeout 15 -timeout_error -trace_err -trace_msg -message_file "$T/$name.msg" \
		-error_file "$T/$name.err" "$@" >"$T/$name.out" 2>&1
	local rc=$?
	[ "$rc" = 0 ] || { tail -5 "$T/$name.err" 2>/dev/null; tail -3 "$T/$name.out"; }
	return $rc
}
# Background UAS on bob's port; the script waits for it later.
uas() {
	local name=$1 xml=$2
	in_ns pbx timeout 25 sipp -sf "$xml" -p 5090 -m 1 -nostdin \
		-timeout 20 -timeout_error -trace_err -error_file "$T/$name.err" \
		-trace_msg -message_file "$T/$name.msg" \
		>"$T/$name.out" 2>&1 &
	UAS_PID=$!
	IT_PIDS+=("$UAS_PID")
}
wait_uas() {
	wait "$UAS_PID"
	local rc=$?
	[ "$rc" = 0 ] || tail -5 "$T/$1.err" 2>/dev/null
	return $rc
}
uas_bound() { in_ns pbx ss -lun | grep -q ':5090 '; }
edge_ready() { sp probe -sf "$T/options.xml" -p 5080; }
call() {
	uas "$1_uas" "$T/uas.xml"
	wait_until 5 uas_bound || return 1
	sp "$1_uac" -sf "$T/uac.xml" -p 5070 -s bob -au alice -ap alicepw &&
		wait_uas "$1_uas"
}

tap "edge and core answer OPTIONS to the proxy" wait_until 15 edge_ready
tap "bob registers with digest auth (REGISTER, 401, REGISTER, 200)" \
	sp reg_bob -sf "$T/reg.xml" -p 5090 -s bob -au bob -ap bobpw
tap "a wrong password is challenged again" \
	sp reg_bad -sf "$T/reg_bad.xml" -p 5091 -s bob -au bob -ap nope
tap "alice calls bob: 407, auth, 180, 200, ACK, BYE" call c1

cancel() {
	uas c2_uas "$T/uas_cancel.xml"
	wait_until 5 uas_bound || return 1
	sp c2_uac -sf "$T/uac_cancel.xml" -p 5070 -s bob -au alice -ap alicepw &&
		wait_uas c2_uas
}
tap "alice cancels a ringing call: 200 for CANCEL, 487" cancel

# kill -9 of core: edge reconnects; the binding comes back from SQLite.
stored() {
	[ "$(sqlite3 "$T/state/portcullis.db" \
		"SELECT count(*) FROM location WHERE aor = 'bob@$IP'")" = 1 ]
}
tap "bob's binding is written behind to SQLite" wait_until 5 stored
kill -9 "$CORE_PID"
wait "$CORE_PID" 2>/dev/null
start_core
tap "after kill -9 and restart of core, bob is still reachable" \
	wait_until 15 call c3
it_end
