"""Linux network namespaces for tests that need several postern hosts.

Namespaces(n) creates n namespaces joined by a bridge in the root namespace:

    root namespace:  bridge ptbrTAG  10.213.X.1/24    (host_addr: PostgreSQL, redis-server)
    namespace i:     eth0            10.213.X.(10+i)/24, and lo up

A process in namespace i reaches the bridge address and the other
namespaces' addresses, and nothing else: there is only the /24's connected
route (no default route), the bridge has no physical port, and nothing is
forwarded or translated (the tests never touch ip_forward or a firewall), so
no packet leaves the machine. 127.0.0.1 in a namespace is that namespace's
own loopback. X is chosen at random among the /24s of 10.213.0.0/16 that no
address or route of the machine overlaps.

    hosts = Namespaces(2)      # skips when not root or without ip netns
    hosts.run(0, ["ping", "-c1", hosts.addr(1)])
    proc = hosts.popen(1, ["posternd", "-c", conf])
    hosts.cleanup()            # kills what still runs inside, removes everything

Every name carries a random tag and the creating pid, so runs never collide;
leftovers of a run that died (its pid gone) are removed by the next one, and
cleanup() also runs when the interpreter exits.
"""
import atexit
import fcntl
import ipaddress
import os
import random
import re
import shutil
import signal
import subprocess
import time

import pytest

PACKAGE = "iproute2"
PREFIX = "postern"
NET = ipaddress.ip_network("10.213.0.0/16")
LOCK = "/run/lock/postern-netns.lock"

# ip route's words for a route's type, printed before its destination
ROUTE_TYPES = ("unicast", "local", "broadcast", "multicast", "anycast", "blackhole",
               "unreachable", "prohibit", "throw", "nat")

_live = set()


def ip(*args, check=True, ns=None):
    """Run ip(8) (inside namespace ns when given); its stdout."""
    argv = ["ip"] + (["-n", ns] if ns else []) + list(args)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv), r.stderr.strip()))
    return r.stdout


def netns_available():
    """None when ip netns can be used here, else why not (a skip reason)."""
    if os.geteuid() != 0:
        return "network namespaces need root (the suite runs as root in CI)"
    if shutil.which("ip") is None:
        return "ip is not installed: Debian package %s (scripts/deps.sh test)" % PACKAGE
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if r.returncode != 0:
        return "ip netns does not work here: %s" % r.stderr.strip()
    return None


def _pid_alive(pid):
    return os.path.exists("/proc/%d" % pid)


def remove_stale():
    """Remove the namespaces and bridges of earlier runs whose process is gone."""
    pattern = re.compile(r"^%s-(\d+)-([0-9a-f]{6})-\d+$" % PREFIX)
    for line in ip("netns", "list").splitlines():
        m = pattern.match(line.split()[0]) if line.strip() else None
        if m and not _pid_alive(int(m.group(1))):
            _kill_inside(line.split()[0])
            ip("netns", "del", line.split()[0], check=False)
            ip("link", "del", "ptbr" + m.group(2), check=False)


def _used_networks():
    """Every IPv4 network of an address or a route of the machine (not the default route)."""
    nets = []
    for line in ip("-4", "-o", "addr", "show").splitlines():
        m = re.search(r"\binet (\S+)", line)
        if m:
            nets.append(ipaddress.ip_interface(m.group(1)).network)
    for line in ip("-4", "route", "show", "table", "all").splitlines():
        words = line.split()
        dest = words[1] if words and words[0] in ROUTE_TYPES else \
            (words[0] if words else "default")
        if dest != "default":
            try:
                nets.append(ipaddress.ip_network(dest, strict=False))
            except ValueError:
                pass
    return [n for n in nets if n.prefixlen > 0]


