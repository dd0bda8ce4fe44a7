"""Addresses in the daemon: SPEC.md "Addresses: posternctl alias" (issue 12).

Aliases, nesting, catch-all, +detail and postmaster at RCPT; changes seen
without a restart; a bad hand-edited file; forwarding through the queue
with SRS (peers.SinkServer as the destination, a second sink as the
original sender's MX); forged SRS addresses; who may send as whom on
submission. posternctl's own answers are in test_alias_ctl.py.
"""
import base64
import hashlib
import hmac
import os
import re
import smtplib
import subprocess
import time

import pytest
from conftest import POSTERND
from peers import SinkServer
from test_outbound import check_clean_exit, wait_for

HOSTNAME = "mx.example.test"  # conftest's server.hostname: the SRS domain
SENDER = "someone@outside.test"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def message(subject, frm=SENDER, to="info@example.test", body="hello\r\n"):
    """A complete message (Date: and Message-ID: given, so nothing is added to it)."""
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <%s@outside.test>\r\n"
            "\r\n%s" % (frm, to, subject, subject.replace(" ", "."), body)).encode()


def send(p, sender, rcpts, msg, port=None):
    """Send over SMTP; the refused recipients (dict) as smtplib reports them."""
    with smtplib.SMTP("127.0.0.1", port or p.smtp_port) as s:
        s.ehlo("client.outside.test")
        return s.sendmail(sender, rcpts, msg)


def rcpt_reply(p, rcpt, sender=SENDER):
    """The reply to RCPT TO:<rcpt> (exactly as written) after MAIL FROM:<sender>."""
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        s.ehlo("client.outside.test")
        assert s.mail(sender)[0] == 250
        code, text = s.docmd("RCPT TO:<%s>" % rcpt)
        return code, text.decode()


def counts(p, *addresses):
    return [len(p.messages(a)) for a in addresses]


def aliases_file(p):
    return os.path.join(p.data_dir, "aliases")


def write_aliases(p, text):
    """Edit the aliases file by hand, atomically (a new inode, as an editor's rename)."""
    tmp = aliases_file(p) + ".hand"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, aliases_file(p))


def srs_secret(p):
    with open(os.path.join(p.data_dir, "srs.secret"), "rb") as f:
        return f.read().split(b"\n")[0].rstrip(b"\r")


def srs_stamp(t):
    slot = int(t) // 86400 % 1024
    return B32[slot >> 5] + B32[slot & 31]


def srs_hash(secret, *parts):
    """The first 4 base64url characters of HMAC-SHA1(secret, the lower-cased parts)."""
    md = hmac.new(secret, "".join(parts).lower().encode(), hashlib.sha1).digest()
    return base64.urlsafe_b64encode(md)[:4].decode()


def srs0(secret, sender, t=None, hash_=None):
    """The SRS0 address postern writes for sender at time t (postsrsd's layout)."""
    local, domain = sender.rsplit("@", 1)
    stamp = srs_stamp(time.time() if t is None else t)
    h = hash_ or srs_hash(secret, stamp, domain, local)
    return "SRS0=%s=%s=%s=%s@%s" % (h, stamp, domain, local, HOSTNAME)


@pytest.fixture
def origin():
    """The MX of outside.test, where the original senders live."""
    s = SinkServer()
    yield s
    s.close()


@pytest.fixture
def p(make_postern, sink, origin):
    """No trusted networks (port 25 from 127.0.0.1 is an outside MTA); remote.test
    routed to sink, outside.test and hop.test to origin; alice, bob and carol."""
    p = make_postern({"routes": {"remote.test": "[127.0.0.1]:%d" % sink.port,
                                 "outside.test": "[127.0.0.1]:%d" % origin.port,
                                 "hop.test": "[127.0.0.1]:%d" % origin.port}})
    for user in ("alice@example.test", "bob@example.test", "carol@other.test"):
        p.add_user(user)
    p.start()
    yield p
    check_clean_exit(p)


# ---- expansion at RCPT ----

def test_alias_to_one_and_to_two_accounts(p):
    p.ctl("alias", "add", "one@example.test", "alice@example.test")
    p.ctl("alias", "add", "info@example.test", "alice@example.test, carol@other.test")
    assert send(p, SENDER, ["One@Example.Test"], message("to one")) == {}
    assert counts(p, "alice@example.test", "bob@example.test", "carol@other.test") == [1, 0, 0]
    assert send(p, SENDER, ["info@example.test"], message("to two")) == {}
    assert counts(p, "alice@example.test", "bob@example.test", "carol@other.test") == [2, 0, 1]
    (copy,) = p.messages("carol@other.test")
    assert b"Subject: to two" in copy
    assert p.queued() == []  # nothing was forwarded


