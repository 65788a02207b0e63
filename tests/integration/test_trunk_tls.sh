#!/usr/bin/env bash
# SIP trunks over TLS through the real portcullis-edge + portcullis-core in
# a network namespace. The carriers are tests/integration/trunk_tls/
# tls_sip.py (Python's ssl: the sipp build here has no TLS) with
# certificates from a CA made here; the users are sipp on UDP.
# Proves: the edge opens TLS to a trunk peer, presents its certificate
# (mutual TLS), checks the peer's chain against the peer's tls_ca and its
# name (tls_name by SNI + host name; an address by IP SAN; tls_verify
# false skips that with a warning); a peer whose
# certificate names someone else is refused (the edge logs why) and the
# call fails over to the next peer and completes (INVITE/200/ACK/BYE);
# a TLS phone whose connection is gone is reached by a new connection.
. "$(dirname "$0")/lib.sh"
it_begin

B=$IT_BUILD
EDGE=$B/sbc/portcullis-edge
CORE=$B/core/portcullis-core
T=$IT_TMP
X=$(cd "$(dirname "$0")/trunk" && pwd)
P=$(cd "$(dirname "$0")/trunk_tls" && pwd)/tls_sip.py
for f in "$EDGE" "$CORE"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
command -v sipp >/dev/null || { echo "Bail out! sipp not installed"; exit 1; }
command -v openssl >/dev/null || { echo "Bail out! openssl not installed"; exit 1; }

ns_add pbx
IP=127.0.0.1
chmod 755 "$T"

# A CA; the edge's certificate; carrier.test (the good peer); evil.test
# (same CA, wrong name); a peer known by its address (IP SAN); a phone's
# self-signed certificate.
cd "$T" || exit 1
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=it-trunk-ca \
	-keyout ca.key -out ca.pem
mkcert() { # NAME SAN
	ossl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr"
	printf 'subjectAltName=%s\n' "$2" >"$1.ext"
	ossl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
		-days 2 -extfile "$1.ext" -out "$1.crt"
}
mkcert sbc.test "DNS:sbc.test,IP:$IP"
mkcert carrier.test DNS:carrier.test
mkcert evil.test DNS:evil.test
mkcert ip-carrier IP:127.0.0.4
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bob-phone \
	-keyout bob.key -out bob.crt
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lab-carrier \
	-keyout lab.key -out lab.crt
tap "certificates made" test -s sbc.test.crt -a -s carrier.test.crt -a \
	-s evil.test.crt -a -s ip-carrier.crt -a -s bob.crt -a -s lab.crt

cat >"$T/pc.json" <<J
{"runtime_dir": "$T/run", "state_dir": "$T/state",
 "listen": [{"transport": "udp", "address": "$IP", "port": 5060},
            {"transport": "tls", "address": "$IP", "port": 5061,
             "role": "trunk", "tls_cert": "$T/sbc.test.crt",
             "tls_key": "$T/sbc.test.key", "tls_ca": "$T/ca.pem"},
            {"transport": "tls", "address": "$IP", "port": 5062,
             "tls_cert": "$T/sbc.test.crt", "tls_key": "$T/sbc.test.key"}],
 "auth": {"algorithms": ["MD5"]},
 "limits": {"header_timeout_s": 3},
 "users": [{"user": "alice", "password": "alicepw"},
           {"user": "bob", "password": "bobpw"}],
 "trunks": [
   {"name": "tlscarrier", "options_interval_s": 0,
    "failover_timeout_ms": 1500,
    "peers": [{"address": "127.0.0.3", "port": 5061, "transport": "tls",
               "tls_name": "carrier.test", "tls_ca": "$T/ca.pem",
               "weight": 100},
              {"address": "127.0.0.2", "port": 5061, "transport": "tls",
               "tls_name": "carrier.test", "tls_ca": "$T/ca.pem",
               "weight": 0}]},
   {"name": "ipcarrier", "options_interval_s": 0,
    "peers": [{"address": "127.0.0.4", "port": 5061, "transport": "tls",
               "tls_ca": "$T/ca.pem"}]},
   {"name": "labcarrier", "options_interval_s": 0,
    "peers": [{"address": "127.0.0.6", "port": 5061, "transport": "tls",
               "tls_verify": false}]},
   {"name": "silent", "options_interval_s": 0,
    "peers": [{"address": "127.0.0.7", "port": 5061, "transport": "tls"}]},
   {"name": "closed", "options_interval_s": 0,
    "peers": [{"address": "127.0.0.8", "port": 5061, "transport": "tls"}]}],
 "routes": [{"match": {"prefix": "+49"}, "trunk": "tlscarrier"},
            {"match": {"prefix": "+44"}, "trunk": "ipcarrier"},
            {"match": {"prefix": "+33"}, "trunk": "labcarrier"},
            {"match": {"prefix": "+34"}, "trunk": "silent"},
            {"match": {"prefix": "+35"}, "trunk": "closed"}]}
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
# peer NAME IP PORT ARGS...: a TLS peer in the background; PEER_PID.
peer() {
	local name=$1 ip=$2 port=$3
	shift 3
	bg pbx "$name" timeout 60 python3 -u "$P" uas "$ip" "$port" "$@"
	PEER_PID=$IT_LAST_PID
	wait_until 5 grep -q listening "$T/$name.log"
}

peer good 127.0.0.2 5061 --cert carrier.test.crt --key carrier.test.key \
	--ca ca.pem --calls 1 --secs 50
