#!/usr/bin/env python3
"""Small SIP-over-stream probes for the edge tests (TLS and TCP cases sipp
cannot do here). Talks only to the address given; every wait is bounded.
  sipprobe.py tls HOST PORT [--cert C --key K] [--ca CA] [--tls12max]
      one OPTIONS over TLS; prints the status line (exit 1 if none)
  sipprobe.py udp|tcp HOST PORT   one OPTIONS (IPv4 or IPv6); prints the
                                  status line (exit 1 if none)
  sipprobe.py ping HOST PORT      CRLFCRLF on TCP; exit 0 if CRLF comes back
  sipprobe.py slow HOST PORT SECS half a request, then wait: exit 0 if the
                                  edge closes the connection within SECS
  sipprobe.py conns HOST PORT N   opens N connections at once; prints how
                                  many the edge closed at once (refused)
"""
import socket
import ssl
import sys
import time

OPTIONS = ("OPTIONS sip:example.test SIP/2.0\r\n"
           "Via: SIP/2.0/{tp} {me}:{port};branch=z9hG4bKprobe{n};rport\r\n"
           "Max-Forwards: 70\r\nFrom: <sip:probe@example.test>;tag=p{n}\r\n"
           "To: <sip:example.test>\r\nCall-ID: probe{n}@{me}\r\n"
           "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


def read_status(s, limit=5.0):
    s.settimeout(limit)
    buf = b""
    end = time.time() + limit
    while b"\r\n" not in buf and time.time() < end:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf.split(b"\r\n")[0].decode("latin-1")


def tls(host, port, args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    if "--ca" in args:
        ctx.load_verify_locations(args[args.index("--ca") + 1])
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if "--cert" in args:
        ctx.load_cert_chain(args[args.index("--cert") + 1],
                            args[args.index("--key") + 1])
    if "--tls11max" in args:
        # Let the client offer TLS 1.1, so a refusal is the server's.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    raw = socket.create_connection((host, port), timeout=5)
    try:
        s = ctx.wrap_socket(raw, server_hostname="sbc.test")
        me, myport = s.getsockname()[:2]
        s.sendall(OPTIONS.format(tp="TLS", me=me, port=myport, n=1).encode())
        line = read_status(s)
    except (ssl.SSLError, OSError) as e:
        print("tls failed: %s" % e)
        return 1
    print(line)
    return 0 if line.startswith("SIP/2.0 ") else 1


def plain(tp, host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_DGRAM if tp == "udp" else socket.SOCK_STREAM
    s = socket.socket(fam, kind)
    s.settimeout(5)
    s.connect((host, port))
    me, myport = s.getsockname()[:2]
    if fam == socket.AF_INET6:
        me = "[%s]" % me
    msg = OPTIONS.format(tp=tp.upper(), me=me, port=myport, n=2).encode()
    if kind == socket.SOCK_DGRAM:
        s.send(msg)
        try:
            line = s.recv(70000).split(b"\r\n")[0].decode("latin-1")
        except OSError as e:
            print("no answer: %s" % e)
            return 1
    else:
        s.sendall(msg)
        line = read_status(s)
    print(line)
    return 0 if line.startswith("SIP/2.0 ") else 1


def ping(host, port):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b"\r\n\r\n")
    s.settimeout(5)
    d = s.recv(16)
    print(repr(d))
    return 0 if d == b"\r\n" else 1


def slow(host, port, secs):
    s = socket.create_connection((host, port), timeout=5)
    s.sendall(b"OPTIONS sip:example.test SIP/2.0\r\nVia: SIP/2.0/TCP x")
    s.settimeout(secs)
    t0 = time.time()
    try:
        d = s.recv(16)
    except socket.timeout:
        print("still open after %.1fs" % (time.time() - t0))
        return 1
    except ConnectionResetError:
        d = b""
    print("closed after %.1fs (%r)" % (time.time() - t0, d))
    return 0 if d == b"" else 1


def conns(host, port, n):
    socks = []
    for _ in range(n):
        try:
            socks.append(socket.create_connection((host, port), timeout=5))
        except OSError:
            pass
    refused = 0
    for s in socks:
        s.settimeout(1.0)
        try:
            if s.recv(16) == b"":
                refused += 1
        except socket.timeout:
            pass
        except ConnectionResetError:
            refused += 1
    print(refused)
    for s in socks:
        s.close()
    return 0


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "tls":
        return tls(host, port, sys.argv[4:])
    if mode in ("udp", "tcp"):
        return plain(mode, host, port)
    if mode == "ping":
        return ping(host, port)
    if mode == "slow":
        return slow(host, port, float(sys.argv[4]))
    if mode == "conns":
        return conns(host, port, int(sys.argv[4]))
    return 2


if __name__ == "__main__":
    sys.exit(main())
