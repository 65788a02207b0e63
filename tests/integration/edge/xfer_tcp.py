#!/usr/bin/env python3
"""The target of an attended transfer registered over TCP behind NAT, for
test_edge_transfer_tcp.sh. Two roles, each in its own namespace, every
wait bounded:

  xfer_tcp.py bob SBC_IP SBC_PORT CONTACT READYFILE
      REGISTERs bob@example.test over one TCP connection with CONTACT (an
      address the SBC cannot reach: the connection is the only way to him),
      writes READYFILE, then answers every INVITE on that connection (180,
      200 with CONTACT), takes their ACKs and answers their BYEs. Once two
      calls were set up (INVITE, ACK) and ended (BYE) on it, unregisters
      and exits 0.
  xfer_tcp.py alice IP SBC_IP SBC_PORT
      alice (IP:5090, UDP) calls bob@example.test; once answered, carol
      (IP:5091) calls bob at the Contact alice got from him (the SBC's
      hidden form: the remote target a REFER hands on), carol hangs up,
      then alice. Exit 0 when every answer was a 200.
"""
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "core"))
sys.path.insert(0, HERE)
from replaces import Udp, call, hdr, is_final, request, uri_of  # noqa: E402
from tcp_ua import Conn, answer  # noqa: E402


def bob(sbc_ip, sbc_port, contact, ready):
    deadline = time.time() + 50
    s = socket.create_connection((sbc_ip, sbc_port), timeout=10)
    c = Conn(s)
    host = contact.split("@")[1].split(":")[0]

    def register(cseq, expires):
        reg = ("REGISTER sip:example.test SIP/2.0\r\n"
               "Via: SIP/2.0/TCP %s:5070;branch=z9hG4bKxfertcp%d\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:bob@example.test>;tag=regb\r\n"
               "To: <sip:bob@example.test>\r\n"
               "Call-ID: xfer-tcp-reg-%d@test\r\nCSeq: %d REGISTER\r\n"
               "Contact: <%s>\r\nExpires: %d\r\nContent-Length: 0\r\n"
               "\r\n" % (host, cseq, os.getpid(), cseq, contact, expires))
        s.sendall(reg.encode())
        m = c.read_msg(deadline)
        if not m.startswith("SIP/2.0 200"):
            raise RuntimeError("REGISTER answered " + m.split("\r\n")[0])

    register(1, 600)
    with open(ready, "w") as f:
        f.write("registered\n")
    up, ended, n = set(), set(), 0
    while len(ended) < 2:
        m = c.read_msg(deadline)
        first = m.split("\r\n")[0]
        cid = hdr(m, "Call-ID")
        print("bob: on his connection:", first, "Call-ID", cid)
        sys.stdout.flush()
        if first.startswith("INVITE "):
            n += 1
            tag = "bobtcp%d" % n
            s.sendall(answer(m, 180, "Ringing", tag, contact))
            s.sendall(answer(m, 200, "OK", tag, contact))
        elif first.startswith("ACK "):
            up.add(cid)
        elif first.startswith("BYE "):
            s.sendall(answer(m, 200, "OK", None, None))
            if cid in up:
                ended.add(cid)
        elif not first.startswith("SIP/2.0 "):
            print("bob: unexpected", first)
            return 1
    print("bob: two calls set up and ended on his registered connection")
    register(2, 0)
    return 0


def hang_up(ua, sbc, ok, frm, to, cid, routes):
    ua.send(request(ua, "BYE", uri_of(hdr(ok, "Contact")), frm, to, cid, 2,
                    routes), sbc)
    fin, _ = ua.recv(is_final("BYE"))
    if not fin.startswith("SIP/2.0 200"):
        raise RuntimeError("BYE answered " + fin.split("\r\n")[0])


def alice(ip, sbc_ip, sbc_port):
    sbc = (sbc_ip, sbc_port)
    a, c = Udp(ip, 5090), Udp(ip, 5091)
    # replaces.py's branches start with the Call-ID's first 8 characters:
    # unique per run, or a later run's INVITE would look like a
    # retransmission of an earlier one.
    acid = "%07da-xfer-tcp@%s" % (os.getpid() % 10000000, ip)
    ok, afrm, ato, aroutes = call(a, "alice", "sip:bob@example.test", sbc,
                                  acid)
    bob_target = uri_of(hdr(ok, "Contact"))
    print("alice: bob's Contact as she sees it:", bob_target)
    ccid = "%07dc-xfer-tcp@%s" % (os.getpid() % 10000000, ip)
    cok, cfrm, cto, croutes = call(c, "carol", bob_target, sbc, ccid)
    print("carol: answered at", bob_target)
    hang_up(c, sbc, cok, cfrm, cto, ccid, croutes)
    print("carol: hung up")
    hang_up(a, sbc, ok, afrm, ato, acid, aroutes)
    print("alice: hung up")
    return 0


def main():
    try:
        if len(sys.argv) == 6 and sys.argv[1] == "bob":
            return bob(sys.argv[2], int(sys.argv[3]), sys.argv[4],
                       sys.argv[5])
        if len(sys.argv) == 5 and sys.argv[1] == "alice":
            return alice(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    except (OSError, TimeoutError, EOFError, RuntimeError) as e:
        print("%s: %s" % (sys.argv[1], e))
        return 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
