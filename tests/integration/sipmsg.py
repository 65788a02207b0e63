"""SIP text helpers shared by the Python UAs of the integration tests
(core/tcp_ua.py, edge/replaces.py): header lines of a message, and a
response built from a request as a UAS builds it."""


def hdrs(msg, name):
    """Every header line named name (whole lines, any case)."""
    return [line for line in msg.split("\r\n")[1:]
            if line.partition(":")[0].strip().lower() == name.lower()]


def response(req, code, reason, totag=None, contact=None):
    """The response to req: its Via, From, To (with totag added when it
    has none), Call-ID, CSeq and Record-Route; a Contact when given."""
    lines = ["SIP/2.0 %d %s" % (code, reason)]
    lines += hdrs(req, "Via") + hdrs(req, "From")
    to = hdrs(req, "To")[0]
    if totag and ";tag=" not in to:
        to += ";tag=" + totag
    lines.append(to)
    lines += hdrs(req, "Call-ID") + hdrs(req, "CSeq")
    lines += hdrs(req, "Record-Route")
    if contact:
        lines.append("Contact: <%s>" % contact)
    lines.append("Content-Length: 0")
    return "\r\n".join(lines) + "\r\n\r\n"
