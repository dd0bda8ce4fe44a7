"""make bench, part "mailauth" (issue 13): what mail authentication costs.

Every row is 50 sessions of smtp-source, one connection each, MESSAGES
messages of about 10 KB (smtp-source -F, the same file every time) after a
warm-up, delivered into alice's Maildir; the rows alternate within each run
so that all see the same disk minute.

- Checks: signed mail from bench@remote.test (RSA-2048 DKIM signature by
  dkimpy; SPF "ip4:127.0.0.1 -all"; DMARC p=reject), the records served by
  a local DNS server (tests/integration/authdns.py on dnslib), postern with
  inbound.verify on and off. A checked run must have delivered
  spf=pass dkim=pass dmarc=pass, or the bench stops.
- Signing: mail From: bench@example.test, the client in a trusted network
  (relay.trusted_networks = 127.0.0.1/32: smtp-source has no AUTH, and a
  trusted client takes submission's signing path), postern with an RSA-2048
  key of example.test (posternctl dkim keygen) and with none. The peer is
  Postfix with Debian's OpenDKIM as a milter (relaxed/relaxed, RSA-2048)
  and Postfix alone. A signed run must have delivered a DKIM-Signature.
"""
import base64
import os
import re
import statistics
import subprocess

import benchlib
from benchlib import MESSAGES, RUNS, median_range, peers, smtp_run

SESSIONS = 50
TARGETS = {"verify": 70.0, "sign": 60.0}  # % of the same server's throughput without
LINE = b"x" * 76 + b"\n"


def message(sender, rcpt):
    """A 10 KB message with the headers a mail program writes, CRLF."""
    head = ("From: Bench <%s>\r\nTo: <%s>\r\nSubject: bench\r\nDate: Sat, 05 Dec 2026 00:00:00 +0000\r\n"
            "Message-ID: <bench@%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n"
            % (sender, rcpt, sender.split("@")[1]))
    return head.encode() + LINE.replace(b"\n", b"\r\n") * 130


def write_lf(path, crlf):
    """smtp-source -F sends each line of the file with CRLF appended."""
    with open(path, "wb") as f:
        f.write(crlf.replace(b"\r\n", b"\n"))
    return path


def rsa_key(path):
    """A new RSA-2048 private key in PEM at path (mode 600); the DER public key, base64."""
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", path], check=True, capture_output=True)
    os.chmod(path, 0o600)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()


def first_field(raw):
    """The first header field of a message, unfolded."""
    lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    out = lines[0]
    for line in lines[1:]:
        if not line[:1].isspace():
            break
        out += b" " + line.strip()
    return out


def expect(what, ok, raw):
    if not ok:
        raise RuntimeError("bench: %s; the first message delivered begins:\n%s"
                           % (what, raw[:1500].decode(errors="replace")))


def checked(server):
    raw = server.first_delivered()
    ar = first_field(raw)
    expect("no spf=pass dkim=pass dmarc=pass at the top",
           ar.startswith(b"Authentication-Results:") and all(
               v in ar for v in (b"spf=pass", b"dkim=pass", b"dmarc=pass")), raw)


def unchecked(server):
    raw = server.first_delivered()
    expect("an Authentication-Results with checks off", b"Authentication-Results:" not in raw, raw)


def signed(server):
    raw = server.first_delivered()
    expect("no DKIM-Signature of example.test",
           re.search(rb"DKIM-Signature:[^:]*d=example\.test", raw) is not None, raw)


def unsigned(server):
    raw = server.first_delivered()
    expect("a DKIM-Signature without a key", b"DKIM-Signature:" not in raw, raw)


class Postern(benchlib.PosternSmtp):
    def __init__(self, tmp, name, msgfile, sender, config, keygen=False):
        super().__init__(tmp, config)
        self.name, self.msgfile, self.sender = name, msgfile, sender
        if keygen:
            self.p.ctl("dkim", "keygen", "example.test")


class Postfix(benchlib.PostfixSmtp):
    def __init__(self, tmp, name, msgfile, sender, key=None):
        self.dkim = None
        if key:
            self.dkim = peers.OpenDkim(os.path.join(tmp, "opendkim"), "example.test", "bench", key)
        super().__init__(tmp, 100, self.dkim.milter if self.dkim else None)
        self.name, self.msgfile, self.sender = name, msgfile, sender

    def start(self):
        if self.dkim:
            self.dkim.start()
        return super().start()

    def stop(self):
        super().stop()
        if self.dkim:
            self.dkim.stop()


