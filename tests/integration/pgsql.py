"""A throwaway PostgreSQL server for one test (Debian's postgresql 15).

initdb into a fresh directory under /var/tmp, pg_ctl start on a port chosen
at run time, listening only on the addresses asked for (127.0.0.1 by
default). The database "postern" belongs to the login role "postern", whose
random password is checked with scram-sha-256 over TCP. The superuser
"postgres" connects only through the Unix socket in the server's directory
(psql()). PostgreSQL refuses to run as root: as root, every server program
runs as the "postgres" system user that the Debian package creates.

    pg = Postgres(keep_dir=tmp_path).start()
    pg.url()         # postgresql://postern:PASSWORD@127.0.0.1:PORT/postern
    pg.psql("SELECT 1")
    pg.stop(); pg.start()      # the same port, the same data
    pg.close()                 # stops it, copies the log to keep_dir, removes the directory

Every instance that was started is stopped when the interpreter exits, and
stop() kills the postmaster and its children if a fast shutdown fails, so
no postgres process outlives the test run; the server of a run that was
killed (no finalizer ran; its pid is in the directory's name) is killed and
removed by the next Postgres().
"""
import atexit
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

import pytest

PACKAGE = "postgresql"
SUPERUSER = "postgres"
ROLE = "postern"
DATABASE = "postern"
# Settings for speed and for a quiet, self-contained server: no fsync (a
# commit is still written to the WAL before it returns, so it survives kill()),
# small buffers, no logging collector (the server's stderr is the log file pg_ctl
# writes), no autovacuum or WAL senders to wait for at shutdown.
SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "16MB",
    "max_connections": "60",
    "autovacuum": "off",
    "logging_collector": "off",
    "log_line_prefix": "'%m [%p] %q%u@%d '",
    "password_encryption": "'scram-sha-256'",
    "timezone": "'UTC'",
}

_live = set()


