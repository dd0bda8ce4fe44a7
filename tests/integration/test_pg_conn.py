"""The PostgreSQL connection of auth.store (src/auth/pg.h) against a throwaway
PostgreSQL (the postgres fixture), with no daemon.

A small C driver (tests/integration/pg_driver.c, compiled here against the
libpostern.a beside POSTERND, with ASan) opens one connection on a libevent
loop, takes queries on stdin and prints what happens: up, down, notify,
results. The tests check the schema it creates, notifications from psql's
changes, queries with parameters, outages that end in errors within a bound
(never a hang) and recovery within seconds, refusal of a newer schema, two
hosts creating the schema at once, the passfile, and that the password never
reaches the driver's output or log.
"""
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.parse

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
POSTERND = os.environ.get("POSTERND", os.path.join(ROOT, "build", "posternd"))
CHANNEL = "postern_accounts"
VERSION = "2"  # auth/pg_schema.h PG_SCHEMA_VERSION


@pytest.fixture(scope="module")
def driver_bin(tmp_path_factory):
    """pg_driver, compiled against the library beside POSTERND (a compile error fails the tests)."""
    lib = os.path.join(os.path.dirname(POSTERND), "libpostern.a")
    if not os.path.exists(lib):
        pytest.fail("%s is missing: build first (make all)" % lib)
    out = str(tmp_path_factory.mktemp("pgdrv") / "pg_driver")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libevent", "libevent_pthreads",
                            "libpq"], check=True, capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-g", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=address,undefined", "-I" + os.path.join(ROOT, "src"), "-o", out,
                    os.path.join(ROOT, "tests", "integration", "pg_driver.c"), lib]
                   + flags + ["-lpthread"], check=True)
    return out


