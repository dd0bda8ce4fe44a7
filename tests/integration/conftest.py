"""Fixtures that run the real posternd on free loopback ports.

POSTERND and POSTERNCTL name the binaries (the Makefile passes the ASan
build). Each test gets its own data directory and configuration file.
"""
import os
import pwd
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest
from netns import Namespaces
from peers import SinkServer
from pgsql import Postgres

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
POSTERND = os.environ.get("POSTERND", os.path.join(ROOT, "build", "posternd"))
POSTERNCTL = os.environ.get("POSTERNCTL", os.path.join(ROOT, "build", "posternctl"))
SERVICES = {
    ("smtp", "listen"): "smtp",
    ("submission", "listen"): "submission",
    ("submission", "listen_tls"): "submissions",
    ("pop3", "listen"): "pop3",
    ("pop3", "listen_tls"): "pop3s",
    ("imap", "listen"): "imap",
    ("imap", "listen_tls"): "imaps",
}


def tls_context():
    """A client TLS context that accepts postern's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sendmail(p, args, stdin, name="sendmail"):
    """Run posternctl as `sendmail` (a symlink, as make install makes it) for daemon p."""
    link = os.path.join(p.dir, name)
    if not os.path.exists(link):
        os.symlink(POSTERNCTL, link)
    return subprocess.run([link, "-C", p.conf] + args, input=stdin, capture_output=True,
                          timeout=30)


def wait_port(port, timeout=15.0, alive=None, host="127.0.0.1"):
    """Wait until host:port accepts connections; alive() false means the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError("the server for port %d exited during start" % port)
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def wait_for(pred, timeout=15, what="condition"):
    """pred()'s first true value within timeout seconds; AssertionError otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


def cpu_seconds(pid):
    """User + system CPU time the process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Postern:
    """One posternd instance with its own directory, ports and users."""

    def __init__(self, tmp_path, config=None):
        self.dir = str(tmp_path)
        self.data_dir = os.path.join(self.dir, "var")
        self.conf = os.path.join(self.dir, "postern.conf")
        self.log_path = os.path.join(self.dir, "posternd.log")
        self.ports = {name: free_port() for name in SERVICES.values()}
        self.dns_port = free_port()
        self.proc = None
        self.extra = config or {}
        self.host = "127.0.0.1"  # where it listens (a network namespace's address: test_multihost.py)
        self.wrap = None         # argv -> argv, e.g. to run it in a network namespace
        self.write_config()

    def write_config(self, extra=None):
        """Write the configuration: the test defaults, then extra (default: the last one)."""
        if extra is not None:
            self.extra = extra
        extra = self.extra
        sections = {
            # The suite runs as root, where "postern" need not exist: stay root (test_install.py drops).
            "server": {"hostname": "mx.example.test", "data_dir": self.data_dir, "user": "root"},
            "domains": {"local": "example.test, other.test"},
            # MX lookups must never leave the machine: a loopback resolver that is not there.
            "delivery": {"dns_servers": "127.0.0.1:%d" % self.dns_port},
        }
        for (section, key), name in SERVICES.items():
            sections.setdefault(section, {})[key] = "%s:%d" % (self.host, self.ports[name])
        for section, keys in extra.items():
            sections.setdefault(section, {}).update(keys)
        with open(self.conf, "w") as f:
            for section, keys in sections.items():
                f.write("[%s]\n" % section)
                for key, value in keys.items():
                    f.write("%s = %s\n" % (key, value))

    @property
    def smtp_port(self):
        return self.ports["smtp"]

    def start(self, attempts=3, nofile=None):
        """Start posternd and wait until it says it is ready.

        free_port() can hand out a port that something else takes before
        posternd binds it: then the daemon exits with "Address already in use"
        and is started again on new ports.
        """
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0")
        for attempt in range(attempts):
            offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
            self.logf = open(self.log_path, "ab")
            limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))) \
                if nofile else None
            argv = [POSTERND, "-c", self.conf]
            self.proc = subprocess.Popen(self.wrap(argv) if self.wrap else argv, stdout=self.logf,
                                         stderr=self.logf, env=env, preexec_fn=limit)
            if self.wait_ready(offset):
                return self
            self.proc.wait()
            self.logf.close()
            self.proc = None
            if "Address already in use" not in self.log()[offset:] or attempt == attempts - 1:
                raise RuntimeError("posternd did not start:\n" + self.log()[offset:][-3000:])
            self.ports = {name: free_port() for name in SERVICES.values()}
            self.write_config()
        return self

    def wait_ready(self, offset, timeout=30.0):
        """True once the log (past offset) says "postern ready"; False if it exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "postern ready" in self.log()[offset:]:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        raise RuntimeError("posternd not ready after %.0f s" % timeout)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.logf.close()
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def ctl(self, *args, stdin="", check=True):
        return subprocess.run([POSTERNCTL, "-c", self.conf] + list(args), input=stdin,
                              capture_output=True, text=True, check=check, timeout=60)

    def add_user(self, address, password="secret", apop=None):
        stdin = password + "\n" + (apop + "\n" if apop else "")
        args = ["user", "add", address] + (["--apop"] if apop else [])
        self.ctl(*args, stdin=stdin)

    def maildir(self, address):
        local, domain = address.split("@")
        return os.path.join(self.data_dir, "mail", domain, local)

    def messages(self, address, sub=("new", "cur")):
        """Contents (bytes) of every message in the account's Maildir."""
        out = []
        for s in sub:
            d = os.path.join(self.maildir(address), s)
            if os.path.isdir(d):
                for name in sorted(os.listdir(d)):
                    with open(os.path.join(d, name), "rb") as f:
                        out.append(f.read())
        return out

    def queued(self):
        """Ids of the messages waiting in the outbound queue (not temporary files)."""
        d = os.path.join(self.data_dir, "queue", "env")
        return sorted(n for n in os.listdir(d) if "." not in n) if os.path.isdir(d) else []

    def queue_tmp(self):
        """Messages being received or left behind in queue/tmp (not the empty pool files)."""
        d = os.path.join(self.data_dir, "queue", "tmp")
        return [n for n in os.listdir(d) if not n.startswith("pool.")] if os.path.isdir(d) else []


