"""Outbound delivery: the queue, the SMTP client, MX lookup, bounces, sendmail.

The remote side is peers.SinkServer (a scriptable Python SMTP server on
loopback) and, for MX lookups, peers.DnsStub named in delivery.dns_servers.
`queue flush` (through the control socket) replaces waiting for retries.
"""
import os
import poplib
import re
import smtplib
import time

import pytest
from conftest import free_port, sendmail, wait_for
from peers import DnsStub, SinkServer

TRUSTED = {"trusted_networks": "127.0.0.1/32"}


def env_text(p, qid):
    """The envelope's text; "" when the queue removed it since it was listed."""
    try:
        with open(os.path.join(p.data_dir, "queue", "env", qid)) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def make(make_postern, config, sub="p"):
    """A daemon, not started yet."""
    return make_postern(config, sub=sub)


def reconfigure(p, config):
    p.write_config(config)


def queue_list_shows(p, text):
    """queue list's output once it shows text: the deferral is logged before the
    envelope that records it is rewritten (and fsync'd) on a worker."""
    def shows():
        out = p.ctl("queue", "list").stdout
        return out if text in out else None
    return wait_for(shows, what="queue list to show %r" % text)


def relay(p, sender, rcpts, msg):
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        assert s.sendmail(sender, rcpts, msg) == {}


def check_clean_exit(p):
    rc = p.stop()
    log = p.log()
    assert rc == 0, log[-3000:]
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-3000:]


@pytest.fixture
def routed(make_postern, sink):
    """A daemon that relays for 127.0.0.1 and routes remote.test to the sink."""
    p = make(make_postern, {"relay": TRUSTED,
                      "routes": {"remote.test": "[127.0.0.1]:%d" % sink.port}})
    p.add_user("alice@example.test")
    p.start()
    yield p
    check_clean_exit(p)


BODY = ("From: alice@example.test\r\nTo: bob@remote.test\r\nSubject: outbound\r\n\r\n"
        "first line\r\n.starts with a dot\r\n..two dots\r\n.\r\n"
        "a lone dot above\r\n" + "x" * 990 + "\r\n"
        "\r\ntrailing blank above, 8-bit: caf\u00e9\r\n")


def announced(txn):
    """MAIL FROM's SIZE= (None when absent) and whether it says BODY=8BITMIME."""
    m = re.search(r" SIZE=(\d+)", txn.mail)
    return (int(m.group(1)) if m else None), " BODY=8BITMIME" in txn.mail


