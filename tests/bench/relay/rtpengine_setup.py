#!/usr/bin/env python3
"""Sets up N calls on rtpengine over its ng protocol (bencode over UDP), the
same shape as `relayctl setup`: party a at A_ADDR:PORT offers, party b at
B_ADDR:PORT answers; writes the port a must send to, one per line.
Used by tests/bench/relay/run.sh for the side-by-side figure (by hand)."""
import socket
import sys


def benc(v):
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(v[k]) for k in sorted(v)) + b"e"
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    return b"%d:%s" % (len(v), v)


def bdec(b, i=0):
    c = b[i:i + 1]
    if c == b"d":
        i += 1
        d = {}
        while b[i:i + 1] != b"e":
            k, i = bdec(b, i)
            d[k], i = bdec(b, i)
        return d, i + 1
    if c == b"l":
        i += 1
        out = []
        while b[i:i + 1] != b"e":
            x, i = bdec(b, i)
            out.append(x)
        return out, i + 1
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n


def sdp(addr, port):
    return ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=sendrecv\r\n" % (addr, addr, port))


def main():
    ng, n, a, b, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    host, port = ng.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    ah, ap = a.rsplit(":", 1)
    bh, bp = b.rsplit(":", 1)
    ports = []
    for i in range(n):
        for cmd, tag, addr, p in (("offer", "ta", ah, ap), ("answer", "tb", bh, bp)):
            msg = {"command": cmd, "call-id": "bench-%d" % i, "from-tag": tag,
                   "sdp": sdp(addr, int(p))}
            if cmd == "answer":
                msg["from-tag"], msg["to-tag"] = "ta", "tb"
            cookie = b"%d_%s " % (i, cmd.encode())
            s.sendto(cookie + benc(msg), (host, int(port)))
            r, _ = s.recvfrom(65536)
            d, _ = bdec(r[r.index(b" ") + 1:])
            if d.get(b"result") != b"ok":
                sys.exit("rtpengine %s %d: %r" % (cmd, i, d))
            if cmd == "answer":
                m = [l for l in d[b"sdp"].split(b"\r\n") if l.startswith(b"m=audio")][0]
                ports.append(int(m.split()[1]))
    with open(out, "w") as f:
        f.write("".join("%d\n" % p for p in ports))


main()
