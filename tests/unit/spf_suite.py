#!/usr/bin/python3
"""spf_suite - the RFC 7208 test suite (openspf.org, as shipped in Debian's
python3-spf) as a flat text file for tests/unit/test_spf.c.

    /usr/bin/python3 tests/unit/spf_suite.py [SUITE.yml.gz] > suite.txt

The zone data becomes answers the way the suite's own driver (pyspf's
testspf.py) serves them, cut to what src/dns/dns_answer.h can carry:
  - "SPF" records are copied to TXT for a name without TXT records (the
    driver's rule), and otherwise ignored: RFC 7208 uses TXT only;
  - TXT strings are joined (RFC 7208 3.3); a record with a NUL byte is
    dropped, as dns_lookup.c drops it;
  - "TIMEOUT" (for the name, or for one type) is DNS_R_TEMP, with the
    driver's order rule (a timeout after a record of the asked type ends the
    answer instead);
  - a CNAME is followed (up to 8 links; a loop is DNS_R_TEMP);
  - a name with records of other types only is NOERROR with no records; a
    name not in the zone is NXDOMAIN (the C side's default).

Output lines, fields separated by one space; every string field is "="
followed by the string with bytes outside 0x21..0x7e and "%" written %XX:
  Z SCENARIO =NAME TYPE RCODE [=VALUE ...]     RCODE: OK, TEMP
  C SCENARIO ID =HOST =MAILFROM =HELO RESULT[,RESULT...] EXPLANATION
EXPLANATION is "-" (not checked), "*" (the default: no exp= text) or =TEXT.
"""
import gzip
import sys

import yaml

SUITE = "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"
QTYPES = ("A", "AAAA", "MX", "TXT", "PTR")
TEMP = object()


def esc(s):
    """The field form of a string: "=" and the bytes, %XX-escaped where needed."""
    out = ["="]
    for b in s.encode("utf-8"):
        out.append(chr(b) if 0x21 <= b <= 0x7E and b != 0x25 else "%%%02X" % b)
    return "".join(out)


def rdata(recs):
    """The driver's getrdata: (type, value) pairs and "TIMEOUT" marks, SPF copied to TXT where no TXT."""
    out, gen, has_txt = [], [], False
    for m in recs:
        if not isinstance(m, dict):
            out.append(m)
            continue
        for t, v in m.items():
            if t in ("TXT", "SPF") and isinstance(v, str) and v != "TIMEOUT":
                v = (v,)
            if t in ("TXT", "SPF") and isinstance(v, list):
                v = tuple(v)
            if t == "TXT":
                has_txt = True
            elif t == "SPF":
                gen.append(("TXT", v))
            if v != ("NONE",):
                out.append((t, v))
    return out if has_txt else out + gen


def value(t, v):
    """A record's text as dns_answer carries it, or None when it would be dropped."""
    if t in ("TXT", "SPF"):
        s = "".join(v)
        return None if "\0" in s else s
    if t == "MX":
        v = v[1]
    return str(v).rstrip(".") if t in ("MX", "PTR", "CNAME") else str(v)


def lookup1(zone, name, qtype):
    """One name, the driver's order rules: a list of (type, text), TEMP, or None (NXDOMAIN)."""
    recs = zone.get(name.lower())
    if recs is None:
        return None
    got, timeout = [], True
    for r in recs:
        if r == "TIMEOUT":
            if timeout:
                return TEMP
            break
        t, v = r
        if t == qtype:
            timeout = False
        if v == "TIMEOUT":
            if t == qtype:
                return TEMP
            continue
        got.append((t, v))
    return got


def lookup(zone, name, qtype):
    """The answer to (name, qtype): (rcode, values), following CNAMEs."""
    seen = set()
    for _ in range(8):
        got = lookup1(zone, name, qtype)
        if got is None or got is TEMP:
            return ("TEMP", []) if got is TEMP else ("NX", [])
        vals = [value(t, v) for t, v in got if t == qtype]
        cname = [v for t, v in got if t == "CNAME"]
        if vals or not cname or qtype == "CNAME":
            return "OK", [x for x in vals if x is not None]
        seen.add(name.lower())
        name = value("CNAME", cname[0])
        if name.lower() in seen:
            return "TEMP", []
    return "TEMP", []


def emit(out, docs):
    """Write the Z and C lines of every scenario."""
    for n, doc in enumerate(docs):
        zone = {name.lower(): list(rdata(recs)) for name, recs in (doc.get("zonedata") or {}).items()}
        for name in sorted(zone):
            for qtype in QTYPES:
                rcode, vals = lookup(zone, name, qtype)
                if rcode != "NX":
                    out.write(" ".join(["Z", str(n), esc(name), qtype, rcode] + [esc(v) for v in vals]) + "\n")
        for tid, t in doc["tests"].items():
            res = t["result"] if isinstance(t["result"], list) else [t["result"]]
            exp = t.get("explanation")
            exp = "-" if exp is None else "*" if exp == "DEFAULT" else esc(exp)
            fields = ["C", str(n), tid, esc(t["host"]), esc(t["mailfrom"]), esc(t["helo"]), ",".join(res), exp]
            out.write(" ".join(fields) + "\n")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else SUITE
    with gzip.open(path, "rb") as f:
        docs = list(yaml.safe_load_all(f))
    emit(sys.stdout, docs)


if __name__ == "__main__":
    main()
