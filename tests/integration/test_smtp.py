"""The SMTP service on the real daemon: envelope, DATA, limits, errors."""
import os
import re
import smtplib
import threading

import pytest
from smtpraw import Raw

MSG = "From: x@remote.test\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nHello alice\r\n"


def test_single_recipient_lands_in_maildir_new(postern):
    with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
        code, _ = s.ehlo("client.test")
        assert code == 250
        for ext in ("pipelining", "size", "8bitmime", "enhancedstatuscodes", "smtputf8"):
            assert s.has_extn(ext), ext
        assert s.sendmail("x@remote.test", ["alice@example.test"], MSG) == {}
    msgs = postern.messages("alice@example.test", sub=("new",))
    assert len(msgs) == 1
    assert b"\r" not in msgs[0], "Maildir files use LF line ends"
    assert msgs[0].endswith(b"Subject: hi\n\nHello alice\n")
    assert b"by mx.example.test (postern) with ESMTP id " in msgs[0]
    assert b"for <alice@example.test>" in msgs[0]
    assert postern.queue_tmp() == []


def test_maildir_name_carries_sizes(postern):
    with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
        s.sendmail("x@remote.test", ["alice@example.test"], MSG)
    d = postern.maildir("alice@example.test") + "/new"
    (name,) = os.listdir(d)
    data = open(os.path.join(d, name), "rb").read()
    assert ",S=%d," % len(data) in name
    assert name.endswith(",W=%d" % (len(data) + data.count(b"\n")))


def test_several_recipients_each_get_one_copy(postern):
    with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
        refused = s.sendmail("x@remote.test",
                             ["alice@example.test", "BOB@Example.Test", "alice@example.test"], MSG)
    assert refused == {}
    assert len(postern.messages("alice@example.test")) == 1
    assert len(postern.messages("bob@example.test")) == 1
    # one text, hard-linked into both Maildirs, and nothing is left in tmp
    files = [os.path.join(postern.maildir(a) + "/new", n)
             for a in ("alice@example.test", "bob@example.test")
             for n in os.listdir(postern.maildir(a) + "/new")]
    st = [os.stat(f) for f in files]
    assert st[0].st_ino == st[1].st_ino and st[0].st_nlink == 2
    assert postern.queue_tmp() == []


def test_unknown_local_user_is_550(postern):
    with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
        s.ehlo()
        s.mail("x@remote.test")
        code, text = s.rcpt("nobody@example.test")
    assert code == 550 and text.startswith(b"5.1.1")


def test_relay_is_refused_and_nothing_queued(postern):
    with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
        s.ehlo()
        s.mail("alice@example.test")
        code, text = s.rcpt("someone@remote.test")
        assert code == 554 and text.startswith(b"5.7.1")
        code, _ = s.docmd("DATA")
        assert code == 554  # no valid recipients
    assert postern.queue_tmp() == []
    assert "reject rcpt=<someone@remote.test>" in postern.log()


@pytest.mark.parametrize("rcpt", [
    "user%remote.test@example.test",
    '"user@remote.test"@example.test',
    "remote.test!user@example.test",
    "@example.test:user@remote.test",
])
def test_open_relay_tricks_are_not_relayed(postern, rcpt):
    r = Raw(postern.smtp_port)
    r.reply()
    r.cmd("EHLO c")
    assert r.cmd("MAIL FROM:<x@remote.test>")[0] == 250
    code, _ = r.cmd("RCPT TO:<%s>" % rcpt)
    assert code in (550, 554, 501)
    r.close()


def test_local_domain_case_and_trailing_dot_are_local(postern):
    r = Raw(postern.smtp_port)
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<>")
    assert r.cmd("RCPT TO:<alice@EXAMPLE.test.>")[0] == 250
    assert r.cmd("RCPT TO:<Postmaster>")[0] in (250, 550)
    r.close()


