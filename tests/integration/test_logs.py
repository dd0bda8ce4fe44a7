"""The delivery log: one line per recipient and attempt, as a Postfix
administrator greps it (SPEC.md "Logs"): to=<...>, status=sent|deferred|bounced
and why, with the queue id that joins the from=<...> line."""
import re
import smtplib

import pytest
from test_outbound import BODY, check_clean_exit, relay, wait_for

TRUSTED = {"trusted_networks": "127.0.0.1/32"}


@pytest.fixture
def routed(make_postern, sink):
    p = make_postern({"relay": TRUSTED,
                      "routes": {"remote.test": "[127.0.0.1]:%d" % sink.port}})
    p.add_user("alice@example.test")
    p.add_user("bob@example.test")
    p.start()
    yield p
    check_clean_exit(p)


def lines_for(p, rcpt):
    """The delivery lines of rcpt, in order."""
    return [ln for ln in p.log().splitlines() if "to=<%s>" % rcpt in ln and "status=" in ln]


def queue_id_of_from_line(p, sender):
    m = re.search(r"queued id=(\w+) from=<%s>" % re.escape(sender), p.log())
    assert m, p.log()[-2000:]
    return m.group(1)


def test_local_delivery_has_a_line_per_recipient_joined_by_the_queue_id(routed):
    with smtplib.SMTP("127.0.0.1", routed.smtp_port) as s:
        s.sendmail("someone@outside.test", ["alice@example.test", "Bob@Example.Test"],
                   b"Subject: hi\r\n\r\nhello\r\n")
    qid = queue_id_of_from_line(routed, "someone@outside.test")
    for rcpt in ("alice@example.test", "bob@example.test"):
        (line,) = wait_for(lambda: lines_for(routed, rcpt), what="the line of %s" % rcpt)
        assert "id=%s " % qid in line
        assert "relay=local status=sent (delivered to maildir)" in line


def test_local_delivery_by_sendmail_is_logged(routed):
    r = routed.ctl("sendmail", "alice@example.test", stdin="Subject: s\n\nbody\n", check=False)
    assert r.returncode == 0, r.stderr
    (line,) = wait_for(lambda: lines_for(routed, "alice@example.test"), what="the line")
    assert "status=sent (delivered to maildir)" in line


def test_remote_sent_deferred_and_bounced_lines(routed, sink):
    sink.rcpt_replies["later@remote.test"] = "451 4.3.0 try again later"
    sink.rcpt_replies["nobody@remote.test"] = "550 5.1.1 <nobody@remote.test>: User unknown"
    relay(routed, "alice@example.test",
          ["bob@remote.test", "later@remote.test", "nobody@remote.test"], BODY.encode())
    sink.wait(1)
    relay_re = r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d " % sink.port
    (sent,) = wait_for(lambda: lines_for(routed, "bob@remote.test"), what="sent")
    assert re.search(relay_re + r"status=sent \(250 ", sent), sent
    (deferred,) = wait_for(lambda: lines_for(routed, "later@remote.test"), what="deferred")
    assert re.search(relay_re + r"status=deferred \(.*451 4\.3\.0 try again later", deferred)
    (bounced,) = wait_for(lambda: lines_for(routed, "nobody@remote.test"), what="bounced")
    assert re.search(relay_re + r"status=bounced \(.*550 5\.1\.1", bounced), bounced
    qid = re.search(r"id=(\w+) from=<alice@example.test>", sent).group(1)
    assert all("id=%s " % qid in ln for ln in (deferred, bounced))
    # the bounce itself is a local delivery to the sender, with a line of its own
    (dsn,) = wait_for(lambda: lines_for(routed, "alice@example.test"), what="the DSN")
    assert "relay=local status=sent (delivered to maildir)" in dsn