def _pick_subnet():
    """A /24 of NET that overlaps nothing the machine uses (under LOCK)."""
    used = _used_networks()
    candidates = list(NET.subnets(new_prefix=24))
    random.shuffle(candidates)
    for net in candidates:
        if not any(net.overlaps(u) for u in used):
            return net
    raise RuntimeError("no free /24 in %s" % NET)


def _kill_inside(name):
    """SIGKILL every process still running inside namespace name (they were started here)."""
    r = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    pids = [int(p) for p in r.stdout.split() if p.isdigit()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _pid_alive(p) and not _zombie(p)]
        time.sleep(0.02)


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class Namespaces:
    """n network namespaces on a private bridge; see the module comment."""

    def __init__(self, n=2):
        reason = netns_available()
        if reason:
            pytest.skip(reason)
        self.n = n
        self.tag = "%06x" % random.getrandbits(24)
        self.names = ["%s-%d-%s-%d" % (PREFIX, os.getpid(), self.tag, i) for i in range(n)]
        self.bridge = "ptbr" + self.tag
        self.veths = ["pt%sh%d" % (self.tag, i) for i in range(n)]
        self.net = None
        self.host_addr = None
        self.prefixlen = 24
        _live.add(self)
        try:
            self._create()
        except Exception as e:
            self.cleanup()
            if "Operation not permitted" in str(e) or "Permission denied" in str(e):
                pytest.skip("network namespaces are not allowed here: %s" % e)
            raise

    def _create(self):
        """The bridge (on a free /24, chosen under a lock), then each namespace."""
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        with open(LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            remove_stale()
            self.net = _pick_subnet()
            self.host_addr = str(self.net[1])
            ip("link", "add", self.bridge, "type", "bridge")
            ip("addr", "add", "%s/24" % self.host_addr, "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for i in range(self.n):
            self._add_namespace(i)

    def _add_namespace(self, i):
        """Namespace i: lo up, eth0 (a veth whose peer is on the bridge) at addr(i)."""
        name, veth = self.names[i], self.veths[i]
        ip("netns", "add", name)
        ip("link", "add", veth, "type", "veth", "peer", "name", veth + "n")
        ip("link", "set", veth + "n", "netns", name)
        ip("link", "set", veth, "master", self.bridge)
        ip("link", "set", veth, "up")
        ip("link", "set", "lo", "up", ns=name)
        ip("link", "set", veth + "n", "name", "eth0", ns=name)
        ip("addr", "add", "%s/24" % self.addr(i), "dev", "eth0", ns=name)
        ip("link", "set", "eth0", "up", ns=name)

    def addr(self, i):
        """The address of namespace i: 10.213.X.(10+i)."""
        return str(self.net[10 + i])

    def name(self, i):
        """The name of namespace i, for ip netns exec NAME or ip -n NAME."""
        return self.names[i]

    def wrap(self, i, argv):
        """argv run inside namespace i (ip netns exec execs it: the pid is the program's)."""
        return ["ip", "netns", "exec", self.names[i]] + list(argv)

    def run(self, i, argv, **kw):
        """subprocess.run(argv, **kw) inside namespace i (timeout 60 s unless given)."""
        kw.setdefault("timeout", 60)
        return subprocess.run(self.wrap(i, argv), **kw)

    def popen(self, i, argv, **kw):
        """subprocess.Popen(argv, **kw) inside namespace i; cleanup() kills it if still there."""
        return subprocess.Popen(self.wrap(i, argv), **kw)

    def cleanup(self):
        """Kill what runs inside, delete the namespaces, veths and the bridge (idempotent)."""
        present = set(ip("netns", "list", check=False).split())
        for name, veth in zip(self.names, self.veths):
            if name in present:
                _kill_inside(name)
                ip("netns", "del", name, check=False)
            ip("link", "del", veth, check=False)
        ip("link", "del", self.bridge, check=False)
        _live.discard(self)


@atexit.register
def _cleanup_all():
    """No namespace or bridge outlives the interpreter, whatever happened to the fixtures."""
    for ns in list(_live):
        ns.cleanup()
