"""Submission (587 STARTTLS, 465 TLS) with SMTP AUTH, and STARTTLS on port 25."""
import base64
import hashlib
import hmac
import os
import smtplib
import socket
import subprocess

import pytest
from conftest import tls_context
from smtpraw import Raw

MSG = "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: sub\r\n\r\nvia submission\r\n"


def login_plain(s, user, password):
    """AUTH PLAIN, as a client configured for it (smtplib would try CRAM-MD5 first)."""
    s.user, s.password = user, password
    return s.auth("PLAIN", s.auth_plain)


@pytest.fixture
def sub(make_postern):
    p = make_postern({"relay": {"pop_before_smtp": "no"}})
    p.add_user("alice@example.test", "alicepw", apop="alice-secret")
    p.add_user("bob@example.test", "bobpw")
    p.start()
    yield p
    assert p.stop() == 0
    assert "runtime error:" not in p.log()


def test_submission_requires_auth(sub):
    with smtplib.SMTP("127.0.0.1", sub.ports["submission"]) as s:
        s.ehlo()
        code, text = s.mail("alice@example.test")
        assert code == 530 and text.startswith(b"5.7.0")


def test_starttls_then_auth_plain_sends(sub):
    with smtplib.SMTP("127.0.0.1", sub.ports["submission"]) as s:
        s.ehlo()
        assert s.has_extn("starttls")
        s.starttls(context=tls_context())
        s.ehlo()
        assert "PLAIN" in s.esmtp_features["auth"]
        assert login_plain(s, "alice@example.test", "alicepw")[0] == 235
        assert s.sendmail("alice@example.test", ["bob@example.test", "carol@remote.test"],
                          MSG) == {}
    (msg,) = sub.messages("bob@example.test")
    assert b"with ESMTPSA id" in msg
    assert b"(authenticated as alice@example.test)" in msg
    assert len(sub.queued()) == 1
    assert "smtp auth user=alice@example.test" in sub.log()


def test_implicit_tls_and_auth_login(sub):
    with smtplib.SMTP_SSL("127.0.0.1", sub.ports["submissions"], context=tls_context()) as s:
        s.ehlo()
        assert not s.has_extn("starttls")
        login_plain(s, "alice@example.test", "alicepw")  # smtplib prefers PLAIN; force LOGIN below
    with smtplib.SMTP_SSL("127.0.0.1", sub.ports["submissions"], context=tls_context()) as s:
        s.ehlo()
        code, _ = s.docmd("AUTH", "LOGIN " + base64.b64encode(b"alice@example.test").decode())
        assert code == 334
        code, _ = s.docmd(base64.b64encode(b"alicepw").decode())
        assert code == 235
        assert s.sendmail("alice@example.test", ["bob@example.test"], MSG) == {}
    assert len(sub.messages("bob@example.test")) == 1


def test_cram_md5(sub):
    with smtplib.SMTP("127.0.0.1", sub.ports["submission"]) as s:
        s.ehlo()
        code, challenge = s.docmd("AUTH", "CRAM-MD5")
        assert code == 334
        digest = hmac.new(b"alice-secret", base64.b64decode(challenge), hashlib.md5).hexdigest()
        code, _ = s.docmd(base64.b64encode(b"alice@example.test " + digest.encode()).decode())
        assert code == 235


def test_wrong_password_is_535(sub):
    with smtplib.SMTP("127.0.0.1", sub.ports["submission"]) as s:
        s.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            login_plain(s, "alice@example.test", "wrong")
        assert e.value.smtp_code == 535
        assert e.value.smtp_error.startswith(b"5.7.8")
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            login_plain(s, "nobody@example.test", "wrong")
        assert e.value.smtp_code == 535  # the same answer: no account enumeration


def test_auth_cancel_and_bad_base64(sub):
    r = Raw(sub.ports["submission"])
    r.reply()
    r.cmd("EHLO c")
    assert r.cmd("AUTH LOGIN")[0] == 334
    assert r.cmd("*")[0] == 501
    assert r.cmd("AUTH PLAIN")[0] == 334
    assert r.cmd("!!!notbase64")[0] == 501
    assert r.cmd("AUTH FOO")[0] == 504
    assert r.cmd("NOOP")[0] == 250
    r.close()


def test_sender_must_be_the_login(sub):
    with smtplib.SMTP("127.0.0.1", sub.ports["submission"]) as s:
        s.ehlo()
        login_plain(s, "alice@example.test", "alicepw")
        code, _ = s.mail("bob@example.test")
        assert code == 553
        assert s.mail("Alice@Example.Test")[0] == 250


