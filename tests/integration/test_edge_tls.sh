#!/usr/bin/env bash
# portcullis-edge's stream transports with the real portcullis-core:
# IPv6 listeners (UDP and TCP), TLS (certificate chain, TLS 1.2+, optional client-certificate
# verification per listener) driven by Python's ssl client (the sipp build
# here has no TLS), certificates chosen by SNI (tls_sni; exact and
# wildcard names, the default for other or no names, positioned config
# errors), CRLFCRLF keep-alive answered with CRLF on TCP, a
# half-sent message closed after header_timeout_s, and the cap on
# connections per source.
. "$(dirname "$0")/lib.sh"
it_begin

it_edge_bed 10.94 ua "EDGE CORE"
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
# Certificates served by SNI name: alt.test and *.wild.test.
ossl req -newkey rsa:2048 -nodes -subj /CN=alt.test -keyout alt.key -out alt.csr
printf 'subjectAltName=DNS:alt.test\n' >alt.ext
ossl x509 -req -in alt.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile alt.ext -out alt.crt
ossl req -newkey rsa:2048 -nodes -subj /CN=wild.test -keyout wild.key -out wild.csr
printf 'subjectAltName=DNS:*.wild.test\n' >wild.ext
ossl x509 -req -in wild.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
	-extfile wild.ext -out wild.crt
tap "certificates made" test -s sbc-chain.pem -a -s cli.crt -a -s rogue.crt \
	-a -s alt.crt -a -s wild.crt

