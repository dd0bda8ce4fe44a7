#!/usr/bin/python3
"""make bench: postern side by side with Postfix (SMTP) and Dovecot (POP3).

Each server runs on loopback on free ports, a fresh instance per run, driven
by the same load generator in the same run; ../shared/PEERS.md says how the
peers were measured on this kind of machine, and its figures stand in for a
peer that is not installed (make bench-peers installs both).

- SMTP: Postfix's smtp-source, 10 KB messages, delivered end to end (from the
  first connection until the last file is in the Maildir): msg/s, CPU µs per
  message of the server's whole process tree, and for postern syncs per
  message from its "stopped: messages=.. batches=.. syncs=.." log line.
  postern runs with inbound.verify = no here (smtp-source's client would be
  checked on port 25): the cost of the checks and of signing is the
  "mailauth" part (bench/mailauth_bench.py says how it is measured).
- Aliases (issue 12): the 50-session load once more after each postern run
  at 50 sessions, one connection each (so the two alternate and see the same
  disk minute), with 10,000 aliases and a catch-all of example.test in the
  aliases file next to the users file, written before the daemon starts; the
  load goes to the last alias written, which leads to the account whose
  Maildir is counted, so every RCPT is resolved through the table. Printed
  as a share of the plain row's msg/s and CPU per message.
- The disk's own limit: build/diskprobe (bench/diskprobe.c) does what
  postern's store does per batch with nothing else around it (10 KB files
  written into tmp/, one syncfs per batch, linked into new/, the next syncfs
  making the links durable), in the bench's directory, on the filesystem of
  postern's data dir. It runs right before and right after each postern run
  at 50 sessions, one connection each (the disk's speed swings 2x from minute
  to minute), in batches of 1, 12 and 32, with 50 closed-loop clients ("c50":
  no more than 50 files unacknowledged, as 50 SMTP sessions), and in batches
  of postern's own average (messages / syncs of the run before, and of the
  run itself afterwards). postern's msg/s is then printed as a share of the
  best probe figure, of c50, and of batches of its own average size
  (interpolated between the sizes a probe measured where it did not measure
  that one), each the mean of the probe before and the probe after.
- POP3: build/pop3load (bench/pop3load.c), CLIENTS clients with a maildrop
  each of 100 messages of 10 KB: short polls (login, STAT, UIDL, QUIT) and
  full retrievals (login, STAT, LIST, UIDL, RETR all, QUIT), commands in
  lock-step and pipelined: sessions/s, MB/s, server CPU per session. A
  "no grants" row repeats the lock-step poll with relay.pop_before_smtp = no:
  each postern login otherwise commits a grant to LMDB (an fsync), which
  Dovecot has no counterpart for.
- Idle connections: K connections that read the greeting and sent one
  command (EHLO / CAPA); growth of the server tree's PSS, divided by K.
- The floor: build/floorsrv (bench/floorsrv.c, bench/floor_bench.py), a
  bare responder making only the system calls any server makes for the
  load, runs right after each probed SMTP run and beside each POP3 run;
  its figures are printed beside postern's, and a target line says when
  the target lies above what it reached.

Environment: BENCH_QUICK (1: one run, the 50-session SMTP load only, 2 s per
POP3 figure, idle at 1,000 only; each variable below still overrides),
BENCH_MESSAGES (3000), BENCH_RUNS (3), BENCH_IDLE ("1000,10000"),
BENCH_IDLE_PEERS ("1000"; "" skips the peers' idle figures),
BENCH_POP3_SECONDS (5), BENCH_POP3_CLIENTS (20), BENCH_POP3_MODES
("lockstep,pipelined"), BENCH_PEERS ("auto", or "no" for postern alone),
BENCH_PARTS ("smtp,mailauth,pop3,idle,imap,pgstore"; imap: bench/imap_bench.py;
pgstore: bench/pgstore_bench.py), BENCH_PROBE_SECONDS (2: each probe figure is
at most this long, and at most BENCH_MESSAGES files), BENCH_PROBE_BATCHES
("1,12,32,c50"). POSTERND, POSTERNCTL, POP3LOAD, DISKPROBE and FLOORSRV
name the binaries (make bench passes its build's).
"""
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (MESSAGES, QUICK, ROOT, RUNS, SMTP_SOURCE, Postern,  # noqa: E402
                      PostfixSmtp, PosternSmtp, fresh, median_range, peers, smtp_run)
