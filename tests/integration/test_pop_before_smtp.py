"""POP before SMTP on the SMTP side: grants checked at every RCPT, on time."""
import os
import poplib
import smtplib
import socket
import subprocess
import time

import pytest

from smtpraw import Raw

MSG = "From: alice@example.test\r\nSubject: relayed\r\n\r\nhello remote\r\n"


def start(make_postern, store=None, **relay):
    cfg = {"relay": dict(relay)}
    if store:
        cfg["relay"]["store"] = store
    p = make_postern(cfg)
    p.add_user("alice@example.test", "alicepw")
    p.add_user("bob@example.test", "bobpw")
    return p.start()


def rcpt_from(p, ip, rcpt="dave@remote.test"):
    """(code, text) of a RCPT to a remote address from client address ip."""
    r = Raw(p.smtp_port, source=ip)
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<alice@example.test>")
    code, text = r.cmd("RCPT TO:<%s>" % rcpt)
    r.close()
    return code, text[0]


def test_grant_opens_relaying_for_that_address_only(make_postern):
    p = start(make_postern)
    assert rcpt_from(p, "127.0.0.2")[0] == 554
    p.ctl("relay", "grant", "127.0.0.2", "--login", "alice@example.test")
    with smtplib.SMTP("127.0.0.1", p.smtp_port, source_address=("127.0.0.2", 0)) as s:
        assert s.sendmail("alice@example.test", ["dave@remote.test"], MSG) == {}
    (qid,) = p.queued()
    text = open(os.path.join(p.data_dir, "queue", "msg", qid), "rb").read()
    assert b"(POP-before-SMTP grant of alice@example.test)" in text
    code, text = rcpt_from(p, "127.0.0.3")
    assert code == 554 and "POP3" in text and "587" in text
    assert "relay rcpt=<dave@remote.test> ip=127.0.0.2: POP-before-SMTP grant" in p.log()
    assert p.stop() == 0
    r = p.ctl("relay", "report")
    assert "alice@example.test" in r.stdout


def test_window_closes_on_time_without_any_traffic(make_postern):
    p = start(make_postern)
    p.ctl("relay", "grant", "127.0.0.4", "--login", "alice@example.test", "--for", "2s")
    assert rcpt_from(p, "127.0.0.4")[0] == 250
    time.sleep(2.5)
    assert rcpt_from(p, "127.0.0.4")[0] == 554
    assert p.ctl("relay", "check", "127.0.0.4", check=False).returncode == 1
    assert p.stop() == 0


def test_grant_and_revoke_apply_inside_an_open_session(make_postern):
    p = start(make_postern)
    r = Raw(p.smtp_port, source="127.0.0.5")
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<alice@example.test>")
    assert r.cmd("RCPT TO:<x@remote.test>")[0] == 554  # opened before the grant
    p.ctl("relay", "grant", "127.0.0.5", "--login", "alice@example.test")
    assert r.cmd("RCPT TO:<x@remote.test>")[0] == 250
    p.ctl("relay", "revoke", "127.0.0.5")
    assert r.cmd("RCPT TO:<y@remote.test>")[0] == 554
    p.ctl("relay", "grant", "127.0.0.5", "--login", "alice@example.test")
    assert r.cmd("RCPT TO:<z@remote.test>")[0] == 250
    r.close()
    assert p.stop() == 0


def test_pipelined_rcpts_wait_for_the_store_in_order(make_postern):
    p = start(make_postern)
    p.ctl("relay", "grant", "127.0.0.6", "--login", "alice@example.test")
    r = Raw(p.smtp_port, source="127.0.0.6")
    r.reply()
    r.send("EHLO c\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<a@remote.test>\r\n"
           "RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
           "RCPT TO:<b@remote.test>\r\nDATA\r\n")
    assert [r.reply()[0] for _ in range(7)] == [250, 250, 250, 550, 250, 250, 354]
    r.send("Subject: x\r\n\r\nx\r\n.\r\nQUIT\r\n")
    assert r.reply()[0] == 250
    assert len(p.queued()) == 1
    assert len(p.messages("bob@example.test")) == 1
    assert p.stop() == 0


def test_grants_survive_a_restart(make_postern):
    p = start(make_postern)
    p.ctl("relay", "grant", "127.0.0.7", "--login", "alice@example.test")
    p.stop()
    p.start()
    assert rcpt_from(p, "127.0.0.7")[0] == 250
    assert p.stop() == 0


def test_fresh_data_dir_delivers_local_mail(make_postern):
    p = start(make_postern)
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        assert s.sendmail("x@remote.test", ["alice@example.test"], MSG) == {}
    assert len(p.messages("alice@example.test")) == 1
    assert p.stop() == 0