def pg_bindir():
    """The directory of initdb and pg_ctl (the newest installed version); skips when absent."""
    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
            if os.access(os.path.join(d, "initdb"), os.X_OK)
            and os.access(os.path.join(d, "pg_ctl"), os.X_OK)]
    if not dirs:
        pytest.skip("the PostgreSQL server (initdb, pg_ctl) is not installed: Debian package "
                    "%s (scripts/deps.sh test)" % PACKAGE)
    return max(dirs, key=lambda d: int(d.split("/")[-2].split(".")[0]))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_stat(pid):
    """(state, ppid) of pid from /proc, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def live_pids(pids):
    """The pids that still run (a zombie waiting for init to reap it does not)."""
    return [p for p in pids if (_proc_stat(p) or ("Z",))[0] != "Z"]


def children(pid):
    """The live children of pid."""
    out = []
    for entry in os.listdir("/proc"):
        st = _proc_stat(int(entry)) if entry.isdigit() else None
        if st and st[1] == pid and st[0] != "Z":
            out.append(int(entry))
    return out


def postmaster_pid(data):
    """The pid in data/postmaster.pid, or None."""
    try:
        with open(os.path.join(data, "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def server_pids(data, pid=None):
    """The live postmaster of data directory data (pid, or the one postmaster.pid
    names, if its command line names data) and its children; [] when down."""
    pid = pid or postmaster_pid(data)
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            ours = data.encode() in f.read()
    except (OSError, TypeError):
        return []
    return [pid] + children(pid) if ours and live_pids([pid]) else []


def kill_server(data, pid=None, timeout=10.0):
    """SIGKILL the server of data and its children; wait until they are gone.

    The postmaster is stopped first so that it forks no backend meanwhile.
    PostgreSQL takes a postmaster.pid whose pid exists, even a zombie's, for
    a running server: wait also until init has reaped the postmaster.
    """
    pids = server_pids(data, pid)
    if not pids:
        return
    os.kill(pids[0], signal.SIGSTOP)
    pids = [pids[0]] + children(pids[0])
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while live_pids(pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    while _proc_stat(pids[0]) and time.monotonic() < deadline:
        time.sleep(0.02)


def drop_shm(data):
    """Remove the System V segment a killed postmaster of data left (a start would
    reuse it): the one postmaster.pid names, if that postmaster made it and
    nothing is attached."""
    try:
        with open(os.path.join(data, "postmaster.pid")) as f:
            lines = f.read().splitlines()
        pid, shmid = lines[0], lines[6].split()[1]
        with open("/proc/sysvipc/shm") as f:
            rows = [line.split() for line in f.readlines()[1:]]
    except (OSError, IndexError):
        return
    # columns: key shmid perms size cpid lpid nattch ...
    if any(r[1] == shmid and r[4] == pid and r[6] == "0" for r in rows):
        subprocess.run(["ipcrm", "-m", shmid], capture_output=True)


def remove_stale():
    """Kill the servers and remove the directories of earlier runs whose process is gone
    (a test run killed with SIGKILL runs no finalizer)."""
    for d in glob.glob("/var/tmp/postern-pg-*-*"):
        m = re.match(r"postern-pg-(\d+)-", os.path.basename(d))
        if m and not os.path.exists("/proc/" + m.group(1)):
            kill_server(os.path.join(d, "data"))
            drop_shm(os.path.join(d, "data"))
            shutil.rmtree(d, ignore_errors=True)


class Postgres:
    """One PostgreSQL server: its directory, port, addresses, role and database."""

    def __init__(self, addresses=("127.0.0.1",), port=None, keep_dir=None):
        self.bindir = pg_bindir()
        self.addresses = list(addresses)
        self.host = self.addresses[0]
        self.port = port or _free_port()
        self.fixed_port = port is not None
        self.user = ROLE
        self.password = secrets.token_hex(12)
        self.db = DATABASE
        self.keep_dir = str(keep_dir) if keep_dir is not None else None
        self.run_as = self._run_as()
        remove_stale()
        self.dir = tempfile.mkdtemp(prefix="postern-pg-%d-" % os.getpid(), dir="/var/tmp")
        self.data = os.path.join(self.dir, "data")
        self.sockdir = self.dir
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.initialized = False
        self.running = False
        self.pid = None
        if self.run_as:
            os.chown(self.dir, self.run_as.pw_uid, self.run_as.pw_gid)
        os.chmod(self.dir, 0o700)

    @staticmethod
    def _run_as():
        """The postgres passwd entry when we are root (postgres refuses root), else None."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(SUPERUSER)
        except KeyError:
            pytest.skip("no system user %s: Debian package %s creates it (scripts/deps.sh test)"
                        % (SUPERUSER, PACKAGE))

    def _run(self, argv, check=True, timeout=60, **kw):
        """Run a server program as the postgres user (when root); its output as text."""
        if self.run_as:
            kw.update(user=self.run_as.pw_uid, group=self.run_as.pw_gid, extra_groups=[])
        env = dict(os.environ, LC_ALL="C", PGTZ="UTC")
        env.pop("PGPASSWORD", None)
        r = subprocess.run(argv, cwd=self.dir, env=env, capture_output=True, text=True,
                           timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s\n--- server log:\n%s" % (
                " ".join(argv), r.returncode, r.stdout, r.stderr, self.log()[-3000:]))
        return r

    def bin(self, name):
        """The path of a PostgreSQL program (initdb, pg_ctl, psql...) of this version."""
        return os.path.join(self.bindir, name)

    def _initdb(self):
        """Create the cluster: UTF-8, C locale, trust on the socket, scram-sha-256 on TCP."""
        self._run([self.bin("initdb"), "-D", self.data, "-U", SUPERUSER, "-E", "UTF8",
                   "--locale=C", "--no-sync", "--no-instructions", "--auth-local=trust",
                   "--auth-host=scram-sha-256"])
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\n"
                    "host all all 0.0.0.0/0 scram-sha-256\n"
                    "host all all ::/0 scram-sha-256\n")
        self._write_conf()
        self.initialized = True

    def _write_conf(self):
        """postgresql.auto.conf: addresses, port, socket directory and the speed settings."""
        conf = dict(SETTINGS, listen_addresses="'%s'" % ",".join(self.addresses),
                    port=str(self.port), unix_socket_directories="'%s'" % self.sockdir)
        with open(os.path.join(self.data, "postgresql.auto.conf"), "w") as f:
            f.writelines("%s = %s\n" % kv for kv in conf.items())

    def _bootstrap(self):
        """The login role postern with its password, and the database postern it owns."""
        self.psql("CREATE ROLE %s LOGIN PASSWORD '%s';\nCREATE DATABASE %s OWNER %s;\n"
                  % (ROLE, self.password, DATABASE, ROLE), db="postgres")

    def start(self, attempts=3):
        """Start the server (initdb the first time); wait until TCP connections are accepted.

        The first start moves to another free port if the chosen one was
        taken meanwhile; later starts (after stop or kill) keep the port.
        """
        if self.running:
            return self
        first = not self.initialized
        if first:
            self._initdb()
        for attempt in range(attempts):
            r = self._pg_ctl_start()
            if r.returncode == 0:
                break
            port_taken = "could not bind" in self.log() or "already in use" in self.log()
            self._kill_server()             # pg_ctl -w may give up on a server that runs
            if not first or self.fixed_port or not port_taken or attempt == attempts - 1:
                raise RuntimeError("pg_ctl start failed (%d):\n%s%s\n--- server log:\n%s" % (
                    r.returncode, r.stdout, r.stderr, self.log()[-3000:]))
            self.port = _free_port()
            self._write_conf()
        self.running = True
        _live.add(self)
        self.pid = postmaster_pid(self.data)
        self._wait_tcp()
        if first:
            self._bootstrap()
        return self

    def _pg_ctl_start(self):
        """pg_ctl start -w: returns once the server accepts connections (or failed)."""
        return self._run([self.bin("pg_ctl"), "start", "-w", "-t", "30", "-D", self.data,
                          "-l", self.log_path], check=False)

    def _wait_tcp(self, timeout=15.0):
        """Wait until every listen address accepts a TCP connection on the port."""
        deadline = time.monotonic() + timeout
        for addr in self.addresses:
            while True:
                try:
                    socket.create_connection((addr, self.port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("postgres never accepted on %s:%d:\n%s"
                                           % (addr, self.port, self.log()[-3000:]))
                    time.sleep(0.05)

    def stop(self):
        """Fast shutdown (idempotent): the server is gone when this returns."""
        if not self.running:
            return
        r = self._run([self.bin("pg_ctl"), "stop", "-w", "-t", "20", "-m", "fast",
                       "-D", self.data], check=False, timeout=40)
        if r.returncode != 0 or self.server_pids():
            self._kill_server()
        self.running = False
        self.pid = None
        _live.discard(self)

    def kill(self):
        """A crash: SIGKILL the postmaster and its backends. start() runs recovery."""
        if not self.running:
            return
        self._kill_server()
        self.running = False
        self.pid = None
        _live.discard(self)

    def restart(self):
        """stop() then start(): the same port, data directory, role and password."""
        self.stop()
        return self.start()

    def server_pids(self):
        """The live postmaster and its children (each child is a session leader of
        its own, so a process group is not enough); [] when the server is down."""
        return server_pids(self.data, self.pid)

    def _kill_server(self):
        """SIGKILL the postmaster and its children and wait until they are gone."""
        kill_server(self.data, self.pid)

    def close(self):
        """stop(), keep a copy of the log in keep_dir, remove the server's directory."""
        self.stop()
        drop_shm(self.data)
        if self.keep_dir and os.path.exists(self.log_path):
            shutil.copy(self.log_path, os.path.join(self.keep_dir, "postgres.log"))
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, user=None, password=None, db=None, host=None, port=None):
        """postgresql://USER:PASS@HOST:PORT/DB, postern's role and database by default."""
        q = lambda s: urllib.parse.quote(str(s), safe="")
        return "postgresql://%s:%s@%s:%d/%s" % (
            q(user or self.user), q(self.password if password is None else password),
            host or self.host, port or self.port, q(db or self.db))

    def psql(self, sql, db=DATABASE, check=True):
        """Run sql as the superuser through the Unix socket; psql's output (unaligned, -t).

        Statements run one by one (so CREATE DATABASE works), stopping at the
        first error, which raises RuntimeError with psql's message when check.
        """
        r = self._run([self.bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                       "-h", self.sockdir, "-p", str(self.port), "-U", SUPERUSER, "-d", db,
                       "-f", "-"], input=sql, check=check)
        return r.stdout if check else r

    def log(self):
        """The server's log so far (pg_ctl -l): print it when a test fails."""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


@atexit.register
def _stop_all():
    """No postgres outlives the interpreter, whatever happened to the fixtures."""
    for pg in list(_live):
        try:
            pg.close()
        except Exception:
            pg._kill_server()
