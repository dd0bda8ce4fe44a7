"""Several hosts behind one name (issue 15, SPEC.md "Accounts for several hosts"): two
posternd, each in its own network namespace with its own address, sharing accounts and
aliases in PostgreSQL, relay grants in Redis, and one mail root (DATA_DIR/mail of each
is a bind mount of the same directory: another mount than the rest of DATA_DIR, as an
NFS mail root is). The test talks to both from the root namespace, over the bridge."""
import imaplib
import os
import poplib
import smtplib
import subprocess
import time
import warnings

import pytest
from conftest import wait_for

with warnings.catch_warnings():  # deprecated in 3.11, still in Debian 12's Python
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

ALICE = "alice@example.test"


def mount_bind(src, dst, request):
    os.makedirs(dst, exist_ok=True)
    subprocess.run(["mount", "--bind", src, dst], check=True)
    request.addfinalizer(lambda: subprocess.run(["umount", "-l", dst], check=False))


@pytest.fixture
def hosts(two_hosts, make_postern, tmp_path, request):
    shared = str(tmp_path / "shared-mail")
    os.makedirs(shared)
    out = []
    for i in range(2):
        p = make_postern({"server": {"hostname": "mx%d.example.test" % i},
                          "auth": {"store": two_hosts.pg.url(host=two_hosts.host_addr),
                                   "allow_plaintext": "yes"},  # the bridge is not loopback
                          "relay": {"store": two_hosts.redis.url()}}, sub="host%d" % i)
        p.host = two_hosts.addr(i)
        p.wrap = (lambda k: lambda argv: two_hosts.wrap(k, argv))(i)
        p.write_config()
        mount_bind(shared, os.path.join(p.data_dir, "mail"), request)
        p.start()
        out.append(p)
    for p in out:
        wait_for(lambda: "auth: loaded" in p.log(), timeout=15, what="accounts loaded")
    return out


def put_user(pg, address, password="secret"):
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    pg.psql("INSERT INTO accounts (address, hash) VALUES ('%s', '%s') ON CONFLICT (address) "
            "DO UPDATE SET hash = EXCLUDED.hash" % (address, h))


def rcpt(p, address, sender="bob@remote.test"):
    with smtplib.SMTP(p.host, p.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        s.mail(sender)
        return s.rcpt(address)[0]


def send(p, rcpt_to, subject):
    with smtplib.SMTP(p.host, p.smtp_port, timeout=10) as s:
        s.sendmail("bob@remote.test", [rcpt_to], "Subject: %s\r\n\r\nhello\r\n" % subject)


def pop3(p, user=ALICE, password="secret"):
    m = poplib.POP3(p.host, p.ports["pop3"], timeout=10)
    m.user(user)
    m.pass_(password)
    return m


def pop3_answer(p, user=ALICE, password="secret"):
    try:
        pop3(p, user, password).quit()
        return "+OK"
    except poplib.error_proto as e:
        return e.args[0].decode()


def test_two_hosts_share_accounts_grants_and_mail(two_hosts, hosts):
    a, b = hosts
    assert rcpt(b, ALICE) == 550
    t0 = time.monotonic()
    a.ctl("user", "add", ALICE, stdin="secret\n")  # posternctl of host A, into the database
    wait_for(lambda: rcpt(a, ALICE) == 250 and rcpt(b, ALICE) == 250, timeout=5)
    assert time.monotonic() - t0 < 1.5

    # a POP3 login on A (from the bridge address) opens relaying from that address on B
    assert rcpt(b, "someone@remote.example", sender=ALICE) == 554
    pop3(a).quit()
    wait_for(lambda: rcpt(b, "someone@remote.example", sender=ALICE) == 250, timeout=2)
    with smtplib.SMTP(b.host, b.smtp_port, timeout=10) as s:  # queued: copied off the mail mount
        s.sendmail(ALICE, ["someone@remote.example"], "Subject: relayed\r\n\r\nhello\r\n")
    queued = os.path.join(b.data_dir, "queue", "msg")
    (qid,) = wait_for(lambda: os.listdir(queued), timeout=5)
    with open(os.path.join(queued, qid), "rb") as f:
        assert b"Subject: relayed" in f.read()

    assert pop3_answer(b) == "+OK"
    a.ctl("user", "passwd", ALICE, stdin="changed\n")
    wait_for(lambda: pop3_answer(a).startswith("-ERR [AUTH]") and
             pop3_answer(b).startswith("-ERR [AUTH]"), timeout=1)
    assert pop3_answer(b, password="changed") == "+OK"

    send(a, ALICE, "from host a")  # received on A, retrieved on B
    m = pop3(b, password="changed")
    assert m.stat()[0] == 1 and b"Subject: from host a" in b"\n".join(m.retr(1)[1])
    assert pop3_answer(a, password="changed").startswith("-ERR [IN-USE]")  # held across hosts
    m.quit()

    b.ctl("user", "del", ALICE)  # posternctl of host B
    wait_for(lambda: rcpt(a, ALICE) == 550 and rcpt(b, ALICE) == 550, timeout=1)
    for p in hosts:
        assert two_hosts.pg.password not in p.log()


def test_a_database_outage_gives_temporary_failures_on_both_hosts(two_hosts, hosts):
    put_user(two_hosts.pg, ALICE)
    for p in hosts:
        wait_for(lambda: rcpt(p, ALICE) == 250, timeout=5)
    two_hosts.pg.stop()
    for p in hosts:
        wait_for(lambda: " down: " in p.log(), timeout=15, what="the outage noticed")
        assert rcpt(p, "new@example.test") == 451
        assert rcpt(p, ALICE) == 250
        assert "[SYS/TEMP]" in pop3_answer(p)
        m = imaplib.IMAP4(p.host, p.ports["imap"], timeout=10)
        with pytest.raises(imaplib.IMAP4.error, match=r"UNAVAILABLE"):
            m.login(ALICE, "secret")
        m.shutdown()
    two_hosts.pg.start()
    for p in hosts:
        wait_for(lambda: pop3_answer(p) == "+OK", timeout=10, what="recovery")
        assert rcpt(p, "new@example.test") == 550
