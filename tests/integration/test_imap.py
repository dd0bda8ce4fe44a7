"""IMAP (issue 14, SPEC.md "IMAP") with Python's imaplib against the real
posternd: logins, the special folders, SELECT / FETCH / STORE / SEARCH /
APPEND / COPY / MOVE / EXPUNGE, IDLE pushed by an SMTP delivery, POP3 and
IMAP on one Maildir, IMAP before SMTP, Dovecot's files on disk, bad input.
"""
import imaplib
import os
import poplib
import re
import smtplib
import socket
import threading
import time
import zlib

import pytest
from conftest import tls_context
from smtpraw import Raw

ALICE = "alice@example.test"


def deliver(p, subject, body="hello\r\n", rcpt=ALICE, extra=""):
    msg = "From: Bob <bob@remote.test>\r\nTo: %s\r\nSubject: %s\r\n%s\r\n%s" % (rcpt, subject,
                                                                               extra, body)
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        s.sendmail("bob@remote.test", [rcpt], msg)


def login(p, user=ALICE, password="secret", source="127.0.0.1"):
    m = imaplib.IMAP4("127.0.0.1", p.ports["imap"])
    if source != "127.0.0.1":  # imaplib has no source address: reconnect bound
        m.shutdown()
        m.sock = socket.create_connection(("127.0.0.1", p.ports["imap"]), source_address=(source, 0))
        m.file = m.sock.makefile("rb")
        m._get_response()
    m.login(user, password)
    return m


def files(p, folder="", sub="cur"):
    d = os.path.join(p.maildir(ALICE), folder, sub)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


@pytest.fixture
def mx(postern):
    return postern


