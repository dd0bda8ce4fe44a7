"""Accounts and aliases in PostgreSQL (issue 15, SPEC.md "Accounts for several hosts"):
auth.store = postgresql://..., one posternd against a throwaway PostgreSQL. Rows are
written with psql, as an administrator (or another host's posternctl) would: the
schema's triggers NOTIFY every listening host, which reloads. An outage gives
temporary failures only, and the daemon recovers by itself."""
import imaplib
import poplib
import smtplib
import time
import warnings

import pytest
from conftest import wait_for

with warnings.catch_warnings():  # deprecated in 3.11, still in Debian 12's Python
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

ALICE = "alice@example.test"


def hash_of(password):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def put_user(pg, address, password="secret"):
    pg.psql("INSERT INTO accounts (address, hash) VALUES (%s, %s) ON CONFLICT (address) "
            "DO UPDATE SET hash = EXCLUDED.hash" % (sql_str(address), sql_str(hash_of(password))))


def rcpt(p, address):
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        s.mail("bob@remote.test")
        return s.rcpt(address)


def pop3_login(p, user=ALICE, password="secret"):
    m = poplib.POP3("127.0.0.1", p.ports["pop3"], timeout=10)
    try:
        return m.user(user) and m.pass_(password)
    except poplib.error_proto as e:
        return e.args[0]
    finally:
        try:
            m.quit()
        except (poplib.error_proto, OSError):
            pass


def imap_login(p, user=ALICE, password="secret"):
    m = imaplib.IMAP4("127.0.0.1", p.ports["imap"], timeout=10)
    try:
        return m.login(user, password)[0]
    except imaplib.IMAP4.error as e:
        return str(e)
    finally:
        m.shutdown()


@pytest.fixture
def pgmx(postgres, make_postern):
    p = make_postern({"auth": {"store": postgres.url()}})
    p.start()
    wait_for(lambda: "auth: loaded" in p.log(), timeout=10)
    return p


def test_accounts_come_from_postgresql_and_changes_apply_within_a_second(pgmx, postgres):
    assert rcpt(pgmx, ALICE)[0] == 550
    put_user(postgres, ALICE)
    t0 = time.monotonic()
    wait_for(lambda: rcpt(pgmx, ALICE)[0] == 250, timeout=5)
    assert time.monotonic() - t0 < 1.0
    assert pop3_login(pgmx).startswith(b"+OK")
    assert imap_login(pgmx) == "OK"
    put_user(postgres, ALICE, "changed")  # a new password: the old one fails at once
    wait_for(lambda: b"-ERR" in pop3_login(pgmx), timeout=1)
    assert pop3_login(pgmx, password="changed").startswith(b"+OK")
    postgres.psql("INSERT INTO aliases (address, targets) VALUES ('info@example.test', "
                  "'alice@example.test')")
    wait_for(lambda: rcpt(pgmx, "info@example.test")[0] == 250, timeout=1)
    postgres.psql("DELETE FROM accounts WHERE address = 'alice@example.test'")
    wait_for(lambda: rcpt(pgmx, ALICE)[0] == 550, timeout=1)
    assert postgres.password not in pgmx.log()


def test_an_outage_gives_temporary_failures_and_recovery_is_automatic(pgmx, postgres):
    put_user(postgres, ALICE)
    wait_for(lambda: rcpt(pgmx, ALICE)[0] == 250, timeout=5)
    postgres.stop()
    wait_for(lambda: "auth: postgresql://" in pgmx.log() and " down: " in pgmx.log(), timeout=15)
    assert rcpt(pgmx, "nobody@example.test")[0] == 451  # may be new: never a bounce
    assert rcpt(pgmx, ALICE)[0] == 250                   # known: mail still flows
    assert b"[SYS/TEMP]" in pop3_login(pgmx)
    assert "[UNAVAILABLE]" in imap_login(pgmx)
    with smtplib.SMTP("127.0.0.1", pgmx.ports["submission"], timeout=10) as s:
        s.ehlo("client.test")
        code, _ = s.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=")
        assert code == 454
    postgres.start()
    wait_for(lambda: pop3_login(pgmx).startswith(b"+OK"), timeout=10)
    assert rcpt(pgmx, "nobody@example.test")[0] == 550
    assert postgres.password not in pgmx.log()


def test_a_bad_url_stops_the_start(make_postern):
    p = make_postern({"auth": {"store": "postgresql://u@/"}})
    with pytest.raises(RuntimeError, match="auth.store"):
        p.start()
