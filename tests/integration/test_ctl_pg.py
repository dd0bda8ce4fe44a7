"""posternctl user and alias against auth.store = postgresql://... (issue 15, SPEC.md
"Accounts for several hosts"): the same commands and checks as with the files,
the rows in the tables accounts and aliases, a running posternd on that database
using a change when posternctl returns, changes from several posternctl at once
kept (the tables are locked for a change), an outage a quick and clear failure,
and the URL's password in no output."""
import os
import poplib
import smtplib
import subprocess
import time

import pytest
from conftest import POSTERNCTL, wait_for

ALICE = "alice@example.test"
BOB = "bob@example.test"
DOMAINS = "example.test, other.test, empty.test"


def ctl(pg, p, *args, stdin=""):
    """posternctl with p's configuration; the URL's password is in none of its output."""
    r = p.ctl(*args, stdin=stdin, check=False)
    assert pg.password not in r.stdout + r.stderr
    assert "Sanitizer" not in r.stderr, r.stderr
    return r


def ok(pg, p, *args, stdin=""):
    r = ctl(pg, p, *args, stdin=stdin)
    assert r.returncode == 0, r.stderr
    return r


def failed(pg, p, message, *args, stdin=""):
    """posternctl fails with status 1 and message on stderr."""
    r = ctl(pg, p, *args, stdin=stdin)
    assert r.returncode == 1, r
    assert message in r.stderr, r.stderr
    return r


def accounts(pg):
    """{address: (hash, secret)} of the table accounts (secret None for SQL NULL)."""
    out = pg.psql("SELECT address, hash, coalesce(secret, '<null>') FROM accounts "
                  "ORDER BY address")
    rows = (line.split("|", 2) for line in out.splitlines() if line)
    return {a: (h, None if s == "<null>" else s) for a, h, s in rows}


def aliases(pg):
    """{address: targets} of the table aliases."""
    out = pg.psql("SELECT address, targets FROM aliases ORDER BY address")
    return dict(line.split("|", 1) for line in out.splitlines() if line)


def rcpt(p, address):
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        s.mail("bob@remote.test")
        return s.rcpt(address)[0]


def pop3_login(p, user, password):
    """True when POP3 USER/PASS succeeds."""
    m = poplib.POP3("127.0.0.1", p.ports["pop3"], timeout=10)
    try:
        m.user(user)
        m.pass_(password)
        return True
    except poplib.error_proto:
        return False
    finally:
        try:
            m.quit()
        except (poplib.error_proto, OSError):
            pass