def test_greeting_login_and_capabilities(mx):
    m = imaplib.IMAP4("127.0.0.1", mx.ports["imap"])
    assert m.welcome.startswith(b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2")
    assert {"STARTTLS", "AUTH=PLAIN", "SASL-IR", "IDLE", "LITERAL+"} <= set(m.capabilities)
    typ, data = m.login(ALICE, "secret")
    caps = data[0].decode()
    assert typ == "OK" and caps.startswith("[CAPABILITY IMAP4rev1")
    for cap in ("UIDPLUS", "MOVE", "SPECIAL-USE", "LIST-STATUS", "ESEARCH", "NAMESPACE"):
        assert cap in caps
    assert m.namespace()[1] == [b'(("" "/")) NIL NIL']
    assert m.logout()[0] == "BYE"
    assert "imap login user=alice@example.test ip=127.0.0.1 method=login ok" in mx.log()


def test_wrong_password_and_unknown_user_look_the_same(mx):
    for user, password in ((ALICE, "wrong"), ("nobody@example.test", "secret")):
        m = imaplib.IMAP4("127.0.0.1", mx.ports["imap"])
        with pytest.raises(imaplib.IMAP4.error, match=r"\[AUTHENTICATIONFAILED\]"):
            m.login(user, password)
        m.logout()


def test_authenticate_plain_with_initial_response_and_login(mx):
    m = imaplib.IMAP4("127.0.0.1", mx.ports["imap"])
    typ, _ = m._simple_command("AUTHENTICATE", "PLAIN", "AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=")
    assert typ == "OK" and m.state == "NONAUTH"  # imaplib does not track raw commands
    m.state = "AUTH"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    m = imaplib.IMAP4("127.0.0.1", mx.ports["imap"])
    answers = iter([ALICE.encode(), b"secret"])
    assert m.authenticate("LOGIN", lambda challenge: next(answers))[0] == "OK"
    m.logout()


def test_plaintext_refused_without_tls(make_postern):
    p = make_postern({"auth": {"allow_plaintext": "no"}})
    p.add_user(ALICE)
    p.start()
    m = imaplib.IMAP4("127.0.0.1", p.ports["imap"])
    assert "LOGINDISABLED" in m.capabilities and "AUTH=PLAIN" not in m.capabilities
    with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
        m.login(ALICE, "secret")
    m.starttls(ssl_context=tls_context())
    assert m.login(ALICE, "secret")[0] == "OK"
    m.logout()
    s = imaplib.IMAP4_SSL("127.0.0.1", p.ports["imaps"], ssl_context=tls_context())
    assert s.login(ALICE, "secret")[0] == "OK"
    s.logout()


def test_special_folders_made_and_subscribed_at_first_login(mx):
    m = login(mx)
    typ, lines = m.list()
    listed = {line.decode().rsplit(" ", 1)[1].strip('"'): line.decode() for line in lines}
    assert set(listed) == {"INBOX", "Sent", "Drafts", "Trash", "Junk"}
    for name in ("Sent", "Drafts", "Trash", "Junk"):
        assert "\\" + name in listed[name]
        assert os.path.exists(os.path.join(mx.maildir(ALICE), "." + name, "maildirfolder"))
    assert sorted(x.decode().rsplit(" ", 1)[1].strip('"') for x in m.lsub()[1]) == \
        ["Drafts", "Junk", "Sent", "Trash"]
    with open(os.path.join(mx.maildir(ALICE), "subscriptions")) as f:
        assert f.read().startswith("V\t2\n\n")
    assert m.list('""', '""')[1] == [b'(\\Noselect) "/" ""']
    typ, data = m._simple_command("LIST", '""', "*", "RETURN", "(SPECIAL-USE STATUS (MESSAGES))")
    assert typ == "OK"
    assert m.untagged_responses["STATUS"][0] == b'"INBOX" (MESSAGES 0)'
    m.logout()


def test_fetch_envelope_size_and_bodies(mx):
    deliver(mx, "first", "line one\r\nline two\r\n")
    deliver(mx, "second")
    m = login(mx)
    assert m.select("INBOX") == ("OK", [b"2"])
    typ, data = m.fetch("1:*", "(UID FLAGS RFC822.SIZE ENVELOPE)")
    assert b'ENVELOPE (NIL "first" (("Bob" NIL "bob" "remote.test"))' in data[0]
    size = int(re.search(rb"RFC822.SIZE (\d+)", data[0]).group(1))
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    body = data[0][1]
    assert len(body) == size and body.endswith(b"line one\r\nline two\r\n")
    assert b"\\Seen" not in m.fetch("1", "(FLAGS)")[1][0]
    typ, data = m.fetch("1", "(BODY[TEXT])")
    assert data[0][1] == b"line one\r\nline two\r\n" and b"\\Seen" in data[1]
    typ, data = m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODYSTRUCTURE)")
    assert data[0][1] == b"Subject: second\r\n\r\n"
    assert b'BODYSTRUCTURE ("text" "plain"' in data[1]
    typ, data = m.uid("FETCH", "1:*", "(RFC822.HEADER INTERNALDATE)")
    assert data[0][1].startswith(b"Authentication-Results") and b"INTERNALDATE" in data[1]
    with pytest.raises(imaplib.IMAP4.error, match="sequence number"):
        m.fetch("7", "(FLAGS)")
    m.logout()


def test_store_flags_and_keywords_in_dovecot_files(mx):
    deliver(mx, "flag me")
    m = login(mx)
    m.select("INBOX")
    typ, data = m.store("1", "+FLAGS", "(\\Flagged \\Seen $Forwarded)")
    assert b"\\Seen" in data[0] and b"$Forwarded" in data[0]
    (name,) = files(mx)
    assert name.endswith(":2,FSa")  # flags, then the keyword letter, in ASCII order
    with open(os.path.join(mx.maildir(ALICE), "dovecot-keywords")) as f:
        assert f.read() == "0 $Forwarded\n"
    m.store("1", "-FLAGS", "(\\Seen)")
    assert files(mx)[0].endswith(":2,Fa")
    with open(os.path.join(mx.maildir(ALICE), "dovecot-uidlist")) as f:
        header, record = f.read().splitlines()[:2]
    assert re.fullmatch(r"3 V\d+ N\d+ G[0-9a-f]{32}", header)
    assert record.startswith("1 ") and record.endswith(":" + name.split(":")[0])
    m.logout()


