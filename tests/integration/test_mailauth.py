"""Mail authentication end to end (issue 13, SPEC.md "Mail authentication").

Signing: posternctl's keys, a message submitted on port 587 and relayed to
the sink (peers.SinkServer), judged by dkimpy and by `opendkim -t` with
TestPublicKeys set to the printed records, also after a 451 and a retry.

Checking: a dnslib DNS server (authdns.AuthDns) serves the SPF, DKIM and
DMARC records to posternd ([dns] servers) and to the independent Python
libraries (pyspf, dkimpy, authheaders through dnspython's default resolver,
pointed at the same server), which compute each expected verdict on the
same message. Clients connect from 127.0.0.2/127.0.0.3 (no trusted network,
no AUTH), so port 25 checks them; the delivered file's top header is parsed
with python3-authres.

Every test uses its own domain names: posternd caches DNS answers.
"""
import base64
import hashlib
import os
import re
import signal
import smtplib
import subprocess
import urllib.request

import authheaders
import authheaders.dmarc_lookup as dmarc_lookup
import authres
import dkim
import dns.resolver
import nacl.signing
import pytest
import spf
from publicsuffix2 import PublicSuffixList
from authdns import AuthDns
from conftest import Postern, free_port, sendmail, wait_for

# pyspf, dkimpy and authheaders call dns.resolver.query, deprecated in dnspython 2
pytestmark = pytest.mark.filterwarnings("ignore:please use dns.resolver.resolve:DeprecationWarning")

HOST = "mx.example.test"
BOB = "bob@example.test"
PASS_IP, OTHER_IP = "127.0.0.2", "127.0.0.3"  # SPF records name PASS_IP
HELO = "client.test"


# --- the world: one DNS server, one daemon for the module --------------------------

@pytest.fixture(scope="module")
def zone():
    """The DNS server, and dnspython's default resolver (pyspf, dkimpy, authheaders) on it."""
    z = AuthDns()
    saved = dns.resolver.default_resolver, authheaders.get_org_domain, dmarc_lookup.get_org_domain
    dns.resolver.default_resolver = resolver_for(z.port)
    authheaders.get_org_domain = dmarc_lookup.get_org_domain = org_domain
    yield z
    dns.resolver.default_resolver, authheaders.get_org_domain, dmarc_lookup.get_org_domain = saved
    z.close()


with open(dmarc_lookup.get_suffix_list_file_name()) as _f:
    PSL = PublicSuffixList(_f)


def org_domain(name):
    """The organizational domain (RFC 7489 3.2) by the Public Suffix List.

    authheaders' own get_org_domain returns the bare TLD for a name under a TLD
    the list does not have ("test" for x.test: publicsuffix2 skips the
    list's implicit "*" rule), which would align every .test domain with
    every other. This applies the "*" rule: one label below the suffix.
    """
    name = name.lower().rstrip(".")
    suffix = PSL.get_tld(name)
    if name == suffix or not name.endswith("." + suffix):
        return name
    return name[:-len(suffix) - 1].rsplit(".", 1)[-1] + "." + suffix


def resolver_for(port):
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = port
    r.lifetime = r.timeout = 3
    return r


def check_clean_exit(p):
    rc = p.stop()
    log = p.log()
    assert rc == 0, log[-3000:]
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-3000:]


def daemon(path, zone_server, extra=None):
    """A started posternd that resolves through zone_server, with bob@example.test."""
    config = {"dns": {"servers": zone_server}}
    for section, keys in (extra or {}).items():
        config.setdefault(section, {}).update(keys)
    p = Postern(path, config)
    p.add_user(BOB)
    return p


@pytest.fixture(scope="module")
def mx(zone, tmp_path_factory):
    """The module's daemon: checks on (the defaults), metrics on."""
    metrics_port = free_port()
    p = daemon(tmp_path_factory.mktemp("mx"), zone.server,
               {"metrics": {"listen": "127.0.0.1:%d" % metrics_port}})
    p.metrics_port = metrics_port
    p.start()
    yield p
    check_clean_exit(p)


@pytest.fixture
def own(zone, tmp_path):
    """Factory of daemons with their own configuration, on the module's DNS server."""
    made = []

    def make(extra, server=None):
        path = tmp_path / ("p%d" % len(made))
        path.mkdir()
        p = daemon(path, server or zone.server, extra)
        made.append(p)
        return p.start()

    yield make
    for p in made:
        check_clean_exit(p)


# --- sending and reading ---------------------------------------------------------