import mailauth_bench  # noqa: E402
import imap_bench  # noqa: E402
import pgstore_bench  # noqa: E402
from floor_bench import FLOORSRV, FloorPop3, FloorSmtp  # noqa: E402

POP3LOAD = os.environ.get("POP3LOAD", os.path.join(ROOT, "build", "pop3load"))
DISKPROBE = os.environ.get("DISKPROBE", os.path.join(ROOT, "build", "diskprobe"))
IDLE = [int(k) for k in os.environ.get("BENCH_IDLE", "1000" if QUICK else "1000,10000").split(",")
        if k]
IDLE_PEERS = [int(k) for k in os.environ.get("BENCH_IDLE_PEERS", "1000").split(",") if k]
POP3_SECONDS = float(os.environ.get("BENCH_POP3_SECONDS", "2" if QUICK else "5"))
PROBE_SECONDS = float(os.environ.get("BENCH_PROBE_SECONDS", "2"))
PROBE_BATCHES = [b for b in os.environ.get("BENCH_PROBE_BATCHES", "1,12,32,c50").split(",") if b]
POP3_CLIENTS = int(os.environ.get("BENCH_POP3_CLIENTS", "20"))
POP3_MODES = [m for m in os.environ.get("BENCH_POP3_MODES", "lockstep,pipelined").split(",") if m]
PARTS = os.environ.get("BENCH_PARTS", "smtp,mailauth,pop3,idle,imap,pgstore").split(",")
USE_PEERS = os.environ.get("BENCH_PEERS", "auto") != "no"
POP3_MESSAGES = 100
BODY = b"Subject: bench\n\n" + (b"x" * 76 + b"\n") * 130  # about 10 KB
WIRE = len(BODY) + BODY.count(b"\n")  # its size in CRLF lines, as RETR sends it
USERS = ["u%d@example.test" % i for i in range(POP3_CLIENTS)]

SMTP_LOADS = [  # name, sessions, one connection per session (-d)
    ("50 sessions, one connection each", 50, True),
    ("50 sessions, a connection per message", 50, False),
    ("1 session", 1, True),
][:1 if QUICK else None]
PROBED_LOAD = SMTP_LOADS[0][0]  # the disk probe runs around postern's runs of this load
ALIASES = 10000  # issue 12: aliases beside the catch-all in the aliases row after PROBED_LOAD
# ../shared/PEERS.md, same kind of machine: used when the peer is not installed
RECORDED = {
    "50 sessions, one connection each": 601,
    "50 sessions, a connection per message": 526,
    "1 session": 398,
    "poll": 127,   # Dovecot, 1-message mailbox (no poll figure over 100 messages)
    "full": 65,
    "idle Postfix": 1216,
    "idle Dovecot": 1102,
}
TARGETS = {"smtp": 10.0, "poll": 10.0, "full": 8.0, "idle_kb": 4.0, "smtp_cpu_us": 250,
           "disk_share": 80.0, "aliases": 95.0}


class PosternSmtpAliases(PosternSmtp):
    """postern with ALIASES aliases and a catch-all, all leading to alice, in the aliases
    file next to the users file; the load goes to the last alias of the file."""
    name = "postern with aliases"
    rcpt = "a%d@example.test" % (ALIASES - 1)

    def __init__(self, tmp):
        super().__init__(tmp)
        users = os.path.join(self.p.data_dir, "users")
        if not os.path.exists(users):
            raise RuntimeError("bench: no users file at %s" % users)
        with open(os.path.join(self.p.data_dir, "aliases"), "w") as f:
            f.write("".join("a%d@example.test: alice@example.test\n" % i for i in range(ALIASES)))
            f.write("@example.test: alice@example.test\n")

    def start(self):
        super().start()
        errors = [line for line in self.p.log().splitlines()
                  if "aliases: " in line and "reloaded" not in line]
        if errors:
            raise RuntimeError("posternd did not take the aliases: %s" % errors[0])
        return self