def test_alice_reached_twice_gets_one_copy(p):
    p.ctl("alias", "add", "info@example.test", "alice@example.test, bob@example.test")
    assert send(p, SENDER, ["info@example.test", "alice@example.test"],
                message("twice")) == {}
    assert counts(p, "alice@example.test", "bob@example.test") == [1, 1]
    # an alias that lists alice itself and through a nested alias
    p.ctl("alias", "add", "all@example.test", "info@example.test, alice@example.test")
    assert send(p, SENDER, ["all@example.test"], message("nested twice")) == {}
    assert counts(p, "alice@example.test", "bob@example.test") == [2, 2]
    # and alice+tag is still alice's one Maildir
    assert send(p, SENDER, ["alice+x@example.test", "all@example.test", "ALICE@example.test"],
                message("thrice")) == {}
    assert counts(p, "alice@example.test", "bob@example.test") == [3, 3]


def test_nested_alias(p):
    p.ctl("alias", "add", "info@example.test", "alice@example.test, bob@example.test")
    p.ctl("alias", "add", "team@other.test", "info@example.test, carol@other.test")
    assert send(p, SENDER, ["team@other.test"], message("nested")) == {}
    assert counts(p, "alice@example.test", "bob@example.test", "carol@other.test") == [1, 1, 1]


def test_loop_refused_by_posternctl_and_harmless_in_a_hand_edited_file(p):
    p.ctl("alias", "add", "a@example.test", "alice@example.test")
    p.ctl("alias", "add", "b@example.test", "a@example.test")
    r = p.ctl("alias", "add", "a@example.test", "b@example.test", check=False)
    assert r.returncode == 1 and "alias loop" in r.stderr
    assert send(p, SENDER, ["b@example.test"], message("chain")) == {}
    assert counts(p, "alice@example.test") == [1]
    # a loop written by hand: loaded, delivered once, never looping
    write_aliases(p, "a@example.test: b@example.test, alice@example.test\n"
                     "b@example.test: a@example.test, bob@example.test\n"
                     "x@example.test: y@example.test\ny@example.test: x@example.test\n")
    wait_for(lambda: "reloaded, 4 alias(es)" in p.log(), what="the hand-edited file to load")
    assert send(p, SENDER, ["a@example.test"], message("loop")) == {}
    assert counts(p, "alice@example.test", "bob@example.test") == [2, 1]
    code, text = rcpt_reply(p, "x@example.test")  # a loop leading nowhere
    assert code == 550 and text.startswith("5.1.1"), text
    assert p.queued() == []


def test_catchall_and_accounts_and_aliases_still_win(p):
    p.ctl("alias", "add", "info@example.test", "bob@example.test")
    p.ctl("alias", "add", "@example.test", "carol@other.test")
    assert send(p, SENDER, ["whoever@example.test"], message("stray")) == {}
    assert counts(p, "alice@example.test", "bob@example.test", "carol@other.test") == [0, 0, 1]
    assert send(p, SENDER, ["alice@example.test"], message("account")) == {}
    assert send(p, SENDER, ["info@example.test"], message("alias")) == {}
    assert counts(p, "alice@example.test", "bob@example.test", "carol@other.test") == [1, 1, 1]
    # other.test has no catch-all: its unknown addresses are still refused
    code, text = rcpt_reply(p, "whoever@other.test")
    assert code == 550 and text.startswith("5.1.1"), text


def test_subaddress(p):
    assert send(p, SENDER, ["alice+tag@example.test"], message("detail")) == {}
    assert counts(p, "alice@example.test") == [1]
    code, text = rcpt_reply(p, "nobody+tag@example.test")
    assert code == 550 and text.startswith("5.1.1"), text
    # with a catch-all, alice+tag@ is still alice's
    p.ctl("alias", "add", "@example.test", "bob@example.test")
    assert send(p, SENDER, ["alice+other@example.test"], message("detail 2")) == {}
    assert counts(p, "alice@example.test", "bob@example.test") == [2, 0]


