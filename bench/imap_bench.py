"""make bench, part "imap" (issue 14): postern's IMAP side by side with Dovecot's.

The load is build/imapload (bench/imapload.c), one epoll thread; CLIENTS
clients, each with its own account, in lock-step or with the session's
commands pipelined in one write:

- login: LOGIN, SELECT INBOX of 1,000 messages of 10 KB,
  UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE), LOGOUT;
- full: LOGIN, SELECT INBOX of 100 x 10 KB, UID FETCH 1:* BODY.PEEK[], LOGOUT;
- append: LOGIN, then APPEND of 10 KB messages to Sent (a LITERAL+
  literal), each waiting for its tagged OK: APPEND/s. Both servers make the
  message durable before the OK (Dovecot: mail_fsync = optimized, its
  default). No grants: postern with relay.imap_before_smtp = no, since
  each postern login otherwise commits a relay grant to LMDB (an fsync),
  which Dovecot has no counterpart for.

One postern and one Dovecot serve all three (accounts u*, f*, a*), a fresh
pair per run, interleaved. The Maildirs are filled before each server
starts; every workload runs once unmeasured first (Dovecot builds its index
and cache on first access, postern writes dovecot-uidlist and creates the
special folders at the first login). Rate, MB/s received, the server tree's
CPU per session (per APPEND), imapload's own CPU as a share of one core.

IDLE: K connections (accounts i0.., an empty INBOX each, at most 100 logging
in at a time) LOGIN, SELECT INBOX and IDLE; the growth of the server tree's
PSS divided by K. Then PUSH messages, each to a different idler's account,
one at a time: over SMTP to postern (the latency runs from the 250 after
the data to that client's "* n EXISTS"), or, for both servers, written into
the Maildir as a delivery agent does (tmp/, then renamed into new/; from the
rename): Dovecot here has no SMTP server, and the file drop is what both
watch with inotify.

Environment: BENCH_IMAP_SECONDS (5; 2 with BENCH_QUICK), BENCH_IMAP_CLIENTS
(20), BENCH_IMAP_MODES ("lockstep,pipelined"), BENCH_IMAP_IDLE ("1000,10000";
"1000" with BENCH_QUICK), BENCH_IMAP_IDLE_PEERS ("1000"), BENCH_IMAP_PUSH
(200), IMAPLOAD (the binary).
"""
import os
import statistics
import subprocess
import time

from benchlib import QUICK, ROOT, RUNS, Postern, fresh, median_range, peers

IMAPLOAD = os.environ.get("IMAPLOAD", os.path.join(ROOT, "build", "imapload"))
SECONDS = float(os.environ.get("BENCH_IMAP_SECONDS", "2" if QUICK else "5"))
CLIENTS = int(os.environ.get("BENCH_IMAP_CLIENTS", "20"))
MODES = [m for m in os.environ.get("BENCH_IMAP_MODES", "lockstep,pipelined").split(",") if m]
IDLE = [int(k) for k in os.environ.get("BENCH_IMAP_IDLE", "1000" if QUICK else "1000,10000")
        .split(",") if k]
IDLE_PEERS = [int(k) for k in os.environ.get("BENCH_IMAP_IDLE_PEERS", "1000").split(",") if k]
PUSH = int(os.environ.get("BENCH_IMAP_PUSH", "200"))
RAMP = 100  # idle: logins in progress at once
ROW = "%-18s %16s %13s %19s %16s %16s %13s %19s %16s %6s"  # median (min-max) columns
# workload: (account prefix, messages in each INBOX)
WORKLOADS = {"login": ("u", 1000), "full": ("f", 100), "append": ("a", 0)}
TARGETS = {"login": 10.0, "full": 5.0, "append": 5.0, "idle_kb": 8.0, "push_ms": 100.0,
           "idle_at": 10000}
RECORDED = {"login": 90, "full": 80, "append": 390}  # ../shared/PEERS.md (other workloads)
LINE = b"x" * 76 + b"\n"
BODY = (b"From: Bench <bench@remote.test>\nTo: <user@example.test>\nSubject: imap bench\n"
        b"Date: Sat, 05 Dec 2026 00:00:00 +0000\nMessage-ID: <bench@remote.test>\n"
        b"MIME-Version: 1.0\nContent-Type: text/plain\n\n" + LINE * 128)  # about 10 KB


def accounts(prefix, n):
    return ["%s%d@example.test" % (prefix, i) for i in range(n)]