def test_search_and_esearch(mx):
    deliver(mx, "apples", "I like apples\r\n")
    deliver(mx, "pears", "and pears\r\n" * 500)
    deliver(mx, "apples again", "apples\r\n")
    m = login(mx)
    m.select("INBOX")
    assert m.search(None, "SUBJECT", "apples") == ("OK", [b"1 3"])
    assert m.search(None, "BODY", "pears") == ("OK", [b"2"])
    assert m.search(None, "LARGER", "3000") == ("OK", [b"2"])
    assert m.search(None, "OR", "SUBJECT", "pears", "NOT", "BODY", "like") == ("OK", [b"2 3"])
    assert m.search(None, "FROM", "bob@remote.test", "SINCE", "1-Jan-2020") == ("OK", [b"1 2 3"])
    m.store("2", "+FLAGS", "\\Seen")
    assert m.uid("SEARCH", None, "UNSEEN") == ("OK", [b"1 3"])
    typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "SUBJECT", "apples")
    assert m.untagged_responses["ESEARCH"][-1].endswith(b" MIN 1 MAX 3 COUNT 2 ALL 1,3")
    typ, data = m.search("KOI8-R", "ALL")
    assert typ == "NO" and data[0].startswith(b"[BADCHARSET (US-ASCII UTF-8)]")
    m.unselect()
    assert m._simple_command("ENABLE", "IMAP4rev2")[0] == "OK"
    assert m.untagged_responses.pop("ENABLED") == [b"IMAP4rev2"]
    m.select("INBOX")
    m._simple_command("SEARCH", "SUBJECT", "pears")  # IMAP4rev2 answers ESEARCH only
    assert m.untagged_responses["ESEARCH"][-1].endswith(b" ALL 2")
    m.logout()


def test_append_with_flags_date_and_appenduid(mx):
    m = login(mx)
    msg = b"From: alice@example.test\r\nSubject: kept\r\n\r\nsent text\r\n"
    typ, data = m.append("Sent", "(\\Seen $Label1)", '"01-Feb-2026 10:00:00 +0000"', msg)
    assert typ == "OK" and re.match(rb"\[APPENDUID \d+ 1\]", data[0])
    (name,) = files(mx, ".Sent")
    assert re.search(r",S=%d,W=%d:2,Sa$" % (len(msg) - msg.count(b"\r"), len(msg)), name)
    m.select("Sent")
    typ, data = m.fetch("1", "(INTERNALDATE BODY.PEEK[])")
    assert b'INTERNALDATE "01-Feb-2026 10:00:00 +0000"' in data[0][0] and data[0][1] == msg
    typ, data = m.append("Nowhere", None, None, msg)
    assert typ == "NO" and data[0].startswith(b"[TRYCREATE]")
    m.logout()


def test_append_waits_for_a_uidlist_lock_held_elsewhere(mx):
    """APPENDs are linked on the store's sync worker when the folder's uidlist lock is free;
    one held by another process (a Dovecot on the same Maildir) is waited for on a worker
    instead, and the APPEND completes once it is released."""
    m = login(mx)
    msg = b"Subject: one\r\n\r\nx\r\n"
    assert m.append("Sent", None, None, msg)[0] == "OK"
    lock = os.path.join(mx.maildir(ALICE), ".Sent", "dovecot-uidlist.lock")
    with open(lock, "w") as f:
        f.write("1\n")
    released = []

    def release():
        time.sleep(1.5)
        released.append(time.monotonic())
        os.unlink(lock)
    t = threading.Thread(target=release)
    t.start()
    typ, data = m.append("Sent", None, None, msg.replace(b"one", b"two"))
    done = time.monotonic()
    t.join()
    assert typ == "OK" and re.match(rb"\[APPENDUID \d+ 2\]", data[0]) and done >= released[0]
    m.select("Sent")
    assert m.uid("SEARCH", "SUBJECT", "two")[1] == [b"2"]
    m.logout()


def test_append_too_big_refused_before_its_bytes(make_postern):
    p = make_postern({"smtp": {"max_message_size": "1000"}})
    p.add_user(ALICE)
    p.start()
    m = login(p)
    r = Raw(p.ports["imap"])  # the literal is announced, never sent
    r.line()
    r.sock.sendall(b"a LOGIN alice@example.test secret\r\n")
    assert r.line().startswith("a OK")
    r.sock.sendall(b"b APPEND INBOX {5000}\r\n")
    assert r.line() == "b NO [TOOBIG] Message too large"
    r.sock.sendall(b"c NOOP\r\n")
    assert r.line() == "c OK NOOP completed"
    r.close()
    m.logout()


