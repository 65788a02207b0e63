#!/usr/bin/env python3
"""The target side of an attended transfer through the SBC (RFC 3891),
for test_edge_dialog.sh. Two roles, each in its own namespace, over UDP,
every wait bounded:

  replaces.py bob BOB_IP BOB_PORT SBC_IP
      answers a first call (alice's); then an INVITE carrying Replaces
      must name that call as bob knows it (his Call-ID, his tag as to-tag,
      alice's as from-tag); bob answers it, ends the replaced call with a
      BYE to alice, and answers carol's BYE. Exit 0 when all of that held.
  replaces.py alice IP SBC_IP SBC_PORT
      alice calls bob@example.test (port 5090); once answered, carol (same
      address, port 5091) calls bob at the Contact alice got from him (the
      SBC's hidden form: the remote target an attended transfer hands on)
      with Replaces naming alice's call as she knows it; alice answers
      bob's BYE, carol hangs up. Exit 0 when every answer was a 200.
"""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from sipmsg import hdrs, response  # noqa: E402

DEADLINE = time.time() + 40


def hdr(msg, name):
    for line in msg.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def tag_of(value):
    m = re.search(r";\s*tag=([^;>\s]+)", value or "")
    return m.group(1) if m else ""


def uri_of(value):
    m = re.search(r"<([^>]*)>", value or "")
    return m.group(1) if m else (value or "").split(";")[0].strip()


