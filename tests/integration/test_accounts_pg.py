"""Accounts and aliases in PostgreSQL (issue 15, SPEC.md "Accounts for several hosts"):
auth.store = postgresql://..., one posternd against a throwaway PostgreSQL. Rows are
written with psql, as an administrator (or another host's posternctl) would: the
schema's triggers NOTIFY every listening host, which reloads. An outage gives
temporary failures only, and the daemon recovers by itself."""
import imaplib
import os
import poplib
import smtplib
import socket
import subprocess
import time
import warnings

import pytest
from conftest import POSTERNCTL, POSTERND, wait_for
from pgsql import DATABASE, SUPERUSER

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
    wait_for(lambda: b"-ERR [AUTH]" in pop3_login(pgmx), timeout=1)
    assert pop3_login(pgmx, password="changed").startswith(b"+OK")
    postgres.psql("INSERT INTO aliases (address, targets) VALUES ('info@example.test', "
                  "'alice@example.test')")
    wait_for(lambda: rcpt(pgmx, "info@example.test")[0] == 250, timeout=1)
    postgres.psql("DELETE FROM accounts WHERE address = 'alice@example.test'")
    wait_for(lambda: rcpt(pgmx, ALICE)[0] == 550, timeout=1)
    assert postgres.password not in pgmx.log()
    with open("/proc/%d/cmdline" % pgmx.proc.pid, "rb") as f:  # nor in ps
        assert postgres.password.encode() not in f.read()


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
    link = os.path.join(pgmx.dir, "sendmail")  # local submission: EX_TEMPFAIL, not EX_NOUSER
    os.symlink(POSTERNCTL, link)
    r = subprocess.run([link, "-C", pgmx.conf, "nobody@example.test"], input=b"Subject: x\n\nx\n",
                       capture_output=True, timeout=30)
    assert r.returncode == 75 and b"account database unavailable" in r.stderr, r
    postgres.start()
    wait_for(lambda: pop3_login(pgmx).startswith(b"+OK"), timeout=10)
    assert rcpt(pgmx, "nobody@example.test")[0] == 550
    assert postgres.password not in pgmx.log()


def test_a_row_the_file_syntax_refuses_is_left_out_not_everything(pgmx, postgres):
    """A row psql let in that the users file's parser refuses (a blank in an address) is
    logged and left out; the other accounts, and changes after it, still load."""
    put_user(postgres, ALICE)
    postgres.psql("INSERT INTO accounts (address, hash) VALUES ('bad user@example.test', 'x')")
    put_user(postgres, "carol@example.test")
    wait_for(lambda: rcpt(pgmx, "carol@example.test")[0] == 250, timeout=5)
    assert pop3_login(pgmx).startswith(b"+OK")
    assert "the row of <bad user@example.test> left out" in pgmx.log()
    postgres.psql("DELETE FROM accounts WHERE address = 'alice@example.test'")
    wait_for(lambda: rcpt(pgmx, ALICE)[0] == 550, timeout=2)


def test_an_unreadable_row_makes_its_address_answer_temporarily(pgmx, postgres):
    """An account whose row cannot be read (a hash with a blank, set by hand) is not
    unknown: its address gets 451 and its logins temporary failures, never a 550,
    until the row is repaired; the other accounts are unaffected."""
    put_user(postgres, ALICE)
    put_user(postgres, "carol@example.test")
    wait_for(lambda: rcpt(pgmx, ALICE)[0] == 250, timeout=5)
    postgres.psql("UPDATE accounts SET hash = 'x y' WHERE address = 'alice@example.test'")
    wait_for(lambda: rcpt(pgmx, ALICE)[0] == 451, timeout=2)
    assert b"[SYS/TEMP]" in pop3_login(pgmx)
    assert rcpt(pgmx, "carol@example.test")[0] == 250
    assert pop3_login(pgmx, "carol@example.test").startswith(b"+OK")
    put_user(postgres, ALICE)  # repaired
    wait_for(lambda: pop3_login(pgmx).startswith(b"+OK"), timeout=2)


def test_refreshes_pipelined_on_the_control_socket_then_a_stop(pgmx, postgres):
    """posternctl's refresh requests pipelined on one control connection while loads of
    100,000 accounts run, then a stop: one load at a time, nothing used after it is freed
    (a refresh answered inside a load's end once started a second load beside the next)."""
    postgres.psql("INSERT INTO accounts (address, hash) SELECT 'u' || i || '@example.test', "
                  "'$6$x$y' FROM generate_series(1, 100000) i")
    wait_for(lambda: "loaded 100000 account(s)" in pgmx.log(), timeout=60)
    loads = pgmx.log().count("auth: loaded")
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(os.path.join(pgmx.data_dir, "control"))
        c.sendall(b"users\n" * 4)
        for _ in range(4):  # each answered once a load that began after it ended
            assert c.recv(256)
        time.sleep(0.05)
        assert pgmx.stop() == 0
    assert pgmx.log().count("auth: loaded") - loads <= 4
    log = pgmx.log()
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log