def message(from_addr, token, body="Hello,\r\nthis is a test.\r\n", extra=b""):
    head = ("From: Sender <%s>\r\nTo: Bob <%s>\r\nSubject: %s\r\n"
            "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <%s@test>\r\n"
            % (from_addr, BOB, token, token)).encode()
    return extra + head + b"\r\n" + body.encode()


def send(p, mail_from, msg, source=PASS_IP, helo=HELO, port=None):
    """(code, text) of the reply after the final dot, from a port 25 client at source."""
    with smtplib.SMTP("127.0.0.1", port or p.smtp_port, local_hostname=helo,
                      source_address=(source, 0), timeout=60) as s:
        assert s.ehlo()[0] == 250
        assert s.mail(mail_from)[0] == 250
        assert s.rcpt(BOB)[0] == 250
        code, text = s.data(msg)
        return code, text.decode()


def delivered(p, token, folder=""):
    """The stored messages (bytes) of bob's folder ("" INBOX, ".Junk") that carry token."""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(p.maildir(BOB), folder, sub)
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            with open(os.path.join(d, name), "rb") as f:
                data = f.read()
            if token.encode() in data:
                out.append(data)
    return out


def deliver_one(p, token, folder=""):
    (stored,) = wait_for(lambda: delivered(p, token, folder), what="delivery of " + token)
    return stored


def header_fields(stored):
    """[(name, unfolded value)] of the stored message's header section."""
    head = stored.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    fields = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += " " + line.strip()
        else:
            name, _, value = line.partition(":")
            fields.append([name, value.strip()])
    return [tuple(f) for f in fields]


def our_authres(stored):
    """Our Authentication-Results: the first field of the message, parsed by python3-authres."""
    fields = header_fields(stored)
    assert fields[0][0] == "Authentication-Results", fields[:2]
    mine = [v for n, v in fields if n.lower() == "authentication-results"
            and v.split(";")[0].strip().lower() == HOST]
    assert len(mine) == 1, mine
    return authres.AuthenticationResultsHeader.parse("Authentication-Results: " + mine[0])


def results(ar, method):
    return [r for r in ar.results if r.method == method]


def prop(result, ptype, name):
    values = [p.value for p in result.properties if p.type == ptype and p.name == name]
    return values[0] if values else None


def verdicts(ar):
    """{method: result} of a parsed header (the first result of each method)."""
    out = {}
    for r in ar.results:
        out.setdefault(r.method, r.result)
    return out


def checked_line(p):
    """The last "smtp checked" log line's verdicts."""
    lines = [l for l in p.log().splitlines() if " smtp checked id=" in l]
    m = re.search(r"spf=(\S+) dkim=(\S+) dmarc=(\S+)", lines[-1])
    return dict(zip(("spf", "dkim", "dmarc"), m.groups())), lines[-1]


def expected(msg, ip, mail_from, helo=HELO):
    """authheaders' verdicts (pyspf, dkimpy, its DMARC) on the same message and DNS."""
    header = authheaders.authenticate_message(msg, HOST, spf=True, ip=ip, mail_from=mail_from,
                                              helo=helo)
    return verdicts(authres.AuthenticationResultsHeader.parse(header))


def pyspf(ip, mail_from, helo=HELO, **kw):
    return spf.check2(i=ip, s=mail_from, h=helo, **kw)[0]


# --- DKIM keys of the test's own -----------------------------------------------------

