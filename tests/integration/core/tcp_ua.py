#!/usr/bin/env python3
"""Helpers for test_core_more.sh's two-edge part (run inside its namespace).

  tcp_ua.py probe HOST PORT FIRST COUNT
      Connects from local ports FIRST.. to HOST:PORT (edges sharing the port
      with SO_REUSEPORT), asks ss which process accepted each connection and
      prints "LOCALPORT PID" per probe. Closed with RST (no TIME_WAIT), so a
      later client can bind the same port.
  tcp_ua.py bob HOST PORT LOCALPORT READYFILE
      A UA over one TCP connection from LOCALPORT: REGISTERs as bob (no
      digest: the test turns auth off), writes READYFILE, answers one INVITE
      (180, 200), takes the ACK and the BYE (200), then writes "ok" to
      READYFILE.call if all that happened on this connection. It keeps the
      connection open until the edge closes it (or 60 s pass).
"""
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sipmsg import response  # noqa: E402


def probe(host, port, first, count):
    for lp in range(first, first + count):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, lp))
            s.connect((host, port))
        except OSError:
            s.close()
            continue
        pid = ""
        for _ in range(20):
            out = subprocess.run(
                ["ss", "-Htnp", "state", "established",
                 "( sport = :%d and dport = :%d )" % (port, lp)],
                capture_output=True, text=True).stdout
            if "pid=" in out:
                pid = out.split("pid=")[1].split(",")[0]
                break
            time.sleep(0.05)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        print(lp, pid or "none")
        sys.stdout.flush()


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def read_msg(self, deadline):
        while True:
            head, sep, rest = self.buf.partition(b"\r\n\r\n")
            if sep:
                n = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() in (b"content-length", b"l"):
                        n = int(v.strip())
                if len(rest) >= n:
                    self.buf = rest[n:]
                    return head.decode("latin-1")
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no message")
            self.s.settimeout(left)
            data = self.s.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data


def answer(req, code, reason, totag, contact):
    return response(req, code, reason, totag, contact).encode()


def bob(host, port, lport, ready):
    deadline = time.time() + 30
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, lport))
    s.connect((host, port))
    c = Conn(s)
    me = "sip:bob@%s:%d;transport=tcp" % (host, lport)
    reg = ("REGISTER sip:%s SIP/2.0\r\n"
           "Via: SIP/2.0/TCP %s:%d;branch=z9hG4bKtwoedge1\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:bob@%s>;tag=regb\r\nTo: <sip:bob@%s>\r\n"
           "Call-ID: twoedge-reg@test\r\nCSeq: 1 REGISTER\r\n"
           "Contact: <%s>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n"
           % (host, host, lport, host, host, me))
    s.sendall(reg.encode())
    m = c.read_msg(deadline)
    if not m.startswith("SIP/2.0 200"):
        print("REGISTER answered:", m.split("\r\n")[0])
        return 1
    with open(ready, "w") as f:
        f.write("registered\n")
    seen = []
    while True:
        m = c.read_msg(deadline)
        first = m.split("\r\n")[0]
        seen.append(first)
        if first.startswith("INVITE "):
            s.sendall(answer(m, 180, "Ringing", "twoedgeb", me))
            s.sendall(answer(m, 200, "OK", "twoedgeb", me))
        elif first.startswith("BYE "):
            s.sendall(answer(m, 200, "OK", None, None))
            break
        elif first.startswith("ACK "):
            continue
        else:
            print("unexpected:", first)
            return 1
    ok = any(x.startswith("INVITE ") for x in seen) and \
        any(x.startswith("ACK ") for x in seen)
    print("bob saw:", seen)
    sys.stdout.flush()
    with open(ready + ".call", "w") as f:
        f.write("ok\n" if ok else "bad\n")
    # Held open: the flow must stay alive in its edge.
    try:
        while True:
            c.read_msg(deadline + 30)
    except (OSError, TimeoutError, EOFError):
        pass
    return 0 if ok else 1


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "probe":
        probe(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
              int(sys.argv[5]))
        return 0
    if len(sys.argv) == 6 and sys.argv[1] == "bob":
        try:
            return bob(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                       sys.argv[5])
        except (OSError, TimeoutError, EOFError) as e:
            print("bob:", e)
            return 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