class PosternPop3:
    name = "postern"

    def __init__(self, tmp, config=None):
        self.p = Postern(tmp, config)
        for user in USERS:
            self.p.add_user(user)
            peers.write_messages(self.p.maildir(user), POP3_MESSAGES, BODY)

    def start(self):
        self.p.start()
        self.pid, self.port = self.p.proc.pid, self.p.ports["pop3"]
        return self

    def stop(self):
        self.p.stop()


class DovecotPop3:
    name = "Dovecot"

    def __init__(self, tmp, process_limit=None):
        self.dc = peers.Dovecot(tmp, USERS, process_limit)
        self.dc.fill(POP3_MESSAGES, BODY)

    def start(self):
        self.dc.start()
        self.pid, self.port = self.dc.pid, self.dc.port
        return self

    def stop(self):
        self.dc.stop()


# ---------------------------------------------------------------- SMTP


def per_sync(stats):
    """postern's messages per sync (its average batch: one sync per batch), or None."""
    if not stats or not stats.get("syncs"):
        return None
    return stats["messages"] / stats["syncs"]


# ---------------------------------------------------------------- the disk's limit


def disk_probe(tmp, settings):
    """{setting: files/s} from build/diskprobe in tmp/diskprobe (beside postern's data dirs)."""
    d = os.path.join(tmp, "diskprobe")
    os.makedirs(d, exist_ok=True)
    args = [DISKPROBE, "-d", d, "-b", ",".join(settings), "-t", str(PROBE_SECONDS),
            "-n", str(MESSAGES)]
    r = subprocess.run(args, capture_output=True, text=True,
                       timeout=len(settings) * (PROBE_SECONDS + 60))
    if r.returncode != 0:
        raise RuntimeError("diskprobe %s: %s %s" % (" ".join(args[1:]), r.stdout, r.stderr))
    out = {}
    for line in r.stdout.splitlines():
        kv = dict(x.split("=", 1) for x in line.split())
        out[kv["batch"]] = float(kv["files_per_s"])
    return out


def probe_settings(batch):
    """The probe's batch settings; batch is postern's messages per sync, if known."""
    out = list(PROBE_BATCHES)
    if batch is not None and str(max(1, round(batch))) not in out:
        out.append(str(max(1, round(batch))))
    return out


def probed_run(tmp, sessions, reuse, last_batch, probes):
    """One postern run and one floorsrv run between two disk probes; appends
    {before, after, run, batch, floor} to probes."""
    before = disk_probe(tmp, probe_settings(last_batch))
    run = smtp_run(os.path.join(tmp, "postern"), PosternSmtp, sessions, reuse)
    floor = smtp_run(os.path.join(tmp, "floor"), FloorSmtp, sessions, reuse)
    batch = per_sync(run[2])
    after = disk_probe(tmp, probe_settings(batch))
    probes.append({"before": before, "after": after, "run": run, "batch": batch,
                   "floor": floor[0]})
    return run


def at_batch(probe, x):
    """One probe's files/s in batches of x: measured, else interpolated linearly between
    the nearest batch sizes it measured (the nearest one beyond its range)."""
    fixed = sorted((int(k), v) for k, v in probe.items() if k.isdigit())
    lo = [(b, v) for b, v in fixed if b <= x]
    hi = [(b, v) for b, v in fixed if b >= x]
    if not lo or not hi:
        return (lo or hi)[-1 if lo else 0][1] if fixed else None
    (b0, v0), (b1, v1) = lo[-1], hi[0]
    return v0 if b1 == b0 else v0 + (v1 - v0) * (x - b0) / (b1 - b0)


def probe_share(p, figure):
    """postern's msg/s in % of the mean of figure(before probe) and figure(after probe)."""
    got = [g for g in (figure(p["before"]), figure(p["after"])) if g]
    return 100 * p["run"][0] / statistics.mean(got) if got else None


