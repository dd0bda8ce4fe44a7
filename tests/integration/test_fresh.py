"""A fresh machine, as root: posternd with no -c in an empty directory serves
the embedded default (SPEC.md) on its fixed ports, and not as root.

These are the only tests that use the embedded default's fixed ports
(2525, 5587, 4465, 1110, 9995, 1143, 9993): they check first that the ports are free
and fail with a clear message when they are not.
"""
import imaplib
import os
import poplib
import pwd
import shutil
import signal
import smtplib
import socket
import stat
import subprocess
import tempfile
import time

import pytest
from conftest import POSTERND, POSTERNCTL

USER = "postern"  # server.user's embedded default
PORTS = {"smtp": 2525, "submission": 5587, "submissions": 4465, "pop3": 1110, "pop3s": 9995,
         "imap": 1143, "imaps": 9993}
ALICE = "alice@example.test"


def need_root_and_user():
    if os.geteuid() != 0:
        pytest.skip("posternd started as root: these tests need root (the suite runs as root)")
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        pytest.fail("there is no system user %r: make test creates it (scripts/deps.sh user)"
                    % USER)


def check_ports_free():
    """Fail, naming the port, when something holds a port of the embedded default."""
    for name, port in PORTS.items():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as posternd binds
            try:
                s.bind(("127.0.0.1", port))
            except OSError as e:
                pytest.fail("port %d (%s of the embedded default) is in use (%s): stop what "
                            "listens there (a `make run`?) and run again" % (port, name, e))


@pytest.fixture
def workdir():
    """An empty directory, 0755 and root's, like a fresh checkout (pytest's tmp_path is 0700)."""
    d = tempfile.mkdtemp(prefix="postern-fresh-", dir="/var/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Fresh:
    """posternd with no -c, its cwd the work directory, its log outside it."""

    def __init__(self, workdir, log_path):
        self.dir = workdir
        self.log_path = str(log_path)
        self.proc = None
        self.logf = None

    def start(self):
        check_ports_free()
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0")
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([POSTERND], cwd=self.dir, stdout=self.logf,
                                     stderr=self.logf, env=env)
        deadline = time.monotonic() + 30
        while "postern ready" not in self.log():
            assert self.proc.poll() is None, "posternd exited:\n" + self.log()[-3000:]
            assert time.monotonic() < deadline, "posternd not ready:\n" + self.log()[-3000:]
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.logf.close()
        return rc

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def ctl(self, *args, stdin=""):
        """posternctl as root, no -c, in the same directory."""
        return subprocess.run([POSTERNCTL] + list(args), cwd=self.dir, input=stdin,
                              capture_output=True, text=True, timeout=60)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)


@pytest.fixture
def fresh(workdir, tmp_path):
    f = Fresh(workdir, tmp_path / "posternd.log")
    yield f
    f.stop()


