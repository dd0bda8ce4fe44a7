"""POP3 over TLS: STLS (RFC 2595) on the POP3 port, and POP3S."""
import os
import poplib
import smtplib
import socket
import subprocess

import pytest
from conftest import tls_context


@pytest.fixture
def pop(make_postern):
    p = make_postern({"auth": {"allow_plaintext": "no"}})
    p.add_user("alice@example.test", "alicepw")
    p.start()
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        s.sendmail("x@remote.test", ["alice@example.test"], "Subject: t\r\n\r\n.dot line\r\n")
    yield p
    assert p.stop() == 0
    assert "runtime error:" not in p.log()


def test_stls_then_user_pass(pop):
    c = poplib.POP3("127.0.0.1", pop.ports["pop3"])
    caps = c.capa()
    assert "STLS" in caps and "USER" not in caps
    with pytest.raises(poplib.error_proto):
        c.user("alice@example.test")
    c.stls(context=tls_context())
    caps = c.capa()
    assert "STLS" not in caps and "USER" in caps
    with pytest.raises(poplib.error_proto):
        c._shortcmd("STLS")  # TLS is already active
    c.user("alice@example.test")
    c.pass_("alicepw")
    assert c.stat()[0] == 1
    assert b".dot line" in b"\n".join(c.retr(1)[1])
    c.quit()


def test_pop3s(pop):
    c = poplib.POP3_SSL("127.0.0.1", pop.ports["pop3s"], context=tls_context())
    assert "STLS" not in c.capa()
    c.user("alice@example.test")
    c.pass_("alicepw")
    assert c.stat()[0] == 1
    c.quit()


def test_stls_injection_is_dropped(pop):
    sock = socket.create_connection(("127.0.0.1", pop.ports["pop3"]))
    f = sock.makefile("rb")
    f.readline()
    sock.sendall(b"STLS\r\nQUIT\r\n")
    assert f.readline().startswith(b"+OK")
    tls = tls_context().wrap_socket(sock)
    tls.sendall(b"NOOP\r\n")
    assert tls.recv(4096).startswith(b"-ERR")  # NOOP is refused before login: no QUIT ran
    tls.sendall(b"QUIT\r\n")
    assert tls.recv(4096).startswith(b"+OK")
    tls.close()


def test_openssl_s_client_starttls_pop3(pop):
    r = subprocess.run(["openssl", "s_client", "-quiet", "-starttls", "pop3", "-connect",
                        "127.0.0.1:%d" % pop.ports["pop3"]],
                       input="USER alice@example.test\r\nPASS alicepw\r\nSTAT\r\nQUIT\r\n",
                       capture_output=True, text=True, timeout=30)
    assert "+OK 1 " in r.stdout, r.stdout + r.stderr


def test_fetchmail_and_mpop_over_tls(pop, tmp_path):
    rc = tmp_path / "fetchmailrc"
    rc.write_text("poll 127.0.0.1 service %d protocol pop3 user alice@example.test "
                  "password alicepw is root here ssl mda /bin/cat\n"
                  % pop.ports["pop3s"])
    rc.chmod(0o600)
    r = subprocess.run(["fetchmail", "-f", str(rc), "--pidfile", str(tmp_path / "fetchmail.pid"), "--nosslcertck"], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, HOME=str(tmp_path)))
    assert r.returncode == 0, r.stdout + r.stderr
    assert ".dot line" in r.stdout
    with smtplib.SMTP("127.0.0.1", pop.smtp_port) as s:  # fetchmail took the first one
        s.sendmail("x@remote.test", ["alice@example.test"], "Subject: t\r\n\r\n.dot line\r\n")
    conf = tmp_path / "mpoprc"
    conf.write_text("account default\nhost 127.0.0.1\nport %d\nuser alice@example.test\n"
                    "password alicepw\ntls on\ntls_starttls on\ntls_certcheck off\n"
                    "keep on\ndelivery mbox %s\n" % (pop.ports["pop3"], tmp_path / "mbox"))
    conf.chmod(0o600)
    r = subprocess.run(["mpop", "-C", str(conf), "-a", "--uidls-file=%s" % (tmp_path / "uidls")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ".dot line" in (tmp_path / "mbox").read_text(), r.stdout + r.stderr


def test_user_given_before_stls_does_not_carry_over(make_postern):
    p = make_postern()
    p.add_user("alice@example.test", "alicepw")
    p.start()
    c = poplib.POP3("127.0.0.1", p.ports["pop3"])
    c.user("alice@example.test")  # loopback: allowed in clear
    c.stls(context=tls_context())
    with pytest.raises(poplib.error_proto):
        c.pass_("alicepw")  # PASS without a USER in this (TLS) session
    c.user("alice@example.test")
    c.pass_("alicepw")
    c.quit()
    assert p.stop() == 0