def test_redis_store_down_gives_451_and_local_mail_flows(make_postern, redis):
    p = start(make_postern, store="redis://127.0.0.1:%d/2" % redis.port)
    p.ctl("relay", "grant", "127.0.0.8", "--login", "alice@example.test")
    assert rcpt_from(p, "127.0.0.8")[0] == 250
    redis.stop()
    code, text = rcpt_from(p, "127.0.0.8")
    assert code == 451 and text.startswith("4.3.0")
    with smtplib.SMTP("127.0.0.1", p.smtp_port, source_address=("127.0.0.8", 0)) as s:
        assert s.sendmail("x@remote.test", ["bob@example.test"], MSG) == {}
    redis.start()
    deadline = time.monotonic() + 10
    while rcpt_from(p, "127.0.0.8")[0] != 554 and time.monotonic() < deadline:
        time.sleep(0.3)  # a fresh Redis has no grant: refused, no longer 451
    assert rcpt_from(p, "127.0.0.8")[0] == 554
    assert p.stop() == 0


def pop3_login(p, ip, user="alice@example.test", password="alicepw"):
    pop = poplib.POP3("127.0.0.1", p.ports["pop3"], timeout=10)
    pop.sock.close()  # reconnect from ip: poplib has no source_address
    pop.sock = socket.create_connection(("127.0.0.1", p.ports["pop3"]), timeout=10,
                                        source_address=(ip, 0))
    pop.file = pop.sock.makefile("rb")
    pop.welcome = pop._getresp()
    pop.user(user)
    pop.pass_(password)
    return pop


def test_pop3_login_opens_relaying_at_once_many_times(make_postern):
    p = start(make_postern)
    assert rcpt_from(p, "127.0.0.9")[0] == 554
    for i in range(25):
        pop = pop3_login(p, "127.0.0.9")
        # RCPT the instant +OK arrived, with the POP3 session still open
        assert rcpt_from(p, "127.0.0.9", "r%d@remote.test" % i)[0] == 250
        pop.quit()
        p.ctl("relay", "revoke", "127.0.0.9")
    rows = p.ctl("relay", "list").stdout
    assert "127.0.0.9" not in rows
    pop3_login(p, "127.0.0.9").quit()
    rows = p.ctl("relay", "list").stdout
    assert "127.0.0.9" in rows and "alice@example.test" in rows
    assert "pop3 login user=alice@example.test ip=127.0.0.9" in p.log()
    assert p.stop() == 0


def test_failed_pop3_login_grants_nothing(make_postern):
    p = start(make_postern)
    with pytest.raises(poplib.error_proto):
        pop3_login(p, "127.0.0.10", password="wrong")
    assert rcpt_from(p, "127.0.0.10")[0] == 554
    assert p.ctl("relay", "check", "127.0.0.10", check=False).returncode == 1
    assert p.stop() == 0


def test_short_window_from_a_pop3_login(make_postern):
    p = start(make_postern, window="2s")
    pop3_login(p, "127.0.0.11").quit()
    assert rcpt_from(p, "127.0.0.11")[0] == 250
    assert rcpt_from(p, "127.0.0.12")[0] == 554
    time.sleep(2.5)
    assert rcpt_from(p, "127.0.0.11")[0] == 554
    r = p.ctl("relay", "check", "127.0.0.11", check=False)
    assert r.returncode == 1 and "expired" in r.stdout
    assert p.stop() == 0


def test_curl_and_fetchmail_logins_open_relaying(make_postern, tmp_path):
    p = start(make_postern)
    r = subprocess.run(["curl", "-sS", "--interface", "127.0.0.13",
                        "pop3://127.0.0.1:%d/" % p.ports["pop3"], "--user",
                        "alice@example.test:alicepw"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert rcpt_from(p, "127.0.0.13")[0] == 250
    rc = tmp_path / "fetchmailrc"
    rc.write_text("poll 127.0.0.1 service %d protocol pop3 user alice@example.test "
                  "password alicepw is root here keep mda /bin/true\n" % p.ports["pop3"])
    rc.chmod(0o600)
    r = subprocess.run(["fetchmail", "-f", str(rc), "--pidfile", str(tmp_path / "fetchmail.pid"), "--nosslcertck", "--sslproto", "",
                        "--smtpaddress", "localhost", "--bad-header", "accept",
                        "--plugin", "socat - TCP:%h:%p,bind=127.0.0.14"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, HOME=str(tmp_path)))
    assert r.returncode in (0, 1), r.stdout + r.stderr  # 1: no new mail
    assert rcpt_from(p, "127.0.0.14")[0] == 250
    assert p.stop() == 0