def test_copy_move_and_uid_expunge(mx):
    for i in range(3):
        deliver(mx, "m%d" % i)
    m = login(mx)
    m.select("INBOX")
    typ, data = m.copy("1:2", "Trash")
    assert typ == "OK" and re.match(rb"\[COPYUID \d+ 1,2 1,2\]", data[0])
    assert len(files(mx, ".Trash")) == 2
    typ, data = m._simple_command("MOVE", "3", "Junk")
    assert typ == "OK" and m.untagged_responses.pop("EXPUNGE") == [b"3"]
    assert len(files(mx, ".Junk")) == 1 and len(files(mx, "", "new") + files(mx)) == 2
    m.store("1:2", "+FLAGS", "\\Deleted")
    assert m.uid("EXPUNGE", "2")[0] == "OK"
    assert m.untagged_responses.pop("EXPUNGE") == [b"2"]
    m.select("INBOX")
    assert m.fetch("1:*", "(UID)")[1] == [b"1 (UID 1)"]
    m.logout()


def test_idle_gets_exists_from_an_smtp_delivery(mx):
    m = login(mx)
    m.select("INBOX")
    tag = m._new_tag().decode()
    m.send(("%s IDLE\r\n" % tag).encode())
    assert m.readline().startswith(b"+ ")
    t0 = time.monotonic()
    deliver(mx, "pushed")
    m.sock.settimeout(5)
    line = m.readline()
    assert line == b"* 1 EXISTS\r\n" and time.monotonic() - t0 < 1.0
    m.send(b"DONE\r\n")
    assert m.readline().decode().startswith(tag + " OK")
    m.logout()


def test_idle_finds_another_hosts_delivery_at_its_periodic_check(make_postern, monkeypatch):
    """inotify does not see what another host writes on a shared (NFS) mail root:
    IDLE also looks at the mtimes of new/ and cur/ every 30 s (here 1 s, with
    inotify off as on such a host), as Dovecot's mailbox_idle_check_interval."""
    monkeypatch.setenv("POSTERN_IDLE_CHECK", "1")
    monkeypatch.setenv("POSTERN_IDLE_NO_INOTIFY", "1")
    p = make_postern()
    p.add_user(ALICE)
    p.start()
    m = login(p)
    m.select("INBOX")
    tag = m._new_tag().decode()
    m.send(("%s IDLE\r\n" % tag).encode())
    assert m.readline().startswith(b"+ ")
    time.sleep(0.5)  # IDLE's first scan is over: only a periodic check can find what follows
    name = "1700000000.M1P1Q1.otherhost,S=38"
    with open(os.path.join(p.maildir(ALICE), "tmp", name), "wb") as f:
        f.write(b"From: x@y.test\r\nSubject: other\r\n\r\nhi\r\n")
    os.rename(os.path.join(p.maildir(ALICE), "tmp", name),
              os.path.join(p.maildir(ALICE), "new", name))
    m.sock.settimeout(10)
    lines = [m.readline()]
    while lines[-1] == b"* OK Still here\r\n" and len(lines) < 5:
        lines.append(m.readline())
    assert lines[-1] == b"* 1 EXISTS\r\n", lines
    m.send(b"DONE\r\n")
    assert m.readline().decode().startswith(tag + " OK")
    m.logout()


def test_pop3_and_imap_on_one_maildir(mx):
    deliver(mx, "one")
    deliver(mx, "two")
    m = login(mx)
    m.select("INBOX")
    pop = poplib.POP3("127.0.0.1", mx.ports["pop3"])
    pop.user(ALICE)
    pop.pass_("secret")  # an IMAP session never locks POP3 out
    pop.dele(1)
    pop.quit()
    m.noop()
    assert m.untagged_responses.get("EXPUNGE") == [b"1"]
    m.store("1", "+FLAGS", "\\Deleted")
    m.expunge()
    pop = poplib.POP3("127.0.0.1", mx.ports["pop3"])
    pop.user(ALICE)
    pop.pass_("secret")
    assert pop.stat()[0] == 0
    pop.quit()
    m.logout()