def test_subaddress_off_with_an_empty_delimiter(make_postern):
    p = make_postern({"domains": {"local": "example.test, other.test",
                                  "recipient_delimiter": ""}})
    p.add_user("alice@example.test")
    p.start()
    code, text = rcpt_reply(p, "alice+tag@example.test")
    assert code == 550 and text.startswith("5.1.1"), text
    assert send(p, SENDER, ["alice@example.test"], message("plain")) == {}
    assert counts(p, "alice@example.test") == [1]
    check_clean_exit(p)


# ---- postmaster ----

def test_postmaster_goes_to_the_first_account_of_the_domain(p):
    p.add_user("dave@other.test")
    for rcpt in ("postmaster", "Postmaster", "POSTMASTER@example.test"):
        code, text = rcpt_reply(p, rcpt)
        assert code == 250, (rcpt, text)
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        s.ehlo("client.outside.test")
        assert s.mail(SENDER)[0] == 250
        assert s.docmd("RCPT TO:<postmaster>")[0] == 250
        assert s.data(message("bare postmaster"))[0] == 250
        assert s.mail(SENDER)[0] == 250
        assert s.docmd("RCPT TO:<Postmaster>")[0] == 250
        assert s.data(message("Postmaster"))[0] == 250
    assert send(p, SENDER, ["postmaster@other.test"], message("other")) == {}
    # example.test is the first local domain: the bare postmaster is its postmaster
    assert counts(p, "alice@example.test", "bob@example.test", "carol@other.test",
                  "dave@other.test") == [2, 0, 1, 0]
    assert any(b"Subject: Postmaster" in m for m in p.messages("alice@example.test"))


def test_postmaster_goes_to_the_alias_or_account_of_that_name(p):
    p.ctl("alias", "add", "postmaster@example.test", "bob@example.test")
    p.add_user("postmaster@other.test")
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        s.ehlo("client.outside.test")
        assert s.mail(SENDER)[0] == 250
        assert s.docmd("RCPT TO:<Postmaster>")[0] == 250
        assert s.data(message("bare"))[0] == 250
    assert send(p, SENDER, ["postmaster@example.test"], message("example")) == {}
    assert send(p, SENDER, ["postmaster@other.test"], message("other")) == {}
    assert counts(p, "alice@example.test", "bob@example.test", "carol@other.test",
                  "postmaster@other.test") == [0, 2, 0, 1]


# ---- changes without a restart; a bad hand-edited file ----

def test_alias_changes_seen_without_a_restart(p):
    code, _ = rcpt_reply(p, "new@example.test")
    assert code == 550
    p.ctl("alias", "add", "new@example.test", "bob@example.test")
    assert rcpt_reply(p, "new@example.test")[0] == 250  # at once, no wait
    assert send(p, SENDER, ["new@example.test"], message("new")) == {}
    assert counts(p, "bob@example.test") == [1]
    p.ctl("alias", "add", "new@example.test", "alice@example.test")  # replaced
    assert send(p, SENDER, ["new@example.test"], message("moved")) == {}
    assert counts(p, "alice@example.test", "bob@example.test") == [1, 1]
    p.ctl("alias", "del", "new@example.test")
    code, text = rcpt_reply(p, "new@example.test")
    assert code == 550 and text.startswith("5.1.1"), text


def check(p):
    return subprocess.run([POSTERND, "-c", p.conf, "--check"], capture_output=True, text=True,
                          timeout=60)


def test_hand_edited_bad_line_keeps_the_last_good_table(p):
    p.ctl("alias", "add", "info@example.test", "alice@example.test")
    r = check(p)
    assert r.returncode == 0, r.stderr
    # a good hand edit is picked up within a second or so
    write_aliases(p, "info@example.test: alice@example.test\nhand@example.test: bob@example.test\n")
    wait_for(lambda: rcpt_reply(p, "hand@example.test")[0] == 250, timeout=5,
             what="the hand edit to be seen")
    # a bad line: the daemon says where and keeps what it had
    write_aliases(p, "# edited\ninfo@example.test: alice@example.test\n"
                     "later@example.test: bob@example.test\nthis is not an alias\n")
    where = aliases_file(p) + ":4"
    line = wait_for(lambda: [ln for ln in p.log().splitlines() if where in ln],
                    what="the bad line to be logged")[0]
    assert "keeping the last good table" in line, line
    assert rcpt_reply(p, "info@example.test")[0] == 250
    assert rcpt_reply(p, "hand@example.test")[0] == 250  # from the last good table
    assert rcpt_reply(p, "later@example.test")[0] == 550  # from the bad file: not loaded
    assert send(p, SENDER, ["hand@example.test"], message("kept")) == {}
    assert counts(p, "bob@example.test") == [1]
    r = check(p)
    assert r.returncode == 1 and where + ":" in r.stderr, (r.returncode, r.stderr)
    assert "Sanitizer" not in r.stderr
    # posternctl refuses to rewrite it; fixed by hand, it loads again
    assert p.ctl("alias", "list", check=False).returncode == 1
    write_aliases(p, "info@example.test: alice@example.test\n"
                     "later@example.test: bob@example.test\n")
    wait_for(lambda: rcpt_reply(p, "later@example.test")[0] == 250, timeout=5,
             what="the fixed file to be loaded")
    assert rcpt_reply(p, "hand@example.test")[0] == 550
    assert check(p).returncode == 0


