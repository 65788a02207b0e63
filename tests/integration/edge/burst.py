#!/usr/bin/env python3
"""Requests from many source addresses at once (test_edge_limits.sh,
test_edge_flood.sh).

  burst.py BASE NADDR PER_ADDR DST PORT [USER_AGENT]

Sends PER_ADDR OPTIONS from each of NADDR addresses BASE+1 .. BASE+NADDR
(the sender's namespace routes them to itself: `ip route add local ...`),
as fast as it can, then collects the answers for two seconds and prints
one line: sent=N answered=A s200=X s503=Y retry_after=Z other=O
(retry_after counts the 503s that carry a Retry-After header).
"""
import ipaddress
import select
import socket
import sys
import time


def main():
    base = ipaddress.IPv4Address(sys.argv[1])
    naddr, per = int(sys.argv[2]), int(sys.argv[3])
    dst, port = sys.argv[4], int(sys.argv[5])
    ua = sys.argv[6] if len(sys.argv) > 6 else "burst-test"
    if not (0 < naddr <= 5000 and 0 < per <= 1000):
        sys.exit("bounds: NADDR <= 5000, PER_ADDR <= 1000")
    socks = []
    for i in range(naddr):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        s.bind((str(base + i + 1), 0))
        s.setblocking(False)
        socks.append(s)
    sent = 0
    for k in range(per):
        for i, s in enumerate(socks):
            a, p = s.getsockname()
            msg = (
                f"OPTIONS sip:{dst} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {a}:{p};branch=z9hG4bKb{i}x{k};rport\r\n"
                f"Max-Forwards: 70\r\n"
                f"From: <sip:burst@{a}>;tag=b{i}x{k}\r\n"
                f"To: <sip:{dst}>\r\n"
                f"Call-ID: b{i}x{k}@burst\r\n"
                f"CSeq: 1 OPTIONS\r\n"
                f"User-Agent: {ua}\r\n"
                f"Content-Length: 0\r\n\r\n"
            ).encode()
            try:
                s.sendto(msg, (dst, port))
                sent += 1
            except OSError:
                pass
    counts = {"answered": 0, "s200": 0, "s503": 0, "retry_after": 0,
              "other": 0}
    deadline = time.monotonic() + 2.0
    poller = select.poll()
    byfd = {}
    for s in socks:
        poller.register(s, select.POLLIN)
        byfd[s.fileno()] = s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for fd, _ in poller.poll(int(left * 1000) + 1):
            s = byfd[fd]
            while True:
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    break
                counts["answered"] += 1
                line = data.split(b"\r\n", 1)[0]
                if line.startswith(b"SIP/2.0 200"):
                    counts["s200"] += 1
                elif line.startswith(b"SIP/2.0 503"):
                    counts["s503"] += 1
                    if b"\r\nRetry-After:" in data:
                        counts["retry_after"] += 1
                else:
                    counts["other"] += 1
    print(f"sent={sent} " + " ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
