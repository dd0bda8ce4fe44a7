"""The infrastructure of the multi-host tests (issue 15) does what they rely on.

A throwaway PostgreSQL (pgsql.Postgres, the postgres fixture) takes the
postern role's password and refuses a wrong one, and comes back on the same
port with the same data after a stop or a crash. Network namespaces
(netns.Namespaces, the two_hosts fixture) reach PostgreSQL and redis-server on
the bridge address and each other, not the root namespace's loopback or any
other address, and leave nothing behind.
"""
import os
import re
import socket
import subprocess
import sys

import pytest

import pgsql
from conftest import wait_for
from netns import Namespaces
from pgsql import live_pids

# A TCP client for inside a namespace: for each ADDR:PORT argument, a line
# "ok" and what the server sent, or "error" and the error.
CONNECT = """
import socket, sys
for target in sys.argv[1:]:
    addr, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((addr, int(port)), timeout=3) as s:
            print("ok", s.recv(100).decode())
    except OSError as e:
        print("error", e)
"""
# A TCP server for inside a namespace: says "listening", then sends "hello" to every client.
SERVE = """
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"hello")
    c.close()
"""


QUERY = "SELECT current_user || ' ' || host(inet_client_addr())"


def psql(pg, url, run=subprocess.run):
    """psql prints "ROLE CLIENT_ADDRESS" through url (a libpq client, as posternd is)."""
    env = dict(os.environ, PGCONNECT_TIMEOUT="3")
    env.pop("PGPASSWORD", None)
    return run([pg.bin("psql"), "-X", "-At", "-w", "-c", QUERY, url],
               capture_output=True, text=True, env=env, timeout=30)


def client_backends(pg):
    """The server's backends for a postern client (their title: postgres: postern postern ...)."""
    out = []
    for pid in pg.server_pids():
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if f.read().startswith(b"postgres: postern postern"):
                    out.append(pid)
        except OSError:
            pass
    return out


def ns_psql(hosts, i, url):
    return psql(hosts.pg, url, run=lambda argv, **kw: hosts.run(i, argv, **kw))


def ns_connect(hosts, i, targets):
    """Connect from namespace i to each (addr, port) in turn: CONNECT's lines."""
    r = hosts.run(i, [sys.executable, "-c", CONNECT] + ["%s:%d" % t for t in targets],
                  capture_output=True, text=True)
    return r.stdout.splitlines()