def rsa_key(tmp_path, name="k"):
    """(PEM private key, DKIM record) of a fresh RSA 2048 key."""
    path = str(tmp_path / (name + ".pem"))
    subprocess.run(["openssl", "genrsa", "-out", path, "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    with open(path, "rb") as f:
        return f.read(), "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def ed_key():
    """(dkimpy's Ed25519 private key, DKIM record)."""
    sk = nacl.signing.SigningKey.generate()
    return (base64.b64encode(bytes(sk)),
            "v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(sk.verify_key)).decode())


def sign(msg, selector, domain, key, algorithm=b"rsa-sha256", **kw):
    return dkim.sign(msg, selector.encode(), domain.encode(), key, signature_algorithm=algorithm,
                     canonicalize=(b"relaxed", b"relaxed"), **kw) + msg


def sig_tags(value):
    return {k.strip(): v.strip() for k, _, v in
            (t.partition("=") for t in value.replace(" ", "").split(";") if t.strip())}


# --- 1. signing, judged by dkimpy and opendkim ---------------------------------------

def keygen(p, *args):
    r = p.ctl("dkim", "keygen", "example.test", *args)
    return r.stdout.splitlines()[-1]


def opendkim_verdicts(tmp_path, raw, records):
    """{selector: result} opendkim -t gives each signature of raw (CRLF message)."""
    keys = tmp_path / "opendkim.keys"
    keys.write_text("".join("%s._domainkey.example.test %s\n" % kv for kv in records.items()))
    conf = tmp_path / "opendkim.conf"
    conf.write_text("Mode v\nTestPublicKeys %s\nSyslog no\nAlwaysAddARHeader yes\n" % keys)
    eml = tmp_path / "message.eml"
    eml.write_bytes(raw)
    r = subprocess.run(["opendkim", "-x", str(conf), "-t", str(eml), "-vvv"], capture_output=True,
                       text=True, timeout=60)
    out = r.stdout + r.stderr
    found = {}
    for m in re.finditer(r"dkim=(\w+)[^;']*?header\.s=([\w-]+)", out):
        found[m.group(2)] = m.group(1)
    assert found, out
    return found


def dkimpy_verdicts(raw, records):
    """[(selector, verified)] of each signature, keys from the printed records."""
    def dnsfunc(name, timeout=5):
        m = re.fullmatch(rb"([\w-]+)\._domainkey\.example\.test\.?", name)
        return records[m.group(1).decode()].encode() if m and m.group(1).decode() in records else None
    d = dkim.DKIM(raw)
    out = []
    for i, (name, value) in enumerate((n, v) for n, v in d.headers if n.lower() == b"dkim-signature"):
        s = sig_tags(value.decode())["s"]
        try:
            ok = dkim.DKIM(raw).verify(idx=i, dnsfunc=dnsfunc)
        except dkim.ValidationError:  # DKIM.verify raises on a body hash mismatch
            ok = False
        out.append((s, ok))
    return out


@pytest.fixture
def signer(zone, tmp_path, sink):
    """A daemon with RSA and Ed25519 keys for example.test, routing remote.test to the sink."""
    p = Postern(tmp_path, {"dns": {"servers": zone.server},
                                     "relay": {"pop_before_smtp": "no"},
                                     "routes": {"remote.test": "[127.0.0.1]:%d" % sink.port}})
    p.add_user("alice@example.test", "alicepw")
    p.records = {"postern": keygen(p), "ed": keygen(p, "--algorithm", "ed25519", "--selector", "ed")}
    p.start()
    yield p
    check_clean_exit(p)


def submit(p, msg):
    with smtplib.SMTP("127.0.0.1", p.ports["submission"], timeout=60) as s:
        s.ehlo()
        s.user, s.password = "alice@example.test", "alicepw"
        assert s.auth("PLAIN", s.auth_plain)[0] == 235
        assert s.sendmail("alice@example.test", ["carol@remote.test"], msg) == {}


SUBMITTED = (b"From: Alice <alice@example.test>\r\nTo: Carol <carol@remote.test>\r\n"
             b"Subject: signed by postern\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
             b"Message-ID: <signed-1@example.test>\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
             b"Hello Carol,\r\n\r\n  spaces  and\ttabs   kept  \r\n.a dot-stuffed line\r\n\r\n\r\n")


def test_signing_rsa_and_ed25519_verified_by_dkimpy_and_opendkim_after_a_retry(signer, sink,
                                                                               tmp_path):
    sink.data_replies = ["451 4.3.0 try again later"]
    submit(signer, SUBMITTED)
    sink.wait(1)
    wait_for(lambda: "status=deferred" in signer.log(), what="the deferral")
    signer.ctl("queue", "flush")
    first, second = sink.wait(2)
    assert first.body == second.body, "a retry must send the same bytes"
    raw = second.body
    sigs = [v for n, v in header_fields(raw) if n.lower() == "dkim-signature"]
    assert len(sigs) == 2, header_fields(raw)
    tags = [sig_tags(v) for v in sigs]
    assert [(t["a"], t["s"], t["d"]) for t in tags] == [
        ("rsa-sha256", "postern", "example.test"), ("ed25519-sha256", "ed", "example.test")]
    for t in tags:
        assert t["c"] == "relaxed/relaxed"
        signed = t["h"].lower().split(":")
        assert signed.count("from") >= 2, "From: is over-signed: %s" % t["h"]
        for h in ("to", "subject", "date", "message-id", "mime-version", "content-type"):
            assert h in signed, (h, t["h"])
    assert raw.endswith(SUBMITTED.split(b"\r\n\r\n", 1)[1])
    assert dkimpy_verdicts(raw, signer.records) == [("postern", True), ("ed", True)]
    assert opendkim_verdicts(tmp_path, raw, signer.records) == {"postern": "pass", "ed": "pass"}
    # the verifiers can say no: a body changed in transit fails in both
    changed = raw.replace(b"Hello Carol", b"Hello Carla")
    assert dkimpy_verdicts(changed, signer.records) == [("postern", False), ("ed", False)]
    assert opendkim_verdicts(tmp_path, changed, signer.records) == {"postern": "fail", "ed": "fail"}


def test_keys_made_while_running_sign_after_sighup(zone, tmp_path, sink):
    p = Postern(tmp_path, {"dns": {"servers": zone.server}, "relay": {"pop_before_smtp": "no"},
                           "routes": {"remote.test": "[127.0.0.1]:%d" % sink.port}})
    p.add_user("alice@example.test", "alicepw")
    p.start()
    try:
        submit(p, SUBMITTED)
        (unsigned,) = sink.wait(1)
        assert b"DKIM-Signature:" not in unsigned.body
        record = keygen(p, "--algorithm", "ed25519", "--selector", "later")
        p.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "dkim: 1 signing key(s)" in p.log(), what="the keys reloaded")
        submit(p, SUBMITTED)
        raw = sink.wait(2)[1].body
        assert dkimpy_verdicts(raw, {"later": record}) == [("later", True)]
    finally:
        check_clean_exit(p)


def test_sendmail_and_bounces_are_signed(signer, sink):
    """What postern writes itself is signed as SMTP submissions are: a sendmail
    message with its From: domain's keys, and a DSN (From: MAILER-DAEMON@ the host
    name, mx.example.test) with those of its parent example.test."""
    r = sendmail(signer, ["-f", "alice@example.test", "cron@remote.test"],
                 b"From: Alice <alice@example.test>\nTo: cron@remote.test\n"
                 b"Subject: from cron\n\nnightly report\n")
    assert r.returncode == 0, r.stderr
    (cron,) = sink.wait(1)
    assert dkimpy_verdicts(cron.body, signer.records) == [("postern", True), ("ed", True)]
    sink.rcpt_replies["gone@remote.test"] = "550 5.1.1 gone"
    with smtplib.SMTP("127.0.0.1", signer.ports["submission"], timeout=60) as s:
        s.login("alice@example.test", "alicepw")
        s.sendmail("alice@example.test", ["gone@remote.test"], SUBMITTED)
    (dsn,) = wait_for(lambda: signer.messages("alice@example.test"), what="the DSN")
    raw = dsn.replace(b"\n", b"\r\n")
    assert b"From: MAILER-DAEMON@mx.example.test" in raw, raw[:600]
    assert dkimpy_verdicts(raw, signer.records) == [("postern", True), ("ed", True)]


# --- 2. SPF --------------------------------------------------------------------------

@pytest.mark.parametrize("case,record,source,want", [
    ("pass", "v=spf1 ip4:127.0.0.2 -all", PASS_IP, "pass"),
    ("fail", "v=spf1 ip4:127.0.0.2 -all", OTHER_IP, "fail"),
    ("softfail", "v=spf1 ip4:127.0.0.2 ~all", OTHER_IP, "softfail"),
    ("neutral", "v=spf1 ip4:127.0.0.2 ?all", OTHER_IP, "neutral"),
    ("none", None, OTHER_IP, "none"),
])
def test_spf(mx, zone, case, record, source, want):
    domain = "spf-%s.test" % case
    zone.set(domain, "A", ["192.0.2.1"])
    if record:
        zone.set(domain, "TXT", [record])
    mail_from = "news@" + domain
    assert pyspf(source, mail_from) == want  # the independent verdict
    token = "spf-" + case
    assert send(mx, mail_from, message(mail_from, token), source=source)[0] == 250
    ar = our_authres(deliver_one(mx, token))
    (r,) = results(ar, "spf")
    assert (r.result, prop(r, "smtp", "mailfrom")) == (want, mail_from)
    assert checked_line(mx)[0]["spf"] == want


def test_spf_of_the_null_sender_is_the_helo_name(mx, zone):
    zone.set("helo.spf-null.test", "TXT", ["v=spf1 ip4:127.0.0.2 -all"])
    assert pyspf(PASS_IP, "", "helo.spf-null.test") == "pass"
    assert pyspf(OTHER_IP, "", "helo.spf-null.test") == "fail"
    for source, token, want in [(PASS_IP, "null-pass", "pass"), (OTHER_IP, "null-fail", "fail")]:
        msg = message("postmaster@spf-null.test", token)
        assert send(mx, "", msg, source=source, helo="helo.spf-null.test")[0] == 250
        (r,) = results(our_authres(deliver_one(mx, token)), "spf")
        assert (r.result, prop(r, "smtp", "helo")) == (want, "helo.spf-null.test")


# --- 3. DKIM -------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_dkim_good_signature_and_body_changed_after_signing(mx, zone, tmp_path, algorithm):
    domain = "dkim%s.test" % algorithm
    key, record = rsa_key(tmp_path) if algorithm == "rsa" else ed_key()
    zone.set("t1._domainkey." + domain, "TXT", [record])
    a = b"rsa-sha256" if algorithm == "rsa" else b"ed25519-sha256"
    for token, changed in [("dkim-good-" + algorithm, False), ("dkim-changed-" + algorithm, True)]:
        msg = sign(message("news@" + domain, token), "t1", domain, key, a)
        if changed:
            msg = msg.replace(b"this is a test", b"this is a tesT")
        assert dkim.verify(msg) is (not changed)  # dkimpy, through the same DNS server
        want = expected(msg, OTHER_IP, "news@" + domain)["dkim"]
        assert want == ("fail" if changed else "pass")
        assert send(mx, "news@" + domain, msg, source=OTHER_IP)[0] == 250
        ar = our_authres(deliver_one(mx, token))
        (r,) = results(ar, "dkim")
        b = sig_tags(dict(header_fields(msg))["DKIM-Signature"])["b"]
        assert (r.result, prop(r, "header", "d"), prop(r, "header", "s")) == (want, domain, "t1")
        assert b.startswith(prop(r, "header", "b")) and len(prop(r, "header", "b")) >= 8
        assert checked_line(mx)[0]["dkim"] == want


# --- 4. DMARC ------------------------------------------------------------------------

def dmarc_world(zone, name, policy, spf_aligned=False, signed=False):
    """A From: domain with a DMARC policy; the message and MAIL FROM for the case.

    No '-' in these names: authheaders reads the From: domain with
    @([a-z0-9.]+), which stops at a hyphen.
    """
    domain = "%s.test" % name
    zone.set("_dmarc." + domain, "TXT", ["v=DMARC1; p=%s" % policy])
    zone.set(domain, "A", ["192.0.2.1"])
    other = "bulk%s.test" % name  # SPF passes for the client, but is not aligned
    zone.set(other, "TXT", ["v=spf1 ip4:127.0.0.2 -all"])
    zone.set("mail." + domain, "TXT", ["v=spf1 ip4:127.0.0.2 -all"])
    mail_from = ("bounce@mail." + domain) if spf_aligned else ("bounce@" + other)
    msg = message("ceo@" + domain, name)
    if signed:
        key, record = ed_key()
        zone.set("s._domainkey." + domain, "TXT", [record])
        msg = sign(msg, "s", domain, key, b"ed25519-sha256")
    return msg, mail_from


@pytest.mark.parametrize("name,policy,spf_aligned,signed", [
    ("dmarcspf", "reject", True, False),
    ("dmarcdkim", "reject", False, True),
])
def test_dmarc_pass_by_aligned_spf_or_dkim(mx, zone, name, policy, spf_aligned, signed):
    msg, mail_from = dmarc_world(zone, name, policy, spf_aligned, signed)
    want = expected(msg, PASS_IP, mail_from)
    assert want["dmarc"] == "pass", want
    assert send(mx, mail_from, msg)[0] == 250
    ar = our_authres(deliver_one(mx, name))
    got = verdicts(ar)
    # authheaders says dkim=fail for a message without a signature, postern (RFC 8601) none
    assert (got["spf"], got["dmarc"], got["dkim"]) == \
        (want["spf"], want["dmarc"], want["dkim"] if signed else "none"), (got, want)
    (r,) = results(ar, "dmarc")
    assert prop(r, "header", "from") == name + ".test"


def test_dmarc_reject_is_550_with_the_domain(mx, zone):
    msg, mail_from = dmarc_world(zone, "dmarcreject", "reject")
    want = expected(msg, PASS_IP, mail_from)
    assert (want["spf"], want["dmarc"]) == ("pass", "fail")  # SPF passes, but not aligned
    code, text = send(mx, mail_from, msg)
    assert code == 550 and text.startswith("5.7.1") and "dmarcreject.test" in text, (code, text)
    v, line = checked_line(mx)
    assert v == {"spf": "pass", "dkim": "none", "dmarc": "fail"} and "action=reject" in line
    assert delivered(mx, "dmarcreject") == [] and delivered(mx, "dmarcreject", ".Junk") == []


def test_dmarc_quarantine_goes_to_junk(mx, zone):
    msg, mail_from = dmarc_world(zone, "dmarcquarantine", "quarantine")
    assert expected(msg, PASS_IP, mail_from)["dmarc"] == "fail"
    assert send(mx, mail_from, msg)[0] == 250
    stored = deliver_one(mx, "dmarcquarantine", ".Junk")
    assert verdicts(our_authres(stored))["dmarc"] == "fail"
    assert os.path.isfile(os.path.join(mx.maildir(BOB), ".Junk", "maildirfolder"))
    assert delivered(mx, "dmarcquarantine") == []
    assert "action=junk" in checked_line(mx)[1]


def test_dmarc_enforce_off_delivers_both_to_the_inbox(own, zone):
    p = own({"inbound": {"dmarc_enforce": "no"}})
    for name, policy in [("noenfreject", "reject"), ("noenfquarantine", "quarantine")]:
        msg, mail_from = dmarc_world(zone, name, policy)
        assert expected(msg, PASS_IP, mail_from)["dmarc"] == "fail"
        assert send(p, mail_from, msg)[0] == 250
        assert verdicts(our_authres(deliver_one(p, name)))["dmarc"] == "fail"
    assert delivered(p, "noenfquarantine", ".Junk") == []


def test_verify_off_adds_no_header_and_refuses_nothing(own, zone):
    p = own({"inbound": {"verify": "no"}})
    msg, mail_from = dmarc_world(zone, "noverifyreject", "reject")
    assert send(p, mail_from, msg)[0] == 250
    stored = deliver_one(p, "noverifyreject")
    assert not [n for n, _ in header_fields(stored) if n.lower() == "authentication-results"]
    assert " smtp checked " not in p.log()


# --- 5. forged Authentication-Results ------------------------------------------------

def test_forged_authentication_results_removed_others_kept(mx, zone):
    zone.set("forged.test", "TXT", ["v=spf1 ip4:127.0.0.2 -all"])
    forged = (b"Authentication-Results: mx.example.test; dkim=pass header.d=bank.test\r\n"
              b"Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example\r\n")
    msg = message("news@forged.test", "forged-ar", extra=forged)
    assert send(mx, "news@forged.test", msg)[0] == 250
    stored = deliver_one(mx, "forged-ar")
    ar = our_authres(stored)  # exactly one naming us, and it is the first field
    assert verdicts(ar)["spf"] == "pass" and verdicts(ar)["dkim"] == "none"
    assert b"header.d=bank.test" not in stored
    assert b"\nAuthentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example\n" \
        in stored.replace(b"\r\n", b"\n")
    assert "removed a forged Authentication-Results" in mx.log()


def test_forged_authentication_results_in_other_spellings_removed(mx, zone):
    """The authserv-id compares without case (RFC 8601 2.5), a folded field is one field."""
    zone.set("forged2.test", "TXT", ["v=spf1 ip4:127.0.0.2 -all"])
    forged = (b"authentication-results: MX.Example.Test; dkim=pass header.d=bank1.test\r\n"
              b"Authentication-Results:\r\n mx.example.test;\r\n\tdkim=pass header.d=bank2.test\r\n"
              b"Authentication-Results: mx.example.test.other; spf=pass\r\n")
    msg = message("news@forged2.test", "forged-ar-2", extra=forged)
    assert send(mx, "news@forged2.test", msg)[0] == 250
    stored = deliver_one(mx, "forged-ar-2")
    our_authres(stored)
    assert b"bank1.test" not in stored and b"bank2.test" not in stored, stored.decode()
    assert b"Authentication-Results: mx.example.test.other; spf=pass" in stored


def test_forged_authentication_results_removed_from_a_message_already_on_disk(mx, zone):
    """Past 64 KB the text is on disk when DATA ends: the file is rewritten, sizes stay true."""
    zone.set("forged3.test", "TXT", ["v=spf1 ip4:127.0.0.2 -all"])
    body = "".join("line %d %s\r\n" % (i, "x" * 60) for i in range(2000))
    forged = b"Authentication-Results: mx.example.test; dkim=pass header.d=bank3.test\r\n"
    msg = message("news@forged3.test", "forged-ar-big", body=body, extra=forged)
    assert send(mx, "news@forged3.test", msg)[0] == 250
    stored = deliver_one(mx, "forged-ar-big")
    our_authres(stored)
    assert b"bank3.test" not in stored
    assert stored.endswith(body.replace("\r\n", "\n").encode())
    (name,) = [n for n in os.listdir(os.path.join(mx.maildir(BOB), "new"))
               if open(os.path.join(mx.maildir(BOB), "new", n), "rb").read() == stored]
    sizes = dict(kv.split("=") for kv in name.split(":")[0].split(",")[1:])
    assert int(sizes["S"]) == len(stored)
    assert int(sizes["W"]) == len(stored) + stored.count(b"\n")


# --- 6. DNS down ---------------------------------------------------------------------

def test_dns_stopped_gives_temperror_and_the_mail_is_delivered(own):
    down = AuthDns({("down.test", "TXT"): ["v=spf1 ip4:127.0.0.2 -all"],
                    ("_dmarc.down.test", "TXT"): ["v=DMARC1; p=reject"]})
    p = own({}, server=down.server)
    down.close()
    saved = dns.resolver.default_resolver
    dns.resolver.default_resolver = resolver_for(down.port)
    try:
        assert pyspf(OTHER_IP, "news@down.test", timeout=2, querytime=0) == "temperror"
    finally:
        dns.resolver.default_resolver = saved
    code, text = send(p, "news@down.test", message("news@down.test", "dns-down"), source=OTHER_IP)
    assert code == 250, (text, p.log()[-2000:])
    v = verdicts(our_authres(deliver_one(p, "dns-down")))
    assert (v["spf"], v["dmarc"]) == ("temperror", "temperror"), (v, p.log()[-2000:])
    assert checked_line(p)[0] == {"spf": "temperror", "dkim": "none", "dmarc": "temperror"}


def test_servfail_gives_temperror_and_the_mail_is_delivered(mx, zone):
    zone.set("servfail.test", "TXT", ["v=spf1 ip4:127.0.0.2 -all"])
    zone.servfail.update({"servfail.test", "_dmarc.servfail.test"})
    assert pyspf(OTHER_IP, "news@servfail.test") == "temperror"
    code, text = send(mx, "news@servfail.test", message("news@servfail.test", "servfail"),
                      source=OTHER_IP)
    assert code == 250, text
    v = verdicts(our_authres(deliver_one(mx, "servfail")))
    assert (v["spf"], v["dmarc"]) == ("temperror", "temperror"), v


# --- 7. metrics ----------------------------------------------------------------------

def scrape(p):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % p.metrics_port, timeout=10) as r:
        text = r.read().decode()
    out = {}
    for m in re.finditer(r'^postern_(spf|dkim|dmarc)_verdicts_total\{result="(\w+)"\} (\d+)$', text, re.M):
        out[m.group(1), m.group(2)] = int(m.group(3))
    return out


def test_metrics_count_the_verdicts(mx, zone):
    zone.set("metrics.test", "TXT", ["v=spf1 ip4:127.0.0.2 -all"])
    zone.set("_dmarc.metrics.test", "TXT", ["v=DMARC1; p=none"])
    before = scrape(mx)
    for source, token in [(PASS_IP, "metrics-1"), (OTHER_IP, "metrics-2"), (OTHER_IP, "metrics-3")]:
        assert send(mx, "news@metrics.test", message("news@metrics.test", token), source=source)[0] == 250
    after = scrape(mx)
    moved = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert {k: n for k, n in moved.items() if n} == {
        ("spf", "pass"): 1, ("spf", "fail"): 2, ("dkim", "none"): 3,
        ("dmarc", "pass"): 1, ("dmarc", "fail"): 2}, moved


# --- 8. bad input --------------------------------------------------------------------

def test_fifty_signatures_are_bounded_and_judged(mx, zone):
    key, record = ed_key()
    msg = message("news@many-sigs.test", "many-sigs")
    sigs = b""
    for i in range(50):
        zone.set("s%d._domainkey.many-sigs.test" % i, "TXT", [record])
        sigs += dkim.sign(msg, b"s%d" % i, b"many-sigs.test", key,
                          signature_algorithm=b"ed25519-sha256", canonicalize=(b"relaxed", b"relaxed"))
    msg = sigs + msg
    assert dkim.verify(msg) and expected(msg, OTHER_IP, "news@many-sigs.test")["dkim"] == "pass"
    start = len(zone.queries)
    assert send(mx, "news@many-sigs.test", msg, source=OTHER_IP)[0] == 250
    ar = our_authres(deliver_one(mx, "many-sigs"))
    dk = results(ar, "dkim")
    asked = {q for q in zone.queries[start:] if "_domainkey" in q[0]}
    assert 1 <= len(dk) <= 10 and len(asked) <= 10, (len(dk), len(asked))
    assert {r.result for r in dk} == {"pass"}
    assert checked_line(mx)[0]["dkim"] == "pass"


def test_l_tag_beyond_the_body_does_not_pass(mx, zone):
    key, record = ed_key()
    zone.set("s._domainkey.ltag.test", "TXT", [record])
    long_msg = message("news@ltag.test", "ltag-body", body="line one\r\nline two\r\n" * 20)
    signed = sign(long_msg, "s", "ltag.test", key, b"ed25519-sha256", length=True)
    msg = signed[:signed.index(b"line two")] + b"\r\n"  # the body now shorter than l=
    assert not dkim.verify(msg)
    assert expected(msg, OTHER_IP, "news@ltag.test")["dkim"] == "fail"
    assert send(mx, "news@ltag.test", msg, source=OTHER_IP)[0] == 250
    (r,) = results(our_authres(deliver_one(mx, "ltag-body")), "dkim")
    assert r.result in ("fail", "permerror", "neutral"), r.result


@pytest.mark.parametrize("tags", [
    b"v=1; a=rsa-sha256; d=; s=; b=; bh=;;;===",
    b"v=1; a=rsa-sha256; d=bad-tags.test; s=s; h=from; bh=!!!; b=????",
    b"v=1; a=rsa-sha256; a=ed25519-sha256; d=bad-tags.test; s=s; h=from; bh=AAAA; b=AAAA",
    b"\x01\xff; l=99999999999999999999999; d=bad-tags.test",
])
def test_malformed_signature_tags(mx, zone, tags):
    token = "bad-tags-" + hashlib.sha1(tags).hexdigest()[:12]
    msg = b"DKIM-Signature: " + tags + b"\r\n" + message("news@bad-tags.test", token)
    assert not dkim.verify(msg)
    assert send(mx, "news@bad-tags.test", msg, source=OTHER_IP)[0] == 250
    (r,) = results(our_authres(deliver_one(mx, token)), "dkim")
    assert r.result in ("fail", "permerror", "neutral"), r.result


def test_spf_record_of_64k_is_an_error_and_the_daemon_lives(mx, zone):
    """A 64 KB v=spf1 record (over TCP: the UDP answer is truncated). pyspf
    reads it all and says fail; posternd bounds what it reads, and a record it
    did not read must then be an error (permerror, or temperror), not "no
    record" (none): the domain has one."""
    record = "v=spf1 " + " ".join("ip4:10.%d.%d.0/24" % (i // 256, i % 256) for i in range(4000))
    record = record[:64000].rsplit(" ", 1)[0] + " -all"
    assert len(record) > 63000
    zone.set("huge-spf.test", "TXT", [record])
    mail_from = "news@huge-spf.test"
    assert pyspf(OTHER_IP, mail_from) == "fail"
    assert send(mx, mail_from, message(mail_from, "huge-spf"), source=OTHER_IP)[0] == 250
    (r,) = results(our_authres(deliver_one(mx, "huge-spf")), "spf")
    # alive and still judging
    zone.set("after-huge.test", "TXT", ["v=spf1 ip4:127.0.0.2 -all"])
    assert send(mx, "news@after-huge.test", message("news@after-huge.test", "after-huge"))[0] == 250
    assert verdicts(our_authres(deliver_one(mx, "after-huge")))["spf"] == "pass"
    assert r.result in ("permerror", "temperror"), r.result


@pytest.mark.parametrize("case,records", [
    ("loop", {"spf-loop.test": "v=spf1 include:b.spf-loop.test -all",
              "b.spf-loop.test": "v=spf1 include:spf-loop.test -all"}),
    ("self", {"spf-self.test": "v=spf1 include:spf-self.test -all"}),
    ("eleven", dict([("spf-eleven.test", "v=spf1 " + " ".join(
        "include:i%d.spf-eleven.test" % i for i in range(11)) + " -all")] +
        [("i%d.spf-eleven.test" % i, "v=spf1 -all") for i in range(11)])),
])
def test_spf_include_loops_and_lookup_limit_are_permerror(mx, zone, case, records):
    for name, rec in records.items():
        zone.set(name, "TXT", [rec])
    mail_from = "news@spf-%s.test" % case
    assert pyspf(OTHER_IP, mail_from) == "permerror"
    token = "spf-limit-" + case
    assert send(mx, mail_from, message(mail_from, token), source=OTHER_IP)[0] == 250
    (r,) = results(our_authres(deliver_one(mx, token)), "spf")
    assert r.result == "permerror"
