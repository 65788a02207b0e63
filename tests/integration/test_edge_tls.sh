#!/usr/bin/env bash
# portcullis-edge's stream transports with the real portcullis-core:
# IPv6 listeners (UDP and TCP), TLS (certificate chain, TLS 1.2+, optional client-certificate
# verification per listener) driven by Python's ssl client (the sipp build
# here has no TLS), CRLFCRLF keep-alive answered with CRLF on TCP, a
# half-sent message closed after header_timeout_s, and the cap on
# connections per source.
. "$(dirname "$0")/lib.sh"
it_begin

B=$IT_BUILD
T=$IT_TMP
D=$(cd "$(dirname "$0")" && pwd)/edge
EDGE=$B/sbc/portcullis-edge
CORE=$B/core/portcullis-core
for f in "$EDGE" "$CORE"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done

SBC=10.94.0.1
ns_add sbc
ns_add ua
ns_link ua 10.94.1.2/24 sbc 10.94.1.1/24
in_ns sbc ip addr add $SBC/32 dev lo
ns_route ua 10.94.1.1
# IPv6 between ua and sbc (nodad: usable at once)
in_ns ua ip -6 addr add fd94::2/64 dev "$IT_LAST_IFA" nodad
in_ns sbc ip -6 addr add fd94::1/64 dev "$IT_LAST_IFB" nodad
in_ns sbc ip -6 addr add fd93::1/128 dev lo nodad
in_ns ua ip -6 route add default via fd94::1

# A CA, the edge's certificate (with the CA in its chain file), a client
# certificate from the CA, and a self-signed client certificate.
cd "$T" || exit 1
ossl() { openssl "$@" >/dev/null 2>&1; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=it-ca \
	-keyout ca.key -out ca.pem
ossl req -newkey rsa:2048 -nodes -subj /CN=sbc.test -keyout sbc.key -out sbc.csr
printf 'subjectAltName=DNS:sbc.test,IP:%s\n' $SBC >sbc.ext
ossl x509 -req -in sbc.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile sbc.ext -out sbc.crt
cat sbc.crt ca.pem >sbc-chain.pem
ossl req -newkey rsa:2048 -nodes -subj /CN=trunk-a.test -keyout cli.key -out cli.csr
printf 'subjectAltName=DNS:trunk-a.test\n' >cli.ext
ossl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile cli.ext -out cli.crt
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rogue \
	-keyout rogue.key -out rogue.crt
tap "certificates made" test -s sbc-chain.pem -a -s cli.crt -a -s rogue.crt

mkdir -p "$T/run" "$T/state"
cat >"$T/pc.json" <<J
{"domains": ["example.test"],
 "listen": [{"transport": "udp", "address": "$SBC", "port": 5060},
            {"transport": "tcp", "address": "$SBC", "port": 5060},
            {"transport": "udp", "address": "fd93::1", "port": 5060},
            {"transport": "tcp", "address": "fd93::1", "port": 5060},
            {"transport": "tls", "address": "$SBC", "port": 5061,
             "tls_cert": "$T/sbc-chain.pem", "tls_key": "$T/sbc.key"},
            {"transport": "tls", "address": "$SBC", "port": 5062,
             "role": "trunk", "tls_cert": "$T/sbc-chain.pem",
             "tls_key": "$T/sbc.key", "tls_ca": "$T/ca.pem",
             "tls_verify_client": true}],
 "runtime_dir": "$T/run", "state_dir": "$T/state",
 "user": "root", "group": "root",
 "limits": {"header_timeout_s": 2, "max_connections_per_source": 8}}
J
bg sbc core "$CORE" -c "$T/pc.json"
bg sbc edge "$EDGE" -c "$T/pc.json"
up() { grep -q "connected to core" "$T/edge.log"; }
tap "edge starts with its TLS listeners and reaches core" wait_until 15 up

probe() { in_ns ua timeout 20 python3 "$D/sipprobe.py" "$@"; }
tls_ok() { probe tls $SBC "$@" | grep -q "^SIP/2.0 [1-6][0-9][0-9]"; }
tap "OPTIONS over TLS is answered on the same connection (chain verified)" \
	tls_ok 5061 --ca "$T/ca.pem"
tls11_refused() { probe tls $SBC 5061 --tls11max | grep -qi "alert protocol version"; }
tap "TLS 1.1 is refused by the edge (protocol version alert)" tls11_refused
tap "client-verified listener: no certificate, no answer" sh -c \
	"! in_ns ua timeout 20 python3 '$D/sipprobe.py' tls $SBC 5062 --ca '$T/ca.pem'"
tap "client-verified listener: a self-signed certificate is refused" sh -c \
	"! in_ns ua timeout 20 python3 '$D/sipprobe.py' tls $SBC 5062 --ca '$T/ca.pem' --cert '$T/rogue.crt' --key '$T/rogue.key'"
tap "client-verified listener: the CA's client certificate is served" \
	tls_ok 5062 --ca "$T/ca.pem" --cert "$T/cli.crt" --key "$T/cli.key"
tap "OPTIONS over UDP/IPv6 is answered" probe udp fd93::1 5060
tap "OPTIONS over TCP/IPv6 is answered" probe tcp fd93::1 5060
tap "CRLFCRLF keep-alive gets CRLF back (TCP)" probe ping $SBC 5060
tap "a half-sent message is closed after header_timeout_s" probe slow $SBC 5060 6
few_refused() { [ "$(probe conns $SBC 5060 20)" -ge 10 ]; }
tap "connections past the per-source cap are refused" few_refused
# A second edge process on the same ports (SO_REUSEPORT), same key file.
bg sbc edge2 "$EDGE" -c "$T/pc.json"
up2() { grep -q "connected to core" "$T/edge2.log"; }
tap "a second edge binds the same ports (SO_REUSEPORT) and reaches core" wait_until 15 up2
many_answered() {
	local i ok=0
	for i in 1 2 3 4 5 6 7 8; do
		probe tcp $SBC 5060 >/dev/null && ok=$((ok + 1))
	done
	[ $ok = 8 ]
}
tap "with two edges every connection is served" many_answered
tap "after all that, TLS still serves" tls_ok 5061 --ca "$T/ca.pem"
tap "the edge is still the first one (no crash)" sh -c "[ \$(grep -c 'ready:' '$T/edge.log') = 1 ] && ! grep -q 'stopping' '$T/edge.log'"
tap "no sanitizer report from the edge" sh -c "! grep -q 'AddressSanitizer\|runtime error' '$T/edge.log'"
it_end
