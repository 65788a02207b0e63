#!/usr/bin/env python3
"""Sends malformed INVITEs to an edge, in the manner of PROTOS c07-sip:
every header and the request line replaced in turn by overflows, format
strings, bad integers, bad characters, or removed. Prints the number sent
and the number of answers seen. Usage:
  mutate.py udp|tcp HOST PORT COUNT_LIMIT
  mutate.py probe HOST PORT
Bounded in count and time; talks only to the address given."""
import socket
import sys
import time

BASE = [
    "INVITE sip:nobody@example.test SIP/2.0",
    "Via: SIP/2.0/{tp} {me}:{port};branch=z9hG4bK{n};rport",
    "Max-Forwards: 70",
    "From: <sip:mal@example.test>;tag={n}",
    "To: <sip:nobody@example.test>",
    "Call-ID: mal{n}@{me}",
    "CSeq: {n} INVITE",
    "Contact: <sip:mal@{me}:{port}>",
    "Content-Type: application/sdp",
]
BODY = "v=0\r\no=- 1 1 IN IP4 {me}\r\ns=-\r\nc=IN IP4 {me}\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
BAD = ["", "A" * 600, "A" * 9000, "%s%s%s%n%n", "\x00\x01\x02", "-1",
       "4294967296", "99999999999999999999", "<sip:>", "\"unterminated",
       ";;;;", "\xff\xfe\x80", "SIP/2.0/UDP", "[::1", "a@b@c"]


def messages(me, port, tp):
    n = 0
    for i, line in enumerate(BASE):
        variants = [None] + BAD
        for v in variants:
            n += 1
            lines = [l.format(tp=tp, me=me, port=port, n=n) for l in BASE]
            body = BODY.format(me=me)
            if v is None:
                if i == 0:
                    continue
                del lines[i]
            elif i == 0:
                parts = lines[0].split(" ")
                for j in range(3):
                    p = list(parts)
                    p[j] = v
                    n += 1
                    yield ("\r\n".join([" ".join(p)] + lines[1:]) +
                           "\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                continue
            else:
                name = lines[i].split(":", 1)[0]
                lines[i] = name + ": " + v
            yield ("\r\n".join(lines) +
                   "\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    # Content-Length lies
    for cl in ["-5", "0", "1", "999999", "abc", "10 10"]:
        n += 1
        lines = [l.format(tp=tp, me=me, port=port, n=n) for l in BASE]
        body = BODY.format(me=me)
        yield "\r\n".join(lines) + "\r\nContent-Length: %s\r\n\r\n%s" % (cl, body)


def probe(host, port):
    """One INVITE whose CSeq names another method, over UDP; prints the
    answer's status line."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    me, myport = s.getsockname()
    lines = [l.format(tp="UDP", me=me, port=myport, n=1) for l in BASE
             if not l.startswith("CSeq")] + ["CSeq: 1 BYE"]
    s.send(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    s.settimeout(3)
    print(s.recv(70000).decode("latin-1").split("\r\n")[0])


def main():
    if sys.argv[1] == "probe":
        probe(sys.argv[2], int(sys.argv[3]))
        return
    tp, host, port, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    deadline = time.time() + 60
    sent = answered = 0
    if tp == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 0))
        me, myport = s.getsockname()[0], s.getsockname()[1]
        s.connect((host, port))
        me = s.getsockname()[0]
        s.settimeout(0)
        rounds = 0
        while sent < limit and time.time() < deadline:
            rounds += 1
            for m in messages(me, myport, "UDP"):
                if sent >= limit:
                    break
                s.send(m.encode("latin-1"))
                sent += 1
                try:
                    while True:
                        s.recv(70000)
                        answered += 1
                except (BlockingIOError, ConnectionRefusedError):
                    pass
                if sent % 50 == 0:
                    time.sleep(0.02)
        end = time.time() + 2
        s.settimeout(0.2)
        while time.time() < end:
            try:
                s.recv(70000)
                answered += 1
            except (socket.timeout, ConnectionRefusedError):
                pass
    else:
        conn = None
        closed = 0
        while sent < limit and time.time() < deadline:
            for m in messages("0.0.0.0", 0, "TCP"):
                if sent >= limit or time.time() > deadline:
                    break
                if conn is None:
                    conn = socket.create_connection((host, port), timeout=2)
                    conn.settimeout(0)
                try:
                    conn.sendall(m.encode("latin-1"))
                except OSError:
                    conn.close()
                    conn = None
                    closed += 1
                    continue
                sent += 1
                try:
                    while True:
                        d = conn.recv(70000)
                        if not d:
                            conn.close()
                            conn = None
                            closed += 1
                            break
                        answered += d.count(b"SIP/2.0 ")
                except (BlockingIOError, ConnectionResetError):
                    pass
                if sent % 50 == 0:
                    time.sleep(0.02)
        if conn is not None:
            conn.settimeout(1)
            try:
                while True:
                    d = conn.recv(70000)
                    if not d:
                        break
                    answered += d.count(b"SIP/2.0 ")
            except OSError:
                pass
    print("sent=%d answered=%d" % (sent, answered))


if __name__ == "__main__":
    main()