def test_imap_login_opens_relaying_for_that_address(make_postern):
    p = make_postern()
    p.add_user(ALICE)
    p.start()
    r = Raw(p.smtp_port, source="127.0.0.2")
    r.reply()
    r.cmd("EHLO c")
    r.cmd("MAIL FROM:<alice@example.test>")
    assert r.cmd("RCPT TO:<dave@remote.test>")[0] == 554
    r.close()
    login(p, source="127.0.0.2").logout()
    assert "relay grant opened: addr=127.0.0.2 login=alice@example.test via=imap" in p.log()
    with smtplib.SMTP("127.0.0.1", p.smtp_port, source_address=("127.0.0.2", 0)) as s:
        assert s.sendmail(ALICE, ["dave@remote.test"], "Subject: relayed\r\n\r\nhi\r\n") == {}
    (qid,) = p.queued()
    with open(os.path.join(p.data_dir, "queue", "msg", qid), "rb") as f:
        assert b"(IMAP-before-SMTP grant of alice@example.test)" in f.read()
    assert "grant for alice@example.test (imap login) since" in p.ctl("relay", "check", "127.0.0.2").stdout
    assert p.ctl("relay", "list").stdout.split("\n")[1].split()[-1] == "imap"


def test_imap_before_smtp_off(make_postern):
    p = make_postern({"relay": {"imap_before_smtp": "no"}})
    p.add_user(ALICE)
    p.start()
    login(p, source="127.0.0.3").logout()
    assert "via=imap" not in p.log()


def test_uids_and_uidvalidity_survive_a_restart(mx):
    deliver(mx, "a")
    deliver(mx, "b")
    m = login(mx)
    m.select("INBOX")
    before = m.fetch("1:*", "(UID)")[1], m.untagged_responses["UIDVALIDITY"]
    m.logout()
    mx.stop()
    mx.start()
    m = login(mx)
    m.select("INBOX")
    assert (m.fetch("1:*", "(UID)")[1], m.untagged_responses["UIDVALIDITY"]) == before
    m.logout()


def test_folders_create_rename_delete_and_utf7(mx):
    m = login(mx)
    assert m.create("Projects/2026")[0] == "OK"
    assert os.path.isdir(os.path.join(mx.maildir(ALICE), ".Projects.2026", "cur"))
    assert m.create("Entw&APw-rfe")[0] == "OK"
    assert os.path.isdir(os.path.join(mx.maildir(ALICE), ".Entw&APw-rfe"))
    lines = [x.decode() for x in m.list('""', "%")[1]]
    assert '(\\Noselect \\HasChildren) "/" "Projects"' in lines
    assert any(x.endswith('"Entw&APw-rfe"') for x in lines)
    assert m.rename("Projects/2026", "Archive/2026")[0] == "OK"
    assert m.status("Archive/2026", "(MESSAGES UIDNEXT)")[1] == [b'"Archive/2026" (MESSAGES 0 UIDNEXT 1)']
    assert m.delete("Archive/2026")[0] == "OK"
    assert m.create("Bad.Name")[0] == "NO"
    assert m.subscribe("Entw&APw-rfe")[0] == "OK"
    with open(os.path.join(mx.maildir(ALICE), "subscriptions")) as f:
        assert "Entw&APw-rfe\n" in f.read()
    m.logout()


def test_bad_commands_get_bad_and_repeated_errors_bye(mx):
    r = Raw(mx.ports["imap"])
    assert r.line().startswith("* OK")
    r.sock.sendall(b"a1 FROB\r\n")
    assert r.line() == "a1 BAD Unknown command"
    r.sock.sendall(b"a2 SELECT INBOX\r\n")
    assert r.line().startswith("a2 BAD SELECT is not valid before login")
    r.sock.sendall(b"a3 LOGIN {999999999}\r\n")
    assert r.line().startswith("a3 BAD [TOOBIG]")
    r.sock.sendall(b'a4 LOGIN "unterminated\r\n')
    assert r.line().startswith("a4 BAD")
    r.sock.sendall(b"".join(b"x%d FROB\r\n" % i for i in range(25)))
    lines = [r.line()]
    while lines[-1].startswith("x"):
        lines.append(r.line())
    assert lines[-1] == "* BYE Too many invalid commands" and len(lines) == 20 - 4 + 1
    assert r.closed()
    r.close()