def test_a_reload_never_answers_from_the_old_tables(pgmx, postgres):
    """While a change is being loaded the old tables are not current: a new account gets
    451, never 550, between its commit and its load (the load of 100,000 accounts takes a
    while), and its login never fails as unknown."""
    postgres.psql("INSERT INTO accounts (address, hash) SELECT 'u' || i || '@example.test', "
                  "'$6$x$y' FROM generate_series(1, 100000) i")
    wait_for(lambda: "loaded 100000 account(s)" in pgmx.log(), timeout=60)
    put_user(postgres, "carol@example.test")
    seen = set()
    for _ in range(400):
        code = rcpt(pgmx, "carol@example.test")[0]
        seen.add(code)
        if code == 250:
            break
    assert 250 in seen and 550 not in seen, seen


def held_aliases(postgres):
    """A psql session holding an exclusive lock on aliases: a load's read of the table
    waits until the session's stdin gets COMMIT."""
    psql = subprocess.Popen([postgres.bin("psql"), "-X", "-q", "-A", "-t", "-h", postgres.sockdir,
                             "-p", str(postgres.port), "-U", SUPERUSER, "-d", DATABASE],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    psql.stdin.write("BEGIN; LOCK TABLE aliases IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
    psql.stdin.flush()
    assert psql.stdout.readline().strip() == "locked"
    return psql


def test_a_change_to_one_account_leaves_the_others_answered_while_it_loads(pgmx, postgres):
    """A change names its rows' addresses (schema version 2): while it loads (held
    here: the load's read of aliases waits on a lock), only the changed address's
    logins answer temporarily, and so does a recipient the tables do not know
    (an alias or a catch-all may lead through the changed row); every other login
    and known recipient is answered from the tables in force."""
    put_user(postgres, ALICE)
    put_user(postgres, "bob@example.test")
    postgres.psql("INSERT INTO aliases VALUES ('info@example.test', 'carol@example.test'), "
                  "('team@example.test', 'alice@example.test, carol@example.test')")
    wait_for(lambda: rcpt(pgmx, "bob@example.test")[0] == 250, timeout=5)
    wait_for(lambda: rcpt(pgmx, "info@example.test")[0] == 550, timeout=5)  # no mailbox yet
    assert rcpt(pgmx, "team@example.test")[0] == 250  # alice's copy; carol is no one yet
    psql = held_aliases(postgres)
    try:
        put_user(postgres, "bob@example.test", "changed")
        put_user(postgres, "carol@example.test")
        wait_for(lambda: b"[SYS/TEMP]" in pop3_login(pgmx, "bob@example.test", "changed"),
                 timeout=5, what="bob unsure while his row loads")
        assert rcpt(pgmx, "bob@example.test")[0] == 250  # known before: mail still flows
        assert pop3_login(pgmx).startswith(b"+OK")
        assert imap_login(pgmx) == "OK"
        assert rcpt(pgmx, ALICE)[0] == 250
        assert rcpt(pgmx, "info@example.test")[0] == 451  # carol may be behind it now
        assert rcpt(pgmx, "team@example.test")[0] == 451  # not alice's copy alone
        assert rcpt(pgmx, "nobody@example.test")[0] == 451
        assert b"[SYS/TEMP]" in pop3_login(pgmx, "bob@example.test", "secret")
    finally:
        psql.communicate("COMMIT;\n", timeout=10)
    wait_for(lambda: pop3_login(pgmx, "bob@example.test", "changed").startswith(b"+OK"), timeout=5)
    assert b"-ERR [AUTH]" in pop3_login(pgmx, "bob@example.test", "secret")
    wait_for(lambda: rcpt(pgmx, "info@example.test")[0] == 250, timeout=5)  # carol's load too
    wait_for(lambda: rcpt(pgmx, "nobody@example.test")[0] == 550, timeout=5)


def test_a_load_that_fails_while_up_is_tried_again(pgmx, postgres):
    """A load can fail with the connection up (a privilege revoked): the changed address
    then stays unsure, and the load is retried by itself, without a NOTIFY."""
    put_user(postgres, ALICE)
    wait_for(lambda: rcpt(pgmx, ALICE)[0] == 250, timeout=5)
    postgres.psql("REVOKE SELECT ON aliases FROM postern")
    put_user(postgres, "carol@example.test")
    wait_for(lambda: "cannot load accounts" in pgmx.log(), timeout=5)
    wait_for(lambda: pgmx.log().count("cannot load accounts") >= 3, timeout=10,
             what="two retries, failing too")
    assert rcpt(pgmx, "carol@example.test")[0] == 451
    assert b"[SYS/TEMP]" in pop3_login(pgmx, "carol@example.test")
    assert pop3_login(pgmx).startswith(b"+OK")  # alice's row did not change
    postgres.psql("GRANT SELECT ON aliases TO postern")  # no NOTIFY: the retry finds it
    wait_for(lambda: rcpt(pgmx, "carol@example.test")[0] == 250, timeout=5)


def test_a_bad_url_stops_the_start_and_fails_the_check(make_postern):
    p = make_postern({"auth": {"store": "postgresql://u:hunter2@/"}})
    r = subprocess.run([POSTERND, "-c", p.conf, "--check"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and "auth.store: no host" in r.stderr and "hunter2" not in r.stderr
    with pytest.raises(RuntimeError, match="auth.store"):
        p.start()
    assert "hunter2" not in p.log()