GOOD=$PEER_PID
peer evil 127.0.0.3 5061 --cert evil.test.crt --key evil.test.key \
	--calls 1 --secs 50
peer ipc 127.0.0.4 5061 --cert ip-carrier.crt --key ip-carrier.key \
	--ca ca.pem --calls 1 --secs 50
IPC=$PEER_PID

# 127.0.0.7 accepts TCP and never speaks TLS; nothing listens on
# 127.0.0.8. Calls routed there cannot complete; only the edge's log is
# looked at.
bg pbx silent timeout 60 python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.7", 5061)); s.listen(8); print("listening", flush=True)
held = []
end = time.time() + 55
while time.time() < end:
    s.settimeout(max(0.1, end - time.time())); c, _ = s.accept(); held.append(c)'
wait_until 5 grep -q listening "$T/silent.log"
bg pbx core "$CORE" -f -c "$T/pc.json"
wait_until 10 test -S "$T/run/core.sock"
bg pbx edge "$EDGE" -f -c "$T/pc.json"
up() { grep -q "connected to core" "$T/edge.log"; }
tap "edge starts with its TLS listeners and reaches core" wait_until 15 up

tap "alice's call to +4930123456 over the TLS trunk completes" \
	sp alice_tls -sf "$X/user_uac.xml" "$IP:5060" -i 127.0.0.1 -p 5070 \
	-s +4930123456 -au alice -ap alicepw
# tap runs its command in a subshell, which cannot wait for our child.
wait "$GOOD"
GOOD_RC=$?
tap "the carrier saw INVITE, ACK and BYE over TLS" test "$GOOD_RC" = 0
tap "the carrier got the edge's certificate (mutual TLS)" \
	grep -q "handshake ok from 127.0.0.1 TLSv1.[23] client-cert=sbc.test" \
	"$T/good.log"
tap "the peer with the wrong name was refused in the handshake" \
	grep -q "handshake failed from 127.0.0.1" "$T/evil.log"
tap "it got no request" sh -c "! grep -q '^INVITE' '$T/evil.log'"
tap "the edge logs why: hostname mismatch of the trunk's peer" \
	grep -q "TLS to 127.0.0.3:5061 (trunk tlscarrier) refused: certificate verify failed: hostname mismatch" \
	"$T/edge.log"

tap "a call to a peer known by its address (IP SAN) completes" \
	sp alice_ip -sf "$X/user_uac.xml" "$IP:5060" -i 127.0.0.1 -p 5071 \
	-s +44201234 -au alice -ap alicepw
wait "$IPC"
IPC_RC=$?
tap "that peer saw the whole call" test "$IPC_RC" = 0

peer lab 127.0.0.6 5061 --cert lab.crt --key lab.key --calls 1 --secs 40
LAB=$PEER_PID
tap "a lab carrier with tls_verify false and a self-signed certificate is called" \
	sp alice_lab -sf "$X/user_uac.xml" "$IP:5060" -i 127.0.0.1 -p 5073 \
	-s +33123456 -au alice -ap alicepw
wait "$LAB"
LAB_RC=$?
tap "that peer saw the whole call" test "$LAB_RC" = 0
tap "the edge warns that its certificate is not checked" \
	grep -q "trunk labcarrier peer 127.0.0.6:5061: tls_verify is false" \
	"$T/edge.log"

# Calls that go nowhere (background; they end by sipp's own timeout).
sp alice_silent -sf "$X/user_uac.xml" "$IP:5060" -i 127.0.0.1 -p 5074 \
	-s +34123 -au alice -ap alicepw &
IT_PIDS+=($!)
sp alice_closed -sf "$X/user_uac.xml" "$IP:5060" -i 127.0.0.1 -p 5075 \
	-s +35123 -au alice -ap alicepw &
IT_PIDS+=($!)
tap "a peer that never answers the handshake is closed after header_timeout_s, logged" \
	wait_until 15 grep -q "TLS handshake to 127.0.0.7:5061 (trunk silent) timed out" "$T/edge.log"
tap "a peer that refuses the connection is logged" \
	wait_until 10 grep -q "connect to 127.0.0.8:5061 (trunk closed): Connection refused" "$T/edge.log"

# A TLS phone: registers over TLS, hangs up its connection, then listens
# on its Contact; a call to it needs a connection the edge opens.
reg() {
	in_ns pbx timeout 20 python3 -u "$P" register $IP 5062 --user bob \
		--password bobpw --contact 127.0.0.5:5071 --ca ca.pem
}
tap "bob registers over TLS and closes his connection" reg
closed() {
	in_ns pbx ss -tn state established "( dport = :5062 or sport = :5062 )" |
		grep -q 5062 && return 1
	return 0
}
tap "his connection is gone" wait_until 5 closed
peer bob 127.0.0.5 5071 --cert bob.crt --key bob.key --calls 1 --secs 40
BOB=$PEER_PID
tap "alice's call to bob reaches him over a new TLS connection" \
	sp alice_bob -sf "$X/user_uac.xml" "$IP:5060" -i 127.0.0.1 -p 5072 \
	-s bob -au alice -ap alicepw
wait "$BOB"
BOB_RC=$?
tap "bob saw INVITE, ACK and BYE" test "$BOB_RC" = 0
tap "no sanitizer report from the edge" \
	sh -c "! grep -q 'AddressSanitizer\|runtime error\|LeakSanitizer' '$T/edge.log'"
it_end