class Deflated:
    """Both directions of a socket through raw DEFLATE (RFC 4978), as a client does it."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""
        self.out = zlib.compressobj(wbits=-15)
        self.inp = zlib.decompressobj(wbits=-15)

    def send(self, data):
        self.sock.sendall(self.out.compress(data) + self.out.flush(zlib.Z_SYNC_FLUSH))

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            assert chunk, "closed; pending %r" % self.buf
            self.buf += self.inp.decompress(chunk)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()


def test_compress_deflate_both_ways(mx):
    for i in range(3):
        deliver(mx, "compressed %d" % i, "text %d\r\n" % i * 50)
    r = Raw(mx.ports["imap"])
    r.line()
    r.sock.sendall(b"a LOGIN alice@example.test secret\r\n")
    assert "COMPRESS=DEFLATE" in r.line()
    z = Deflated(r.sock)
    # the command and a pipelined one after it: the second already compressed (RFC 4978 3)
    r.sock.sendall(b"b COMPRESS DEFLATE\r\n" + z.out.compress(b"c SELECT INBOX\r\n") +
                   z.out.flush(zlib.Z_SYNC_FLUSH))
    assert r.line() == "b OK DEFLATE active"
    z.buf = z.inp.decompress(r.buf)
    lines = [z.line()]
    while not lines[-1].startswith("c "):
        lines.append(z.line())
    assert "* 3 EXISTS" in lines and lines[-1].startswith("c OK [READ-WRITE]")
    z.send(b"d FETCH 1:3 (BODY.PEEK[TEXT])\r\ne COMPRESS DEFLATE\r\n")
    got = [z.line() for _ in range(3 * 52 + 2)]  # per message: the FETCH line, 50 lines, ")"
    assert got[0] == "* 1 FETCH (BODY[TEXT] {400}" and got[1] == "text 0"
    assert got[-2] == "d OK FETCH completed"
    assert got[-1] == "e NO [COMPRESSIONACTIVE] DEFLATE is already active"
    # 2 MB that compress to a few KB: inflated a slice at a time as the session reads it
    big = b"Subject: big\r\n\r\n" + (b"y" * 76 + b"\r\n") * 27000
    z.send(b"g APPEND Drafts {%d+}\r\n" % len(big) + big + b"\r\n")
    assert re.match(r"g OK \[APPENDUID \d+ 1\]", z.line())
    (name,) = files(mx, ".Drafts")
    assert ",W=%d:2," % len(big) in name
    z.send(b"f LOGOUT\r\n")
    assert z.line() == "* BYE Logging out"
    r.close()


def modseqs(data):
    """{uid: modseq} of FETCH responses."""
    lines = [x if isinstance(x, bytes) else x[0] for x in data if x is not None]
    return {int(re.search(rb"UID (\d+)", x).group(1)): int(re.search(rb"MODSEQ \((\d+)\)", x).group(1))
            for x in lines}


def test_condstore_and_qresync(mx):
    for i in range(3):
        deliver(mx, "sync %d" % i)
    m = login(mx)
    assert m._simple_command("ENABLE", "QRESYNC")[0] == "OK"
    assert m.untagged_responses.pop("ENABLED") == [b"QRESYNC"]
    assert m._simple_command("SELECT", "INBOX", "(CONDSTORE)")[0] == "OK"
    m.state = "SELECTED"  # imaplib tracks only its own select()
    uidvalidity = int(m.untagged_responses["UIDVALIDITY"][-1])
    h0 = int(m.untagged_responses.pop("HIGHESTMODSEQ")[-1])
    before = modseqs(m.uid("FETCH", "1:*", "(MODSEQ)")[1])
    assert set(before) == {1, 2, 3} and max(before.values()) <= h0
    typ, data = m.uid("STORE", "1", "+FLAGS", "(\\Seen)")
    m1 = modseqs(data)[1]
    assert m1 > h0
    assert modseqs(m.uid("FETCH", "1:*", "(FLAGS)", "(CHANGEDSINCE %d)" % h0)[1]) == {1: m1}
    typ, data = m._simple_command("UID", "STORE", "1", "(UNCHANGEDSINCE %d)" % h0, "+FLAGS",
                                  "(\\Flagged)")
    assert typ == "OK" and data[0].startswith(b"[MODIFIED 1]")
    m._simple_command("SEARCH", "MODSEQ", str(h0 + 1))
    assert m.untagged_responses.pop("SEARCH")[-1] == b"1 (MODSEQ %d)" % m1
    m.store("2", "+FLAGS", "(\\Deleted)")
    m.expunge()
    assert m.untagged_responses.pop("VANISHED") == [b"2"]  # QRESYNC: no EXPUNGE
    typ, data = m.status("Trash", "(HIGHESTMODSEQ)")
    assert re.match(rb'"Trash" \(HIGHESTMODSEQ \d+\)', data[0])
    m.logout()
    # a client coming back with what it knew: what vanished and what changed since h0
    m = login(mx)
    m._simple_command("ENABLE", "QRESYNC")
    typ, data = m._simple_command("SELECT", "INBOX", "(QRESYNC (%d %d 1:3))" % (uidvalidity, h0))
    assert typ == "OK"
    m.state = "SELECTED"
    assert m.untagged_responses.pop("VANISHED") == [b"(EARLIER) 2"]
    assert b"1 (UID 1 FLAGS (\\Seen) MODSEQ (%d))" % m1 in m.untagged_responses.pop("FETCH")
    m._simple_command("UID", "FETCH", "1:*", "(FLAGS)", "(CHANGEDSINCE %d VANISHED)" % h0)
    assert m.untagged_responses.pop("VANISHED") == [b"(EARLIER) 2"]
    with pytest.raises(imaplib.IMAP4.error, match="ENABLE QRESYNC"):
        m2 = login(mx)
        m2._simple_command("SELECT", "INBOX", "(QRESYNC (%d %d))" % (uidvalidity, h0))
    m.logout()


def test_envelope_comes_from_the_cache_the_second_time(mx):
    """Maildir files never change under one name, so an ENVELOPE, once computed, is served
    from memory (as Dovecot serves it from its index cache): here the file is rewritten
    behind the server's back, and the second session still sees the first envelope."""
    deliver(mx, "cached subject")
    m = login(mx)
    m.select("INBOX")
    first = m.fetch("1", "(ENVELOPE)")[1][0]
    m.logout()
    (name,) = files(mx, "", "new")
    path = os.path.join(mx.maildir(ALICE), "new", name)
    with open(path, "rb") as f:
        text = f.read()
    with open(path, "wb") as f:
        f.write(text.replace(b"cached subject", b"changed subject"))
    m = login(mx)
    m.select("INBOX")
    assert m.fetch("1", "(ENVELOPE)")[1][0] == first and b"cached subject" in first
    assert b"changed subject" in m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1]
    m.logout()