def as_superuser(pg, sql):
    """Start psql running sql as the superuser (in the background); the process."""
    kw = {}
    if pg.run_as:
        kw = dict(user=pg.run_as.pw_uid, group=pg.run_as.pw_gid, extra_groups=[])
    return subprocess.Popen([pg.bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                             "-h", pg.sockdir, "-p", str(pg.port), "-U", "postgres",
                             "-d", pg.db, "-c", sql], cwd=pg.dir, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def lock_held(pg):
    """True while a session holds an exclusive lock on the table accounts."""
    return pg.psql("SELECT count(*) FROM pg_locks WHERE relation = 'accounts'::regclass "
                   "AND mode = 'ExclusiveLock' AND granted").strip() == "1"


@pytest.fixture
def conf(postgres, make_postern):
    """A configuration (no daemon) with auth.store on the throwaway PostgreSQL."""
    return make_postern({"auth": {"store": postgres.url()}, "domains": {"local": DOMAINS}})


@pytest.fixture
def pgmx(conf):
    """A posternd on that configuration, its tables loaded."""
    conf.start()
    wait_for(lambda: "auth: loaded" in conf.log(), timeout=10)
    return conf


def test_user_commands_write_the_table_and_the_daemon_uses_them_at_once(postgres, pgmx):
    assert rcpt(pgmx, ALICE) == 550
    ok(postgres, pgmx, "user", "add", ALICE, stdin="first\n")
    hash_, secret = accounts(postgres)[ALICE]
    assert hash_.startswith("$") and secret is None
    assert rcpt(pgmx, ALICE) == 250  # in force when posternctl returned: no waiting
    assert pop3_login(pgmx, ALICE, "first")

    ok(postgres, pgmx, "user", "passwd", ALICE, "--apop", stdin="second\nshared-secret\n")
    assert accounts(postgres)[ALICE][1] == "shared-secret"
    assert accounts(postgres)[ALICE][0] != hash_
    assert not pop3_login(pgmx, ALICE, "first")
    assert pop3_login(pgmx, ALICE, "second")
    ok(postgres, pgmx, "user", "add", BOB, stdin="bobpw\n")
    assert ok(postgres, pgmx, "user", "list").stdout == ALICE + " (apop)\n" + BOB + "\n"

    ok(postgres, pgmx, "user", "passwd", ALICE, stdin="third\n")  # without --apop: no secret
    assert accounts(postgres)[ALICE][1] is None
    ok(postgres, pgmx, "user", "del", ALICE)
    assert list(accounts(postgres)) == [BOB]
    assert rcpt(pgmx, ALICE) == 550
    assert not pop3_login(pgmx, ALICE, "third")
    assert rcpt(pgmx, BOB) == 250
    assert postgres.password not in pgmx.log()


def test_alias_commands_write_the_table_and_the_daemon_uses_them_at_once(postgres, pgmx):
    ok(postgres, pgmx, "user", "add", ALICE, stdin="pw\n")
    ok(postgres, pgmx, "user", "add", BOB, stdin="pw\n")
    assert rcpt(pgmx, "info@example.test") == 550
    ok(postgres, pgmx, "alias", "add", "Info@Example.TEST", "alice@example.test,",
       "bob@example.test")
    assert aliases(postgres) == {"info@example.test": "alice@example.test, bob@example.test"}
    assert rcpt(pgmx, "info@example.test") == 250

    r = ok(postgres, pgmx, "alias", "add", "info@example.test", "bob@example.test")
    assert "replaced" in r.stderr
    ok(postgres, pgmx, "alias", "add", "@other.test", "info@example.test")
    assert aliases(postgres) == {"info@example.test": "bob@example.test",
                                 "@other.test": "info@example.test"}
    assert rcpt(pgmx, "anyone@other.test") == 250
    out = ok(postgres, pgmx, "alias", "list").stdout.splitlines()
    assert out[:2] == ["@other.test: info@example.test", "info@example.test: bob@example.test"]
    assert "postmaster@example.test -> first account alice@example.test" in out

    ok(postgres, pgmx, "alias", "del", "@other.test")
    ok(postgres, pgmx, "alias", "del", "info@example.test")
    assert aliases(postgres) == {}
    assert rcpt(pgmx, "info@example.test") == 550
    assert rcpt(pgmx, "anyone@other.test") == 550


@pytest.mark.parametrize("args, message", [
    (["user", "add", ALICE], "alice@example.test: account exists"),
    (["user", "passwd", "ghost@example.test"], "ghost@example.test: no such account"),
    (["user", "del", "ghost@example.test"], "ghost@example.test: no such account"),
    (["user", "add", "bad:name@example.test"], "bad:name@example.test: "),
    (["alias", "add", "x@example.test", "ghost@example.test"],
     "ghost@example.test: no such account or alias"),
    (["alias", "add", "x@example.test", "postmaster@empty.test"],
     "postmaster@empty.test: no such account or alias"),
    (["alias", "add", "alice@example.test", "bob@example.test"],
     "alice@example.test: is an account, and an account comes first"),
    (["alias", "add", "x@remote.example", "alice@example.test"],
     "x@remote.example: remote.example is not in domains.local"),
    (["alias", "add", "keep@example.test", "loop@example.test"],
     "keep@example.test: refused: alias loop"),
    (["alias", "add", "x@example.test", "x@example.test"], "refused: alias loop"),
    (["alias", "del", "keep@example.test"], "keep@example.test: still a target of"),
    (["alias", "del", "nobody@example.test"], "nobody@example.test: no such alias"),
])
def test_the_same_checks_as_the_file_store(postgres, conf, args, message):
    ok(postgres, conf, "user", "add", ALICE, stdin="pw\n")
    ok(postgres, conf, "user", "add", BOB, stdin="pw\n")
    ok(postgres, conf, "alias", "add", "keep@example.test", "alice@example.test")
    ok(postgres, conf, "alias", "add", "loop@example.test", "keep@example.test")
    before = (accounts(postgres), aliases(postgres))
    failed(postgres, conf, message, *args, stdin="pw\n")
    assert (accounts(postgres), aliases(postgres)) == before  # nothing written


def test_concurrent_changes_from_several_posternctl_all_land(postgres, conf):
    users = ["user%d@example.test" % i for i in range(8)]
    procs = [subprocess.Popen([POSTERNCTL, "-c", conf.conf, "user", "add", u],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for u in users]
    procs.append(subprocess.Popen([POSTERNCTL, "-c", conf.conf, "alias", "add",
                                   "all@other.test", "bob@remote.example"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(input="pw\n" if p.stdin else None, timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), outs
    assert sorted(accounts(postgres)) == sorted(users)
    assert aliases(postgres) == {"all@other.test": "bob@remote.example"}


def test_a_change_waits_for_the_lock_and_then_sees_what_was_committed(postgres, conf):
    ok(postgres, conf, "user", "list")  # the schema exists
    holder = as_superuser(postgres, "BEGIN; LOCK TABLE accounts IN EXCLUSIVE MODE; "
                          "INSERT INTO accounts (address, hash) VALUES "
                          "('alice@example.test', '$6$salt$hash'); "
                          "SELECT pg_sleep(2); COMMIT;")
    try:
        wait_for(lambda: lock_held(postgres), timeout=10, what="the lock")
        t0 = time.monotonic()
        dup = conf.ctl("user", "add", ALICE, stdin="pw\n", check=False)
        assert time.monotonic() - t0 > 0.5  # it waited for the other transaction
        assert dup.returncode == 1 and "alice@example.test: account exists" in dup.stderr
        assert ok(postgres, conf, "user", "list").stdout == ALICE + "\n"
    finally:
        holder.communicate(timeout=30)
    assert holder.returncode == 0


def test_a_lock_never_released_fails_after_the_lock_timeout(postgres, conf):
    ok(postgres, conf, "user", "list")
    holder = as_superuser(postgres, "BEGIN; LOCK TABLE accounts IN EXCLUSIVE MODE; "
                          "SELECT pg_sleep(14); COMMIT;")
    try:
        wait_for(lambda: lock_held(postgres), timeout=10, what="the lock")
        t0 = time.monotonic()
        r = failed(postgres, conf, "lock timeout", "user", "add", ALICE, stdin="pw\n")
        assert 8 < time.monotonic() - t0 < 13
        assert "locking accounts and aliases" in r.stderr
        assert ok(postgres, conf, "user", "list").stdout == ""  # reads do not wait
    finally:
        holder.communicate(timeout=30)
    assert accounts(postgres) == {}


def test_postgresql_down_is_a_quick_clear_failure(postgres, conf):
    ok(postgres, conf, "user", "add", ALICE, stdin="pw\n")
    postgres.stop()
    for args in (["user", "add", BOB], ["user", "del", ALICE], ["user", "list"],
                 ["alias", "add", "x@example.test", ALICE], ["alias", "list"]):
        t0 = time.monotonic()
        r = failed(postgres, conf, "Connection refused", *args, stdin="pw\n")
        assert time.monotonic() - t0 < 6
        assert r.stderr.startswith("posternctl: postgresql://postern:***@127.0.0.1:%d/"
                                   % postgres.port), r.stderr
    postgres.start()
    assert ok(postgres, conf, "user", "list").stdout == ALICE + "\n"


def test_a_wrong_password_is_refused_without_being_shown(postgres, make_postern):
    bad = "Wr0ng-pass-word"
    p = make_postern({"auth": {"store": postgres.url(password=bad)}})
    r = failed(postgres, p, "password authentication failed", "user", "list")
    assert bad not in r.stdout + r.stderr


def test_a_row_the_file_syntax_cannot_hold_is_refused(postgres, conf):
    ok(postgres, conf, "user", "add", ALICE, stdin="pw\n")
    postgres.psql("INSERT INTO aliases (address, targets) VALUES "
                  "('evil@example.test', E'alice@example.test\\nbob@example.test: x')")
    for args in (["alias", "list"], ["alias", "add", "x@example.test", ALICE]):
        failed(postgres, conf, "table aliases: the row of \"evil@example.test\" holds "
               "a line break", *args)
    assert "x@example.test" not in postgres.psql("SELECT address FROM aliases")
    ok(postgres, conf, "user", "add", BOB, stdin="pw\n")  # the accounts need no aliases
    postgres.psql("DELETE FROM aliases; INSERT INTO accounts (address, hash) VALUES "
                  "('bad@example.test', '$6$a:b')")
    for args in (["user", "list"], ["user", "del", ALICE], ["alias", "list"]):
        failed(postgres, conf, "table accounts: the row of \"bad@example.test\"", *args)
    assert sorted(accounts(postgres)) == [ALICE, "bad@example.test", BOB]
    assert not os.path.exists(os.path.join(conf.data_dir, "users"))
