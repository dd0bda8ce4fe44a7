"""posternctl dkim keygen|list and the records of posternctl autoconfig:
SPEC.md "Mail authentication: posternctl dkim" (the key part).

The record posternctl prints is judged by an independent verifier: dkimpy
(python3-dkim) signs a message with the key file posternctl wrote and
verifies it against the printed record, served by a fake DNS function.
Signing by the daemon is tested where it is integrated.
"""
import base64
import os
import re
import stat

import dkim
import pytest
from conftest import TEST_USER, Postern

DOMAINS = {"domains": {"local": "example.test, other.test"}}
MESSAGE = (b"From: Alice <alice@example.test>\r\nTo: bob@remote.test\r\n"
           b"Subject: signed\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
           b"Message-ID: <1@example.test>\r\n\r\nHello,\r\nthis is signed.\r\n")
# the PKCS#8 prefix of an Ed25519 private key (RFC 8410 section 7); the 32-byte seed follows
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


@pytest.fixture
def p(make_postern):
    """A configuration (no daemon needed)."""
    return make_postern(DOMAINS)


def keys_dir(p):
    return os.path.join(p.data_dir, "dkim")


def parse_keygen(out, name):
    """(zone strings, plain record) from keygen's output for the record NAME."""
    (zone,) = [l for l in out.splitlines() if l.startswith(name + ". ")]
    assert zone.startswith(name + ". 3600 IN TXT "), zone
    strings = re.findall(r'"([^"]*)"', zone)
    assert zone == name + ". 3600 IN TXT " + " ".join('"%s"' % s for s in strings)
    plain = out.splitlines()[-1]
    return strings, plain