def test_pipelined_commands_in_one_packet(postern):
    r = Raw(postern.smtp_port)
    assert r.reply()[0] == 220
    r.send("EHLO c\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
           "RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
    codes = [r.reply()[0] for _ in range(6)]
    assert codes == [250, 250, 250, 550, 250, 354]
    r.send("Subject: p\r\n\r\none\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
    assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    r.send("Subject: q\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
    assert r.reply()[0] == 250
    assert r.reply()[0] == 221
    assert r.closed()
    assert len(postern.messages("alice@example.test")) == 1
    assert len(postern.messages("bob@example.test")) == 2


def test_dot_stuffing_is_undone(postern):
    r = Raw(postern.smtp_port)
    r.reply()
    r.send("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
    assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    r.send("Subject: dots\r\n\r\n..leading\r\n...\r\n.\r\n")
    assert r.reply()[0] == 250
    (msg,) = postern.messages("alice@example.test")
    assert msg.endswith(b"\n\n.leading\n..\n")
    assert b"with SMTP id" in msg


@pytest.mark.parametrize("payload", [
    "Subject: s\r\n\r\nbody\n.\nMAIL FROM:<evil@remote.test>\r\n",
    "Subject: s\r\n\r\nbody\r\n.\nMAIL FROM:<evil@remote.test>\r\n",
    "Subject: s\r\n\r\nbody\n.\r\nMAIL FROM:<evil@remote.test>\r\n",
    "Subject: s\r\n\r\nbody\r.\rMAIL FROM:<evil@remote.test>\r\n",
    "Subject: s\r\n\r\nbare\nlf\r\n",
])
def test_smuggling_bare_lf_or_cr_is_refused(postern, payload):
    r = Raw(postern.smtp_port)
    r.reply()
    r.send("EHLO c\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
    assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    r.send(payload + "RCPT TO:<bob@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n")
    code, text = r.reply()
    assert code == 554 and text[0].startswith("5.6.0")
    assert r.cmd("NOOP")[0] == 250
    r.close()
    assert postern.messages("alice@example.test") == []
    assert postern.messages("bob@example.test") == []


def test_nul_byte_is_refused(postern):
    r = Raw(postern.smtp_port)
    r.reply()
    r.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
    [r.reply() for _ in range(4)]
    r.send(b"Subject: nul\r\n\r\na\x00b\r\n.\r\n")
    assert r.reply()[0] == 554
    assert postern.messages("alice@example.test") == []


def test_overlong_command_line(postern):
    r = Raw(postern.smtp_port)
    r.reply()
    code, text = r.cmd("NOOP " + "x" * 600)
    assert code == 500 and text[0].startswith("5.5.2")
    assert r.cmd("NOOP")[0] == 250  # the session goes on
    r.close()


def test_bare_lf_command_is_refused(postern):
    r = Raw(postern.smtp_port)
    r.reply()
    r.send("NOOP\n")
    assert r.reply()[0] == 500
    r.close()


def test_overlong_text_line(postern):
    r = Raw(postern.smtp_port)
    r.reply()
    r.send("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
    [r.reply() for _ in range(4)]
    r.send("Subject: long\r\n\r\n" + "y" * 1200 + "\r\n.\r\n")
    code, text = r.reply()
    assert code == 500 and text[0].startswith("5.5.2")
    assert postern.messages("alice@example.test") == []


def test_message_over_size_limit_is_552(make_postern):
    p = make_postern({"smtp": {"max_message_size": "100k"}})
    p.add_user("alice@example.test")
    p.start()
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        s.ehlo()
        assert s.esmtp_features["size"] == str(100 * 1024)
        code, text = s.mail("x@remote.test", ["SIZE=200000"])
        assert code == 552 and text.startswith(b"5.3.4")
        s.rset()
        big = "Subject: big\r\n\r\n" + ("z" * 70 + "\r\n") * 2000
        s.mail("x@remote.test")  # no SIZE=: the limit is found at the end of DATA
        s.rcpt("alice@example.test")
        code, text = s.data(big)
        assert code == 552 and text.startswith(b"5.3.4")
        assert s.noop()[0] == 250
    assert p.messages("alice@example.test") == []
    assert p.stop() == 0


def test_twenty_megabyte_message(postern):
    line = "0123456789" * 7 + "\r\n"
    body = "Subject: big\r\n\r\n" + line * (20 * 1024 * 1024 // len(line))
    with smtplib.SMTP("127.0.0.1", postern.smtp_port, timeout=60) as s:
        assert s.sendmail("x@remote.test", ["alice@example.test"], body) == {}
    (msg,) = postern.messages("alice@example.test")
    assert len(msg) > 20 * 1000 * 1000
    assert msg.endswith(b"0123456789\n")


def test_sequence_errors_and_misc_commands(postern):
    r = Raw(postern.smtp_port)
    r.reply()
    assert r.cmd("MAIL FROM:<>")[0] == 503
    assert r.cmd("EHLO")[0] == 501
    assert r.cmd("HELO c")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 503
    assert r.cmd("DATA")[0] == 503
    assert r.cmd("VRFY alice")[0] == 252
    assert r.cmd("HELP")[0] == 214
    assert r.cmd("FOO")[0] == 500
    assert r.cmd("MAIL FROM:<x@remote.test>")[0] == 250
    assert r.cmd("MAIL FROM:<x@remote.test>")[0] == 503
    assert r.cmd("RSET")[0] == 250
    assert r.cmd("MAIL FROM:<x@remote.test> FOO=BAR")[0] == 555
    assert r.cmd("MAIL FROM:x@remote.test")[0] == 501
    assert r.cmd("QUIT")[0] == 221
    assert r.closed()


def test_too_many_errors_disconnects(postern):
    r = Raw(postern.smtp_port)
    r.reply()
    for _ in range(19):
        assert r.cmd("BOGUS")[0] == 500
    code, text = r.cmd("BOGUS")
    assert code == 500
    assert r.reply()[0] == 421
    assert r.closed()


def test_max_recipients(make_postern):
    p = make_postern({"smtp": {"max_recipients": "2"}})
    p.add_user("alice@example.test")
    p.add_user("bob@example.test")
    p.add_user("carol@example.test")
    p.start()
    r = Raw(p.smtp_port)
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<>")
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.test>")[0] == 250
    assert r.cmd("RCPT TO:<carol@example.test>")[0] == 452
    r.close()
    assert p.stop() == 0


def test_user_added_while_running_is_seen(postern):
    with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
        s.ehlo()
        s.mail("x@remote.test")
        assert s.rcpt("carol@example.test")[0] == 550
        postern.add_user("carol@example.test")
        assert s.rcpt("carol@example.test")[0] == 250


def test_idle_timeout(make_postern):
    p = make_postern({"smtp": {"timeout": "1s"}})
    p.start()
    r = Raw(p.smtp_port)
    assert r.reply()[0] == 220
    assert r.reply()[0] == 421
    assert r.closed()
    assert p.stop() == 0


def test_concurrent_clients_every_message_once(postern):
    errors = []

    def client(n):
        try:
            with smtplib.SMTP("127.0.0.1", postern.smtp_port, timeout=60) as s:
                for i in range(5):
                    s.sendmail("x@remote.test", ["alice@example.test"],
                               "Subject: c%d-%d\r\n\r\nbody\r\n" % (n, i))
        except Exception as e:  # noqa: BLE001 - collected for the assert
            errors.append(e)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    subjects = [m.split(b"Subject: ")[1].split(b"\n")[0] for m in postern.messages("alice@example.test")]
    assert len(subjects) == 1000
    assert len(set(subjects)) == 1000


def test_trusted_network_relays_into_the_queue(make_postern):
    import os
    p = make_postern({"relay": {"trusted_networks": "127.0.0.2/32, ::1"}})
    p.add_user("alice@example.test")
    p.start()
    with smtplib.SMTP("127.0.0.1", p.smtp_port, source_address=("127.0.0.2", 0)) as s:
        assert s.sendmail("alice@example.test", ["Bob@Remote.Test", "alice@example.test"],
                          MSG) == {}
    with smtplib.SMTP("127.0.0.1", p.smtp_port, source_address=("127.0.0.3", 0)) as s:
        s.ehlo()
        s.mail("alice@example.test")
        assert s.rcpt("bob@remote.test")[0] == 554
    (local,) = p.messages("alice@example.test")
    assert b"(trusted network 127.0.0.2/32)" in local
    (env,) = p.queued()
    text = open(os.path.join(p.data_dir, "queue", "env", env)).read()
    assert text.startswith("postern-queue 1\n")
    assert "from alice@example.test\n" in text
    assert re.search(r"\nrcpt [A-Z] \d+ \d+ Bob@remote.test[ \n]", text)
    assert "alice@example.test\n" not in text.split("from alice@example.test\n")[1]
    queued = open(os.path.join(p.data_dir, "queue", "msg", env), "rb").read()
    assert queued == local
    assert p.stop() == 0