def test_fetch_of_a_file_gone_meanwhile_answers_the_others(mx):
    """A message whose file vanished behind the session (another server expunged it) is left
    out of the answer, which ends NO [EXPUNGEISSUED]; the messages around it are answered
    whole, though answers are batched before they reach the output."""
    for k in range(5):
        deliver(mx, "msg %d" % k, "body %d\r\n" % k)
    m = login(mx)
    m.select("INBOX")
    gone = os.path.join(mx.maildir(ALICE), "new", files(mx, "", "new")[2])
    with open(gone, "rb") as f:
        k = int(f.read().rsplit(b"body ", 1)[1].strip())
    os.unlink(gone)
    typ, data = m.fetch("1:*", "(UID BODY.PEEK[TEXT])")
    assert typ == "NO" and b"[EXPUNGEISSUED]" in data[0]
    answers = m.untagged_responses.pop("FETCH", [])
    bodies = sorted(a[1] for a in answers if isinstance(a, tuple))
    assert bodies == [b"body %d\r\n" % j for j in range(5) if j != k]
    m.logout()


def test_review_fixes_edge_cases(make_postern):
    """Cases a review found: AUTHENTICATE on a locked-out address ends the exchange; a failed
    DELETE of the selected mailbox keeps it selected; RENAME into its own child is refused;
    a UID COPY that matches nothing answers OK without an empty COPYUID."""
    p = make_postern({"auth": {"max_failures": "1"}})
    p.add_user(ALICE)
    p.start()
    m = imaplib.IMAP4("127.0.0.1", p.ports["imap"])
    with pytest.raises(imaplib.IMAP4.error):
        m.login(ALICE, "wrong")
    typ, data = m._simple_command("AUTHENTICATE", "PLAIN", "AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=")
    assert typ == "NO" and b"Too many failed logins" in data[0]
    assert m.noop()[0] == "OK"  # a command again, not a SASL line
    m.logout()
    p.stop()
    p.write_config({})
    p.start()
    deliver(p, "kept")
    m = login(p)
    m.select("INBOX")
    typ, data = m.delete("INBOX")
    assert typ == "NO" and data[0].startswith(b"[CANNOT]")
    assert m.fetch("1", "(UID)")[0] == "OK"  # still selected
    typ, data = m._simple_command("UID", "COPY", "999", "Trash")
    assert typ == "OK" and data == [b"COPY completed"]
    assert m.create("a/c")[0] == "OK" and m.create("a")[0] == "OK"
    typ, data = m.rename("a", "a/b")
    assert typ == "NO" and data[0].startswith(b"[CANNOT]")
    names = [x.decode().rsplit(" ", 1)[1].strip('"') for x in m.list('""', "a*")[1]]
    assert sorted(names) == ["a", "a/c"]
    m.logout()