def proc_uids(pid):
    """The four ids of the Uid: line of /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(v) for v in line.split()[1:]]
    raise AssertionError("no Uid line for %d" % pid)


def owner_and_mode(path):
    st = os.stat(path)
    return st.st_uid, stat.S_IMODE(st.st_mode)


def deliver_and_fetch(f, pw):
    with smtplib.SMTP("127.0.0.1", PORTS["smtp"], timeout=30) as s:
        assert s.ehlo()[0] == 250
        assert s.sendmail("someone@remote.test", [ALICE],
                          "Subject: fresh\r\n\r\nhello from a fresh machine\r\n") == {}
    new = f.path("var", "mail", "example.test", "alice", "new")
    names = os.listdir(new)
    assert len(names) == 1, names
    with open(os.path.join(new, names[0]), "rb") as m:
        assert b"hello from a fresh machine" in m.read()
    assert os.stat(os.path.join(new, names[0])).st_uid == pw.pw_uid
    c = poplib.POP3("127.0.0.1", PORTS["pop3"], timeout=30)
    c.user(ALICE)
    assert c.pass_("secret").startswith(b"+OK")
    assert c.stat()[0] == 1
    assert b"hello from a fresh machine" in b"\n".join(c.retr(1)[1])
    c.quit()
    m = imaplib.IMAP4("127.0.0.1", PORTS["imap"], timeout=30)
    m.login(ALICE, "secret")
    assert m.select("INBOX") == ("OK", [b"1"])
    assert b"hello from a fresh machine" in m.fetch("1", "(BODY.PEEK[TEXT])")[1][0][1]
    m.logout()
    sent = f.path("var", "mail", "example.test", "alice", ".Sent")
    assert os.stat(sent).st_uid == pw.pw_uid  # made at the first login, as server.user


def finish(f):
    rc = f.stop()
    assert rc == 0, "posternd exited with %s:\n%s" % (rc, f.log()[-3000:])
    assert "ERROR: AddressSanitizer" not in f.log() and "runtime error:" not in f.log()


def test_fresh_directory_serves_the_embedded_default_not_as_root(fresh):
    pw = need_root_and_user()
    assert os.listdir(fresh.dir) == []
    fresh.start()
    uids = proc_uids(fresh.proc.pid)
    assert uids == [pw.pw_uid] * 4 and 0 not in uids, uids
    assert "running as user %s" % USER in fresh.log()
    assert owner_and_mode(fresh.path("var")) == (pw.pw_uid, 0o700)
    for pem in ("cert.pem", "key.pem"):  # the self-signed certificate, made as postern
        assert os.stat(fresh.path("var", "tls", pem)).st_uid == pw.pw_uid, pem
    # what the banner tells a new user to do, as root
    r = fresh.ctl("user", "add", ALICE, stdin="secret\n")
    assert r.returncode == 0, r.stderr
    for name in ("users", "users.lock"):
        assert owner_and_mode(fresh.path("var", name)) == (pw.pw_uid, 0o600), name
    r = fresh.ctl("user", "list")
    assert (r.returncode, r.stdout) == (0, ALICE + "\n"), r.stderr
    deliver_and_fetch(fresh, pw)
    # a reload, as postern, re-reads the embedded default and the self-signed key
    fresh.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while "configuration reloaded" not in fresh.log():
        assert "reload failed" not in fresh.log() and time.monotonic() < deadline, fresh.log()
        time.sleep(0.05)
    assert proc_uids(fresh.proc.pid) == [pw.pw_uid] * 4
    finish(fresh)


def test_user_added_before_the_first_start(fresh):
    """posternctl first, in the empty directory: the ./var it makes is postern's."""
    pw = need_root_and_user()
    r = fresh.ctl("user", "add", ALICE, stdin="secret\n")
    assert r.returncode == 0, r.stderr
    assert owner_and_mode(fresh.path("var")) == (pw.pw_uid, 0o700)
    assert owner_and_mode(fresh.path("var", "users")) == (pw.pw_uid, 0o600)
    fresh.start()
    deliver_and_fetch(fresh, pw)
    finish(fresh)


def test_relay_grant_before_the_first_start(fresh):
    """posternctl relay grant first: the LMDB store and ./var it makes are postern's."""
    pw = need_root_and_user()
    r = fresh.ctl("relay", "grant", "192.0.2.7", "--login", ALICE)
    assert r.returncode == 0, r.stderr
    assert owner_and_mode(fresh.path("var")) == (pw.pw_uid, 0o700)
    for root, dirs, files in os.walk(fresh.path("var")):
        for name in dirs + files:
            assert os.stat(os.path.join(root, name)).st_uid == pw.pw_uid, name
    fresh.start()
    r = fresh.ctl("relay", "check", "192.0.2.7")
    assert r.returncode == 0, r.stdout + r.stderr
    finish(fresh)


def test_directory_postern_cannot_enter_is_a_clear_error(tmp_path):
    """A 0700 directory of root's: the error says which directory and how to open it."""
    need_root_and_user()
    d = tmp_path / "closed"
    d.mkdir(mode=0o700)
    check_ports_free()
    r = subprocess.run([POSTERND], cwd=str(d), capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    assert ("user postern cannot reach server.data_dir ./var: it may not search %s; "
            "fix with: chmod o+x %s" % (d, d)) in r.stderr, r.stderr
