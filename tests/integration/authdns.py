"""A DNS server for the mail-authentication tests, on dnslib (python3-dnslib).

Zone data is a dict {(name, type): [values]}: type "TXT" (a value is a str,
or a list of str for a record of several strings), "A", "AAAA", "MX"
((preference, host)), "PTR". A name with no entry at all is NXDOMAIN, a known
name without that type NOERROR with no records. servfail: names answered
SERVFAIL. Records can change while it runs (zone is a plain dict). UDP and
TCP on one loopback port; answers over 512 bytes are truncated on UDP, so the
resolver retries over TCP.
"""
import threading

from dnslib import A, AAAA, MX, PTR, QTYPE, RCODE, RR, TXT, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class _Resolver(BaseResolver):
    def __init__(self, zone):
        self.zone = zone

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        self.zone.queries.append((qname, qtype))
        if qname in self.zone.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        names = {n for n, _ in self.zone.records}
        if qname not in names:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for value in self.zone.records.get((qname, qtype), []):
            reply.add_answer(RR(qname, getattr(QTYPE, qtype), rdata=_rdata(qtype, value), ttl=60))
        return reply


def _rdata(qtype, value):
    if qtype == "TXT":
        parts = value if isinstance(value, list) else [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
        return TXT([p.encode() if isinstance(p, str) else p for p in parts])
    if qtype == "MX":
        return MX(value[1], value[0])
    return {"A": A, "AAAA": AAAA, "PTR": PTR}[qtype](value)


class AuthDns:
    def __init__(self, records=None):
        self.records = {}
        self.servfail = set()
        self.queries = []
        for (name, qtype), values in (records or {}).items():
            self.set(name, qtype, values)
        resolver = _Resolver(self)
        quiet = DNSLogger(logf=lambda *_: None)
        self.udp = DNSServer(resolver, port=0, address="127.0.0.1", logger=quiet)
        self.port = self.udp.server.server_address[1]
        self.tcp = DNSServer(resolver, port=self.port, address="127.0.0.1", tcp=True, logger=quiet)
        for server in (self.udp, self.tcp):
            server.server.daemon_threads = True
            threading.Thread(target=server.server.serve_forever, daemon=True).start()

    def set(self, name, qtype, values):
        self.records[(name.rstrip(".").lower(), qtype)] = list(values)

    def txt(self, name):
        """What pyspf/dkimpy would read: the TXT strings of name, joined, as bytes (or None)."""
        values = self.records.get((name.rstrip(".").lower(), "TXT"))
        if not values:
            return None
        v = values[0]
        return ("".join(v) if isinstance(v, list) else v).encode()

    def close(self):
        for server in (self.udp, self.tcp):
            server.server.shutdown()
            server.server.server_close()

    @property
    def server(self):
        return "127.0.0.1:%d" % self.port