def driver_env(tmp_path):
    """No PG* variables and a HOME without .pgpass: only the URL decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["HOME"] = str(tmp_path)
    return env


class Driver:
    """One pg_driver process: send commands, wait for event lines."""

    count = 0

    def __init__(self, binary, tmp_path, url, *args, channels=(CHANNEL,)):
        Driver.count += 1
        self.err_path = str(tmp_path / ("driver-%d.err" % Driver.count))
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen([binary] + list(args) + [url] + list(channels),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, env=driver_env(tmp_path))
        self.lines = queue.Queue()
        self.seen = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.seen.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, prefix, timeout=10.0):
        """The next line starting with prefix (lines before it are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise AssertionError("no %r within %.1f s; output so far:\n%s\nlog:\n%s"
                                     % (prefix, timeout, "\n".join(self.seen), self.log()))
            if line.startswith(prefix):
                return line

    def none(self, prefix, seconds):
        """No line starting with prefix arrives within seconds."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                return
            assert not line.startswith(prefix), "unexpected %r" % line

    def query(self, qid, sql, *params, timeout=10.0):
        """Run sql; (result line, rows as lists)."""
        self.send("query %s %s" % (qid, "\t".join((sql,) + params)))
        line = self.expect("result %s " % qid, timeout)
        rows = []
        if " ok " in line:
            for _ in range(int(line.split()[-1])):
                rows.append(self.expect("row %s " % qid).split(" ", 2)[2].split("|"))
        return line, rows

    def log(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.err_path) as f:
            return f.read()

    def output(self):
        return "\n".join(self.seen) + "\n" + self.log()

    def close(self, timeout=10):
        """close, wait for the exit; its status (ASan leak reports make it non-zero)."""
        try:
            self.send("close")
        except (BrokenPipeError, OSError):
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("pg_driver did not exit on close:\n" + self.output())
        self.reader.join(5)
        self.err.close()
        return rc


@pytest.fixture
def drivers(driver_bin, tmp_path, postgres):
    """start(url, *options) runs a driver; at teardown each must exit cleanly, and no
    output or log line may hold the database password."""
    started = []

    def start(url, *args, **kw):
        d = Driver(driver_bin, tmp_path, url, *args, **kw)
        started.append(d)
        return d

    yield start
    for d in started:
        if d.proc.returncode is None:
            assert d.close() == 0, d.output()
        assert postgres.password not in d.output()


def sync(driver_bin, tmp_path, url):
    r = subprocess.run([driver_bin, "sync", url], capture_output=True, text=True, timeout=30,
                       env=driver_env(tmp_path))
    return r.returncode, r.stdout.strip(), r.stdout + r.stderr


def test_up_creates_the_schema_and_changes_are_notified(postgres, drivers):
    d = drivers(postgres.url())
    assert d.expect("open ") == "open " + postgres.url().replace(postgres.password, "***")
    d.expect("up")
    assert postgres.psql("SELECT version FROM postern_schema").split() == [VERSION]
    assert postgres.psql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1").split() \
        == ["%s_notify%s" % (t, e) for t in ("accounts", "aliases")
            for e in ("", "_delete", "_insert", "_update")]
    notices_of_each_row(postgres, d)
    assert "up (schema version %s)" % VERSION in d.log()


def notices_of_each_row(postgres, d):
    """Each row a statement touches is notified by address at commit (an address
    changed: both), once per address and transaction; a TRUNCATE names its table."""
    postgres.psql("INSERT INTO accounts (address, hash) VALUES ('alice@example.test', '$6$x$y')")
    assert d.expect("notify ", 5) == "notify %s accounts:alice@example.test" % CHANNEL
    postgres.psql("INSERT INTO aliases VALUES ('info@example.test', 'alice@example.test')")
    assert d.expect("notify ", 5) == "notify %s aliases:info@example.test" % CHANNEL
    postgres.psql("UPDATE accounts SET secret = 's'; DELETE FROM aliases; TRUNCATE accounts")
    for payload in ("accounts:alice@example.test", "aliases:info@example.test", "accounts"):
        assert d.expect("notify ", 5) == "notify %s %s" % (CHANNEL, payload)
    postgres.psql("BEGIN; INSERT INTO accounts VALUES ('a@example.test', 'h'); "
                  "UPDATE accounts SET secret = 's' WHERE address = 'a@example.test'; "
                  "UPDATE accounts SET address = 'b@example.test'; COMMIT; SELECT 1")
    for payload in ("accounts:a@example.test", "accounts:b@example.test"):
        assert d.expect("notify ", 5) == "notify %s %s" % (CHANNEL, payload)
    postgres.psql("INSERT INTO accounts VALUES ('%s@example.test', 'h')" % ("x" * 1000))
    assert d.expect("notify ", 5) == "notify %s accounts" % CHANNEL  # too long to name
    postgres.psql("INSERT INTO aliases SELECT 'a' || i || '@example.test', 'b@example.test' "
                  "FROM generate_series(1, 100) i")
    assert sorted(d.expect("notify ", 5) for _ in range(100)) == sorted(
        "notify %s aliases:a%d@example.test" % (CHANNEL, i) for i in range(1, 101))
    postgres.psql("INSERT INTO aliases VALUES ('a101@example.test', 'b@example.test')")
    assert d.expect("notify ", 5) == "notify %s aliases:a101@example.test" % CHANNEL
    postgres.psql("UPDATE aliases SET targets = 'c@example.test'")  # 101 rows: the table
    assert d.expect("notify ", 5) == "notify %s aliases" % CHANNEL
    d.none("notify ", 0.5)


def test_version_1_is_migrated_to_notices_of_each_row(postgres, drivers, driver_bin):
    """A database a postern of schema version 1 made (one notice per table and
    statement) is migrated on connection, and notifies rows from then on."""
    step1 = subprocess.run([driver_bin, "step", "1"], capture_output=True, text=True,
                           check=True).stdout
    postgres.psql("SET ROLE %s;\n%s\nUPDATE postern_schema SET version = 1;" % (postgres.user, step1))
    d = drivers(postgres.url())
    d.expect("up")
    assert postgres.psql("SELECT version FROM postern_schema").split() == [VERSION]
    notices_of_each_row(postgres, d)


def test_queries_with_parameters_in_order(postgres, drivers):
    d = drivers(postgres.url())
    d.expect("up")
    line, rows = d.query("q1", "INSERT INTO accounts VALUES ($1, $2, $3)", "bob@example.test",
                         "$6$a$b", "\\N")
    assert line == "result q1 ok 0"
    line, rows = d.query("q2", "SELECT address, hash, secret FROM accounts WHERE address = $1",
                         "bob@example.test")
    assert line == "result q2 ok 1" and rows == [["bob@example.test", "$6$a$b", "\\N"]]
    # a server error: its SQLSTATE, and the connection stays up
    line, _ = d.query("q3", "INSERT INTO accounts VALUES ($1, $2)", "bob@example.test", "h")
    assert line.startswith("result q3 error 23505 duplicate key")
    line, _ = d.query("q4", "INSERT INTO accounts VALUES ($1, $2)", "Bob@example.test", "h")
    assert line.startswith("result q4 error 23514 ")  # lower-case addresses only
    # many queued at once come back in order; a slow one holds back the rest
    d.send("query slow SELECT pg_sleep(0.3)")
    for i in range(40):
        d.send("query n%d SELECT $1::int * 2\t%d" % (i, i))
    d.expect("result slow ok 1")
    for i in range(40):
        assert d.expect("result ", 5) == "result n%d ok 1" % i
        assert d.expect("row ") == "row n%d %d" % (i, 2 * i)
    assert "down" not in "\n".join(d.seen)


def test_a_notify_read_behind_a_result_is_handed_over_at_once(postgres, drivers):
    """The result of a query, its ReadyForQuery and then a NOTIFY arrive in one read (the
    client was too busy to read in between): libpq parses the NOTIFY only while the
    result is taken, so notifications are collected again after the results (it once
    waited in libpq until the next traffic, the idle ping, up to 5 s)."""
    d = drivers(postgres.url(), "-t", "5000,5000,60000")
    d.expect("up")
    d.send("query s SELECT pg_sleep(0.3)")
    time.sleep(0.05)
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(0.8)  # the result and ReadyForQuery wait in the socket
        postgres.psql("INSERT INTO accounts (address, hash) VALUES ('x@example.test', 'h')")
        time.sleep(0.3)  # the NOTIFY behind them, in the same buffer
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    d.expect("result s ok")
    assert d.expect("notify ", 1.5).startswith("notify %s" % CHANNEL)


def test_stop_fails_queries_and_start_recovers_within_two_seconds(postgres, drivers):
    d = drivers(postgres.url())
    d.expect("up")
    d.send("query slow SELECT pg_sleep(60)")
    time.sleep(0.3)
    t0 = time.monotonic()
    postgres.stop()
    assert d.expect("result slow error", 10).startswith("result slow error")
    d.expect("down ", 10)
    assert time.monotonic() - t0 < 10
    d.send("query q2 SELECT 1")
    assert d.expect("rejected", 5) == "rejected q2"
    time.sleep(2.5)  # several attempts fail meanwhile: one "down", one log line
    postgres.start()
    t1 = time.monotonic()
    d.expect("up", 5)
    assert time.monotonic() - t1 < 2.0
    assert d.query("q3", "SELECT count(*) FROM postern_schema")[1] == [["1"]]
    assert sum(1 for line in d.seen if line.startswith("down")) == 1
    assert d.log().count("unavailable") == 1
    assert d.log().count("up (schema version %s)" % VERSION) == 2


def test_a_frozen_server_is_an_outage_not_a_hang(postgres, drivers):
    """SIGSTOP on every server process: a network that silently drops everything."""
    d = drivers(postgres.url(), "-t", "1500,1500,500")
    d.expect("up")
    pids = postgres.server_pids()
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        d.send("query q1 SELECT 1")
        assert d.expect("result q1 error", 5).startswith("result q1 error - postgresql unavailable")
        assert time.monotonic() - t0 < 3.0
        assert "no answer within 1500 ms" in d.expect("down ", 2)
        time.sleep(2)  # attempts now hang in the connection's start-up: the connect timeout ends them
        d.send("query q2 SELECT 1")
        assert d.expect("rejected", 2) == "rejected q2"
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    d.expect("up", 5)
    # an idle connection notices by its ping
    pids = postgres.server_pids()
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        d.expect("down ", 5)
        assert time.monotonic() - t0 < 3.5
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    d.expect("up", 5)


def test_a_newer_schema_is_refused(postgres, drivers, driver_bin, tmp_path):
    rc, out, _ = sync(driver_bin, tmp_path, postgres.url())
    assert (rc, out) == (0, "sync ok " + VERSION)
    newer = str(int(VERSION) + 1)
    postgres.psql("UPDATE postern_schema SET version = " + newer)
    d = drivers(postgres.url())
    assert "holds postern schema version %s, newer than this postern knows (%s)" % (
        newer, VERSION) in d.expect("down ")
    d.none("up", 2.5)
    rc, out, _ = sync(driver_bin, tmp_path, postgres.url())
    assert rc == 1 and "newer than this postern knows (%s)" % VERSION in out
    assert postgres.psql("SELECT version FROM postern_schema").split() == [newer]


def test_hosts_starting_together_make_one_schema(postgres, drivers):
    for n in range(3):
        db = "race%d" % n
        postgres.psql("CREATE DATABASE %s OWNER %s" % (db, postgres.user), db="postgres")
        ds = [drivers(postgres.url(db=db)) for _ in range(3)]
        for d in ds:
            d.expect("up", 15)
            assert not any(line.startswith("down") for line in d.seen), d.output()
        assert postgres.psql("SELECT count(*), min(version) FROM postern_schema", db=db).strip() \
            == "1|" + VERSION
        for d in ds:
            assert d.close() == 0


def test_passfile(postgres, drivers, tmp_path):
    path = tmp_path / "pgpass"
    path.write_text("# host:port:database:user:password\n*:%d:%s:%s:%s\n"
                    % (postgres.port, postgres.db, postgres.user, postgres.password))
    path.chmod(0o600)
    url = "postgresql://%s@%s:%d/%s?passfile=%s" % (postgres.user, postgres.host, postgres.port,
                                                   postgres.db, path)
    d = drivers(url)
    d.expect("up")
    assert d.close() == 0
    path.chmod(0o644)  # libpq ignores a file others can read
    d = drivers(url)
    why = d.expect("down ")
    assert "password" in why
    assert "group or world access" in d.log()


def test_the_password_never_shows(postgres, drivers, driver_bin, tmp_path):
    tricky = "S3cr@t/pa%ss:x"
    postgres.psql("CREATE ROLE tricky LOGIN PASSWORD '%s'; GRANT ALL ON SCHEMA public TO tricky"
                  % tricky)
    url = postgres.url(user="tricky", password=tricky)
    encoded = url.split(":")[2].split("@")[0]
    assert encoded != tricky and "%40" in encoded
    good = drivers(url)
    good.expect("up")
    wrong = drivers(postgres.url(password=postgres.password + "x"))
    assert "password authentication failed" in wrong.expect("down ")
    postgres.stop()
    good.expect("down ")
    rc, out, sync_out = sync(driver_bin, tmp_path, url)
    assert rc == 1 and out.startswith("sync error postgresql://tricky:***@")
    postgres.start()
    good.expect("up", 5)
    for d in (good, wrong):
        d.close()
        assert "***" in d.output()
        for secret in (tricky, encoded, postgres.password):
            assert secret not in d.output()
            assert secret not in sync_out


def test_host_names_are_looked_up_on_a_worker(postgres, drivers):
    d = drivers(postgres.url(host="localhost"), "-r")
    d.expect("up")
    assert d.query("q", "SELECT inet_server_addr()")[1] == [["127.0.0.1"]]
    bad = drivers(postgres.url(host="no-such-host.invalid"), "-r")
    assert "cannot look up no-such-host.invalid" in bad.expect("down ")


def test_unix_socket(postgres, drivers):
    sock = urllib.parse.quote(postgres.sockdir, safe="")
    assert sock.startswith("%2F")
    d = drivers("postgresql://postgres@%s:%d/%s" % (sock, postgres.port, postgres.db), "-r")
    d.expect("up")
    assert d.query("q", "SELECT inet_server_addr() IS NULL")[1] == [["t"]]  # not TCP


def test_close_answers_queued_queries(postgres, drivers):
    d = drivers(postgres.url())
    d.expect("up")
    d.send("query slow SELECT pg_sleep(30)")
    d.send("query next SELECT 1")
    time.sleep(0.2)
    t0 = time.monotonic()
    d.send("close")
    assert d.expect("result slow error", 5) == "result slow error - postgresql: closed"
    assert d.expect("result next error", 5) == "result next error - postgresql: closed"
    d.expect("closed", 5)
    assert d.proc.wait(5) == 0
    assert time.monotonic() - t0 < 3


def test_sync_connection(postgres, driver_bin, tmp_path):
    assert sync(driver_bin, tmp_path, postgres.url())[:2] == (0, "sync ok " + VERSION)
    assert sync(driver_bin, tmp_path, postgres.url())[:2] == (0, "sync ok " + VERSION)
    rc, out, _ = sync(driver_bin, tmp_path, postgres.url(db="nosuchdb"))
    assert rc == 1 and 'database "nosuchdb" does not exist' in out
    rc, out, _ = sync(driver_bin, tmp_path, "postgresql://u@h")
    assert rc == 1 and out == "sync error postgresql://u@h: bad PostgreSQL URL: no database " \
        "(postgresql://USER@HOST/DB)"
