#!/usr/bin/python3
"""POP3 figures for issue 4: sessions/s, CPU per session and MB/s retrieved,
with CLIENTS concurrent clients (one account each, so no [IN-USE]), against
a fresh posternd from build/. Two workloads, as the issue measured Dovecot
(65 sessions/s for full retrievals, about 20 ms CPU per session):

  poll  login, STAT, UIDL, QUIT (nothing new: the common ISP load)
  full  login, STAT, LIST, UIDL, RETR of 100 messages of 10 KB, QUIT

The clients are Python processes (poplib); on a small machine they compete
with the server for CPU, so sessions/s is a lower bound while the server's
CPU per session is exact. Run: python3 bench/bench_pop3.py
Environment: BENCH_CLIENTS (20), BENCH_SECONDS (10).
"""
import multiprocessing
import os
import poplib
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from conftest import Postern  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "20"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
MESSAGES = 100
BODY = b"Subject: bench\n\n" + (b"x" * 76 + b"\n") * 130  # about 10 KB
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def fill(p, user):
    new = os.path.join(p.maildir(user), "new")
    os.makedirs(new)
    os.makedirs(os.path.join(p.maildir(user), "cur"))
    os.makedirs(os.path.join(p.maildir(user), "tmp"))
    wire = len(BODY) + BODY.count(b"\n")
    for i in range(MESSAGES):
        name = "%d.M%06dP1Q%d.bench,S=%d,W=%d" % (1700000000 + i, i, i, len(BODY), wire)
        with open(os.path.join(new, name), "wb") as f:
            f.write(BODY)


def client(port, user, full, deadline, out):
    sessions = octets = 0
    while time.monotonic() < deadline:
        c = poplib.POP3("127.0.0.1", port)
        c.user(user)
        c.pass_("secret")
        n, _ = c.stat()
        if full:
            c.list()
        c.uidl()
        if full:
            for i in range(1, n + 1):
                octets += c.retr(i)[2]
        c.quit()
        sessions += 1
    out.put((sessions, octets))


def run(p, full):
    out = multiprocessing.Queue()
    deadline = time.monotonic() + SECONDS
    cpu0, t0 = cpu_seconds(p.proc.pid), time.monotonic()
    procs = [multiprocessing.Process(target=client, args=(
        p.ports["pop3"], "u%d@example.test" % i, full, deadline, out)) for i in range(CLIENTS)]
    for pr in procs:
        pr.start()
    results = [out.get() for _ in procs]
    for pr in procs:
        pr.join()
    elapsed, cpu = time.monotonic() - t0, cpu_seconds(p.proc.pid) - cpu0
    sessions = sum(r[0] for r in results)
    octets = sum(r[1] for r in results)
    print("%-5s %7.1f sessions/s  %6.2f ms CPU/session  %7.1f MB/s retrieved" % (
        "full" if full else "poll", sessions / elapsed, 1000 * cpu / max(sessions, 1),
        octets / elapsed / 1e6))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        p = Postern(tmp)
        for i in range(CLIENTS):
            p.add_user("u%d@example.test" % i)
            fill(p, "u%d@example.test" % i)
        p.start()
        try:
            print("POP3, %d clients, %gs each (Dovecot 2.3 on this machine: 65 sessions/s "
                  "full, ~20 ms CPU/session)" % (CLIENTS, SECONDS))
            run(p, full=False)
            run(p, full=True)
        finally:
            p.stop()


if __name__ == "__main__":
    main()