# ---- forwarding with SRS ----

FORWARD_BODY = ("first line\r\n.starts with a dot\r\n..two dots\r\n.\r\n"
                "a lone dot above\r\n" + "x" * 990 + "\r\n\r\ntrailing blank above\r\n")


def test_forward_reaches_the_sink_with_an_srs_sender_and_an_intact_body(p, sink):
    p.ctl("alias", "add", "fwd@example.test", "Dave@Remote.Test, alice@example.test")
    msg = message("forwarded", to="fwd@example.test", body=FORWARD_BODY)
    assert send(p, SENDER, ["fwd@example.test"], msg) == {}
    (txn,) = sink.wait(1)
    assert txn.rcpts == ["dave@remote.test"]
    m = re.match(r"MAIL FROM:<(SRS0=([^=]+)=([^=]+)=outside\.test=someone)@mx\.example\.test>",
                 txn.mail)
    assert m, txn.mail
    assert m.group(1) + "@" + HOSTNAME == srs0(srs_secret(p), SENDER), txn.mail
    assert m.group(3) == srs_stamp(time.time())
    # byte-exact after our Authentication-Results: (port 25) and Received: headers
    body = txn.body
    assert body.endswith(msg), body[-300:]
    assert body.startswith(b"Authentication-Results: mx.example.test;"), body[:300]
    received = body[body.index(b"\r\nReceived: ") + 2:-len(msg)]
    assert received.startswith(b"Received: from client.outside.test ")
    assert received.count(b"\r\nReceived:") == 0
    assert all(ln.startswith(b"\t") for ln in received.split(b"\r\n")[1:-1]), received
    assert len(p.messages("alice@example.test")) == 1
    wait_for(lambda: p.queued() == [], what="the forward to leave the queue")
    wait_for(lambda: "to=<Dave@remote.test> relay=127.0.0.1[127.0.0.1]:%d status=sent" % sink.port
             in p.log(), what="the forward's delivery line")


def test_null_sender_and_local_senders_are_forwarded_unchanged(p, sink):
    p.ctl("alias", "add", "fwd@example.test", "dave@remote.test")
    assert send(p, "", ["fwd@example.test"], message("bounce", frm="MAILER-DAEMON@x.test")) == {}
    (txn,) = sink.wait(1)
    assert txn.mail.startswith("MAIL FROM:<> ") or txn.mail == "MAIL FROM:<>", txn.mail
    assert send(p, "bob@example.test", ["fwd@example.test"],
                message("local", frm="bob@example.test")) == {}
    txn = sink.wait(2)[1]
    assert txn.mail.startswith("MAIL FROM:<bob@example.test>"), txn.mail
    assert "SRS0" not in txn.mail


def test_sink_550_for_a_forward_bounces_to_the_original_sender(p, sink, origin, monkeypatch):
    monkeypatch.setenv("POSTERN_QUEUE_BACKOFF", "1")
    sink.rcpt_replies["dave@remote.test"] = "550 5.1.1 <dave@remote.test>: User unknown"
    p.ctl("alias", "add", "fwd@example.test", "dave@remote.test")
    assert send(p, SENDER, ["fwd@example.test"], message("doomed", to="fwd@example.test")) == {}
    (dsn,) = origin.wait(1, timeout=30)
    assert dsn.mail.startswith("MAIL FROM:<>"), dsn.mail
    assert dsn.rcpts == [SENDER]
    body = dsn.body
    assert b"Content-Type: multipart/report; report-type=delivery-status;" in body
    assert b"Final-Recipient: rfc822; dave@remote.test" in body
    assert b"Status: 5.1.1" in body
    assert b"Diagnostic-Code: smtp; 550 5.1.1 <dave@remote.test>: User unknown" in body
    assert b"Subject: doomed" in body
    wait_for(lambda: p.queued() == [], what="the forward and its bounce to leave the queue")
    assert sink.transactions == []  # the sink refused at RCPT: no DATA
    log = p.log()
    assert "to=<dave@remote.test>" in log and "status=bounced" in log
    assert "to=<%s>" % SENDER in log