def cheap_hash():
    """A SHA-256 crypt hash of "secret" with 1,000 rounds: 10,000 idle accounts log in
    once each, and yescrypt would spend minutes on that setup."""
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import crypt
        return crypt.crypt("secret", "$5$rounds=1000$imapbench$")
    except ImportError:
        return subprocess.run(["openssl", "passwd", "-5", "-salt", "imapbench", "secret"],
                              capture_output=True, text=True, check=True).stdout.strip()


def write_users(p, users, hashed=None):
    """The users file with every account, the hash of posternctl's first one (or hashed)."""
    path = os.path.join(p.data_dir, "users")
    if hashed is None:
        p.add_user(users[0])
        with open(path) as f:
            line = [x for x in f if x.startswith(users[0] + ":")][0]
        hashed = line.split(":", 2)[1]
    os.makedirs(p.data_dir, exist_ok=True)
    with open(path, "w") as f:
        f.write("# postern accounts: address:hash:secret (managed by posternctl user)\n")
        f.write("".join("%s:%s:\n" % (u, hashed) for u in users))


class PosternImap:
    name = "postern"

    def __init__(self, tmp, config=None, idle=0, workloads=WORKLOADS):
        conf = {"inbound": {"verify": "no"}}  # the push's SMTP client would be checked
        conf.update(config or {})
        self.p = Postern(tmp, conf)
        self.workloads = workloads
        if idle:
            users = accounts("i", idle)
            write_users(self.p, users, cheap_hash())
            for u in users:
                peers.write_messages(self.p.maildir(u), 0, BODY)
        else:
            write_users(self.p, [u for w in workloads for u in accounts(WORKLOADS[w][0], CLIENTS)])
            for pre, count in (WORKLOADS[w] for w in workloads):
                for u in accounts(pre, CLIENTS):
                    peers.write_messages(self.p.maildir(u), count, BODY)
        self.maildir_fmt = self.p.maildir("i%d@example.test")

    def start(self):
        self.p.start()
        self.pid, self.port = self.p.proc.pid, self.p.ports["imap"]
        self.smtp_port = self.p.smtp_port
        return self

    def log(self):
        return self.p.log()

    def stop(self):
        self.p.stop()


class DovecotImap:
    name = "Dovecot"

    def __init__(self, tmp, idle=0):
        users = accounts("i", idle) if idle else [
            u for pre, _ in WORKLOADS.values() for u in accounts(pre, CLIENTS)]
        self.dc = peers.DovecotImap(tmp, users, idle + RAMP + 100 if idle else None)
        if idle:
            for u in users:
                self.dc.fill_user(u, 0, BODY)
        else:
            for pre, count in WORKLOADS.values():
                for u in accounts(pre, CLIENTS):
                    self.dc.fill_user(u, count, BODY)
        self.maildir_fmt = self.dc.maildir("i%d@example.test")
        self.smtp_port = None

    def start(self):
        self.dc.start()
        self.pid, self.port = self.dc.pid, self.dc.port
        return self

    def log(self):
        return self.dc.log()

    def stop(self):
        self.dc.stop()


def parse(stdout):
    """{key: float} of every key=value on imapload's output lines."""
    out = {}
    for line in stdout.splitlines():
        for kv in line.split():
            if "=" in kv:
                k, v = kv.split("=", 1)
                out[k] = float(v)
    return out


def imapload(server, workload, pipeline=False, seconds=None, count=None):
    args = [IMAPLOAD, "-P", str(server.port), "-m", workload, "-c", str(CLIENTS),
            "-u", WORKLOADS[workload][0] + "%d@example.test", "-w", "secret"]
    args += ["-t", str(seconds)] if seconds else ["-n", str(count)]
    if pipeline:
        args.append("-p")
    r = subprocess.run(args, capture_output=True, text=True, timeout=(seconds or 60) + 120)
    out = parse(r.stdout)
    if r.returncode != 0 or out.get("errors", 1) != 0:
        raise RuntimeError("imapload %s against %s: %s %s\n%s" % (
            " ".join(args[1:]), server.name, r.stdout, r.stderr, server.log()[-2000:]))
    return out


def figures(with_nogrant=False):
    """[(workload, mode)] that a server run measures."""
    if with_nogrant:
        return [("login", MODES[0])]
    out = [(w, m) for w in ("login", "full") for m in MODES]
    return out + [("append", "lockstep")]