class Udp:
    def __init__(self, ip, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((ip, port))
        self.ip, self.port = ip, port

    def send(self, text, dst):
        self.s.sendto(text.encode(), dst)

    def recv(self, want):
        """The next message for which want(msg) is true; others dropped
        (provisional responses, retransmissions)."""
        while True:
            left = DEADLINE - time.time()
            if left <= 0:
                raise TimeoutError("%s:%d waited in vain" % (self.ip,
                                                            self.port))
            self.s.settimeout(left)
            data, src = self.s.recvfrom(65535)
            msg = data.decode("latin-1")
            if want(msg):
                return msg, src


def is_req(method):
    return lambda m: m.startswith(method + " ")


def is_final(method):
    def want(m):
        cs = hdr(m, "CSeq") or ""
        return m.startswith("SIP/2.0 ") and cs.endswith(method) and \
            int(m.split(" ")[1]) >= 200
    return want


def request(ua, method, ruri, frm, to, cid, cseq, routes, extra=""):
    lines = ["%s %s SIP/2.0" % (method, ruri),
             "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK%s%d%s;rport" %
             (ua.ip, ua.port, method.lower(), cseq, cid[:8]),
             "Max-Forwards: 70", "From: " + frm, "To: " + to,
             "Call-ID: " + cid, "CSeq: %d %s" % (cseq, method)]
    lines += ["Route: " + r for r in routes]
    if method == "INVITE":
        lines.append("Contact: <sip:%s@%s:%d>" % (frm.split("@")[0][5:],
                                                  ua.ip, ua.port))
    if extra:
        lines.append(extra)
    lines.append("Content-Length: 0")
    return "\r\n".join(lines) + "\r\n\r\n"


def rr_routes(resp):
    """The route set a UAC takes from a 2xx: Record-Route reversed."""
    vals = []
    for line in hdrs(resp, "Record-Route"):
        vals += [v.strip() for v in line.partition(":")[2].split(",")]
    return list(reversed(vals))


def call(ua, user, ruri, sbc, cid, extra=""):
    """INVITE, wait for the 2xx, ACK; returns (2xx, from, to, routes)."""
    frm = "<sip:%s@caller.test>;tag=%s-tag" % (user, user)
    to = "<%s>" % ruri
    ua.send(request(ua, "INVITE", ruri, frm, to, cid, 1, [], extra), sbc)
    ok, _ = ua.recv(is_final("INVITE"))
    if not ok.startswith("SIP/2.0 200"):
        raise RuntimeError("%s's INVITE answered %s" %
                           (user, ok.split("\r\n")[0]))
    to = hdr(ok, "To")
    routes = rr_routes(ok)
    target = uri_of(hdr(ok, "Contact"))
    ua.send(request(ua, "ACK", target, frm, to, cid, 1, routes), sbc)
    return ok, frm, to, routes


def alice(ip, sbc_ip, sbc_port):
    sbc = (sbc_ip, sbc_port)
    a, c = Udp(ip, 5090), Udp(ip, 5091)
    acid = "xfer-a-%d@%s" % (int(time.time()), ip)
    ok, _, ato, _ = call(a, "alice", "sip:bob@example.test", sbc, acid)
    bob_target = uri_of(hdr(ok, "Contact"))
    print("alice: bob's Contact as she sees it:", bob_target)
    # What alice's REFER would hand carol: her dialog with bob, tags from
    # bob's side (to-tag his, from-tag hers).
    rep = "Replaces: %s;to-tag=%s;from-tag=alice-tag" % (acid, tag_of(ato))
    ccid = "xfer-c-%d@%s" % (int(time.time()), ip)
    cok, cfrm, cto, croutes = call(c, "carol", bob_target, sbc, ccid, rep)
    print("carol: answered with", rep)
    bye, src = a.recv(is_req("BYE"))
    if hdr(bye, "Call-ID") != acid:
        raise RuntimeError("alice got a BYE for Call-ID %s" %
                           hdr(bye, "Call-ID"))
    a.send(response(bye, 200, "OK"), src)
    print("alice: bob ended the replaced call")
    c.send(request(c, "BYE", uri_of(hdr(cok, "Contact")), cfrm, cto, ccid,
                   2, croutes), sbc)
    fin, _ = c.recv(is_final("BYE"))
    if not fin.startswith("SIP/2.0 200"):
        raise RuntimeError("carol's BYE answered " + fin.split("\r\n")[0])
    print("carol: hung up")
    return 0


def bob(ip, port, sbc_ip):
    b = Udp(ip, port)
    me = "sip:bob@%s:%d" % (ip, port)
    inv, src = b.recv(is_req("INVITE"))
    if hdr(inv, "Replaces"):
        raise RuntimeError("the first INVITE already carries Replaces")
    first = {"cid": hdr(inv, "Call-ID"), "them": tag_of(hdr(inv, "From")),
             "from": hdr(inv, "From"), "to": hdr(inv, "To") + ";tag=bob-1",
             "target": uri_of(hdr(inv, "Contact")),
             "routes": [v.strip() for line in hdrs(inv, "Record-Route")
                        for v in line.partition(":")[2].split(",")]}
    b.send(response(inv, 180, "Ringing", "bob-1", me), src)
    b.send(response(inv, 200, "OK", "bob-1", me), src)
    b.recv(lambda m: m.startswith("ACK ") and
           hdr(m, "Call-ID") == first["cid"])
    print("bob: first call up, Call-ID", first["cid"])
    inv2, src2 = b.recv(lambda m: m.startswith("INVITE ") and
                        hdr(m, "Call-ID") != first["cid"])
    rep = hdr(inv2, "Replaces") or ""
    want = "%s;to-tag=bob-1;from-tag=%s" % (first["cid"], first["them"])
    print("bob: Replaces %r, wanted %r" % (rep, want))
    if rep.replace(" ", "") != want:
        b.send(response(inv2, 481, "Call/Transaction Does Not Exist",
                        "bob-2"), src2)
        return 1
    b.send(response(inv2, 200, "OK", "bob-2", me), src2)
    b.recv(lambda m: m.startswith("ACK ") and
           hdr(m, "Call-ID") == hdr(inv2, "Call-ID"))
    # The replaced call ends: bob's BYE to alice along its route set.
    bye = ["BYE %s SIP/2.0" % first["target"],
           "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bKbobbye1;rport" % (ip, port),
           "Max-Forwards: 70", "From: " + first["to"],
           "To: " + first["from"], "Call-ID: " + first["cid"],
           "CSeq: 1 BYE"]
    bye += ["Route: " + r for r in first["routes"]]
    bye.append("Content-Length: 0")
    b.send("\r\n".join(bye) + "\r\n\r\n", (sbc_ip, 5060))
    fin, _ = b.recv(is_final("BYE"))
    if not fin.startswith("SIP/2.0 200"):
        print("bob: his BYE was answered", fin.split("\r\n")[0])
        return 1
    bye2, src3 = b.recv(lambda m: m.startswith("BYE ") and
                        hdr(m, "Call-ID") == hdr(inv2, "Call-ID"))
    b.send(response(bye2, 200, "OK"), src3)
    print("bob: replaced call ended, the new one hung up")
    return 0


def main():
    try:
        if len(sys.argv) == 5 and sys.argv[1] == "bob":
            return bob(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        if len(sys.argv) == 5 and sys.argv[1] == "alice":
            return alice(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    except (OSError, TimeoutError, RuntimeError) as e:
        print("%s: %s" % (sys.argv[1], e))
        return 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