def test_plaintext_refused_without_tls_when_no(make_postern):
    p = make_postern({"auth": {"allow_plaintext": "no"}})
    p.add_user("alice@example.test", "alicepw")
    p.start()
    with smtplib.SMTP("127.0.0.1", p.ports["submission"]) as s:
        s.ehlo()
        assert "PLAIN" not in s.esmtp_features.get("auth", "")
        code, text = s.docmd("AUTH", "PLAIN " + base64.b64encode(
            b"\0alice@example.test\0alicepw").decode())
        assert code == 538 and text.startswith(b"5.7.11")
        s.starttls(context=tls_context())
        s.ehlo()
        assert "PLAIN" in s.esmtp_features["auth"]
        assert login_plain(s, "alice@example.test", "alicepw")[0] == 235
    assert p.stop() == 0


def test_starttls_command_injection_is_dropped(sub):
    """A command pipelined behind STARTTLS in plaintext must never run (CVE-2011-0411)."""
    sock = socket.create_connection(("127.0.0.1", sub.smtp_port))
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"EHLO c\r\n")
    while f.readline()[3:4] == b"-":
        pass
    sock.sendall(b"STARTTLS\r\nRSET\r\n")
    assert f.readline().startswith(b"220 ")
    tls = tls_context().wrap_socket(sock, server_hostname="mx.example.test")
    tls.sendall(b"NOOP\r\n")
    reply = tls.recv(4096)
    assert reply.startswith(b"250 2.0.0"), reply  # the NOOP's answer, not a leftover RSET's
    tls.sendall(b"EHLO c\r\n")
    ehlo = tls.recv(4096)
    assert b"STARTTLS" not in ehlo
    tls.close()


def test_garbage_instead_of_client_hello(sub):
    bad = socket.create_connection(("127.0.0.1", sub.ports["submissions"]))
    bad.sendall(b"EHLO this is not TLS\r\n" * 10)
    bad.settimeout(5)
    try:
        while bad.recv(4096):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    bad.close()
    with smtplib.SMTP("127.0.0.1", sub.smtp_port) as s:
        assert s.noop()[0] == 250


def test_self_signed_certificate_is_made_and_kept(sub):
    cert = os.path.join(sub.data_dir, "tls", "cert.pem")
    assert os.path.exists(cert)
    assert os.stat(os.path.join(sub.data_dir, "tls", "key.pem")).st_mode & 0o077 == 0
    first = open(cert).read()
    sub.stop()
    sub.start()
    assert open(cert).read() == first


def test_swaks_tls_auth_login_and_cram(sub):
    for auth in ("LOGIN", "CRAM-MD5"):
        password = "alicepw" if auth == "LOGIN" else "alice-secret"
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % sub.ports["submission"],
                            "--tls", "--auth", auth, "--auth-user", "alice@example.test",
                            "--auth-password", password, "--from", "alice@example.test",
                            "--to", "bob@example.test"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    assert len(sub.messages("bob@example.test")) == 2


def test_curl_smtps_with_user(sub, tmp_path):
    msg = tmp_path / "m.txt"
    msg.write_text(MSG)
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k",
                        "smtp://127.0.0.1:%d" % sub.ports["submission"],
                        "--user", "alice@example.test:alicepw", "--login-options", "AUTH=PLAIN",
                        "--mail-from", "alice@example.test", "--mail-rcpt", "bob@example.test",
                        "--upload-file", str(msg)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(sub.messages("bob@example.test")) == 1


def test_openssl_s_client_starttls(sub):
    r = subprocess.run(["openssl", "s_client", "-quiet", "-starttls", "smtp", "-connect",
                        "127.0.0.1:%d" % sub.smtp_port], input="EHLO c\r\nQUIT\r\n",
                       capture_output=True, text=True, timeout=30)
    assert "250-AUTH" in r.stdout and "221 2.0.0" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("port_name,tls_mode", [("submission", "on"), ("submissions", "on")])