def world(tmp):
    """The DNS server with remote.test's records, and the two message files."""
    from authdns import AuthDns
    import dkim
    os.makedirs(tmp, exist_ok=True)
    key = os.path.join(tmp, "remote.pem")
    zone = AuthDns({("remote.test", "TXT"): ["v=spf1 ip4:127.0.0.1 -all"],
                    ("bench._domainkey.remote.test", "TXT"): ["v=DKIM1; k=rsa; p=" + rsa_key(key)],
                    ("_dmarc.remote.test", "TXT"): ["v=DMARC1; p=reject"]})
    inbound = message("bench@remote.test", "alice@example.test")
    with open(key, "rb") as f:
        sig = dkim.sign(inbound, b"bench", b"remote.test", f.read(),
                        canonicalize=(b"relaxed", b"relaxed"))
    files = {"inbound": write_lf(os.path.join(tmp, "inbound.eml"), sig + inbound),
             "submit": write_lf(os.path.join(tmp, "submit.eml"),
                                message("bench@example.test", "alice@example.test"))}
    return zone, files


def rows(tmp, zone, files, with_postfix):
    """[(label, server class, args, check, baseline label or None)] in the order they run."""
    dns = {"dns": {"servers": zone.server}}
    trusted = {"relay": {"trusted_networks": "127.0.0.1/32"}}
    inbound = (files["inbound"], "bench@remote.test")
    submit = (files["submit"], "bench@example.test")
    out = [
        ("postern, checks off", Postern, inbound + ({"inbound": {"verify": "no"}, **dns},),
         unchecked, None),
        ("postern, SPF+DKIM+DMARC checked", Postern, inbound + ({"inbound": {"verify": "yes"}, **dns},),
         checked, "postern, checks off"),
        ("postern, unsigned", Postern, submit + (trusted,), unsigned, None),
        ("postern, signed (RSA-2048)", Postern, submit + (trusted, True), signed, "postern, unsigned"),
    ]
    if with_postfix:
        key = os.path.join(tmp, "opendkim.pem")
        rsa_key(key)
        out += [("Postfix, unsigned", Postfix, submit, unsigned, None),
                ("Postfix + OpenDKIM, signed (RSA-2048)", Postfix, submit + (key,), signed,
                 "Postfix, unsigned")]
    return out


def mailauth_part(tmp, with_postfix, results):
    with_postfix = with_postfix and peers.opendkim_installed()
    zone, files = world(os.path.join(tmp, "mailauth"))
    try:
        table = rows(tmp, zone, files, with_postfix)
        print("\n== Mail authentication: %d sessions, one connection each, %d x 10 KB messages per run "
              "after %d warm-up,\n   delivered into the Maildir, median (min-max) of %d runs; DNS: a "
              "local dnslib server; the client signs nothing\n   and is checked, or sits in a trusted "
              "network and is signed for%s"
              % (SESSIONS, MESSAGES, max(MESSAGES // 10, 1), RUNS,
                 "" if with_postfix else "; no Postfix + OpenDKIM (make bench-peers, opendkim)"))
        runs = {label: [] for label, *_ in table}
        for _ in range(RUNS):
            for label, cls, args, check, _base in table:
                runs[label].append(smtp_run(os.path.join(tmp, "mailauth-run"), cls, SESSIONS, True,
                                            label, *args, check=check))
        print_rows(table, runs, results)
    finally:
        zone.close()


def print_rows(table, runs, results):
    print("%-40s %20s %12s   %s" % ("server", "msg/s", "CPU us", "share of the row it names"))
    rate = {label: statistics.median(r[0] for r in rs) for label, rs in runs.items()}
    for label, _cls, _args, _check, base in table:
        share = ""
        if base:
            pct = 100 * rate[label] / rate[base]
            results["mailauth " + label] = (pct, rate[label], rate[base])
            share = "%.0f%% of '%s'" % (pct, base)
        print("%-40s %20s %12s   %s" % (label, median_range([r[0] for r in runs[label]]),
                                        median_range([r[1] for r in runs[label]]), share))
    ours, theirs = "postern, signed (RSA-2048)", "Postfix + OpenDKIM, signed (RSA-2048)"
    if theirs in rate:
        print("signed: postern %.1fx Postfix + OpenDKIM" % (rate[ours] / rate[theirs]))


def verdict_lines(results):
    """[(what, met, figure)] for bench.py's targets."""
    out = []
    for label, what, target in (
            ("postern, SPF+DKIM+DMARC checked", "Inbound, SPF/DKIM/DMARC checked", TARGETS["verify"]),
            ("postern, signed (RSA-2048)", "Signed submission (RSA-2048)", TARGETS["sign"])):
        key = "mailauth " + label
        if key in results:
            pct, rate, base = results[key]
            out.append(("%s >= %g%% of without" % (what, target), pct >= target,
                        "%.0f%% (%.0f vs %.0f msg/s)" % (pct, rate, base)))
    return out