def probe_shares(p):
    """{"best", "c50", "own"}: postern's share of the best probe figure, of 50 closed-loop
    clients, and of batches of its own average size (None where not measured)."""
    own = None
    if p["batch"] is not None:
        own = probe_share(p, lambda probe: at_batch(probe, p["batch"]))
    c50 = probe_share(p, lambda probe: probe.get("c50"))
    return {"best": probe_share(p, lambda probe: max(probe.values())), "c50": c50, "own": own,
            "floor c50": c50 * p["floor"] / p["run"][0] if c50 is not None else None,
            "of floor": 100 * p["run"][0] / p["floor"]}


def disk_part(probes, results):
    settings = []
    for p in probes:
        for w in ("before", "after"):
            settings += [k for k in p[w] if k not in settings]
    print("\n== The disk's own limit: diskprobe (10 KB files into tmp/, one syncfs per batch, linked "
          "into new/, the next syncfs\n   making the links durable), files/s, right before and after "
          "each postern run at %s;\n   at most %d files or %gs per figure; b=N: batches of N, "
          "c50: 50 clients in a closed loop; share = postern / (before+after)/2;\n"
          "   own = batches of postern's messages per sync (measured, or interpolated between "
          "the batch sizes measured);\n   floor = floorsrv's msg/s, run right after postern's "
          "run (the same load and commits with no other work), fl c50 = its share of c50"
          % (PROBED_LOAD, MESSAGES, PROBE_SECONDS))
    print("%-4s %-7s %s %7s %10s %9s %8s %8s %8s %7s %8s %8s" % (
        "run", "probe", " ".join("%7s" % ("b=" + k if k[0] != "c" else k) for k in settings),
        "best", "postern", "per sync", "of best", "of c50", "of own", "floor", "fl c50",
        "of floor"))
    pct = lambda v: "%.0f%%" % v if v is not None else "-"  # noqa: E731
    for i, p in enumerate(probes):
        sh = probe_shares(p)
        for w in ("before", "after"):
            cells = " ".join("%7s" % ("%.0f" % p[w][k] if k in p[w] else "-") for k in settings)
            tail = ""
            if w == "after":
                tail = "%10.0f %9s %8s %8s %8s %7.0f %8s %8s" % (
                    p["run"][0], "%.1f" % p["batch"] if p["batch"] else "-", pct(sh["best"]),
                    pct(sh["c50"]), pct(sh["own"]), p["floor"], pct(sh["floor c50"]),
                    pct(sh["of floor"]))
            print("%-4s %-7s %s %7.0f %s" % (str(i + 1) if w == "before" else "", w, cells,
                                            max(p[w].values()), tail))
    summary = []
    for key, what in (("best", "the best probe figure"), ("c50", "50 closed-loop clients"),
                      ("own", "batches of its own average size"), ("floor c50", ""),
                      ("of floor", "")):
        got = [s for s in (probe_shares(p)[key] for p in probes) if s is not None]
        if got:
            results["disk " + key] = statistics.median(got)
            if what:
                summary.append("%s of %s" % (median_range(got, "%.0f%%"), what))
    print("postern at %s, median (min-max) of %d runs: %s" % (
        PROBED_LOAD, len(probes), "; ".join(summary)))
    if "disk floor c50" in results:
        print("floorsrv (bench/floorsrv.c: the same commits, nothing else) at %s: %s of 50 "
              "closed-loop clients; postern at %s of floorsrv" % (
                  PROBED_LOAD, "%.0f%%" % results["disk floor c50"],
                  "%.0f%%" % results["disk of floor"]))


def syncs_column(runs):
    """postern's median syncs per message over smtp_run results, or "-"."""
    syncs = [r[2]["syncs"] / max(r[2]["messages"], 1) for r in runs if r[2]]
    return "%.3f" % statistics.median(syncs) if syncs else "-"