def test_relayed_message_arrives_intact_in_one_transaction(routed, sink):
    relay(routed, "alice@example.test", ["bob@remote.test", "Carol@Remote.Test"],
          BODY.encode("utf-8"))
    (txn,) = sink.wait(1)
    assert sorted(txn.rcpts) == ["bob@remote.test", "carol@remote.test"]
    assert txn.mail.startswith("MAIL FROM:<alice@example.test>")
    assert announced(txn) == (len(txn.body), True)
    assert txn.ehlo == "mx.example.test"
    # on the wire: CRLF everywhere, dot-stuffed, and byte-exact after our Received:
    assert b"\n" not in txn.raw.replace(b"\r\n", b"")
    assert b"\r\n..starts with a dot\r\n...two dots\r\n..\r\na lone dot" in txn.raw
    assert txn.raw.startswith(b"Received: from ")
    body = txn.body
    assert body.endswith(BODY.encode("utf-8"))
    wait_for(lambda: routed.queued() == [], what="the queue entry to go")
    log = routed.log()
    assert re.search(r"queue id=\w+ from=<alice@example.test> to=<bob@remote.test> "
                     r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d status=sent \(250 " % sink.port, log)


def test_451_is_retried_and_flush_delivers(routed, sink):
    sink.rcpt_replies["bob@remote.test"] = ["451 4.3.0 try again later", "250 2.1.5 Ok"]
    relay(routed, "alice@example.test", ["bob@remote.test"], BODY.encode())
    out = queue_list_shows(routed, "<bob@remote.test> deferred")
    (qid,) = routed.queued()
    assert qid in out and "<alice@example.test>" in out and "<bob@remote.test> deferred" in out
    assert "said: 451 4.3.0 try again later" in out
    assert sink.transactions == []
    routed.ctl("queue", "flush")
    (txn,) = sink.wait(1)
    assert txn.rcpts == ["bob@remote.test"]
    wait_for(lambda: routed.queued() == [], what="the queue entry to go")
    assert "-- 0 message(s)" in routed.ctl("queue", "list").stdout


def read_pop3_or_maildir(p, address):
    """The account's messages, through POP3 when the service answers, else the Maildir."""
    try:
        pop = poplib.POP3("127.0.0.1", p.ports["pop3"], timeout=5)
        pop.user(address)
        pop.pass_("secret")
        msgs = [b"\r\n".join(pop.retr(i + 1)[1]) for i in range(len(pop.list()[1]))]
        pop.quit()
        return msgs
    except (OSError, poplib.error_proto):
        return [m.replace(b"\n", b"\r\n") for m in p.messages(address)]


def test_550_bounces_a_dsn_to_the_local_sender(routed, sink):
    sink.rcpt_replies["nobody@remote.test"] = "550 5.1.1 <nobody@remote.test>: User unknown"
    relay(routed, "alice@example.test", ["nobody@remote.test", "bob@remote.test"],
          BODY.encode())
    (txn,) = sink.wait(1)
    assert txn.rcpts == ["bob@remote.test"]
    wait_for(lambda: routed.messages("alice@example.test"), what="the DSN")
    wait_for(lambda: routed.queued() == [], what="the queue entry to go")
    (dsn,) = read_pop3_or_maildir(routed, "alice@example.test")
    assert b"From: MAILER-DAEMON@mx.example.test" in dsn
    assert b"Content-Type: multipart/report; report-type=delivery-status;" in dsn
    assert b"Content-Type: message/delivery-status" in dsn
    assert b"Reporting-MTA: dns; mx.example.test" in dsn
    assert b"Final-Recipient: rfc822; nobody@remote.test" in dsn
    assert b"Action: failed\r\nStatus: 5.1.1\r\n" in dsn
    assert b"Remote-MTA: dns; 127.0.0.1" in dsn
    assert b"Diagnostic-Code: smtp; 550 5.1.1 <nobody@remote.test>: User unknown" in dsn
    assert b"Content-Type: text/rfc822-headers" in dsn
    assert b"Subject: outbound" in dsn  # the original headers
    assert b"bob@remote.test" not in dsn.split(b"message/delivery-status")[1].split(b"rfc822-headers")[0]
    log = routed.log()
    assert "to=<nobody@remote.test>" in log and "status=bounced" in log
    assert re.search(r"queue id=\w+ bounce id=\w+ to=<alice@example.test>", log)


def test_550_at_data_bounces_and_null_sender_gets_no_bounce(routed, sink):
    sink.data_replies = ["554 5.6.0 content rejected", "554 5.6.0 content rejected"]
    relay(routed, "alice@example.test", ["bob@remote.test"], BODY.encode())
    relay(routed, "", ["bob@remote.test"], BODY.encode())
    sink.wait(2)
    wait_for(lambda: routed.queued() == [], what="both entries to go")
    (dsn,) = routed.messages("alice@example.test")
    assert b"Diagnostic-Code: smtp; 554 5.6.0 content rejected" in dsn
    assert "no bounce for a bounce" in routed.log()


def test_down_remote_is_retried_listed_and_flushed(make_postern):
    port = free_port()
    p = make(make_postern, {"relay": TRUSTED, "routes": {"remote.test": "[127.0.0.1]:%d" % port}})
    p.start()
    relay(p, "alice@example.test", ["bob@remote.test"], BODY.encode())
    out = queue_list_shows(p, "deferred, 1 attempt(s)")
    assert "<bob@remote.test> deferred, 1 attempt(s)" in out
    assert "Connection refused" in out
    (qid,) = p.queued()
    shown = p.ctl("queue", "show", qid).stdout
    assert "from alice@example.test" in shown and "Subject: outbound" in shown
    sink = SinkServer(port=port)
    try:
        p.ctl("queue", "flush")
        sink.wait(1)
        wait_for(lambda: p.queued() == [], what="the queue entry to go")
    finally:
        sink.close()
    check_clean_exit(p)


def test_a_dead_destination_is_suspended_until_a_flush(make_postern):
    """Once no address of a destination could start a transaction, its next
    messages are deferred with that reason and no connection of their own (as
    Postfix's dead-destination throttle), even when it is back meanwhile; a
    flush tries it again."""
    port = free_port()
    p = make(make_postern, {"relay": TRUSTED, "routes": {"remote.test": "[127.0.0.1]:%d" % port}})
    p.start()
    relay(p, "alice@example.test", ["first@remote.test"], BODY.encode())
    wait_for(lambda: "[127.0.0.1]:%d is unreachable" % port in p.log(), what="the dead mark")
    sink = SinkServer(port=port)
    try:
        relay(p, "alice@example.test", ["second@remote.test"], BODY.encode())
        (line,) = wait_for(lambda: [x for x in p.log().splitlines()
                                    if "to=<second@remote.test>" in x], what="the deferral")
        assert "status=deferred (4.4.1 delivery temporarily suspended: connect to" in line, line
        assert "Connection refused" in line and sink.transactions == []
        p.ctl("queue", "flush")
        txns = sink.wait(2)
        assert sorted(t.rcpts[0] for t in txns) == ["first@remote.test", "second@remote.test"]
        wait_for(lambda: p.queued() == [], what="both entries to go")
    finally:
        sink.close()
    check_clean_exit(p)


def test_queue_delete_and_flush_without_daemon(make_postern):
    port = free_port()
    p = make(make_postern, {"relay": TRUSTED, "routes": {"remote.test": "[127.0.0.1]:%d" % port}})
    r = p.ctl("queue", "flush", check=False)
    assert r.returncode == 1 and "not running" in r.stderr
    p.start()
    relay(p, "alice@example.test", ["bob@remote.test"], BODY.encode())
    wait_for(lambda: "status=deferred" in p.log(), what="the deferral")
    (qid,) = p.queued()
    assert p.ctl("queue", "delete", qid).returncode == 0
    msg = os.path.join(p.data_dir, "queue", "msg", qid)
    wait_for(lambda: not os.path.exists(msg), what="the entry to go (env, then msg)")
    assert p.ctl("queue", "delete", qid, check=False).returncode == 1
    p.ctl("queue", "flush")
    check_clean_exit(p)
    # without a daemon, delete removes the files itself
    relay_env = os.path.join(p.data_dir, "queue", "env", "ABC")
    open(relay_env, "w").write("postern-queue 1\nid ABC\ncreated 1\nfrom a@b\nrcpt P 0 0 c@d\n")
    open(os.path.join(p.data_dir, "queue", "msg", "ABC"), "w").write("x\n")
    assert "ABC" in p.ctl("queue", "list").stdout
    assert p.ctl("queue", "delete", "ABC").returncode == 0
    assert p.queued() == []


def loopback_pair():
    """Two SMTP sinks on 127.0.0.2 and 127.0.0.3 sharing one port (the MX port hook)."""
    for _ in range(20):
        a = SinkServer(host="127.0.0.2")
        try:
            return a, SinkServer(host="127.0.0.3", port=a.port)
        except OSError:
            a.close()
    raise RuntimeError("no common free port")


@pytest.fixture
def mx_world(make_postern, monkeypatch):
    """A resolver on loopback, two MX hosts (preference 10 first) and an MX-less domain."""
    mx1, mx2 = loopback_pair()
    dns = DnsStub({
        ("remote.test", "MX"): [(20, "mx2.remote.test"), (10, "mx1.remote.test")],
        ("mx1.remote.test", "A"): ["127.0.0.2"],
        ("mx2.remote.test", "A"): ["127.0.0.3"],
        ("nomx.test", "A"): ["127.0.0.3"],
        ("nullmx.test", "MX"): [(0, ".")],
    })
    monkeypatch.setenv("POSTERN_SMTP_PORT", str(mx1.port))
    p = make(make_postern, {"relay": TRUSTED,
                      "delivery": {"dns_servers": "127.0.0.1:%d" % dns.port}})
    p.add_user("alice@example.test")
    yield p, mx1, mx2, dns
    mx1.close()
    mx2.close()
    dns.close()
    check_clean_exit(p)


def test_mx_lowest_preference_first(mx_world):
    p, mx1, mx2, dns = mx_world
    p.start()
    relay(p, "alice@example.test", ["bob@remote.test"], BODY.encode())
    mx1.wait(1)
    wait_for(lambda: p.queued() == [], what="delivery")
    assert mx2.transactions == []
    assert ("remote.test", "MX") in dns.queries
    assert "relay=mx1.remote.test[127.0.0.2]:%d status=sent" % mx1.port in p.log()


def test_mx_next_host_when_the_first_fails(mx_world):
    p, mx1, mx2, dns = mx_world
    mx1.greeting = "421 4.3.2 mx1 is busy"
    p.start()
    relay(p, "alice@example.test", ["bob@remote.test"], BODY.encode())
    mx2.wait(1)
    wait_for(lambda: p.queued() == [], what="delivery")
    log = p.log()
    assert "relay=mx1.remote.test[127.0.0.2]:%d: 421 4.3.2 mx1 is busy; trying the next" % mx1.port in log
    assert "relay=mx2.remote.test[127.0.0.3]:%d status=sent" % mx1.port in log


def test_no_mx_falls_back_to_a_and_null_mx_bounces(mx_world):
    p, mx1, mx2, dns = mx_world
    p.start()
    relay(p, "alice@example.test", ["bob@nomx.test"], BODY.encode())
    (txn,) = mx2.wait(1)
    assert txn.rcpts == ["bob@nomx.test"]
    relay(p, "alice@example.test", ["bob@nullmx.test"], BODY.encode())
    (dsn,) = wait_for(lambda: p.messages("alice@example.test"), what="the DSN")
    assert b"Status: 5.1.10" in dsn and b"null MX" in dsn
    wait_for(lambda: p.queued() == [], what="both entries to go")


def test_relayhost_with_auth_plain_and_login(make_postern, sink):
    sink.auth = {"relayuser": "s3cret:with:colons"}
    auth_file = os.path.join(str(sink.port) + "-auth")
    p = make(make_postern, {"relay": TRUSTED})
    auth_file = os.path.join(p.dir, "relay-auth")
    with open(auth_file, "w") as f:
        f.write("relayuser:s3cret:with:colons\n")
    reconfigure(p, {"relay": TRUSTED, "delivery": {
        "relayhost": "[127.0.0.1]:%d" % sink.port, "relayhost_auth": auth_file,
        "relayhost_tls_verify": "no"}})  # the sink has no TLS: see test_relayhost_tls.py
    p.start()
    relay(p, "alice@example.test", ["someone@anywhere.test"], BODY.encode())
    (txn,) = sink.wait(1)
    assert txn.auth == ("relayuser", "s3cret:with:colons")
    sink.auth_mechs = "LOGIN"
    relay(p, "alice@example.test", ["other@elsewhere.test"], BODY.encode())
    txns = sink.wait(2)
    assert txns[1].auth == ("relayuser", "s3cret:with:colons")
    assert "s3cret" not in p.log()
    check_clean_exit(p)


def test_relayhost_wrong_password_is_deferred(make_postern, sink):
    sink.auth = {"relayuser": "right"}
    p = make(make_postern, {"relay": TRUSTED})
    auth_file = os.path.join(p.dir, "relay-auth")
    open(auth_file, "w").write("relayuser:Bad-Pa55\n")
    reconfigure(p, {"relay": TRUSTED, "delivery": {
        "relayhost": "[127.0.0.1]:%d" % sink.port, "relayhost_auth": auth_file,
        "relayhost_tls_verify": "no"}})
    p.start()
    relay(p, "alice@example.test", ["someone@anywhere.test"], BODY.encode())
    wait_for(lambda: "status=deferred" in p.log(), what="the deferral")
    assert "authentication failed: 535 5.7.8" in p.log() and "Bad-Pa55" not in p.log()
    assert p.queued() != []
    check_clean_exit(p)


def test_relayhost_password_never_goes_in_clear_when_plaintext_is_not_allowed(make_postern,
                                                                             sink):
    sink.auth = {"relayuser": "right"}  # the test server offers AUTH but no STARTTLS
    p = make(make_postern, {"relay": TRUSTED})
    auth_file = os.path.join(p.dir, "relay-auth")
    open(auth_file, "w").write("relayuser:right\n")
    reconfigure(p, {"relay": TRUSTED, "auth": {"allow_plaintext": "no"}, "delivery": {
        "relayhost": "[127.0.0.1]:%d" % sink.port, "relayhost_auth": auth_file,
        "relayhost_tls_verify": "no"}})  # unverified, yet still never in clear
    p.start()
    relay(p, "alice@example.test", ["someone@anywhere.test"], BODY.encode())
    wait_for(lambda: "status=deferred" in p.log(), what="the deferral")
    assert "offers no STARTTLS: the password stays unsent" in p.log()
    assert sink.transactions == [] and p.queued() != []
    check_clean_exit(p)


def test_relayhost_password_never_goes_in_clear_when_starttls_is_refused(make_postern, sink):
    # the sink offers STARTTLS and then answers it with 502: the session stays in clear
    sink.extensions.append("STARTTLS")
    sink.auth = {"relayuser": "right"}
    logins = []
    real_auth = sink._auth
    sink._auth = lambda *args: logins.append(args[0]) or real_auth(*args)
    p = make(make_postern, {"relay": TRUSTED})
    auth_file = os.path.join(p.dir, "relay-auth")
    open(auth_file, "w").write("relayuser:right\n")
    reconfigure(p, {"relay": TRUSTED, "auth": {"allow_plaintext": "no"}, "delivery": {
        "relayhost": "[127.0.0.1]:%d" % sink.port, "relayhost_auth": auth_file,
        "relayhost_tls_verify": "no"}})
    p.start()
    relay(p, "alice@example.test", ["someone@anywhere.test"], BODY.encode())
    wait_for(lambda: "status=deferred" in p.log(), what="the deferral")
    assert "refused STARTTLS: the password stays unsent" in p.log()
    assert logins == [] and sink.transactions == [] and p.queued() != []
    check_clean_exit(p)


def test_relayhost_is_a_second_postern_with_submission_auth(make_postern):
    # far takes passwords only over TLS: near must STARTTLS before its AUTH
    far = make(make_postern, {"domains": {"local": "far.test"},
                              "auth": {"allow_plaintext": "no"}}, sub="far")
    far.add_user("dave@far.test")
    far.add_user("carol@far.test", password="carol-pw")
    far.start()
    near = make(make_postern, {"relay": TRUSTED}, sub="near")
    auth_file = os.path.join(near.dir, "relay-auth")
    open(auth_file, "w").write("carol@far.test:carol-pw\n")
    # far's certificate names mx.example.test, not 127.0.0.1: verified in test_relayhost_tls.py
    reconfigure(near, {"relay": TRUSTED, "delivery": {
        "relayhost": "[127.0.0.1]:%d" % far.ports["submission"], "relayhost_auth": auth_file,
        "relayhost_tls_verify": "no"}})
    near.add_user("alice@example.test")
    near.start()
    # far's submission service wants the login to own the sender address and From:
    text = BODY.replace("From: alice@example.test", "From: Carol <carol@far.test>")
    relay(near, "carol@far.test", ["dave@far.test"], text.encode())
    (msg,) = wait_for(lambda: far.messages("dave@far.test"), what="delivery through far")
    assert "smtp auth user=carol@far.test" in far.log()
    assert "smtp starttls" in far.log()
    assert b"with ESMTPSA id" in msg
    body = text.replace("\r\n", "\n").encode().split(b"\n\n", 1)[1]
    assert msg.split(b"\n\n", 1)[1] == body  # (submission adds Date: and Message-ID:)
    wait_for(lambda: near.queued() == [], what="the entry to go")
    check_clean_exit(near)
    check_clean_exit(far)


def test_sendmail_with_recipients_and_with_t(routed, sink):
    routed.add_user("bob@example.test")
    r = sendmail(routed, ["-i", "-f", "alice@example.test", "bob", "carol@remote.test"],
                 b"Subject: from cron\n\nline one\n.\nline after a lone dot\n")
    assert r.returncode == 0, r.stderr
    (local,) = wait_for(lambda: routed.messages("bob@example.test"), what="local delivery")
    assert local.startswith(b"Received: by mx.example.test (postern) with local id ")
    assert b"\nFrom: <alice@example.test>\n" in local and b"\nDate: " in local
    assert b"\nMessage-ID: <" in local
    assert local.endswith(b"Subject: from cron\n\nline one\n.\nline after a lone dot\n")
    (txn,) = sink.wait(1)
    assert txn.rcpts == ["carol@remote.test"]
    assert txn.raw.endswith(b"line one\r\n..\r\nline after a lone dot\r\n")
    # -t: recipients from To/Cc/Bcc, Bcc removed; without -i a lone dot ends the text
    r = sendmail(routed, ["-t", "-F", "Cron Daemon"],
                 b"From: Alice <alice@example.test>\nTo: \"Bob, B.\" <bob@example.test>\n"
                 b"Cc: dave@remote.test (Dave)\nBcc: eve@remote.test,\n  frank@remote.test\n"
                 b"Subject: minus t\n\nbody\n.\nnot part of the message\n")
    assert r.returncode == 0, r.stderr
    txns = sink.wait(2)
    assert sorted(txns[1].rcpts) == ["dave@remote.test", "eve@remote.test", "frank@remote.test"]
    assert b"Bcc" not in txns[1].raw and b"frank" not in txns[1].raw
    assert txns[1].raw.endswith(b"Subject: minus t\r\n\r\nbody\r\n")
    wait_for(lambda: len(routed.messages("bob@example.test")) == 2, what="the -t local copy")


def test_sendmail_exit_codes_and_mailq(routed, sink):
    r = sendmail(routed, ["nobody@example.test"], b"Subject: x\n\nx\n")
    assert r.returncode == 67 and b"unknown user" in r.stderr  # EX_NOUSER
    r = sendmail(routed, [], b"Subject: x\n\nx\n")
    assert r.returncode == 64  # EX_USAGE: no recipients
    sink.rcpt_replies["later@remote.test"] = "451 4.3.0 later"
    assert sendmail(routed, ["later@remote.test"], b"Subject: q\n\nq\n").returncode == 0
    queue_list_shows(routed, "<later@remote.test> deferred")
    out = sendmail(routed, [], b"", name="mailq").stdout.decode()
    assert "<later@remote.test> deferred" in out
    check_clean_exit(routed)
    r = sendmail(routed, ["bob@remote.test"], b"Subject: x\n\nx\n")
    assert r.returncode == 75 and b"not running" in r.stderr  # EX_TEMPFAIL
    routed.start()  # the fixture stops it again


def test_max_queue_lifetime_bounces_with_expired_status(make_postern, monkeypatch):
    monkeypatch.setenv("POSTERN_QUEUE_BACKOFF", "1")
    p = make(make_postern, {"relay": TRUSTED, "delivery": {"max_queue_lifetime": "2s"},
                      "routes": {"remote.test": "[127.0.0.1]:%d" % free_port()}})
    p.add_user("alice@example.test")
    p.start()
    relay(p, "alice@example.test", ["bob@remote.test"], BODY.encode())
    (dsn,) = wait_for(lambda: p.messages("alice@example.test"), timeout=20, what="the DSN")
    assert b"Status: 5.4.7" in dsn and b"delivery time expired" in dsn
    assert b"Connection refused" in dsn
    wait_for(lambda: p.queued() == [], what="the entry to go")
    assert p.log().count("status=deferred") >= 1
    check_clean_exit(p)


def test_sigterm_during_delivery_loses_nothing(routed, sink):
    sink.hold_dot.clear()  # the remote sits on the end of data
    relay(routed, "alice@example.test", ["bob@remote.test"], BODY.encode())
    sink.wait(1)
    t0 = time.monotonic()
    check_clean_exit(routed)  # SIGTERM aborts the delivery in flight and exits 0
    assert time.monotonic() - t0 < 10
    assert len(routed.queued()) == 1
    sink.hold_dot.set()
    routed.start()
    sink.wait(2)
    wait_for(lambda: routed.queued() == [], what="delivery after the restart")


def subjects(sink):
    out = {}
    for t in sink.transactions:
        m = re.search(rb"Subject: (msg-\d+)", t.raw)
        out.setdefault(m.group(1).decode(), []).append(t)
    return out


def test_kill9_during_delivery_loses_nothing_and_repeats_only_the_in_flight(make_postern, sink):
    """kill -9 while deliveries are in flight; after a restart every message arrives.

    A message whose 250 the remote had given and postern had made durable
    (msg-1, msg-2, and the delivered half of msg-3) never arrives twice. The
    messages in flight at the kill (msg-4..6: the remote had their text but
    had not answered the final dot) arrive again: postern cannot know
    whether the remote took them (the RFC 1047 duplicate), so it sends
    again rather than lose them.
    """
    down = free_port()
    p = make(make_postern, {"relay": TRUSTED,
                      "routes": {"remote.test": "[127.0.0.1]:%d" % sink.port,
                                 "down.test": "[127.0.0.1]:%d" % down}})
    p.start()

    def msg(n):
        return ("From: a@example.test\r\nSubject: msg-%d\r\n\r\nbody %d\r\n" % (n, n)).encode()

    relay(p, "a@example.test", ["r1@remote.test"], msg(1))
    relay(p, "a@example.test", ["r2@remote.test"], msg(2))
    relay(p, "a@example.test", ["r3@remote.test", "x@down.test"], msg(3))
    sink.wait(3)
    wait_for(lambda: len(p.queued()) == 1 and "rcpt D " in env_text(p, p.queued()[0]),
             what="msg-3's delivered recipient to be durable")
    sink.hold_dot.clear()
    for n in (4, 5, 6):
        relay(p, "a@example.test", ["r%d@remote.test" % n], msg(n))
    sink.wait(6)  # all three in flight: text received, dot not answered
    p.kill9()
    sink.hold_dot.set()
    p.start()
    p.ctl("queue", "flush")
    wait_for(lambda: len(sink.transactions) >= 9, what="the in-flight messages again")
    wait_for(lambda: p.queued() == [qid for qid in p.queued()
                                      if "x@down.test" in env_text(p, qid)], what="a settled queue")
    got = subjects(sink)
    assert sorted(got) == ["msg-%d" % n for n in range(1, 7)]  # none lost
    for n in (1, 2, 3):
        assert len(got["msg-%d" % n]) == 1, "msg-%d was acknowledged and durable" % n
    for n in (4, 5, 6):
        assert len(got["msg-%d" % n]) == 2  # in flight at the kill
    (left,) = p.queued()
    assert re.search(r"rcpt D \d+ \d+ r3@remote.test", env_text(p, left))
    check_clean_exit(p)


def test_message_from_an_authenticated_client_arrives(routed, sink):
    with smtplib.SMTP("127.0.0.1", routed.ports["submission"], timeout=5) as s:
        s.ehlo("laptop.test")
        if not s.has_extn("auth"):
            pytest.skip("no SMTP AUTH on the submission port yet")
        s.login("alice@example.test", "secret")
        assert s.sendmail("alice@example.test", ["bob@remote.test"], BODY.encode()) == {}
    (txn,) = sink.wait(1)
    assert txn.body.split(b"\r\n\r\n", 1)[1] == BODY.encode().split(b"\r\n\r\n", 1)[1]
    wait_for(lambda: routed.queued() == [], what="the queue entry to go")


def test_bounce_to_a_remote_sender_goes_out_with_the_null_sender(routed, sink):
    sink.rcpt_replies["gone@remote.test"] = "550 5.1.1 gone"
    relay(routed, "sender@remote.test", ["gone@remote.test"], BODY.encode())
    (dsn,) = wait_for(lambda: [t for t in sink.transactions if t.mail.startswith("MAIL FROM:<>")],
                      what="the DSN to the remote sender")
    assert dsn.rcpts == ["sender@remote.test"]
    assert b"Final-Recipient: rfc822; gone@remote.test" in dsn.body
    wait_for(lambda: routed.queued() == [], what="both entries to go")


def test_utf8_addresses_go_out_with_smtputf8_or_bounce_with_5_6_7(routed, sink):
    """A non-ASCII address in the envelope goes out with SMTPUTF8 (RFC 6531) to a
    server that offers it; to one that does not, it is not downgraded: it fails
    at once with 5.6.7, as in Postfix, and the sender gets a DSN."""
    msg = "From: alice@example.test\r\nSubject: gr\u00fc\u00dfe\r\n\r\nhallo\r\n".encode()
    sink.extensions.append("SMTPUTF8")
    with smtplib.SMTP("127.0.0.1", routed.smtp_port) as s:
        assert s.sendmail("alice@example.test", ["j\u00f6rg@remote.test"], msg,
                          mail_options=["SMTPUTF8"]) == {}
    (txn,) = sink.wait(1)
    assert txn.mail.endswith(" SMTPUTF8") and txn.rcpts == ["j\u00f6rg@remote.test"], txn.mail
    relay(routed, "alice@example.test", ["ascii@remote.test"], b"Subject: ascii\r\n\r\nx\r\n")
    assert "SMTPUTF8" not in sink.wait(2)[1].mail  # only when an address needs it
    sink.extensions.remove("SMTPUTF8")
    with smtplib.SMTP("127.0.0.1", routed.smtp_port) as s:
        assert s.sendmail("alice@example.test", ["m\u00fcller@remote.test"], msg,
                          mail_options=["SMTPUTF8"]) == {}
    (dsn,) = wait_for(lambda: routed.messages("alice@example.test"), what="the DSN")
    assert b"Status: 5.6.7" in dsn and b"SMTPUTF8 is required" in dsn, dsn
    assert len(sink.transactions) == 2  # the ASCII one only: nothing went without SMTPUTF8
    wait_for(lambda: "status=bounced" in routed.log(), what="the bounced line")


def test_size_and_8bit_are_announced_for_every_way_in(routed, sink):
    """SIZE= is the text's size on the wire and BODY=8BITMIME says whether it has
    8-bit bytes, for mail from SMTP, submission (headers added), sendmail and
    DSNs; both were written into the envelope when the message was queued."""
    plain = BODY.replace("caf\u00e9", "cafe").encode()
    relay(routed, "alice@example.test", ["seven@remote.test"], plain)
    relay(routed, "alice@example.test", ["eight@remote.test"], BODY.encode())
    with smtplib.SMTP("127.0.0.1", routed.ports["submission"], timeout=5) as s:
        s.login("alice@example.test", "secret")
        s.sendmail("alice@example.test", ["sub@remote.test"],
                   b"From: alice@example.test\r\nSubject: no date\r\n\r\nx\r\n")
    sendmail(routed, ["-f", "alice@example.test", "cron@remote.test"],
             "Subject: caf\u00e9\n\nbody\n".encode())
    sink.rcpt_replies["gone@remote.test"] = "550 5.1.1 gone"
    relay(routed, "sender@remote.test", ["gone@remote.test"], plain)
    txns = wait_for(lambda: len(sink.transactions) >= 5 and list(sink.transactions),
                    what="five transactions")
    by_rcpt = {t.rcpts[0]: t for t in txns}
    assert sorted(by_rcpt) == ["cron@remote.test", "eight@remote.test", "sender@remote.test",
                               "seven@remote.test", "sub@remote.test"]
    for rcpt, txn in by_rcpt.items():
        eight = any(b >= 0x80 for b in txn.body)
        assert eight == (rcpt in ("eight@remote.test", "cron@remote.test")), rcpt
        assert announced(txn) == (len(txn.body), eight), rcpt
    assert b"\r\nDate: " in by_rcpt["sub@remote.test"].body  # submission added it
    wait_for(lambda: routed.queued() == [], what="the queue to empty")


def write_queue_entry(p, qid, rcpt, text, body=None):
    """A queue entry written by hand, as an earlier version (body=None) or with a body line."""
    for sub in ("env", "msg"):
        os.makedirs(os.path.join(p.data_dir, "queue", sub), exist_ok=True)
    with open(os.path.join(p.data_dir, "queue", "msg", qid), "wb") as f:
        f.write(text)
    with open(os.path.join(p.data_dir, "queue", "env", qid), "w") as f:
        f.write("postern-queue 1\nid %s\ncreated %d\nfrom a@example.test\n%srcpt P 0 0 %s\n"
                % (qid, int(time.time()), "body %s\n" % body if body else "", rcpt))


def test_a_start_that_fails_after_the_queue_is_read_leaves_no_dsn_in_flight(make_postern):
    """The DSN for a recipient a crash left failed is started by the queue's first turn of
    the loop, not while the daemon opens: a start that fails later (here the control
    socket's path, too long for a unix socket) once freed the queue entry while the DSN's
    write still held it (AddressSanitizer: heap-use-after-free)."""
    p = make(make_postern, {"relay": TRUSTED}, sub="d" * 90)
    p.add_user("alice@example.test")
    write_queue_entry(p, "F1", "gone@remote.test", b"Subject: gone\n\nx\n")
    env = os.path.join(p.data_dir, "queue", "env", "F1")
    with open(env) as f:
        text = f.read().replace("from a@example.test", "from alice@example.test")
    with open(env, "w") as f:
        f.write(text.replace("rcpt P 0 0 ", "rcpt F 1 0 "))
    with pytest.raises(RuntimeError):
        p.start()
    log = p.log()
    assert "cannot listen" in log and "File name too long" in log, log[-2000:]
    assert "AddressSanitizer" not in log and "runtime error:" not in log, log[-3000:]


def test_size_and_8bit_come_from_the_envelope_and_old_envelopes_are_measured_once(make_postern,
                                                                                  sink):
    down = free_port()
    p = make(make_postern, {"relay": TRUSTED,
                            "routes": {"remote.test": "[127.0.0.1]:%d" % sink.port,
                                       "down.test": "[127.0.0.1]:%d" % down}})
    # the envelope says what the client announces: it does not read the text to size it
    write_queue_entry(p, "A1", "a@remote.test", b"Subject: a\n\nplain\n", body="12345 8bit")
    # an envelope from before the body line: the text is measured once, at start
    old = "Subject: b\n\ncaf\u00e9\n".encode()
    write_queue_entry(p, "B2", "b@remote.test", b"Subject: b\n\nplain\n")
    write_queue_entry(p, "C3", "c@down.test", old)
    p.start()
    txns = sink.wait(2)
    by_rcpt = {t.rcpts[0]: t for t in txns}
    assert announced(by_rcpt["a@remote.test"]) == (12345, True)
    assert announced(by_rcpt["b@remote.test"]) == (len(b"Subject: b\r\n\r\nplain\r\n"), False)
    # C3 is deferred; its rewritten envelope now carries the body line
    wait_for(lambda: "rcpt P 1 " in env_text(p, "C3"), what="C3's deferral to be saved")
    assert "\nbody %d 8bit\n" % (len(old) + old.count(b"\n")) in env_text(p, "C3")
    check_clean_exit(p)