@pytest.fixture
def postern(tmp_path):
    """A running daemon with alice and bob in example.test."""
    p = Postern(tmp_path)
    p.add_user("alice@example.test")
    p.add_user("bob@example.test")
    p.start()
    yield p
    rc = p.stop()
    assert rc == 0, "posternd exited with %s:\n%s" % (rc, p.log()[-3000:])
    assert "ERROR: AddressSanitizer" not in p.log()
    assert "runtime error:" not in p.log()


@pytest.fixture
def sink():
    s = SinkServer()
    yield s
    s.close()


@pytest.fixture
def make_postern(tmp_path):
    """Factory for daemons with extra configuration; stopped at the end."""
    made = []

    def make(config=None, sub="p"):
        path = tmp_path / sub
        path.mkdir(exist_ok=True)
        p = Postern(path, config)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop(signal.SIGKILL if p.proc and p.proc.poll() is None else signal.SIGTERM)


class Redis:
    """A throwaway redis-server on a free port; bind: one address or several
    (host is the first). start() after stop() keeps the port."""

    def __init__(self, tmp_path, bind="127.0.0.1"):
        self.port = free_port()
        self.dir = str(tmp_path)
        self.bind = [bind] if isinstance(bind, str) else list(bind)
        self.host = self.bind[0]
        self.proc = None

    def start(self):
        # Protected mode refuses clients from non-loopback addresses (a namespace's).
        protected = "yes" if self.bind == ["127.0.0.1"] else "no"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind"] + self.bind +
            ["--protected-mode", protected, "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for host in self.bind:
            wait_port(self.port, host=host, alive=lambda: self.proc.poll() is None)
        return self

    def url(self, db=0):
        """redis://HOST:PORT/DB, as relay.store takes it."""
        return "redis://%s:%d/%d" % (self.host, self.port, db)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/deps.sh test)")
    r = Redis(tmp_path).start()
    yield r
    r.stop()


@pytest.fixture
def postgres(tmp_path):
    """A throwaway PostgreSQL (pgsql.Postgres) on 127.0.0.1 and a free port, with the
    role and database postern; stopped (no process left) and removed at teardown,
    its log kept as tmp_path/postgres.log."""
    pg = Postgres(keep_dir=tmp_path)
    try:
        pg.start()
        yield pg
    finally:
        pg.close()


class MultiHost:
    """two_hosts: namespaces (netns.Namespaces) with a PostgreSQL and a redis-server
    listening on the bridge address host_addr (and on the root's 127.0.0.1)."""

    def __init__(self, ns, pg, redis):
        self.ns = ns
        self.pg = pg
        self.redis = redis
        self.host_addr = ns.host_addr
        self.n = ns.n

    def addr(self, i):
        return self.ns.addr(i)

    def run(self, i, argv, **kw):
        return self.ns.run(i, argv, **kw)

    def popen(self, i, argv, **kw):
        return self.ns.popen(i, argv, **kw)

    def wrap(self, i, argv):
        return self.ns.wrap(i, argv)


@pytest.fixture
def two_hosts(tmp_path, request):
    """Two network namespaces, and PostgreSQL and redis-server on their bridge address.

    Teardown (always, even after a failed setup): redis and PostgreSQL are
    stopped, whatever still runs in the namespaces is killed, and the
    namespaces, veths and bridge are deleted.
    """
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/deps.sh test)")
    ns = Namespaces(2)
    request.addfinalizer(ns.cleanup)
    pg = Postgres(addresses=(ns.host_addr, "127.0.0.1"), keep_dir=tmp_path)
    request.addfinalizer(pg.close)
    r = Redis(tmp_path, bind=(ns.host_addr, "127.0.0.1"))
    request.addfinalizer(r.stop)
    pg.start()
    r.start()
    return MultiHost(ns, pg, r)


class HungRedis:
    """Answers SELECT, then never answers again: every grant lookup waits for
    the store's own reply timeout (2 s)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.conns = []
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
                c.settimeout(0.05)
                self.conns.append(c)
            except socket.timeout:
                pass
            for c in list(self.conns):
                try:
                    data = c.recv(65536)
                    if b"SELECT" in data:
                        c.sendall(b"+OK\r\n")
                except (socket.timeout, OSError):
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(10)
        for c in self.conns:
            c.close()
        self.sock.close()


TEST_USER = "postern-test"


@pytest.fixture(scope="module")
def test_user():
    """An unprivileged system user for the daemon to become (the suite runs as root)."""
    if os.geteuid() != 0:
        pytest.skip("privilege tests need root (the suite runs as root in CI)")
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        TEST_USER], check=True, capture_output=True)
    return pwd.getpwnam(TEST_USER)


@pytest.fixture
def reachable_dir():
    """A directory every user can traverse (pytest's tmp_path is 0700, root's)."""
    d = tempfile.mkdtemp(prefix="postern-", dir="/var/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)