def imap_run(tmp, cls, *args, nogrant=False):
    """{(workload, mode): (rate/s, MB/s, server ms CPU per unit, client CPU share)}."""
    s = fresh(tmp, cls, *args)
    out = {}
    try:
        for workload in getattr(s, "workloads", WORKLOADS):  # warm-up: indexes, caches, folders
            imapload(s, workload, count=2 * CLIENTS)
        for workload, mode in figures(nogrant):
            cpu0 = peers.cpu_tree(s.pid)
            r = imapload(s, workload, mode == "pipelined", seconds=SECONDS)
            cpu = peers.cpu_tree(s.pid) - cpu0
            units = r["appends"] if workload == "append" else r["sessions"]
            out[workload, mode] = (units / r["seconds"], r["mb_per_s"],
                                   1000 * cpu / max(units, 1), r["client_cpu_s"] / r["seconds"])
    finally:
        s.stop()
    return out


def throughput_part(tmp, with_dovecot, results):
    print("\n== IMAP: %d clients, each its own account; login = LOGIN, SELECT INBOX (1,000 x 10 KB), "
          "UID FETCH 1:* (UID FLAGS\n   RFC822.SIZE ENVELOPE), LOGOUT; full = the same over 100 x 10 KB "
          "with BODY.PEEK[]; append = APPEND/s of 10 KB\n   to Sent, each awaited; %gs per figure, "
          "median (min-max) of %d runs; client = imapload's CPU (share of a core);\n   'no grants': "
          "postern with relay.imap_before_smtp = no (Dovecot writes nothing at login)"
          % (CLIENTS, SECONDS, RUNS))
    print(ROW % ("workload", "postern /s", "MB/s", "ms CPU", "client", "Dovecot /s", "MB/s",
                 "ms CPU", "client", "ratio"))
    ours, theirs, nogrant = [], [], []
    for _ in range(RUNS):  # interleaved: the same disk minute for both
        ours.append(imap_run(os.path.join(tmp, "imap-postern"), PosternImap))
        if with_dovecot:
            theirs.append(imap_run(os.path.join(tmp, "imap-dovecot"), DovecotImap))
        nogrant.append(imap_run(os.path.join(tmp, "imap-nogrant"), PosternImap,
                                {"relay": {"imap_before_smtp": "no"}}, 0, ("login",), nogrant=True))
    for key in figures():
        def col(runs, i, fmt="%.0f"):
            return median_range([r[key][i] for r in runs], fmt)
        rate = statistics.median(r[key][0] for r in ours)
        if theirs:
            peer = statistics.median(r[key][0] for r in theirs)
            peer_cols = (col(theirs, 0), col(theirs, 1), col(theirs, 2, "%.2f"), col(theirs, 3, "%.2f"))
        else:
            peer = RECORDED[key[0]]
            peer_cols = ("%d (PEERS.md)" % peer, "-", "-", "-")
        results["imap %s %s" % key] = (rate, peer)
        if key in nogrant[0]:
            alt = statistics.median(r[key][0] for r in nogrant)
            print(ROW % ("%s, no grants" % key[0], col(nogrant, 0), col(nogrant, 1),
                         col(nogrant, 2, "%.2f"), col(nogrant, 3, "%.2f"), "", "", "", "",
                         "%.1fx" % (alt / peer)))
        print(ROW % (("%s, %s" % key, col(ours, 0), col(ours, 1), col(ours, 2, "%.2f"),
                      col(ours, 3, "%.2f")) + peer_cols + ("%.1fx" % (rate / peer),)))


INOTIFY_INSTANCES = "/proc/sys/fs/inotify/max_user_instances"


class inotify_instances:
    """At least n inotify instances per user while in the block, as Dovecot's documentation
    asks for IDLE (an imap process each; Debian's default 128 leaves the others polling every
    30 s); the old value is put back after."""

    def __init__(self, n):
        self.n, self.old = n, None

    def __enter__(self):
        try:
            with open(INOTIFY_INSTANCES) as f:
                old = int(f.read())
            if old < self.n:
                with open(INOTIFY_INSTANCES, "w") as f:
                    f.write(str(self.n))
                self.old = old
        except OSError:
            pass
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            with open(INOTIFY_INSTANCES, "w") as f:
                f.write(str(self.old))


def idle_run(tmp, cls, k, how):
    """(KB per idle connection, push figures, seconds to log all in) with k idlers."""
    if cls is DovecotImap:
        with inotify_instances(k + RAMP + 100):
            return idle_once(tmp, cls, k, how)
    return idle_once(tmp, cls, k, how)