cat >"$T/pc.json" <<J
{"domains": ["example.test"],
 "listen": [{"transport": "udp", "address": "$SBC", "port": 5060},
            {"transport": "tcp", "address": "$SBC", "port": 5060},
            {"transport": "udp", "address": "fd93::1", "port": 5060},
            {"transport": "tcp", "address": "fd93::1", "port": 5060},
            {"transport": "tls", "address": "$SBC", "port": 5061,
             "tls_cert": "$T/sbc-chain.pem", "tls_key": "$T/sbc.key",
             "tls_sni": [{"server_name": "alt.test", "cert": "$T/alt.crt",
                          "key": "$T/alt.key"},
                         {"server_name": "*.wild.test",
                          "cert": "$T/wild.crt", "key": "$T/wild.key"}]},
            {"transport": "tls", "address": "$SBC", "port": 5062,
             "role": "trunk", "tls_cert": "$T/sbc-chain.pem",
             "tls_key": "$T/sbc.key", "tls_ca": "$T/ca.pem",
             "tls_verify_client": true,
             "tls_sni": [{"server_name": "alt.test", "cert": "$T/alt.crt",
                          "key": "$T/alt.key"}]}],
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
# subject NAME|-: the subject of the certificate the edge serves for that
# SNI name (- = no SNI).
subject() {
	local sni=(-servername "$1")
	[ "$1" = - ] && sni=(-noservername)
	in_ns ua timeout 10 openssl s_client -connect $SBC:5061 "${sni[@]}" \
		-CAfile "$T/ca.pem" -verify_return_error </dev/null 2>/dev/null |
		openssl x509 -noout -subject
}
sni_is() { subject "$1" | grep -q "CN *= *$2\$"; }
tap "SNI alt.test gets the alt.test certificate" sni_is alt.test alt.test
tap "SNI ALT.TEST (any case) gets it too" sni_is ALT.TEST alt.test
tap "SNI a.wild.test gets the *.wild.test certificate" sni_is a.wild.test wild.test
tap "SNI a.b.wild.test (two labels) gets the default" sni_is a.b.wild.test sbc.test
tap "an unknown SNI name gets the default certificate" sni_is other.test sbc.test
tap "no SNI gets the default certificate" sni_is - sbc.test
sni_options() {
	{
		printf 'OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/TLS 10.94.1.2:5999;branch=z9hG4bKsni1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@example.test>;tag=s1\r\nTo: <sip:example.test>\r\nCall-ID: sni1@10.94.1.2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'
		sleep 3 # keeps s_client reading; it ends at timeout
	} | in_ns ua timeout 5 openssl s_client -quiet -connect $SBC:5061 \
		-servername alt.test -verify_hostname alt.test -CAfile "$T/ca.pem" \
		-verify_return_error 2>/dev/null | grep -q "^SIP/2.0 [1-6][0-9][0-9]"
}
tap "OPTIONS over TLS by SNI alt.test is answered (alt.test verified)" sni_options
# Configuration errors of tls_sni, positioned as every config error.
bad_conf() { # NAME SNI-ARRAY
	cat >"$T/$1.json" <<J
{"runtime_dir": "$T/run", "state_dir": "$T/state",
 "listen": [{"transport": "tls", "address": "$SBC", "port": 5061,
             "tls_cert": "$T/sbc-chain.pem", "tls_key": "$T/sbc.key",
             "tls_sni": $2}]}
J
	! timeout 10 "$EDGE" -c "$T/$1.json" 2>"$T/$1.err" && cat "$T/$1.err"
}
mismatch() {
	bad_conf mismatch "[{\"server_name\": \"alt.test\", \"cert\": \"$T/alt.crt\", \"key\": \"$T/wild.key\"},
	  {\"server_name\": \"bad name\", \"cert\": \"$T/none.crt\", \"key\": \"$T/alt.key\"}]" |
		grep -q "mismatch.json:4:[0-9]*: listen\[0\].tls_sni\[0\]: key $T/wild.key does not belong to certificate $T/alt.crt" &&
		grep -q "mismatch.json:5:[0-9]*: listen\[0\].tls_sni\[1\].server_name: must be a host name" "$T/mismatch.err" &&
		grep -q "mismatch.json:5:[0-9]*: listen\[0\].tls_sni\[1\].cert: $T/none.crt is not readable" "$T/mismatch.err"
}
tap "tls_sni: a key of another certificate, a bad name and a missing file are refused, positioned" mismatch
dup() {
	bad_conf dup "[{\"server_name\": \"alt.test\", \"cert\": \"$T/alt.crt\", \"key\": \"$T/alt.key\"},
	  {\"server_name\": \"ALT.test\", \"cert\": \"$T/wild.crt\", \"key\": \"$T/wild.key\"}]" |
		grep -q "dup.json:4:[0-9]*: listen\[0\].tls_sni: tls_sni\[1\] repeats server_name \"ALT.test\" of tls_sni\[0\]"
}
tap "tls_sni: a server_name given twice is refused" dup
tls11_refused() { probe tls $SBC 5061 --tls11max | grep -qi "alert protocol version"; }
tap "TLS 1.1 is refused by the edge (protocol version alert)" tls11_refused
tap "client-verified listener: no certificate, no answer" sh -c \
	"! in_ns ua timeout 20 python3 '$D/sipprobe.py' tls $SBC 5062 --ca '$T/ca.pem'"
tap "client-verified listener: a self-signed certificate is refused" sh -c \
	"! in_ns ua timeout 20 python3 '$D/sipprobe.py' tls $SBC 5062 --ca '$T/ca.pem' --cert '$T/rogue.crt' --key '$T/rogue.key'"
tap "client-verified listener: the CA's client certificate is served" \
	tls_ok 5062 --ca "$T/ca.pem" --cert "$T/cli.crt" --key "$T/cli.key"
# The certificate chosen by SNI keeps the listener's client verification.
sni_client() { # ARGS... for s_client: prints the first SIP line or alert
	{
		printf 'OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/TLS 10.94.1.2:5998;branch=z9hG4bKsni2;rport\r\nMax-Forwards: 70\r\nFrom: <sip:probe@example.test>;tag=s2\r\nTo: <sip:example.test>\r\nCall-ID: sni2@10.94.1.2\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'
		sleep 3 # keeps s_client reading; it ends at timeout
	} | in_ns ua timeout 5 openssl s_client -quiet -connect $SBC:5062 \
		-servername alt.test -verify_hostname alt.test -CAfile "$T/ca.pem" \
		-verify_return_error "$@" 2>&1
}
sni_served() { sni_client -cert "$T/cli.crt" -key "$T/cli.key" | grep -q "^SIP/2.0 [1-6][0-9][0-9]"; }
sni_refused() { ! sni_client | grep -q "^SIP/2.0"; }
tap "client-verified listener, SNI alt.test, CA's client certificate: served" sni_served
tap "client-verified listener, SNI alt.test, no certificate: refused" sni_refused
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
