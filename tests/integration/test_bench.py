"""make bench stays runnable: bench/bench.py imports (bench/ and tests/integration/
both had a module named peers, and the bench died on its first import), and its
mail-authentication part, tiny and without peers, measures what it says: checked
runs deliver spf=pass dkim=pass dmarc=pass, signed runs a DKIM-Signature (the part
raises otherwise)."""
import os
import subprocess
import sys

from conftest import POSTERNCTL, POSTERND, ROOT

BENCH = os.path.join(ROOT, "bench", "bench.py")


def run_bench(**env):
    return subprocess.run([sys.executable, BENCH], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, POSTERND=POSTERND, POSTERNCTL=POSTERNCTL, **env))


def test_bench_imports_in_a_fresh_interpreter():
    r = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, 'bench'); import bench"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_mailauth_part_checks_and_signs():
    r = run_bench(BENCH_PARTS="mailauth", BENCH_PEERS="no", BENCH_RUNS="1", BENCH_MESSAGES="20")
    assert r.returncode == 0, r.stdout + r.stderr
    for row in ("postern, checks off", "postern, SPF+DKIM+DMARC checked", "postern, unsigned",
                "postern, signed (RSA-2048)"):
        assert "\n" + row in r.stdout, r.stdout
    assert "Signed submission (RSA-2048) >= 60% of without" in r.stdout, r.stdout


def test_verdicts_of_several_parts_together():
    """Each part's verdicts read only its own results (the IMAP part once unpacked the
    mail-authentication part's 3-tuples and the whole bench died at its last line)."""
    code = ("import sys; sys.path.insert(0, 'bench'); import imap_bench, mailauth_bench\n"
            "r = {'mailauth postern, signed (RSA-2048)': (39.0, 1642.0, 4160.0),\n"
            "     'imap idle postern SMTP 1000': (4.6, 0.9)}\n"
            "print(len(imap_bench.verdict_lines(r)), len(mailauth_bench.verdict_lines(r)))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "1"]


def test_pgstore_part_runs_both_stores():
    """The PostgreSQL store's part: a throwaway PostgreSQL, both stores measured, its verdicts."""
    pop3load = os.path.join(os.path.dirname(POSTERND), "pop3load")
    if not os.path.exists(pop3load):
        subprocess.run(["make", "--no-print-directory", "BUILD=" + os.path.dirname(POSTERND),
                        pop3load], cwd=ROOT, check=True, capture_output=True, timeout=300)
    r = run_bench(BENCH_PARTS="pgstore", BENCH_PEERS="no", BENCH_RUNS="1", BENCH_MESSAGES="30",
                  BENCH_POP3_SECONDS="0.5", POP3LOAD=pop3load)
    assert r.returncode == 0, r.stdout + r.stderr
    for row in ("SMTP msg/s", "POP3 polls/s", "SMTP delivered msg/s at 50 clients, PostgreSQL store",
                "POP3 short polls/s, PostgreSQL store"):
        assert row in r.stdout, r.stdout
