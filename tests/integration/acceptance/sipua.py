#!/usr/bin/env python3
"""A small SIP client over UDP for what sipp cannot do in the acceptance
suite: digest with SHA-256 (sipp knows MD5 only), password guessing,
scanner probes and sending a corpus of malformed messages. Talks only to
the server address it is given; every loop is bounded in count and time.

  sipua.py register LOCAL_IP:PORT SERVER:PORT USER PASSWORD ALG
      REGISTER, answer the challenge of algorithm ALG; prints the final
      status line; exits 0 on 200, 1 when the credentials are refused
      (401/403), 2 on anything else.
  sipua.py guess LOCAL_IP:PORT SERVER:PORT USER COUNT
      COUNT REGISTERs with wrong passwords (MD5); prints how many got a
      final answer and how many went unanswered.
  sipua.py options LOCAL_IP:PORT SERVER:PORT [USER_AGENT] [COUNT]
      OPTIONS; prints answered=N of COUNT (wait 1 s each).
  sipua.py flood LOCAL_IP:PORT SERVER:PORT METHOD COUNT RATE [USER_AGENT]
      COUNT requests (REGISTER, INVITE with SDP, OPTIONS) at RATE per
      second (at most 10 s); prints sent=N answered=M.
  sipua.py corpus LOCAL_IP:PORT SERVER:PORT DIR
      sends every DIR/*.sip (LF line ends become CRLF; @ME@ and @PORT@ are
      replaced); each file's first line "; expect: CODES|drop" says what
      must come back. Prints one line per file and exits 1 on a mismatch.
"""
import hashlib
import os
import re
import socket
import sys
import time

DOMAIN = "example.test"