def test_bounce_to_a_genuine_srs_address_goes_back_to_the_sender(p, origin):
    """What a remote MTA does after accepting a forward: bounce to the SRS sender."""
    address = srs0(srs_secret(p), SENDER)
    assert send(p, "", [address], message("late bounce", frm="MAILER-DAEMON@remote.test")) == {}
    (txn,) = origin.wait(1)
    assert txn.rcpts == [SENDER] and txn.mail.startswith("MAIL FROM:<>")
    assert b"Subject: late bounce" in txn.body
    # the case of the local part may change on the way: still ours
    assert rcpt_reply(p, address.upper().replace("MX.EXAMPLE.TEST", HOSTNAME), sender="")[0] == 250


def test_second_forward_writes_srs1_and_its_bounce_goes_to_the_first_forwarder(p, sink, origin):
    """A sender rewritten by hop.test's SRS is forwarded again as SRS1 (postsrsd's
    layout), and a bounce to our SRS1 address goes back to hop.test's SRS0 address."""
    p.ctl("alias", "add", "fwd@example.test", "dave@remote.test")
    stamp = srs_stamp(time.time())  # the inner stamp is checked for age too
    first = "SRS0=abcd=%s=orig.test=joe@hop.test" % stamp
    assert send(p, first, ["fwd@example.test"], message("twice forwarded")) == {}
    (txn,) = sink.wait(1)
    m = re.match(r"MAIL FROM:<(SRS1=[^=]{4}=hop\.test==abcd=%s=orig\.test=joe@mx\.example\.test)>"
                 % stamp, txn.mail)
    assert m, txn.mail
    srs1 = m.group(1)
    assert send(p, "", [srs1], message("bounce of a second forward")) == {}
    (back,) = origin.wait(1)
    assert back.rcpts == [first.lower()] and back.mail.startswith("MAIL FROM:<>")
    h = srs1.split("=")[1]
    forged = srs1.replace("=%s=" % h, "=%s=" % ("AAAA" if h != "AAAA" else "BBBB"), 1)
    code, text = rcpt_reply(p, forged, sender="")
    assert code == 550 and "forged" in text, text


def test_forged_srs_addresses_are_refused_never_relayed(p, origin, sink):
    secret = srs_secret(p)
    good = srs0(secret, SENDER)
    h = good.split("=")[1]
    tampered_hash = good.replace("=%s=" % h, "=%s=" % ("AAAA" if h != "AAAA" else "BBBB"), 1)
    tampered_local = good.replace("=someone@", "=victim@")  # the hash no longer covers it
    elsewhere = srs0(secret, "dave@remote.test", hash_=h)    # another destination, old hash
    expired = srs0(secret, SENDER, t=time.time() - 40 * 86400)  # genuine hash, 40 days old
    future = srs0(secret, SENDER, t=time.time() + 5 * 86400)
    garbage = ["SRS0=xxxx@%s" % HOSTNAME, "SRS0==AA=outside.test=someone@%s" % HOSTNAME,
               "SRS1=abcd=hop.test==junk@%s" % HOSTNAME, "srs0=zz=zz=zz=@%s" % HOSTNAME]
    for rcpt in [tampered_hash, tampered_local, elsewhere] + garbage:
        code, text = rcpt_reply(p, rcpt, sender="")
        assert code == 550 and text.startswith("5."), (rcpt, code, text)
    for rcpt in (expired, future):
        code, text = rcpt_reply(p, rcpt, sender="")
        assert code == 550 and "expired" in text, (rcpt, code, text)
    code, text = rcpt_reply(p, tampered_hash, sender="")
    assert "forged" in text
    # a whole transaction with a forged address next to a good one: only the good one goes
    refused = send(p, "", [tampered_hash, good], message("mixed", frm="x@remote.test"))
    assert set(refused) == {tampered_hash}
    (txn,) = origin.wait(1)
    assert txn.rcpts == [SENDER]
    wait_for(lambda: p.queued() == [], what="the queue to empty")
    assert len(origin.transactions) == 1 and sink.transactions == []
    assert "victim@outside.test" not in p.log()


