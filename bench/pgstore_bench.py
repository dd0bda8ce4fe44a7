"""make bench, part "pgstore" (issue 15): accounts and aliases in PostgreSQL
(auth.store = postgresql://...) against the file store, in the same run.

- SMTP: 50 sessions of smtp-source, one connection each, MESSAGES x 10 KB to
  one account (as the smtp part's first row): delivered msg/s.
- POP3: CLIENTS clients, each with its own account and a maildrop of 100 x
  10 KB, short polls in lock-step (LOGIN, STAT, UIDL, QUIT: as the pop3
  part's poll row): sessions/s.

The PostgreSQL is a throwaway 15 on loopback (tests/integration/pgsql.py),
the accounts written by posternctl. Rows alternate within each run (file,
then PostgreSQL), medians of RUNS. Target: PostgreSQL within 10% of the
file store, since both keep the tables in memory.
"""
import os
import statistics
import subprocess
import time

from benchlib import MESSAGES, QUICK, ROOT, RUNS, Postern, PosternSmtp, fresh, median_range
from benchlib import peers, smtp_run

POP3LOAD = os.environ.get("POP3LOAD", os.path.join(ROOT, "build", "pop3load"))
SECONDS = float(os.environ.get("BENCH_POP3_SECONDS", "2" if QUICK else "5"))
CLIENTS = int(os.environ.get("BENCH_POP3_CLIENTS", "20"))
BODY = b"Subject: bench\n\n" + (b"x" * 76 + b"\n") * 130  # about 10 KB
TARGET = 90.0  # percent of the file store


def store_config(url):
    return {"auth": {"store": url}} if url else {}


def wait_loaded(p, accounts):
    """A PostgreSQL store loads after "postern ready": wait for the accounts."""
    if p.extra.get("auth", {}).get("store", "file") == "file":
        return
    want = "auth: loaded %d account(s)" % accounts
    deadline = time.monotonic() + 30
    while want not in p.log():
        if time.monotonic() > deadline:
            raise RuntimeError("posternd did not load %d accounts:\n%s" % (accounts, p.log()[-2000:]))
        time.sleep(0.05)


class StoreSmtp(PosternSmtp):
    """PosternSmtp with auth.store given (None: file)."""

    def __init__(self, tmp, url):
        super().__init__(tmp, store_config(url))

    def start(self):
        super().start()
        wait_loaded(self.p, 1)
        return self


class StorePop3:
    name = "postern"

    def __init__(self, tmp, url):
        self.p = Postern(tmp, store_config(url))
        for i in range(CLIENTS):
            user = "u%d@example.test" % i
            self.p.add_user(user)
            peers.write_messages(self.p.maildir(user), 100, BODY)

    def start(self):
        self.p.start()
        wait_loaded(self.p, CLIENTS)
        self.pid, self.port = self.p.proc.pid, self.p.ports["pop3"]
        return self

    def stop(self):
        self.p.stop()


def pop3_polls(tmp, url):
    """Short polls per second against a fresh server."""
    s = fresh(tmp, StorePop3, url)
    try:
        args = [POP3LOAD, "-P", str(s.port), "-c", str(CLIENTS), "-u", "u%d@example.test",
                "-w", "secret"]
        subprocess.run(args + ["-n", str(2 * CLIENTS)], check=True, capture_output=True,
                       timeout=120)
        r = subprocess.run(args + ["-t", str(SECONDS)], capture_output=True, text=True,
                           timeout=SECONDS + 120)
        out = dict(kv.split("=") for kv in r.stdout.split())
        if r.returncode != 0 or int(out.get("errors", 1)) != 0:
            raise RuntimeError("pop3load: %s %s" % (r.stdout, r.stderr))
        return float(out["sessions_per_s"])
    finally:
        s.stop()


def reset(pg):
    """No accounts from the run before (the tables exist once a postern connected)."""
    pg.psql("DO $$ BEGIN IF to_regclass('accounts') IS NOT NULL THEN "
            "TRUNCATE accounts, aliases; END IF; END $$")


def pgstore_part(tmp, results):
    from pgsql import Postgres  # tests/integration: a throwaway PostgreSQL
    pg = Postgres(keep_dir=None)
    pg.start()
    try:
        runs = {k: [] for k in ("smtp file", "smtp pg", "pop3 file", "pop3 pg")}
        for _ in range(RUNS):
            for label, url in (("file", None), ("pg", pg.url())):
                if url:
                    reset(pg)
                runs["smtp " + label].append(
                    smtp_run(os.path.join(tmp, "pgstore-smtp"), StoreSmtp, 50, True, url)[0])
                if url:
                    reset(pg)
                runs["pop3 " + label].append(pop3_polls(os.path.join(tmp, "pgstore-pop3"), url))
    finally:
        pg.close()
    print("\n== Accounts in PostgreSQL (auth.store) against the file store: SMTP at 50 sessions "
          "(%d x 10 KB),\n   POP3 short polls of %d clients, lock-step (%gs); median (min-max) of "
          "%d runs, alternating" % (MESSAGES, CLIENTS, SECONDS, RUNS))
    print("%-28s %20s %20s %8s" % ("load", "file store", "PostgreSQL", "share"))
    for load, unit in (("smtp", "msg/s"), ("pop3", "polls/s")):
        f = statistics.median(runs[load + " file"])
        g = statistics.median(runs[load + " pg"])
        results["pgstore " + load] = (g, f)
        print("%-28s %20s %20s %7.0f%%" % ("%s %s" % (load.upper(), unit),
                                            median_range(runs[load + " file"]),
                                            median_range(runs[load + " pg"]), 100 * g / f))


def verdict_lines(results):
    out = []
    for load, what in (("smtp", "SMTP delivered msg/s at 50 clients"),
                       ("pop3", "POP3 short polls/s")):
        if "pgstore " + load in results:
            g, f = results["pgstore " + load]
            out.append(("%s, PostgreSQL store >= %g%% of file" % (what, TARGET),
                        100 * g / f >= TARGET, "%.0f%% (%.0f vs %.0f)" % (100 * g / f, g, f)))
    return out
