"""What bench.py and mailauth_bench.py share: settings, the postern SMTP server,
fresh instances, and one SMTP run driven by Postfix's smtp-source."""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import Postern  # noqa: E402  (reused: config, ports, users)
import peer_servers as peers  # noqa: E402  (not tests/integration/peers.py)

SMTP_SOURCE = "/usr/sbin/smtp-source"
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "3000"))
RUNS = int(os.environ.get("BENCH_RUNS", "1" if QUICK else "3"))


def median_range(values, fmt="%.0f"):
    """'median (min-max)' of a list, or the one value."""
    if not values:
        return "-"
    m = fmt % statistics.median(values)
    if len(values) == 1:
        return m
    return "%s (%s-%s)" % (m, fmt % min(values), fmt % max(values))


def wait_count(count, want, timeout=120):
    """Poll a Maildir count until it reaches want; 10 ms apart, since listing
    thousands of names takes CPU from the server being measured."""
    deadline = time.monotonic() + timeout
    while count() < want and time.monotonic() < deadline:
        time.sleep(0.01)
    return count()


class PosternSmtp:
    """postern delivering the load into alice's Maildir. Mail authentication is off
    (mailauth_bench.py measures it): smtp-source's client would be checked on port 25."""
    name = "postern"
    rcpt = "alice@example.test"  # the load's recipient; delivered() counts its Maildir
    sender = "bench@remote.test"
    msgfile = None  # smtp-source -F: the message to send, else its own 10 KB

    def __init__(self, tmp, config=None):
        conf = {"inbound": {"verify": "no"}}
        for section, keys in (config or {}).items():
            conf.setdefault(section, {}).update(keys)
        self.p = Postern(tmp, conf)
        self.p.add_user("alice@example.test")

    def start(self):
        self.p.start()
        self.pid, self.port = self.p.proc.pid, self.p.smtp_port
        return self

    def delivered(self):
        d = os.path.join(self.p.maildir("alice@example.test"), "new")
        return len(os.listdir(d)) if os.path.isdir(d) else 0

    def first_delivered(self):
        """The bytes of one delivered message."""
        d = os.path.join(self.p.maildir("alice@example.test"), "new")
        with open(os.path.join(d, sorted(os.listdir(d))[0]), "rb") as f:
            return f.read()

    def stop(self):
        """{messages, batches, syncs} from posternd's last log line, or None."""
        self.p.stop()
        log = self.p.log() if os.path.exists(self.p.log_path) else ""
        if "stopped: " not in log:
            return None
        stats = dict(kv.split("=") for kv in log.rsplit("stopped: ", 1)[1].split()[:3])
        return {k: int(v) for k, v in stats.items()}


class PostfixSmtp:
    """Postfix delivering the load into alice's Maildir; extra: more main.cf settings."""
    name = "Postfix"
    rcpt = PosternSmtp.rcpt
    sender = PosternSmtp.sender
    msgfile = None

    def __init__(self, tmp, process_limit=100, extra=None):
        self.pf = peers.Postfix(tmp, process_limit, extra)

    def start(self):
        self.pf.start()
        self.pid, self.port = self.pf.pid, self.pf.port
        return self

    def delivered(self):
        return self.pf.delivered()

    def first_delivered(self):
        d = os.path.join(self.pf.maildir, "new")
        with open(os.path.join(d, sorted(os.listdir(d))[0]), "rb") as f:
            return f.read()

    def stop(self):
        self.pf.stop()
        return None


RUN_SEQ = [0]


def fresh(tmp, cls, *args):
    """A new server of class cls in a new directory tmp-N; its stop() runs even when
    start fails. Nothing is deleted until the end of the benchmark: after a mass
    deletion ext4 spends most of each file creation skipping recently freed inodes
    (find_inode_bit/recently_deleted), which would slow whichever run comes next."""
    RUN_SEQ[0] += 1
    tmp = "%s-%d" % (tmp, RUN_SEQ[0])
    os.makedirs(tmp)
    os.chmod(tmp, 0o711)
    server = cls(tmp, *args)
    try:
        return server.start()
    except BaseException:
        server.stop()
        raise


def smtp_source(server, sessions, count, reuse):
    args = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-f", server.sender,
            "-t", server.rcpt]
    args += ["-F", server.msgfile] if server.msgfile else ["-l", "10240"]
    if reuse:
        args.append("-d")
    subprocess.run(args + ["127.0.0.1:%d" % server.port], check=True, timeout=600)


def smtp_run(tmp, cls, sessions, reuse, *args, check=None):
    """(msg/s, CPU µs per msg, store stats or None) for one fresh server cls(tmp, *args);
    check(server), if given, runs after the load and raises if the result is wrong."""
    s = fresh(tmp, cls, *args)
    stats = None
    try:
        warm = max(MESSAGES // 10, 1)
        smtp_source(s, sessions, warm, reuse)
        base = wait_count(s.delivered, warm)
        cpu0, t0 = peers.cpu_tree(s.pid), time.monotonic()
        smtp_source(s, sessions, MESSAGES, reuse)
        got = wait_count(s.delivered, base + MESSAGES)
        elapsed = time.monotonic() - t0
        cpu = peers.cpu_tree(s.pid) - cpu0
        if got != base + MESSAGES:
            raise RuntimeError("%s: %d of %d messages delivered" % (s.name, got - base, MESSAGES))
        if check:
            check(s)
    finally:
        stats = s.stop()
    return MESSAGES / elapsed, cpu * 1e6 / MESSAGES, stats
