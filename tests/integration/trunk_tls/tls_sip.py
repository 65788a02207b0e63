#!/usr/bin/env python3
"""A small SIP-over-TLS peer for test_trunk_tls.sh (the sipp build here has
no TLS). Every wait is bounded; it talks only to the addresses given.

  tls_sip.py uas IP PORT --cert C --key K [--ca CA] --calls N --secs S
      A carrier (or phone) on TLS: answers OPTIONS 200, INVITE 100+200,
      BYE 200; exits 0 after N calls saw INVITE, ACK and BYE, 1 after S
      seconds. With --ca the client must present a certificate from CA.
      Prints one line per event (handshakes, requests) for the test.
  tls_sip.py register HOST PORT --user U --password P --contact IP:PORT
      [--ca CA] [--name SNI]
      REGISTERs U over TLS (answering a digest challenge), prints the
      final status line and closes the connection; exit 0 on 200.
"""
import hashlib
import os
import re
import select
import socket
import ssl
import sys
import time


def arg(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def split_msgs(buf):
    """Complete messages out of buf (Content-Length framing); rest."""
    out = []
    while True:
        buf = buf.lstrip(b"\r\n")
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return out, buf
        head = buf[:end].decode("latin-1")
        m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
        n = int(m.group(1)) if m else 0
        if len(buf) < end + 4 + n:
            return out, buf
        out.append((head, buf[end + 4:end + 4 + n]))
        buf = buf[end + 4 + n:]


def headers(head, name):
    short = {"via": "v", "from": "f", "to": "t", "call-id": "i",
             "contact": "m"}.get(name.lower(), "")
    vals = []
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        k = k.strip().lower()
        if k == name.lower() or (short and k == short):
            vals.append(v.strip())
    return vals


def response(head, code, phrase, me, extra=""):
    lines = ["SIP/2.0 %d %s" % (code, phrase)]
    for v in headers(head, "via"):
        lines.append("Via: " + v)
    for v in headers(head, "record-route"):
        lines.append("Record-Route: " + v)
    lines.append("From: " + headers(head, "from")[0])
    to = headers(head, "to")[0]
    if code > 100 and ";tag=" not in to:
        to += ";tag=tlsuas" + str(os.getpid())
    lines.append("To: " + to)
    lines.append("Call-ID: " + headers(head, "call-id")[0])
    lines.append("CSeq: " + headers(head, "cseq")[0])
    if extra:
        lines.append(extra)
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def uas(ip, port, args):
    want = int(arg(args, "--calls", "1"))
    deadline = time.time() + float(arg(args, "--secs", "30"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(arg(args, "--cert"), arg(args, "--key"))
    if "--ca" in args:
        ctx.load_verify_locations(arg(args, "--ca"))
        ctx.verify_mode = ssl.CERT_REQUIRED
    me = "%s:%d" % (ip, port)
    contact = "Contact: <sip:peer@%s;transport=tls>" % me
    lsock = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((ip, port))
    lsock.listen(8)
    print("listening %s" % me, flush=True)
    conns = {}
    calls = {}
    done = 0
    while done < want and time.time() < deadline:
        r, _, _ = select.select([lsock] + list(conns), [], [], 0.2)
        for s in r:
            if s is lsock:
                raw, peer = lsock.accept()
                raw.settimeout(5)
                try:
                    t = ctx.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    print("handshake failed from %s: %s" % (peer[0], e),
                          flush=True)
                    raw.close()
                    continue
                cert = t.getpeercert() or {}
                cn = ""
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cn = v
                print("handshake ok from %s %s client-cert=%s" %
                      (peer[0], t.version(), cn or "none"), flush=True)
                t.settimeout(0.2)
                conns[t] = b""
                continue
            try:
                d = s.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except (ssl.SSLError, OSError, socket.timeout):
                d = b""
            if not d:
                del conns[s]
                s.close()
                continue
            msgs, conns[s] = split_msgs(conns[s] + d)
            for head, _ in msgs:
                first = head.split("\r\n")[0]
                if first.startswith("SIP/2.0"):
                    continue
                meth = first.split(" ")[0]
                print("%s %s" % (meth, first.split(" ")[1]), flush=True)
                cid = headers(head, "call-id")[0]
                if meth == "INVITE":
                    s.sendall(response(head, 100, "Trying", me))
                    s.sendall(response(head, 200, "OK", me, contact))
                    calls.setdefault(cid, set()).add("INVITE")
                elif meth == "ACK":
                    calls.setdefault(cid, set()).add("ACK")
                elif meth == "BYE":
                    s.sendall(response(head, 200, "OK", me))
                    calls.setdefault(cid, set()).add("BYE")
                    if calls[cid] == {"INVITE", "ACK", "BYE"}:
                        done += 1
                        print("call %s complete" % cid, flush=True)
                else:
                    s.sendall(response(head, 200, "OK", me))
    print("calls complete: %d of %d" % (done, want), flush=True)
    return 0 if done >= want else 1


def register(host, port, args):
    user = arg(args, "--user")
    pw = arg(args, "--password")
    contact = arg(args, "--contact")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if "--ca" in args:
        ctx.load_verify_locations(arg(args, "--ca"))
    else:
        ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((host, port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname=arg(args, "--name", "sbc.test"))
    me = "%s:%d" % s.getsockname()[:2]
    uri = "sip:%s:%d" % (host, port)
    auth = ""
    buf = b""
    for cseq in (1, 2):
        msg = ("REGISTER %s SIP/2.0\r\n"
               "Via: SIP/2.0/TLS %s;branch=z9hG4bKreg%d%d;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:%s@%s>;tag=r%d\r\nTo: <sip:%s@%s>\r\n"
               "Call-ID: reg%d@%s\r\nCSeq: %d REGISTER\r\n"
               "Contact: <sip:%s@%s;transport=tls>\r\nExpires: 600\r\n"
               "%sContent-Length: 0\r\n\r\n" %
               (uri, me, os.getpid(), cseq, user, host, os.getpid(), user,
                host, os.getpid(), me, cseq, user, contact, auth))
        s.sendall(msg.encode())
        end = time.time() + 5
        status = None
        while status is None and time.time() < end:
            d = s.recv(65536)
            if not d:
                break
            msgs, buf = split_msgs(buf + d)
            for head, _ in msgs:
                code = int(head.split(" ")[1])
                if code >= 200:
                    status = head
                    break
        if status is None:
            print("no answer")
            return 1
        print(status.split("\r\n")[0])
        code = int(status.split(" ")[1])
        if code != 401:
            s.close()
            return 0 if code == 200 else 1
        ch = headers(status, "www-authenticate")[0]
        p = dict(re.findall(r'(\w+)="?([^",]*)"?', ch))
        ha1 = hashlib.md5(("%s:%s:%s" % (user, p["realm"], pw)).encode())
        ha2 = hashlib.md5(("REGISTER:%s" % uri).encode())
        nc, cnonce = "00000001", "c0ffee"
        if "qop" in p:
            resp = hashlib.md5(("%s:%s:%s:%s:auth:%s" % (
                ha1.hexdigest(), p["nonce"], nc, cnonce,
                ha2.hexdigest())).encode()).hexdigest()
            qop = ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
        else:
            resp = hashlib.md5(("%s:%s:%s" % (
                ha1.hexdigest(), p["nonce"],
                ha2.hexdigest())).encode()).hexdigest()
            qop = ""
        auth = ('Authorization: Digest username="%s", realm="%s", '
                'nonce="%s", uri="%s", response="%s", algorithm=MD5%s%s\r\n'
                % (user, p["realm"], p["nonce"], uri, resp, qop,
                   ', opaque="%s"' % p["opaque"] if "opaque" in p else ""))
    s.close()
    return 1


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "uas":
        return uas(host, port, sys.argv[4:])
    if mode == "register":
        return register(host, port, sys.argv[4:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