def hp(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


class UA:
    def __init__(self, local, server):
        self.me, self.port = hp(local)
        self.server = hp(server)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((self.me, self.port))
        self.n = 0

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.s.sendto(data, self.server)

    def recv(self, timeout, want_final=True):
        """The next response (final unless want_final is False), or None."""
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                data, _ = self.s.recvfrom(65536)
            except socket.timeout:
                return None
            text = data.decode("latin-1")
            m = re.match(r"SIP/2\.0 (\d{3})", text)
            if not m:
                continue  # a request (keepalive, OPTIONS ping): ignore
            if want_final and int(m.group(1)) < 200:
                continue
            return text

    def request(self, method, uri, user, extra="", cseq=1, callid=None,
                ua="acceptance-phone/1.0", body=""):
        self.n += 1
        callid = callid or "acc%d-%d@%s" % (os.getpid(), self.n, self.me)
        msg = (
            "%s %s SIP/2.0\r\n"
            "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bKacc%d%d;rport\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:%s@%s>;tag=t%d\r\n"
            "To: <sip:%s@%s>\r\n"
            "Call-ID: %s\r\n"
            "CSeq: %d %s\r\n"
            "Contact: <sip:%s@%s:%d>\r\n"
            "User-Agent: %s\r\n"
            "%s"
            "Content-Length: %d\r\n\r\n%s"
            % (method, uri, self.me, self.port, os.getpid(), self.n, user,
               DOMAIN, os.getpid(), user, DOMAIN, callid, cseq, method, user,
               self.me, self.port, ua, extra, len(body), body))
        self.send(msg)
        return callid


def status(resp):
    return int(resp[8:11]) if resp else 0


def challenges(resp):
    """{algorithm: params} of every WWW-Authenticate of a 401."""
    out = {}
    for line in resp.split("\r\n"):
        if not re.match(r"(?i)www-authenticate\s*:", line):
            continue
        val = line.split(":", 1)[1].strip()
        if not val.lower().startswith("digest"):
            continue
        params = dict(
            (k.lower(), v.strip('"')) for k, v in re.findall(
                r'([A-Za-z-]+)\s*=\s*("[^"]*"|[^,\s]+)', val[6:]))
        out[params.get("algorithm", "MD5").upper()] = params
    return out


def digest(alg, user, pw, method, uri, ch, cnonce="0a4f113b", nc="00000001"):
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[alg]
    H = lambda s: h(s.encode()).hexdigest()
    ha1 = H("%s:%s:%s" % (user, ch["realm"], pw))
    ha2 = H("%s:%s" % (method, uri))
    qop = ch.get("qop")
    if qop:
        resp = H("%s:%s:%s:%s:auth:%s" % (ha1, ch["nonce"], nc, cnonce, ha2))
        extra = ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
    else:
        resp = H("%s:%s:%s" % (ha1, ch["nonce"], ha2))
        extra = ""
    opaque = ', opaque="%s"' % ch["opaque"] if "opaque" in ch else ""
    return ('Authorization: Digest username="%s", realm="%s", nonce="%s", '
            'uri="%s", response="%s", algorithm=%s%s%s\r\n'
            % (user, ch["realm"], ch["nonce"], uri, resp, alg, extra, opaque))


def register(ua, user, pw, alg, expires=120):
    uri = "sip:" + DOMAIN
    cid = ua.request("REGISTER", uri, user, "Expires: %d\r\n" % expires)
    r = ua.recv(3)
    if status(r) != 401:
        return r, "no 401 (got %r)" % (r or "nothing")[:60]
    ch = challenges(r).get(alg)
    if ch is None:
        return r, "no %s challenge among %s" % (alg, list(challenges(r)))
    ua.request("REGISTER", uri, user,
               "Expires: %d\r\n" % expires + digest(alg, user, pw, "REGISTER",
                                                  uri, ch),
               cseq=2, callid=cid)
    return ua.recv(3), None


def main(a):
    cmd = a[0]
    if cmd == "register":
        ua = UA(a[1], a[2])
        r, err = register(ua, a[3], a[4], a[5])
        if err:
            print(err)
            return 2
        print(r.split("\r\n")[0] if r else "no answer")
        return {200: 0, 401: 1, 403: 1}.get(status(r), 2)
    if cmd == "guess":
        ua = UA(a[1], a[2])
        answered = silent = 0
        deadline = time.time() + 30
        for i in range(int(a[4])):
            if time.time() > deadline:
                break
            r, err = register(ua, a[3], "guess%d" % i, "MD5")
            if r is None:
                silent += 1
            else:
                answered += 1
        print("answered=%d unanswered=%d" % (answered, silent))
        return 0
    if cmd == "options":
        ua = UA(a[1], a[2])
        agent = a[3] if len(a) > 3 else "acceptance-phone/1.0"
        count = int(a[4]) if len(a) > 4 else 1
        answered = 0
        for _ in range(count):
            ua.request("OPTIONS", "sip:" + DOMAIN, "probe", ua=agent)
            if ua.recv(1):
                answered += 1
        print("answered=%d of %d" % (answered, count))
        return 0 if answered else 1
    if cmd == "flood":
        ua = UA(a[1], a[2])
        method, count, rate = a[3], int(a[4]), float(a[5])
        agent = a[6] if len(a) > 6 else "acceptance-phone/1.0"
        ua.s.setblocking(False)
        sent = answered = 0
        start = time.time()
        body = ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio 9000 RTP/AVP 0\r\n" % (ua.me, ua.me))
        while sent < count and time.time() - start < 10:
            target = start + sent / rate
            while True:
                try:
                    ua.s.recvfrom(65536)
                    answered += 1
                except (BlockingIOError, socket.error):
                    break
            delay = target - time.time()
            if delay > 0:
                time.sleep(delay)
            if method == "INVITE":
                ua.request("INVITE", "sip:bob@" + DOMAIN, "intruder",
                           "Content-Type: application/sdp\r\n", ua=agent,
                           body=body)
            elif method == "REGISTER":
                ua.request("REGISTER", "sip:" + DOMAIN, "intruder",
                           "Expires: 60\r\n", ua=agent)
            else:
                ua.request(method, "sip:" + DOMAIN, "intruder", ua=agent)
            sent += 1
        end = time.time() + 1
        while time.time() < end:
            try:
                ua.s.recvfrom(65536)
                answered += 1
            except (BlockingIOError, socket.error):
                time.sleep(0.05)
        print("sent=%d answered=%d" % (sent, answered))
        return 0
    if cmd == "corpus":
        return corpus(UA(a[1], a[2]), a[3])
    print(__doc__)
    return 2


def corpus(ua, d):
    bad = 0
    earlier = set()
    for name in sorted(os.listdir(d)):
        if not name.endswith(".sip"):
            continue
        raw = open(os.path.join(d, name), "rb").read().decode("latin-1")
        first, rest = raw.split("\n", 1)
        want = first.split("expect:", 1)[1].strip().split("|")
        rest = rest.replace("@ME@", ua.me).replace("@PORT@", str(ua.port))
        # Files keep LF; SIP wants CRLF. A literal "<LF>" marks a bare LF
        # kept on purpose, "<NUL>" a NUL byte.
        msg = rest.replace("\r\n", "\n").replace("\n", "\r\n")
        msg = msg.replace("<LF>", "\n").replace("<NUL>", "\x00")
        # "@CL@" is replaced by the body's real length.
        if "@CL@" in msg:
            body = msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""
            msg = msg.replace("@CL@", str(len(body)))
        ua.send(msg)
        # Retransmissions of an earlier answer (a non-2xx final response
        # to an INVITE repeats until ACKed) are not this message's answer.
        r = None
        end = time.time() + 1.5
        while time.time() < end:
            r = ua.recv(end - time.time())
            m = r and re.search(r"(?im)^(?:call-id|i)\s*:\s*(\S+)", r)
            if r is None or not m or m.group(1) not in earlier:
                break
            r = None
        m = re.search(r"(?im)^(?:call-id|i)\s*:\s*(\S+)", msg)
        if m:
            earlier.add(m.group(1))
        got = "drop" if r is None else r[8:11]
        ok = got in want
        bad += not ok
        print("%s %s: want %s got %s%s" % ("ok" if ok else "BAD", name,
                                           "|".join(want), got,
                                           "" if r is None else " (" +
                                           r.split("\r\n")[0] + ")"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