def test_uidvalidity_change_under_a_selected_mailbox_ends_the_session(mx):
    """The uidlist replaced behind the session's back (another UIDVALIDITY): every UID the
    client holds is void, so the session ends rather than report nonsense."""
    deliver(mx, "one")
    m = login(mx)
    m.select("INBOX")
    path = os.path.join(mx.maildir(ALICE), "dovecot-uidlist")
    with open(path) as f:
        text = f.read()
    header, rest = text.split("\n", 1)
    v = re.search(r" V(\d+)", header).group(1)
    with open(path + ".new", "w") as f:
        f.write(header.replace(" V" + v, " V%d" % (int(v) + 7)) + "\n" + rest)
    os.rename(path + ".new", path)
    with pytest.raises(imaplib.IMAP4.abort, match="UIDVALIDITY changed"):
        m.noop()


def test_copy_is_all_or_nothing(mx):
    """A COPY that fails half way leaves the destination as it was (RFC 9051 6.4.7): here the
    second message's file vanished behind the session's back."""
    deliver(mx, "first")
    deliver(mx, "second")
    m = login(mx)
    m.select("INBOX")
    second = sorted(files(mx, "", "new"))[1]
    os.unlink(os.path.join(mx.maildir(ALICE), "new", second))
    typ, data = m.copy("1:2", "Trash")
    assert typ == "NO"
    assert files(mx, ".Trash") == [] and files(mx, ".Trash", "new") == []
    assert m.status("Trash", "(MESSAGES)")[1] == [b'"Trash" (MESSAGES 0)']
    m.logout()


def test_idle_client_timeout(make_postern):
    """imap.timeout: a silent client is told and disconnected, before and after login (the
    session then lives on a loop thread); an IDLE client counts as silent too."""
    p = make_postern({"imap": {"timeout": "1s"}})
    p.add_user(ALICE)
    p.start()
    r = Raw(p.ports["imap"])
    r.line()
    assert r.line() == "* BYE Disconnected for inactivity" and r.closed()
    r = Raw(p.ports["imap"])
    r.line()
    r.sock.sendall(b"a LOGIN alice@example.test secret\r\nb SELECT INBOX\r\nc IDLE\r\n")
    lines = [r.line()]
    while not lines[-1].startswith("+ "):
        lines.append(r.line())
    assert lines[0].startswith("a OK") and any(x.startswith("b OK") for x in lines)
    assert r.line() == "* BYE Disconnected for inactivity" and r.closed()
    assert "imap timeout ip=127.0.0.1" in p.log()
