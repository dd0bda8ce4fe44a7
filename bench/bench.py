#!/usr/bin/python3
"""make bench: postern's SMTP figures, measured the way ../shared/PEERS.md
measured Postfix: Postfix's smtp-source, 10 KB messages, delivered end to end
(from the first connection until the last file is in the Maildir), a fresh
server per run. Also memory per idle connection (PSS, smaps_rollup).

Environment: BENCH_MESSAGES (default 3000), BENCH_RUNS (default 3),
BENCH_IDLE (default "1000,10000").
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

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from conftest import Postern  # noqa: E402  (reused: config, ports, users)

SMTP_SOURCE = "/usr/sbin/smtp-source"
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "3000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IDLE = [int(k) for k in os.environ.get("BENCH_IDLE", "1000,10000").split(",") if k]
TICK = os.sysconf("SC_CLK_TCK")
PEERS = {  # ../shared/PEERS.md, same kind of machine
    "50 sessions, one connection each": "Postfix 601 msg/s, 2.5-2.8 ms CPU/msg",
    "50 sessions, a connection per message": "Postfix 526 msg/s",
    "1 session": "Postfix 398 msg/s",
    "idle": "Postfix 1,216 KB, Dovecot 1,102 KB per connection",
}


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def pss_kb(pid):
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def count_new(p):
    d = os.path.join(p.maildir("alice@example.test"), "new")
    return len(os.listdir(d)) if os.path.isdir(d) else 0


def fresh_server(tmp):
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    p = Postern(tmp)
    p.add_user("alice@example.test")
    return p.start()


def smtp_source(p, sessions, count, reuse):
    args = [SMTP_SOURCE, "-s", str(sessions), "-l", "10240", "-m", str(count),
            "-f", "bench@remote.test", "-t", "alice@example.test"]
    if reuse:
        args.append("-d")
    subprocess.run(args + ["127.0.0.1:%d" % p.smtp_port], check=True, timeout=600)


def one_run(tmp, sessions, reuse):
    """Returns (msg/s, CPU µs per msg, syncs per msg) for one fresh server."""
    p = fresh_server(tmp)
    smtp_source(p, sessions, max(MESSAGES // 10, 1), reuse)  # warm-up
    base = count_new(p)
    cpu0, t0 = cpu_seconds(p.proc.pid), time.monotonic()
    smtp_source(p, sessions, MESSAGES, reuse)
    deadline = time.monotonic() + 120
    while count_new(p) < base + MESSAGES and time.monotonic() < deadline:
        time.sleep(0.001)
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(p.proc.pid) - cpu0
    assert count_new(p) == base + MESSAGES, "messages missing"
    p.stop()
    stats = dict(kv.split("=") for kv in p.log().rsplit("stopped: ", 1)[1].split()[:3])
    syncs = int(stats["syncs"]) / int(stats["messages"])
    return MESSAGES / elapsed, cpu * 1e6 / MESSAGES, syncs


def idle_memory(tmp, k):
    """PSS growth of posternd per idle connection that said EHLO."""
    p = fresh_server(tmp)
    socks = []
    try:
        before = pss_kb(p.proc.pid)
        for _ in range(k):
            s = socket.create_connection(("127.0.0.1", p.smtp_port))
            s.recv(512)
            s.sendall(b"EHLO bench.test\r\n")
            socks.append(s)
        for s in socks:
            while not s.recv(4096).endswith(b"250 SMTPUTF8\r\n"):
                pass
        time.sleep(0.5)
        return (pss_kb(p.proc.pid) - before) / k
    finally:
        for s in socks:
            s.close()
        p.stop(signal.SIGKILL)


def main():
    if not os.path.exists(SMTP_SOURCE):
        sys.exit("bench: %s missing (Debian package postfix; make bench installs it)" % SMTP_SOURCE)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="postern-bench-")
    print("postern SMTP benchmark: %d x 10 KB messages per run, median of %d runs, %d cores"
          % (MESSAGES, RUNS, os.cpu_count()))
    print("%-40s %12s %14s %10s   %s" % ("load", "msg/s", "CPU us/msg", "syncs/msg", "peer"))
    for name, sessions, reuse in [("50 sessions, one connection each", 50, True),
                                  ("50 sessions, a connection per message", 50, False),
                                  ("1 session", 1, True)]:
        runs = [one_run(tmp, sessions, reuse) for _ in range(RUNS)]
        rate, cpu, syncs = (statistics.median(r[i] for r in runs) for i in range(3))
        print("%-40s %12.0f %14.0f %10.3f   %s" % (name, rate, cpu, syncs, PEERS[name]))
    for k in IDLE:
        if k + 100 > hard:
            print("idle %d: skipped, open-file limit %d" % (k, hard))
            continue
        print("%-40s %9.1f KB per connection   %s"
              % ("idle connections: %d" % k, idle_memory(tmp, k), PEERS["idle"]))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