def keygen(p, domain, *args):
    r = p.ctl("dkim", "keygen", domain, *args, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def pem_file(p, domain, selector):
    path = os.path.join(keys_dir(p), domain, selector + ".key")
    with open(path, "rb") as f:
        return path, f.read()


def dkimpy_key(pem, algorithm):
    """The private key as dkimpy takes it: PEM for RSA, the base64 seed for Ed25519."""
    if algorithm == "rsa":
        return pem
    der = base64.b64decode(b"".join(pem.strip().splitlines()[1:-1]))
    assert der.startswith(ED25519_PKCS8_PREFIX) and len(der) == 48
    return base64.b64encode(der[len(ED25519_PKCS8_PREFIX):])


def dkimpy_verifies(pem, algorithm, selector, domain, record, message=MESSAGE, sign_message=MESSAGE):
    """Sign sign_message with dkimpy and the key, verify message against record."""
    sig = dkim.sign(sign_message, selector.encode(), domain.encode(), dkimpy_key(pem, algorithm),
                    signature_algorithm=b"rsa-sha256" if algorithm == "rsa" else b"ed25519-sha256",
                    canonicalize=(b"relaxed", b"relaxed"))
    name = ("%s._domainkey.%s." % (selector, domain)).encode()
    asked = []

    def dnsfunc(qname, timeout=5):
        asked.append(qname)
        return record.encode() if qname == name else None

    ok = dkim.verify(sig + message, dnsfunc=dnsfunc)
    assert asked == [name]
    return ok


def test_keygen_rsa_default(p):
    out = keygen(p, "Example.TEST")
    path, pem = pem_file(p, "example.test", "postern")
    assert "; wrote %s (rsa, 2048 bits)" % path in out
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for d in (keys_dir(p), os.path.dirname(path)):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d
    assert os.listdir(os.path.dirname(path)) == ["postern.key"]  # no temporary file left
    strings, plain = parse_keygen(out, "postern._domainkey.example.test")
    assert all(len(s) <= 255 for s in strings) and len(strings) == 2
    assert "".join(strings) == plain
    assert plain.startswith("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")
    assert dkimpy_verifies(pem, "rsa", "postern", "example.test", plain)


def test_keygen_ed25519(p):
    out = keygen(p, "example.test", "--algorithm", "ed25519", "--selector", "ed-2026")
    path, pem = pem_file(p, "example.test", "ed-2026")
    assert "; wrote %s (ed25519)" % path in out
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    strings, plain = parse_keygen(out, "ed-2026._domainkey.example.test")
    assert strings == [plain]
    assert re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", plain), plain
    assert dkimpy_verifies(pem, "ed25519", "ed-2026", "example.test", plain)


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_the_record_is_of_this_key(p, algorithm):
    """The check can fail: a changed body, or another key's record, does not verify."""
    keygen(p, "example.test", "--algorithm", algorithm)
    out = keygen(p, "example.test", "--algorithm", algorithm, "--selector", "other")
    _, other_record = parse_keygen(out, "other._domainkey.example.test")
    _, pem = pem_file(p, "example.test", "postern")
    changed = MESSAGE.replace(b"this is signed", b"this is changed")
    assert not dkimpy_verifies(pem, algorithm, "postern", "example.test", other_record)
    out = p.ctl("dkim", "list").stdout
    (line,) = [l for l in out.splitlines() if l.startswith("example.test postern ")]
    record = line.split(" ", 3)[3]
    assert dkimpy_verifies(pem, algorithm, "postern", "example.test", record)
    assert not dkimpy_verifies(pem, algorithm, "postern", "example.test", record, message=changed)


def test_keygen_never_overwrites(p):
    keygen(p, "example.test")
    path, before = pem_file(p, "example.test", "postern")
    for args in ([], ["--algorithm", "ed25519"]):
        r = p.ctl("dkim", "keygen", "example.test", *args, check=False)
        assert r.returncode == 1
        assert "%s exists: a key is never overwritten" % path in r.stderr
        assert r.stdout == ""
    assert pem_file(p, "example.test", "postern")[1] == before
    assert os.listdir(os.path.dirname(path)) == ["postern.key"]


@pytest.mark.parametrize("args,message", [
    (["../etc"], "'../etc' is not a domain name"),
    (["a/b.test"], "'a/b.test' is not a domain name"),
    (["exa mple.test"], "'exa mple.test' is not a domain name"),
    (["a..b.test"], "'a..b.test' is not a domain name"),
    (["-x.test"], None),
    ([".."], "'..' is not a domain name"),
    (["under_score.test"], "'under_score.test' is not a domain name"),
    (["example.test", "--selector", "../x"], "--selector: '../x' is not a selector"),
    (["example.test", "--selector", "a/b"], "--selector: 'a/b' is not a selector"),
    (["example.test", "--selector", ".."], "--selector: '..' is not a selector"),
    (["example.test", "--selector", ""], "--selector: '' is not a selector"),
    (["example.test", "--selector", "a b"], "--selector: 'a b' is not a selector"),
    (["example.test", "--algorithm", "dsa"], "--algorithm: 'dsa' is neither rsa nor ed25519"),
    (["example.test", "--selector"], "usage:"),
    (["example.test", "other.test"], "usage:"),
    ([], "usage:"),
])
def test_keygen_refuses_bad_names(p, args, message):
    r = p.ctl("dkim", "keygen", *args, check=False)
    assert r.returncode == 2, r.stderr
    if message is not None:
        assert message in r.stderr
    assert not os.path.exists(keys_dir(p))
    assert not os.path.exists(os.path.join(p.dir, "etc"))


def test_list(p):
    assert p.ctl("dkim", "list").stdout == ""  # no keys_dir yet
    records = {}
    for domain, selector, algorithm in [("other.test", "b", "ed25519"), ("example.test", "z", "ed25519"),
                                        ("example.test", "postern", "rsa")]:
        out = keygen(p, domain, "--selector", selector, "--algorithm", algorithm)
        records[domain, selector] = out.splitlines()[-1]
    with open(os.path.join(keys_dir(p), "example.test", "broken.key"), "w") as f:
        f.write("junk\n")
    r = p.ctl("dkim", "list")
    assert r.stdout.splitlines() == [
        "example.test postern rsa " + records["example.test", "postern"],
        "example.test z ed25519 " + records["example.test", "z"],
        "other.test b ed25519 " + records["other.test", "b"],
    ]
    assert "example.test/broken.key skipped: not a PEM private key" in r.stderr


def test_keys_dir_from_the_configuration(make_postern, tmp_path):
    where = str(tmp_path / "keys" / "nested")
    p = make_postern(dict(DOMAINS, dkim={"keys_dir": where}))
    keygen(p, "example.test", "--algorithm", "ed25519")
    assert os.path.isfile(os.path.join(where, "example.test", "postern.key"))
    assert not os.path.exists(keys_dir(p))
    assert p.ctl("dkim", "list").stdout.startswith("example.test postern ed25519 v=DKIM1; k=ed25519; p=")


def autoconfig_records(p, domain):
    r = p.ctl("autoconfig", domain, "--dns")
    return r.stdout, [l for l in r.stdout.splitlines() if l and not l.startswith(";")]


def test_autoconfig_prints_spf_dkim_dmarc(p):
    out, records = autoconfig_records(p, "example.test")
    assert 'example.test. 3600 IN TXT "v=spf1 mx -all"' in records
    assert '_dmarc.example.test. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:postmaster@example.test"' in records
    assert not [r for r in records if "_domainkey" in r]
    assert '"posternctl dkim keygen example.test"' in out
    assert "the hosts of the MX record send" in out

    ed = keygen(p, "example.test", "--algorithm", "ed25519", "--selector", "a")
    rsa = keygen(p, "example.test", "--selector", "b")
    keygen(p, "other.test", "--algorithm", "ed25519")
    out, records = autoconfig_records(p, "Example.Test")
    dkim_lines = [r for r in records if "_domainkey" in r]
    assert dkim_lines == [
        [l for l in rsa.splitlines() if l.startswith("b._domainkey.example.test. ")][0],
        [l for l in ed.splitlines() if l.startswith("a._domainkey.example.test. ")][0],
    ]
    assert "dkim keygen" not in out
    assert records[-1] == '_dmarc.example.test. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:postmaster@example.test"'


# --- run as root, the files belong to the daemon's user ------------------------



def test_keygen_as_root_writes_as_the_test_user(test_user, reachable_dir):
    p = Postern(reachable_dir, {"server": {"user": TEST_USER}})
    assert not os.path.exists(p.data_dir)
    keygen(p, "example.test")
    keygen(p, "example.test", "--algorithm", "ed25519", "--selector", "ed")
    uid = test_user.pw_uid
    for path, mode in [(p.data_dir, 0o700), (keys_dir(p), 0o700),
                       (os.path.join(keys_dir(p), "example.test"), 0o700),
                       (os.path.join(keys_dir(p), "example.test", "postern.key"), 0o600),
                       (os.path.join(keys_dir(p), "example.test", "ed.key"), 0o600)]:
        st = os.stat(path)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (uid, mode), path