# ---- who may send as whom ----

@pytest.fixture
def sub(make_postern):
    p = make_postern({"relay": {"pop_before_smtp": "no"}})
    p.add_user("alice@example.test", "alicepw")
    p.add_user("bob@example.test", "bobpw")
    p.ctl("alias", "add", "info@example.test", "alice@example.test, bob@example.test")
    p.ctl("alias", "add", "team@example.test", "info@example.test")  # alice through nesting
    p.ctl("alias", "add", "sales@example.test", "bob@example.test")
    p.start()
    yield p
    check_clean_exit(p)


def submit(p, login, password):
    s = smtplib.SMTP("127.0.0.1", p.ports["submission"])
    s.ehlo("laptop")
    s.user, s.password = login, password
    assert s.auth("PLAIN", s.auth_plain)[0] == 235
    return s


def test_own_alias_allowed_as_envelope_and_from(sub):
    with submit(sub, "alice@example.test", "alicepw") as s:
        for own in ("info@example.test", "Team@Example.Test", "alice+lists@example.test"):
            assert s.sendmail(own, ["bob@example.test"],
                              message("as " + own, frm="Alice <%s>" % own,
                                      to="bob@example.test")) == {}
    assert len(sub.messages("bob@example.test")) == 3


def test_other_users_alias_or_address_refused_at_mail_from(sub):
    with submit(sub, "alice@example.test", "alicepw") as s:
        for other in ("sales@example.test", "bob@example.test", "bob+x@example.test",
                      "nobody@example.test", "someone@outside.test"):
            code, text = s.mail(other)
            assert code == 553 and text.startswith(b"5.7.1"), (other, code, text)
            s.rset()
    with submit(sub, "bob@example.test", "bobpw") as s:
        assert s.mail("sales@example.test")[0] == 250  # bob's own
    assert sub.messages("bob@example.test") == [] and sub.queued() == []


def test_unowned_from_header_refused_after_data(sub):
    with submit(sub, "alice@example.test", "alicepw") as s:
        # the last three hide bob behind an owned address: other mail readers show bob
        for frm in ("bob@example.test", "Sales <sales@example.test>", "ceo@outside.test",
                    "<bob@example.test:alice@example.test>",
                    "bob@example.test: alice@example.test;",
                    "<alice@example.test> bob@example.test"):
            assert s.mail("alice@example.test")[0] == 250
            assert s.rcpt("bob@example.test")[0] == 250
            assert s.rcpt("carol@remote.test")[0] == 250
            code, text = s.data(message("forged", frm=frm, to="bob@example.test"))
            assert code == 550 and text.startswith(b"5.7.1"), (frm, code, text)
        # the session goes on: an owned From: is accepted afterwards
        assert s.sendmail("alice@example.test", ["bob@example.test"],
                          message("fine", frm="info@example.test", to="bob@example.test")) == {}
    (msg,) = sub.messages("bob@example.test")
    assert b"Subject: fine" in msg
    assert sub.queued() == [] and sub.queue_tmp() == []


def test_trusted_network_without_auth_is_not_checked(make_postern):
    p = make_postern({"relay": {"trusted_networks": "127.0.0.1/32"}})
    p.add_user("alice@example.test")
    p.add_user("bob@example.test")
    p.ctl("alias", "add", "sales@example.test", "bob@example.test")
    p.start()
    assert send(p, "sales@example.test", ["alice@example.test"],
                message("trusted", frm="bob@example.test", to="alice@example.test")) == {}
    assert len(p.messages("alice@example.test")) == 1
    check_clean_exit(p)


# ---- logs ----

def test_alias_delivery_logs_orig_to(p):
    p.ctl("alias", "add", "info@example.test", "alice@example.test, bob@example.test")
    assert send(p, SENDER, ["bob@example.test", "info@example.test"], message("logged")) == {}

    def lines(rcpt):
        return [ln for ln in p.log().splitlines() if "to=<%s>" % rcpt in ln and "status=" in ln]
    (alice,) = wait_for(lambda: lines("alice@example.test"), what="alice's line")
    assert "to=<alice@example.test> orig_to=<info@example.test> " \
           "relay=local status=sent (delivered to maildir)" in alice, alice
    (bob,) = wait_for(lambda: lines("bob@example.test"), what="bob's line")
    assert "orig_to=" not in bob  # reached directly (the first way wins)
    assert "relay=local status=sent (delivered to maildir)" in bob
