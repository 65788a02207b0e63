#!/usr/bin/env bash
# The edge answers the credential-less REGISTER with core's challenge
# (sbc/challenge.c) and OPTIONS to itself; core verifies what the edge
# minted. Across a core restart: a nonce minted before it (by the edge or
# by core) comes back 401 stale=true, a replay of credentials used before
# the restart is not accepted, and a fresh challenge works at once.
# Driven by a small digest client (python3, UDP) inside a namespace.
. "$(dirname "$0")/lib.sh"
it_begin

B=$IT_BUILD
EDGE=$B/sbc/portcullis-edge
CORE=$B/core/portcullis-core
T=$IT_TMP
for f in "$EDGE" "$CORE"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
command -v python3 >/dev/null || { echo "Bail out! python3 missing"; exit 1; }

ns_add pbx
IP=127.0.0.1
chmod 755 "$T"
cat >"$T/pc.json" <<J
{"runtime_dir": "$T/run", "state_dir": "$T/state",
 "listen": [{"transport": "udp", "address": "$IP", "port": 5060}],
 "auth": {"algorithms": ["SHA-256", "MD5"]},
 "users": [{"user": "alice", "password": "alicepw"}]}
J

cat >"$T/ua.py" <<'PY'
# ua.py STATE CMD: one step of a digest client; state (nonce, nc, last
# credentials) kept in a JSON file between steps.
import hashlib, json, os, random, re, socket, sys

state_path, cmd = sys.argv[1], sys.argv[2]
st = json.load(open(state_path)) if os.path.exists(state_path) else {"cseq": 0}
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
sock.settimeout(3)
lport = sock.getsockname()[1]

def H(alg, s):
    f = hashlib.sha256 if alg == "SHA-256" else hashlib.md5
    return f(s.encode()).hexdigest()

def request(method, ruri, to, extra=""):
    st["cseq"] += 1
    msg = (f"{method} {ruri} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bK{random.getrandbits(48):x}\r\n"
           f"Max-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=t{lport}\r\n"
           f"To: <{to}>\r\nCall-ID: ch-{st.get('cid', lport)}\r\n"
           f"CSeq: {st['cseq']} {method}\r\n"
           f"Contact: <sip:alice@127.0.0.1:{lport}>\r\nExpires: 600\r\n"
           f"{extra}Content-Length: 0\r\n\r\n")
    sock.sendto(msg.encode(), ("127.0.0.1", 5060))
    while True:
        data, _ = sock.recvfrom(65535)
        text = data.decode(errors="replace")
        code = int(text.split(" ", 2)[1])
        if code >= 200:
            return code, text

def authz(nonce, realm, alg, nc):
    uri = "sip:127.0.0.1"
    ha1 = H(alg, f"alice:{realm}:alicepw")
    ha2 = H(alg, f"REGISTER:{uri}")
    ncs = f"{nc:08x}"
    resp = H(alg, f"{ha1}:{nonce}:{ncs}:cn:auth:{ha2}")
    return (f'Authorization: Digest username="alice", realm="{realm}", '
            f'nonce="{nonce}", uri="{uri}", response="{resp}", '
            f"algorithm={alg}, qop=auth, nc={ncs}, cnonce=\"cn\"\r\n")

def challenge_of(text):
    # The MD5 challenge (any would do): realm, nonce, stale.
    for line in text.split("\r\n"):
        if line.startswith("WWW-Authenticate:") and "algorithm=MD5" in line:
            return (re.search(r'nonce="([^"]+)"', line).group(1),
                    re.search(r'realm="([^"]+)"', line).group(1),
                    "stale=true" in line)
    return None

out = []
if cmd == "challenge":
    # REGISTER without credentials: 401, keep the nonce.
    st["cid"] = random.getrandbits(32)
    code, text = request("REGISTER", "sip:127.0.0.1", "sip:alice@127.0.0.1")
    ch = challenge_of(text)
    st["nonce"], st["realm"], _ = ch if ch else (None, None, None)
    st["nc"] = 0
    out.append(str(code))
elif cmd == "auth":
    # REGISTER with the kept nonce and the next nonce-count.
    st["nc"] += 1
    a = authz(st["nonce"], st["realm"], "MD5", st["nc"])
    st["last"] = a
    code, text = request("REGISTER", "sip:127.0.0.1", "sip:alice@127.0.0.1", a)
    ch = challenge_of(text) if code == 401 else None
    out.append(str(code))
    if ch:
        out.append("stale" if ch[2] else "fresh")
        st["nonce"], st["realm"], st["nc"] = ch[0], ch[1], 0
elif cmd == "replay":
    # The last credentials again, unchanged.
    code, text = request("REGISTER", "sip:127.0.0.1", "sip:alice@127.0.0.1", st["last"])
    ch = challenge_of(text) if code == 401 else None
    out.append(str(code))
    if ch:
        out.append("stale" if ch[2] else "fresh")
        st["nonce"], st["realm"], st["nc"] = ch[0], ch[1], 0
elif cmd == "options":
    code, text = request("OPTIONS", "sip:127.0.0.1:5060", "sip:127.0.0.1")
    out.append(str(code))
    out.append("allow" if "\r\nAllow: INVITE" in text else "no-allow")
json.dump(st, open(state_path, "w"))
print(" ".join(out))
PY

ua() { in_ns pbx python3 "$T/ua.py" "$T/ua.json" "$@"; }
expect() {
	local want=$1 got
	shift
	got=$(ua "$@")
	[ "$got" = "$want" ] || { echo "ua $*: got '$got', want '$want'"; return 1; }
}
start_core() {
	bg pbx core "$CORE" -f -c "$T/pc.json"
	CORE_PID=$IT_LAST_PID
	wait_until 10 test -S "$T/run/core.sock"
}
edge_connected() { [ "$(grep -c 'connected to core' "$IT_TMP/edge.log")" -ge "$1" ]; }

start_core
bg pbx edge "$EDGE" -f -c "$T/pc.json"
EDGE_PID=$IT_LAST_PID
wait_until 10 edge_connected 1

tap "OPTIONS to the SBC: 200 with Allow" expect "200 allow" options
tap "REGISTER without credentials: 401" expect 401 challenge
# The edge minted it: core's epoch file is what it sealed with.
tap "the nonce carries core's epoch and the edge's minter bit" \
	python3 -c "import json,sys; n=json.load(open('$T/ua.json'))['nonce']
e=open('$T/run/nonce.epoch').read().strip()
sys.exit(0 if n[16:24]==e and int(n[24],16)>=8 else 1)"
tap "core accepts the edge's nonce: 200" expect 200 auth
tap "the next nonce-count on the same nonce: 200" expect 200 auth
tap "a replay of the same credentials: 401 stale" expect "401 stale" replay

kill -9 "$CORE_PID"
wait "$CORE_PID" 2>/dev/null
start_core
wait_until 10 edge_connected 2
tap "after a core restart, the old nonce: 401 stale=true" expect "401 stale" auth
ua challenge >/dev/null
tap "and a fresh challenge after the restart works: 200" expect 200 auth
# A nonce from the edge before the restart, used once before: its replay
# after the restart must not pass.
ua challenge >/dev/null
tap "a nonce used before a restart" expect 200 auth
kill -9 "$CORE_PID"
wait "$CORE_PID" 2>/dev/null
start_core
wait_until 10 edge_connected 3
tap "cannot be replayed after it: 401 stale" expect "401 stale" replay
tap "core is back: a new registration works" expect 200 auth
it_end