def idle_once(tmp, cls, k, how):
    """(KB per idle connection, push figures, seconds to log all in) with k idlers."""
    s = fresh(tmp, cls, *((None, k) if cls is PosternImap else (k,)))
    try:
        time.sleep(0.3)
        before = peers.pss_tree(s.pid)
        args = [IMAPLOAD, "-P", str(s.port), "-m", "idle", "-c", str(k), "-u", "i%d@example.test",
                "-w", "secret", "-C", str(RAMP), "-t", "900", "-D", str(PUSH), "-g", "5"]
        args += ["-S", str(s.smtp_port)] if how == "SMTP" else ["-M", s.maildir_fmt]
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            ready = parse(proc.stdout.readline())
            time.sleep(0.5)
            kb = (peers.pss_tree(s.pid) - before) / k
            proc.stdin.write("go\n")
            proc.stdin.flush()
            out, err = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        r = parse(out)
        if proc.returncode != 0 or ready.get("idling") != k or r.get("errors", 1) != 0:
            raise RuntimeError("imapload %s against %s: %s %s %s\n%s" % (
                " ".join(args[1:]), s.name, ready, out, err, s.log()[-2000:]))
        accept = [x for x in s.log().splitlines() if "accept" in x.lower()]
        if accept:
            raise RuntimeError("%s could not accept every connection: %s" % (s.name, accept[0]))
        return kb, r, ready["connect_s"]
    finally:
        s.stop()


def idle_part(tmp, with_dovecot, hard, results):
    print("\n== IMAP IDLE: K connections LOGIN, SELECT INBOX, IDLE: PSS growth of the server's "
          "process tree / K;\n   then %d deliveries, each to a different idler, one at a time: "
          "latency to its '* n EXISTS'\n   (SMTP: from the 250 after the data; drop: from the "
          "rename of a file into the Maildir's new/);\n   Dovecot with fs.inotify.max_user_instances "
          "raised for its rows (Debian's 128 leaves all but 128 of its\n   processes polling), "
          "put back after" % PUSH)
    print("%-36s %7s %9s %8s %-6s %8s %8s %8s" % (
        "server", "K", "KB/conn", "login s", "push", "p50 ms", "p99 ms", "max ms"))
    rows = [("postern", PosternImap, k, "SMTP") for k in IDLE]
    if with_dovecot:
        rows += [("postern", PosternImap, k, "drop") for k in IDLE_PEERS if not QUICK]
        rows += [("Dovecot (a process per connection)", DovecotImap, k, "drop") for k in IDLE_PEERS]
    for name, cls, k, how in rows:
        if k + 200 > hard:  # each side holds k sockets
            print("%-36s %7d %s" % (name, k, "skipped: open-file limit %d" % hard))
            continue
        kb, r, login_s = idle_run(os.path.join(tmp, "imap-idle"), cls, k, how)
        results["imap idle %s %s %d" % (name.split()[0], how, k)] = (kb, r["p99_ms"])
        print("%-36s %7d %9.1f %8.1f %-6s %8.1f %8.1f %8.1f" % (
            name, k, kb, login_s, how, r["p50_ms"], r["p99_ms"], r["max_ms"]))


def imap_part(tmp, with_dovecot, hard, results):
    if not os.path.exists(IMAPLOAD):
        raise RuntimeError("bench: %s missing (make bench builds it)" % IMAPLOAD)
    with_dovecot = with_dovecot and peers.dovecot_imap_installed()
    if not with_dovecot:
        print("\n(IMAP: no Dovecot IMAP here (make bench-peers installs dovecot-imapd): its figures "
              "are PEERS.md's, from other workloads)")
    throughput_part(tmp, with_dovecot, results)
    idle_part(tmp, with_dovecot, hard, results)


def verdict_lines(results):
    """[(what, met, figure)] for bench.py's targets."""
    out = []
    for workload, what in (("login", "login (SELECT 1,000, ENVELOPE) sessions/s"),
                           ("full", "full retrieval sessions/s"),
                           ("append", "APPEND/s (10 KB, durable)")):
        for mode in MODES:
            key = "imap %s %s" % (workload, mode)
            if key in results:
                rate, peer = results[key]
                out.append(("IMAP %s (%s) >= %gx Dovecot" % (what, mode, TARGETS[workload]),
                            rate / peer >= TARGETS[workload],
                            "%.1fx (%.0f vs %.0f)" % (rate / peer, rate, peer)))
    for key, value in results.items():
        if key.startswith("imap idle postern"):  # other parts' results have other shapes
            kb, p99 = value
            k = int(key.split()[-1])
            how = key.split()[3]
            if how == "SMTP":
                out.append(("IMAP postern per IDLE connection at %d <= %g KB" % (k, TARGETS["idle_kb"]),
                            kb <= TARGETS["idle_kb"], "%.1f KB" % kb))
                out.append(("IMAP push p99, SMTP 250 to EXISTS, %d idling <= %g ms" % (
                    k, TARGETS["push_ms"]), p99 <= TARGETS["push_ms"], "%.1f ms" % p99))
    return out