def test_postgres_password_auth_and_same_port_after_stop_and_crash(postgres):
    pg = postgres
    assert pg.host == "127.0.0.1" and pg.url() == "postgresql://postern:%s@127.0.0.1:%d/postern" \
        % (pg.password, pg.port)
    r = psql(pg, pg.url())
    assert (r.returncode, r.stdout) == (0, "postern 127.0.0.1\n"), r.stderr
    r = psql(pg, pg.url(password="wrong"))
    assert r.returncode != 0 and "password authentication failed" in r.stderr
    assert pg.psql("SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database "
                   "WHERE datname = 'postern'") == "postern:postern\n"
    assert pg.psql("SHOW fsync") == "off\n"
    pg.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (1);")
    port, pids = pg.port, pg.server_pids()
    assert len(pids) >= 3 and pids[0] == pg.pid  # the postmaster, checkpointer, ...

    pg.stop()
    pg.stop()                                  # idempotent
    assert live_pids(pids) == [] and pg.server_pids() == []
    assert psql(pg, pg.url()).returncode != 0  # down: refused
    pg.start()
    assert pg.port == port and pg.psql("SELECT x FROM t") == "1\n"
    assert psql(pg, pg.url()).stdout == "postern 127.0.0.1\n"

    pg.psql("INSERT INTO t VALUES (2);")      # committed: survives the crash
    client = subprocess.Popen([pg.bin("psql"), "-X", pg.url()], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:                                       # a client's backend, killed with the rest
        wait_for(lambda: client_backends(pg), 10, "the client's backend")
        pids = pg.server_pids()
        assert client_backends(pg)[0] in pids
        pg.kill()
        assert live_pids(pids) == [] and psql(pg, pg.url()).returncode != 0
    finally:
        client.kill()
        client.wait()
    pg.restart()
    assert pg.port == port and pg.psql("SELECT sum(x) FROM t") == "3\n"
    assert psql(pg, pg.url()).stdout == "postern 127.0.0.1\n"
    assert "database system is ready" in pg.log()

    pids = pg.server_pids()
    pg.close()
    assert live_pids(pids) == [] and not os.path.exists(pg.dir)


def test_each_namespace_reaches_postgres_and_redis_on_the_bridge(two_hosts):
    h = two_hosts
    assert h.pg.host == h.host_addr and h.redis.host == h.host_addr
    for i in range(2):
        r = ns_psql(h, i, h.pg.url())          # the server sees the namespace's address
        assert (r.returncode, r.stdout) == (0, "postern %s\n" % h.addr(i)), r.stderr
        r = ns_psql(h, i, h.pg.url(password="wrong"))
        assert r.returncode != 0 and "password authentication failed" in r.stderr
        r = h.run(i, ["redis-cli", "-h", h.host_addr, "-p", str(h.redis.port), "PING"],
                  capture_output=True, text=True)
        assert r.stdout.strip() == "PONG", r.stderr
    h.pg.stop()                                # an outage, seen from a namespace
    assert ns_psql(h, 0, h.pg.url()).returncode != 0
    h.pg.start()
    assert ns_psql(h, 1, h.pg.url()).stdout == "postern %s\n" % h.addr(1)


def root_addresses(exclude_prefix):
    """The root namespace's IPv4 addresses outside 127/8 and exclude_prefix (the bridge's)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True,
                         text=True).stdout
    addrs = re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)/", out)
    return [a for a in addrs if not a.startswith("127.") and not a.startswith(exclude_prefix)]


def test_namespaces_reach_each_other_and_nothing_else(two_hosts):
    h = two_hosts
    assert len({h.addr(0), h.addr(1), h.host_addr}) == 3
    servers = [h.popen(i, [sys.executable, "-c", SERVE, h.addr(i), "2525"],
                       stdout=subprocess.PIPE, text=True) for i in range(2)]
    try:
        assert [s.stdout.readline().strip() for s in servers] == ["listening"] * 2
        for i in range(2):                      # the root namespace, as the tests' clients
            with socket.create_connection((h.addr(i), 2525), timeout=3) as s:
                assert s.recv(100) == b"hello"
        # Both servers listen on the root namespace's 127.0.0.1 too...
        socket.create_connection(("127.0.0.1", h.pg.port), timeout=3).close()
        socket.create_connection(("127.0.0.1", h.redis.port), timeout=3).close()
        elsewhere = root_addresses(h.host_addr.rsplit(".", 1)[0] + ".") + ["192.0.2.1",
                                                                            "8.8.8.8"]
        for i in range(2):
            got = ns_connect(h, i, [(h.addr(1 - i), 2525), (h.addr(i), 2525),
                                    ("127.0.0.1", h.pg.port), ("127.0.0.1", h.redis.port)]
                             + [(a, 25) for a in elsewhere])
            assert got[:2] == ["ok hello", "ok hello"]   # the other namespace, and itself
            # ...which a namespace does not reach: its 127.0.0.1 is its own,
            assert got[2].startswith("error") and got[3].startswith("error")
            # and nothing else is routed: no default route.
            assert all("unreachable" in g for g in got[4:]), got
            routes = h.run(i, ["ip", "-4", "route", "show", "table", "all"],
                           capture_output=True, text=True).stdout
            assert "default" not in routes
    finally:
        for s in servers:
            s.kill()
            s.wait()


def test_cleanup_removes_namespaces_links_and_processes():
    hosts = Namespaces(2)
    try:
        sleeper = hosts.popen(1, ["sleep", "60"])
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert all(n in listed for n in hosts.names)
    finally:
        hosts.cleanup()
    try:
        assert sleeper.wait(timeout=10) == -9   # killed: it ran inside
    finally:
        sleeper.kill()
        sleeper.wait()
    hosts.cleanup()                             # idempotent
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert not any(n in listed for n in hosts.names)
    assert hosts.tag not in links
    assert not os.path.exists("/run/netns/" + hosts.names[0])


def test_stale_namespaces_of_a_dead_run_are_removed():
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = "postern-%d-abcdef-0" % dead.pid     # as a run killed with SIGKILL leaves it
    if os.path.exists("/proc/%d" % dead.pid):
        pytest.skip("pid reused")
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        hosts = Namespaces(1)
        hosts.cleanup()
        wait_for(lambda: name not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                    text=True).stdout, 5, "stale namespace gone")
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_server_of_a_killed_run_is_removed_by_the_next_one():
    code = ("import time, pgsql\npg = pgsql.Postgres().start()\n"
            "print(pg.dir, pg.pid, flush=True)\ntime.sleep(60)\n")
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                           cwd=os.path.dirname(pgsql.__file__))
    try:
        line = run.stdout.readline().split()
        assert len(line) == 2, "the first run did not start its server"
        d, pid = line[0], int(line[1])
        assert live_pids([pid]) == [pid]
    finally:
        run.kill()                              # SIGKILL: no finalizer, no atexit
        run.wait()
    assert os.path.isdir(d) and live_pids([pid]) == [pid]
    pgsql.Postgres().close()
    assert not os.path.exists(d)
    assert live_pids([pid]) == []
