"""The pure DKIM core (src/dkim) against dkimpy, with no daemon.

A tiny C driver (tests/integration/dkim_driver.c, compiled here with the
src/dkim sources) signs and verifies messages stored as postern stores them
(LF line ends); dkimpy (python3-dkim) judges the same messages in their wire
form (CRLF). Both directions, RSA 2048 and Ed25519, every canonicalization
dkimpy can sign with, l=, and tampering.
"""
import base64
import glob
import os
import subprocess

import dkim
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOMAIN = b"example.org"
SELECTOR = b"sel"
NOW = 1700000000

MESSAGES = [
    b"From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: Lunch?\n"
    b"Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <1@example.org>\n\nShall we meet at noon?\n",
    # folds, odd spacing, mixed case, trailing blanks, empty lines at the end
    b"Received: from x by y;\n\tMon, 1 Jan 2024 00:00:00 +0000\nFROM:  Alice   <alice@example.org>  \n"
    b"To: a@example.net,\n b@example.net,\n\t c@example.net\nSubject:  Re:\t lunch  \n"
    b"MIME-Version: 1.0\nContent-Type: text/plain;\n charset=utf-8\nCc: d@example.net\n\n"
    b"  indented   line  \t\nline with trailing space \n\n\ttab\n\n\n\n",
    # empty body; a body without its last line end
    b"From: a@example.org\nSubject: empty\n\n",
    b"From: a@example.org\nSubject: no eol\n\nlast line without newline",
    # 8-bit text, a bare CR, a long line
    b"From: a@example.org\nSubject: =?utf-8?q?caf=C3=A9?=\n\ncaf\xc3\xa9 \r x\n" + b"y" * 3000 + b"\n",
]


def crlf(msg):
    return msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def lf(msg):
    return msg.replace(b"\r\n", b"\n")


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """The C driver, compiled with the DKIM sources (a compile error fails the tests)."""
    out = str(tmp_path_factory.mktemp("dkimdrv") / "dkim_driver")
    srcs = [s for s in sorted(glob.glob(os.path.join(ROOT, "src", "dkim", "dkim_*.c")))
            if not os.path.basename(s).startswith("dkim_keys")]
    srcs += [os.path.join(ROOT, "src", "util", f) for f in ("xalloc.c", "log.c")]
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-Wall", "-Werror",
                    "-fsanitize=address,undefined", "-I" + os.path.join(ROOT, "src"), "-o", out,
                    os.path.join(ROOT, "tests", "integration", "dkim_driver.c")] + srcs + ["-lcrypto"],
                   check=True)
    return out


def make_key(tmp, kind):
    """(PEM path, dkimpy private key bytes, DNS record bytes) for a fresh RSA 2048 or Ed25519 key."""
    pem = os.path.join(tmp, kind + ".pem")
    algo = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] if kind == "rsa" else ["-algorithm", "ED25519"]
    subprocess.run(["openssl", "genpkey"] + algo + ["-out", pem], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    if kind == "rsa":
        return pem, open(pem, "rb").read(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(pub)
    der = subprocess.run(["openssl", "pkey", "-in", pem, "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return pem, base64.b64encode(der[-32:]), b"v=DKIM1; k=ed25519; p=" + base64.b64encode(pub[-32:])


@pytest.fixture(scope="module", params=["rsa", "ed25519"])
def key(request, tmp_path_factory):
    return make_key(str(tmp_path_factory.mktemp("dkimkey")), request.param) + (request.param,)


def dnsfunc_for(record):
    def dnsfunc(name, timeout=5):
        assert name == b"sel._domainkey.example.org."
        return record
    return dnsfunc


def c_sign(driver, pem, msg):
    r = subprocess.run([driver, "sign", pem, DOMAIN.decode(), SELECTOR.decode(), str(NOW)],
                       input=msg, capture_output=True, check=True)
    return r.stdout


def c_verify(driver, record, msg):
    r = subprocess.run([driver, "verify", record.decode(), str(NOW)], input=msg, capture_output=True,
                       check=True)
    return r.stdout.decode().splitlines()


@pytest.mark.parametrize("n", range(len(MESSAGES)))
def test_postern_signs_dkimpy_verifies(driver, key, n):
    pem, _, record, kind = key
    sig = c_sign(driver, pem, MESSAGES[n])
    assert sig.startswith(b"DKIM-Signature: v=1; a=%s;" % (b"rsa-sha256" if kind == "rsa" else b"ed25519-sha256"))
    assert all(len(line) <= 78 for line in sig.split(b"\n"))
    wire = crlf(sig + MESSAGES[n])
    assert dkim.verify(wire, dnsfunc=dnsfunc_for(record)), sig
    tampered = wire.replace(b"Subject:", b"Subject: x", 1)
    assert not dkim.verify(tampered, dnsfunc=dnsfunc_for(record))
    # and our own verifier agrees, on the LF form
    assert c_verify(driver, record, sig + MESSAGES[n]) == ["pass ok"]


@pytest.mark.parametrize("canon", [(b"simple", b"simple"), (b"relaxed", b"relaxed"),
                                   (b"simple", b"relaxed"), (b"relaxed", b"simple")])
@pytest.mark.parametrize("n", range(len(MESSAGES)))
def test_dkimpy_signs_postern_verifies(driver, key, canon, n):
    _, priv, record, kind = key
    algo = b"rsa-sha256" if kind == "rsa" else b"ed25519-sha256"
    wire = crlf(MESSAGES[n])
    sig = dkim.sign(wire, SELECTOR, DOMAIN, priv, canonicalize=canon, signature_algorithm=algo)
    assert dkim.verify(sig + wire, dnsfunc=dnsfunc_for(record))
    assert c_verify(driver, record, lf(sig + wire)) == ["pass ok"]
    assert c_verify(driver, record, sig + wire) == ["pass ok"]  # CRLF as it came
    changed = lf(sig + wire) + b"appended\n"
    assert c_verify(driver, record, changed) == ["fail body hash did not verify"]


def test_dkimpy_length_tag(driver, key):
    """l=: text appended after signing still passes (as in dkimpy); l= past the body fails."""
    _, priv, record, kind = key
    algo = b"rsa-sha256" if kind == "rsa" else b"ed25519-sha256"
    wire = crlf(MESSAGES[0])
    sig = dkim.sign(wire, SELECTOR, DOMAIN, priv, canonicalize=(b"relaxed", b"relaxed"),
                    signature_algorithm=algo, length=True)
    assert b"l=" in sig
    assert c_verify(driver, record, lf(sig + wire) + b"extra text\n") == ["pass ok"]
    assert dkim.verify(sig + wire + b"extra text\r\n", dnsfunc=dnsfunc_for(record))
    cut = lf(sig + wire)[:-6] + b"\n"
    assert c_verify(driver, record, cut)[0].startswith("fail")
    assert not dkim.verify(crlf(cut), dnsfunc=dnsfunc_for(record))