def aliases_row(plain, aliased, results):
    """The row under PROBED_LOAD's: the same load with ALIASES aliases and a catch-all, as a
    share of the plain row (medians), and the range of the run-by-run (paired) shares."""
    rate, base = statistics.median(r[0] for r in aliased), statistics.median(r[0] for r in plain)
    cpu, base_cpu = (statistics.median(r[1] for r in aliased),
                     statistics.median(r[1] for r in plain))
    results["smtp aliases"] = (rate, base)
    results["smtp cpu aliases"] = cpu
    pairs = [100 * a[0] / p[0] for p, a in zip(plain, aliased)]
    print("%-38s %20s %9s %8s   %.0f%% of the msg/s above%s, %.0f%% of its CPU" % (
        "  with %s aliases and a catch-all" % format(ALIASES, ","),
        median_range([r[0] for r in aliased]), median_range([r[1] for r in aliased]),
        syncs_column(aliased), 100 * rate / base,
        " (run by run %s)" % median_range(pairs, "%.0f%%") if len(pairs) > 1 else "",
        100 * cpu / base_cpu))


def smtp_part(tmp, with_postfix, results):
    print("\n== SMTP: %d x 10 KB messages per run after %d warm-up, delivered into the Maildir, "
          "median (min-max) of %d runs" % (MESSAGES, max(MESSAGES // 10, 1), RUNS))
    probes = []
    print("%-38s %20s %9s %8s %20s %9s %8s" % ("load", "postern msg/s", "CPU us", "syncs",
                                             "Postfix msg/s", "CPU us", "ratio"))
    for name, sessions, reuse in SMTP_LOADS:
        ours, theirs, aliased = [], [], []
        for _ in range(RUNS):  # interleaved, so that both see the same disk weather
            if name == PROBED_LOAD:
                last = probes[-1]["batch"] if probes else None
                ours.append(probed_run(tmp, sessions, reuse, last, probes))
                aliased.append(smtp_run(os.path.join(tmp, "postern-aliases"), PosternSmtpAliases,
                                        sessions, reuse))
            else:
                ours.append(smtp_run(os.path.join(tmp, "postern"), PosternSmtp, sessions, reuse))
            if with_postfix:
                theirs.append(smtp_run(os.path.join(tmp, "postfix"), PostfixSmtp, sessions, reuse))
        rate = statistics.median(r[0] for r in ours)
        if theirs:
            peer = statistics.median(r[0] for r in theirs)
            peer_s = median_range([r[0] for r in theirs])
            peer_cpu = median_range([r[1] for r in theirs])
        else:
            peer, peer_s, peer_cpu = RECORDED[name], "%d (PEERS.md)" % RECORDED[name], "-"
        results["smtp " + name] = (rate, peer)
        results["smtp cpu " + name] = statistics.median(r[1] for r in ours)
        print("%-38s %20s %9s %8s %20s %9s %7.1fx" % (
            name, median_range([r[0] for r in ours]), median_range([r[1] for r in ours]),
            syncs_column(ours), peer_s, peer_cpu, rate / peer))
        if aliased:
            aliases_row(ours, aliased, results)
    if probes:
        disk_part(probes, results)


# ---------------------------------------------------------------- POP3


def pop3load(port, full, pipeline, seconds=None, sessions=None):
    args = [POP3LOAD, "-P", str(port), "-c", str(POP3_CLIENTS), "-u", "u%d@example.test",
            "-w", "secret"]
    args += ["-t", str(seconds)] if seconds else ["-n", str(sessions)]
    if full:
        args.append("-f")
    if pipeline:
        args.append("-p")
    r = subprocess.run(args, capture_output=True, text=True, timeout=(seconds or 60) + 120)
    out = dict(kv.split("=") for kv in r.stdout.split())
    if r.returncode != 0 or int(out.get("errors", 1)) != 0:
        raise RuntimeError("pop3load %s: %s %s" % (" ".join(args[1:]), r.stdout, r.stderr))
    return {k: float(v) for k, v in out.items()}


def pop3_run(tmp, cls, *args, figures=None):
    """{(workload, mode): (sessions/s, MB/s, server ms CPU/session, client CPU share)}."""
    s = fresh(tmp, cls, *args)
    out = {}
    try:
        # warm-up: every maildrop opened once (Dovecot builds its index, caches fill)
        pop3load(s.port, True, False, sessions=2 * POP3_CLIENTS)
        for mode, workload in figures or [(m, w) for m in POP3_MODES for w in ("poll", "full")]:
            cpu0 = peers.cpu_tree(s.pid)
            r = pop3load(s.port, workload == "full", mode == "pipelined", seconds=POP3_SECONDS)
            cpu = peers.cpu_tree(s.pid) - cpu0
            out[workload, mode] = (r["sessions_per_s"], r["mb_per_s"],
                                   1000 * cpu / max(r["sessions"], 1),
                                   r["client_cpu_s"] / r["seconds"])
    finally:
        s.stop()
    return out


def pop3_part(tmp, with_dovecot, results):
    print("\n== POP3: %d clients, a maildrop of %d x 10 KB each, %gs per figure, "
          "median (min-max) of %d runs; client = pop3load's CPU (share of one core);\n"
          "'no grants': postern with relay.pop_before_smtp = no (Dovecot writes nothing at login);\n"
          "'floor': floorsrv (bench/floorsrv.c), only the system calls any server makes for the load"
          % (POP3_CLIENTS, POP3_MESSAGES, POP3_SECONDS, RUNS))
    print("%-20s %18s %8s %8s %7s %18s %8s %8s %7s %8s" % (
        "workload", "postern sess/s", "MB/s", "ms CPU", "client",
        "Dovecot sess/s", "MB/s", "ms CPU", "client", "ratio"))
    ours, theirs, nogrant, floors = [], [], [], []
    for _ in range(RUNS):
        ours.append(pop3_run(os.path.join(tmp, "postern"), PosternPop3))
        floors.append(pop3_run(os.path.join(tmp, "floor"), FloorPop3, POP3_MESSAGES, WIRE))
        if with_dovecot:
            theirs.append(pop3_run(os.path.join(tmp, "dovecot"), DovecotPop3))
        # what the POP-before-SMTP grant (a durable LMDB commit per login) costs
        nogrant.append(pop3_run(os.path.join(tmp, "postern-nogrant"), PosternPop3,
                                {"relay": {"pop_before_smtp": "no"}},
                                figures=[(POP3_MODES[0], "poll")]))
    for mode in POP3_MODES:
        for workload in ("poll", "full"):
            key = (workload, mode)

            def col(runs, i, fmt="%.0f"):
                return median_range([r[key][i] for r in runs], fmt)
            rate = statistics.median(r[key][0] for r in ours)
            if theirs:
                peer = statistics.median(r[key][0] for r in theirs)
                peer_cols = (col(theirs, 0), col(theirs, 1), col(theirs, 2, "%.2f"),
                             col(theirs, 3, "%.2f"))
            else:
                peer = RECORDED[workload]
                peer_cols = ("%d (PEERS.md)" % peer, "-", "-", "-")
            results["pop3 %s %s" % key] = (rate, peer)
            if nogrant and key in nogrant[0]:
                alt = statistics.median(r[key][0] for r in nogrant)
                print("%-20s %18s %8s %8s %7s %18s %8s %8s %7s %7.1fx" % (
                    "%s, no grants" % workload, col(nogrant, 0), col(nogrant, 1),
                    col(nogrant, 2, "%.2f"), col(nogrant, 3, "%.2f"), "", "", "", "",
                    alt / peer))
            print("%-20s %18s %8s %8s %7s %18s %8s %8s %7s %7.1fx" % (
                ("%s, %s" % key, col(ours, 0), col(ours, 1), col(ours, 2, "%.2f"),
                 col(ours, 3, "%.2f")) + peer_cols + (rate / peer,)))
            floor = statistics.median(r[key][0] for r in floors)
            results["pop3 floor %s %s" % key] = floor
            print("%-20s %18s %8s %8s %7s %18s %8s %8s %7s %7.1fx" % (
                "  floor", col(floors, 0), col(floors, 1), col(floors, 2, "%.2f"),
                col(floors, 3, "%.2f"), "", "", "", "", floor / peer))


# ---------------------------------------------------------------- idle connections


def read_until(sock, done, limit=65536):
    data = b""
    while not done(data) and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("server closed an idle connection")
        data += chunk
    return data


def smtp_done(data):
    return data.endswith(b"\r\n") and (data.startswith(b"250 ") or b"\r\n250 " in data)


def idle_memory(root_pid, port, k, command, done):
    """PSS growth of the process tree under root_pid per idle connection, in KB."""
    socks = []
    try:
        time.sleep(0.2)
        before = peers.pss_tree(root_pid)
        for _ in range(k):
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.recv(512)
            s.sendall(command)
            socks.append(s)
        for s in socks:
            read_until(s, done)
        time.sleep(0.5)
        return (peers.pss_tree(root_pid) - before) / k
    finally:
        for s in socks:
            s.close()


def idle_one(tmp, cls, args, k, proto):
    s = fresh(tmp, cls, *args)
    try:
        if proto == "smtp":
            return idle_memory(s.pid, s.port, k, b"EHLO bench.test\r\n", smtp_done)
        return idle_memory(s.pid, s.port, k, b"CAPA\r\n", lambda d: d.endswith(b"\r\n.\r\n"))
    finally:
        if isinstance(s, (PosternSmtp, PosternPop3)):
            s.p.stop(signal.SIGKILL)
        else:
            s.stop()


def idle_part(tmp, with_postfix, with_dovecot, hard, results):
    print("\n== Idle connections: PSS growth of the server's process tree per connection "
          "(greeting read, EHLO / CAPA sent)")
    print("%-42s %10s %14s" % ("server", "connections", "KB/connection"))
    rows = []
    for k in IDLE:
        rows.append(("postern SMTP", PosternSmtp, (), k, "smtp"))
        rows.append(("postern POP3", PosternPop3, (), k, "pop3"))
    for k in IDLE_PEERS:
        if with_postfix:
            rows.append(("Postfix smtpd", PostfixSmtp, (k + 100,), k, "smtp"))
        if with_dovecot:
            rows.append(("Dovecot pop3-login (default, a process each)", DovecotPop3,
                         (k + 100,), k, "pop3"))
    for name, cls, args, k, proto in rows:
        if k + 100 > hard:
            print("%-42s %10d %14s" % (name, k, "skipped: open-file limit %d" % hard))
            continue
        kb = idle_one(os.path.join(tmp, "idle"), cls, args, k, proto)
        results["idle %s %d" % (name, k)] = kb
        print("%-42s %10d %14.1f" % (name, k, kb))
    if not with_postfix or not with_dovecot:
        print("(PEERS.md: Postfix smtpd %d KB, Dovecot pop3-login %d KB per connection at 1,000)"
              % (RECORDED["idle Postfix"], RECORDED["idle Dovecot"]))


# ---------------------------------------------------------------- targets


def floor_note(floor, target, unit):
    """ "; floor F" after a figure, saying when the target lies above what floorsrv reached."""
    if floor is None:
        return ""
    return "; floorsrv %.1f%s%s" % (floor, unit, ", below the target" if floor < target else "")


def verdicts(results):
    print("\n== Targets (issues 8, 11, 12, 13, 14 and 15)")
    lines = []
    key = "smtp 50 sessions, one connection each"
    if key in results:
        rate, peer = results[key]
        lines.append(("SMTP delivered msg/s at 50 clients >= %gx Postfix" % TARGETS["smtp"],
                      rate / peer >= TARGETS["smtp"], "%.1fx (%.0f vs %.0f)" % (rate / peer, rate, peer)))
        cpu = results["smtp cpu " + key[5:]]
        lines.append(("SMTP CPU per message at 50 clients <= %d us" % TARGETS["smtp_cpu_us"],
                      cpu <= TARGETS["smtp_cpu_us"], "%.0f us" % cpu))
    if "smtp aliases" in results:
        rate, base = results["smtp aliases"]
        lines.append(("SMTP with %s aliases and a catch-all >= %g%% of without" % (
            format(ALIASES, ","), TARGETS["aliases"]), rate >= base * TARGETS["aliases"] / 100,
            "%.0f%% (%.0f vs %.0f msg/s; CPU %.0f vs %.0f us)" % (
                100 * rate / base, rate, base, results["smtp cpu aliases"],
                results["smtp cpu " + key[5:]])))
    for key, what in (("disk best", "best probe"), ("disk c50", "probe, 50 clients"),
                      ("disk own", "probe, postern's batch size")):
        if key in results:
            floor = results.get("disk floor c50") if key == "disk c50" else None
            lines.append(("SMTP at 50 clients >= %g%% of the disk (%s)" % (TARGETS["disk_share"], what),
                          results[key] >= TARGETS["disk_share"], "%.0f%%%s" % (
                              results[key], floor_note(floor, TARGETS["disk_share"], "%"))))
    for mode in POP3_MODES:
        for workload in ("poll", "full"):
            key = "pop3 %s %s" % (workload, mode)
            if key in results:
                rate, peer = results[key]
                floor = results.get("pop3 floor %s %s" % (workload, mode))
                lines.append(("POP3 %s sessions/s (%s) >= %gx Dovecot" % (
                    "short poll" if workload == "poll" else "full retrieval", mode,
                    TARGETS[workload]), rate / peer >= TARGETS[workload],
                    "%.1fx (%.0f vs %.0f)%s" % (rate / peer, rate, peer, floor_note(
                        floor / peer if floor else None, TARGETS[workload], "x"))))
    for key, kb in results.items():
        if key.startswith("idle postern"):
            lines.append(("%s per idle connection <= %g KB" % (key[5:], TARGETS["idle_kb"]),
                          kb <= TARGETS["idle_kb"], "%.1f KB" % kb))
    lines += mailauth_bench.verdict_lines(results)
    lines += imap_bench.verdict_lines(results)
    lines += pgstore_bench.verdict_lines(results)
    for what, ok, figure in lines:
        print("%-68s %-7s %s" % (what, "met" if ok else "MISSED", figure))


def main():
    needed = [(SMTP_SOURCE, "Debian package postfix; make bench installs it", True),
              (POP3LOAD, "make bench builds it", "pop3" in PARTS or "pgstore" in PARTS),
              (DISKPROBE, "make bench builds it", "smtp" in PARTS),
              (FLOORSRV, "make bench builds it", "smtp" in PARTS or "pop3" in PARTS)]
    for path, what, used in needed:
        if used and not os.path.exists(path):
            sys.exit("bench: %s missing (%s)" % (path, what))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with_postfix = USE_PEERS and peers.postfix_installed() and os.geteuid() == 0
    with_dovecot = USE_PEERS and peers.dovecot_installed() and os.geteuid() == 0
    # on the disk, not in memory: /tmp here is the root filesystem (see PEERS.md)
    tmp = tempfile.mkdtemp(prefix="postern-bench-", dir="/tmp")
    os.chmod(tmp, 0o711)  # the peers' unprivileged processes traverse it
    print("postern side by side: %d cores, load average %s; Postfix %s, Dovecot %s" % (
        os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg()),
        "in the same run" if with_postfix else "from PEERS.md (make bench-peers installs it)",
        "in the same run" if with_dovecot else "from PEERS.md (make bench-peers installs it)"))
    results = {}
    try:
        if "smtp" in PARTS:
            smtp_part(tmp, with_postfix, results)
        if "mailauth" in PARTS:
            mailauth_bench.mailauth_part(tmp, with_postfix, results)
        if "pop3" in PARTS:
            pop3_part(tmp, with_dovecot, results)
        if "idle" in PARTS:
            idle_part(tmp, with_postfix, with_dovecot, hard, results)
        if "imap" in PARTS:
            imap_bench.imap_part(tmp, with_dovecot, hard, results)
        if "pgstore" in PARTS:
            pgstore_bench.pgstore_part(tmp, results)
        verdicts(results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