def test_msmtp(sub, tmp_path, port_name, tls_mode):
    conf = tmp_path / "msmtprc"
    conf.write_text(
        "account default\nhost 127.0.0.1\nport %d\nauth plain\nuser alice@example.test\n"
        "password alicepw\nfrom alice@example.test\ntls on\ntls_certcheck off\n"
        "tls_starttls %s\n" % (sub.ports[port_name], "on" if port_name == "submission" else "off"))
    conf.chmod(0o600)
    r = subprocess.run(["msmtp", "-C", str(conf), "bob@example.test"], input=MSG,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(sub.messages("bob@example.test")) == 1


def test_authenticated_client_relays_on_port_25(sub):
    with smtplib.SMTP("127.0.0.1", sub.smtp_port) as s:
        s.ehlo()
        s.mail("alice@example.test")
        assert s.rcpt("dave@remote.test")[0] == 554
        s.rset()
        login_plain(s, "alice@example.test", "alicepw")
        assert s.sendmail("alice@example.test", ["dave@remote.test"], MSG) == {}
    (env,) = sub.queued()
    queued = open(os.path.join(sub.data_dir, "queue", "msg", env), "rb").read()
    assert b"(authenticated as alice@example.test)" in queued


def test_submission_adds_missing_date_and_message_id(sub):
    with smtplib.SMTP("127.0.0.1", sub.ports["submission"]) as s:
        s.ehlo()
        login_plain(s, "alice@example.test", "alicepw")
        s.sendmail("alice@example.test", ["bob@example.test"], "Subject: bare\r\n\r\nbody\r\n")
        s.sendmail("alice@example.test", ["bob@example.test"],
                   "Subject: full\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
                   "Message-ID: <keep@client>\r\n\r\nDate: in the body\r\n")
    bare, full = sorted(sub.messages("bob@example.test"), key=lambda m: b"Subject: full" in m)
    head = bare.split(b"\n\n", 1)[0]
    assert b"\nDate: " in head and b"\nMessage-ID: <" in head
    assert bare.endswith(b"\n\nbody\n")
    full_head = full.split(b"\n\n", 1)[0]
    assert full_head.count(b"Message-ID:") == 1 and full_head.count(b"\nDate: ") == 1
    assert full.endswith(b"\n\nDate: in the body\n")
    import os
    d = os.path.join(sub.maildir("bob@example.test"), "new")
    for name in os.listdir(d):
        data = open(os.path.join(d, name), "rb").read()
        assert name.endswith(",W=%d" % (len(data) + data.count(b"\n")))


def test_lockout_after_repeated_failures(make_postern):
    p = make_postern({"auth": {"max_failures": "2", "lockout": "3s"}})
    p.add_user("alice@example.test", "alicepw")
    p.start()
    with smtplib.SMTP("127.0.0.1", p.ports["submission"], timeout=30) as s:
        s.ehlo()
        for _ in range(2):
            with pytest.raises(smtplib.SMTPAuthenticationError):
                login_plain(s, "alice@example.test", "wrong")
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            login_plain(s, "alice@example.test", "alicepw")  # right, but locked out
        assert e.value.smtp_code == 454
    import poplib
    c = poplib.POP3("127.0.0.1", p.ports["pop3"])
    c.user("alice@example.test")
    with pytest.raises(poplib.error_proto) as e:
        c.pass_("alicepw")
    assert b"Too many failed" in e.value.args[0]
    c.quit()
    import time
    time.sleep(3.2)
    with smtplib.SMTP("127.0.0.1", p.ports["submission"]) as s:
        s.ehlo()
        assert login_plain(s, "alice@example.test", "alicepw")[0] == 235
    assert "locked-out" in p.log()
    assert p.stop() == 0


def test_auth_login_name_cannot_forge_log_lines(sub):
    forged = "posternd: 00000009 smtp auth user=x ip=203.0.113.9 method=PLAIN failed"
    with smtplib.SMTP("127.0.0.1", sub.ports["submission"]) as s:
        s.ehlo()
        blob = base64.b64encode(("\0x\n" + forged + "\0pw").encode()).decode()
        assert s.docmd("AUTH", "PLAIN " + blob)[0] == 535
    assert not any(line.startswith(forged) or line.endswith(forged)
                   for line in sub.log().splitlines())
    assert "user=x\\x0a" in sub.log()


def test_starttls_forgets_an_auth_made_in_clear(sub):
    with smtplib.SMTP("127.0.0.1", sub.ports["submission"]) as s:
        s.ehlo()
        assert login_plain(s, "alice@example.test", "alicepw")[0] == 235  # loopback: allowed
        s.starttls(context=tls_context())
        s.ehlo()
        assert s.mail("alice@example.test")[0] == 530


def test_blank_in_a_relayed_local_part_is_refused(sub):
    with smtplib.SMTP("127.0.0.1", sub.ports["submission"]) as s:
        s.ehlo()
        login_plain(s, "alice@example.test", "alicepw")
        s.mail("alice@example.test")
        code, text = s.rcpt('"john smith"@remote.test')
        assert code == 553 and text.startswith(b"5.1.3")
        assert s.rcpt('"john.smith"@remote.test')[0] == 250
    assert sub.queued() == []


def test_non_ascii_addresses_need_smtputf8(sub):
    r = Raw(sub.smtp_port)
    r.reply()
    r.cmd("EHLO c")
    code, text = r.cmd("MAIL FROM:<jörg@remote.test>")
    assert code == 553 and text[0].startswith("5.6.7")
    assert r.cmd("MAIL FROM:<x@remote.test>")[0] == 250
    assert r.cmd("RCPT TO:<jörg@example.test>")[0] == 553
    r.cmd("RSET")
    assert r.cmd("MAIL FROM:<jörg@remote.test> SMTPUTF8")[0] == 250
    r.close()
