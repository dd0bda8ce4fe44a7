"""Relay grants: posternctl relay on LMDB and Redis, and the Postfix policy service.

The SMTP and POP3 sides of POP-before-SMTP are tested with those services;
here the store and its tools are tested on their own, through the real
daemon and the real posternctl (and a real redis-server started here).
"""
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import threading
import time

import pytest

from conftest import free_port, wait_port

# The request of https://www.postfix.org/SMTPD_POLICY_README.html, exactly as
# Postfix sends it (client_address is replaced per test).
POSTFIX_REQUEST = (
    "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=SMTP\n"
    "helo_name=some.domain.tld\nqueue_id=8045F2AB23\nsender=foo@bar.tld\n"
    "recipient=bar@foo.tld\nrecipient_count=0\nclient_address=1.2.3.4\n"
    "client_name=another.domain.tld\nreverse_client_name=another.domain.tld\n"
    "instance=123.456.7\nsasl_method=plain\nsasl_username=you\nsasl_sender=\nsize=12345\n"
    "ccert_subject=solaris9.porcupine.org\nccert_issuer=Wietse+20Venema\n"
    "ccert_fingerprint=C2:9D:F4:87:71:73:73:D9:18:E7:C2:F3:C1:DA:6E:04\n"
    "encryption_protocol=TLSv1/SSLv3\nencryption_cipher=DHE-RSA-AES256-SHA\n"
    "encryption_keysize=256\netrn_domain=\nstress=\n"
    "ccert_pubkey_fingerprint=68:B3:29:DA:98:93:E3:40:99:C7:D8:AD:5C:B9:C9:40\n"
    "client_port=1234\npolicy_context=submission\nserver_address=10.3.2.1\n"
    "server_port=54321\ncompatibility_level=major.minor.patch\nmail_version=3.8.0\n\n")

OK = "action=OK\n\n"
DUNNO = "action=DUNNO\n\n"
DEFER = "action=DEFER_IF_PERMIT Service temporarily unavailable\n\n"
MSG = "From: x@remote.test\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nHello\r\n"


def request(ip, instance="123.456.7"):
    return (POSTFIX_REQUEST.replace("client_address=1.2.3.4", "client_address=" + ip)
            .replace("instance=123.456.7", "instance=" + instance))


class Policy:
    """One connection to the policy service, as Postfix keeps it open."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def answer(self):
        while b"\n\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise EOFError("policy service closed the connection")
            self.buf += data
        reply, self.buf = self.buf.split(b"\n\n", 1)
        return reply.decode() + "\n\n"

    def ask(self, ip, instance="123.456.7"):
        self.sock.sendall(request(ip, instance).encode())
        return self.answer()

    def close(self):
        self.sock.close()


def start(make_postern, store=None, **extra):
    config = {"policy": {"listen": "127.0.0.1:%d" % free_port()},
              "relay": {"trusted_networks": "10.0.0.0/8"}}
    if store:
        config["relay"]["store"] = store
    for section, keys in extra.items():
        config.setdefault(section, {}).update(keys)
    p = make_postern(config)
    p.policy_port = int(config["policy"]["listen"].rsplit(":", 1)[1])
    p.add_user("alice@example.test")
    p.start()
    wait_port(p.policy_port, alive=lambda: p.proc.poll() is None)
    return p


def finish(p):
    rc = p.stop()
    log = p.log()
    assert rc == 0, log[-3000:]
    assert "ERROR: AddressSanitizer" not in log
    assert "runtime error:" not in log


def relay(p, *args, check=False):
    return p.ctl("relay", *args, check=check)


def local_delivery_works(p):
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10) as s:
        assert s.sendmail("x@remote.test", ["alice@example.test"], MSG) == {}


# --- posternctl relay on LMDB ---------------------------------------------

def test_ctl_grant_list_check_revoke_on_lmdb(make_postern):
    p = start(make_postern)
    r = relay(p, "list")
    assert r.returncode == 0 and r.stdout.split("\n")[0].split() == [
        "ADDRESS", "LOGIN", "GRANTED", "EXPIRES", "VIA"]
    assert len(r.stdout.strip().split("\n")) == 1

    r = relay(p, "check", "127.0.0.5")
    assert r.returncode == 1
    assert r.stdout.strip() == "127.0.0.5 may not relay: no grant was ever made"

    r = relay(p, "grant", "127.0.0.5", "--login", "alice@example.test", "--for", "2s")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("granted 127.0.0.5 for alice@example.test until ")
    r = relay(p, "grant", "::ffff:127.0.0.6")
    assert r.returncode == 0 and "127.0.0.6 for manual" in r.stdout, r.stdout

    rows = [line.split() for line in relay(p, "list").stdout.strip().split("\n")[1:]]
    assert [row[:2] for row in rows] == [["127.0.0.5", "alice@example.test"],
                                         ["127.0.0.6", "manual"]]
    for row in rows:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", row[2]) and row[3] > row[2]

    r = relay(p, "check", "127.0.0.5")
    assert r.returncode == 0
    assert r.stdout.startswith("127.0.0.5 may relay: grant for alice@example.test since ")
    r = relay(p, "check", "10.1.2.3")
    assert r.returncode == 0
    assert r.stdout.strip() == "10.1.2.3 may relay: trusted network 10.0.0.0/8"

    r = relay(p, "revoke", "127.0.0.6")
    assert r.returncode == 0 and r.stdout.strip() == "revoked 127.0.0.6"
    assert relay(p, "check", "127.0.0.6").returncode == 1
    r = relay(p, "revoke", "127.0.0.6")
    assert r.returncode == 1 and "no grant" in r.stderr

    time.sleep(2.2)
    r = relay(p, "check", "127.0.0.5")
    assert r.returncode == 1
    assert "the last grant (for alice@example.test) expired at " in r.stdout
    assert "127.0.0.5" not in relay(p, "list").stdout
    finish(p)


def test_ctl_usage_errors(make_postern):
    p = make_postern()
    for args in (["relay"], ["relay", "frob"], ["relay", "grant"],
                 ["relay", "grant", "127.0.0.1", "--for", "soon"],
                 ["relay", "grant", "127.0.0.1", "--since", "1h"],
                 ["relay", "report", "--since"]):
        r = p.ctl(*args, check=False)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
    r = relay(p, "grant", "not-an-ip")
    assert r.returncode == 1 and "not an IP address" in r.stderr
    r = relay(p, "grant", "127.0.0.1", "--login", "two words")
    assert r.returncode == 2


def test_ctl_works_before_the_daemon_ever_ran(make_postern):
    p = make_postern()
    assert not os.path.exists(p.data_dir)
    assert relay(p, "grant", "127.0.0.9").returncode == 0
    p.add_user("alice@example.test")
    p.start()
    assert relay(p, "check", "127.0.0.9").returncode == 0
    finish(p)


def test_ipv6_grant_covers_the_configured_prefix(make_postern):
    p = make_postern({"relay": {"ipv6_prefix": "64"}})
    r = relay(p, "grant", "2001:db8:1:2::77")
    assert r.returncode == 0 and "2001:db8:1:2::/64" in r.stdout
    assert relay(p, "check", "2001:db8:1:2:ffff::1").returncode == 0
    assert relay(p, "check", "2001:db8:1:3::1").returncode == 1
    assert relay(p, "revoke", "2001:db8:1:2::/64").returncode == 0


# --- the policy service ----------------------------------------------------

def test_policy_service_answers_the_postfix_request(make_postern):
    p = start(make_postern)
    pol = Policy(p.policy_port)
    assert pol.ask("127.0.0.5") == DUNNO
    assert relay(p, "grant", "127.0.0.5", "--login", "alice@example.test").returncode == 0
    assert pol.ask("127.0.0.5") == OK          # the same connection sees the new grant
    assert pol.ask("::ffff:127.0.0.5") == OK
    assert pol.ask("127.0.0.6") == DUNNO
    assert pol.ask("10.9.9.9") == OK            # trusted network
    # Several requests in one write are answered in order.
    pol.sock.sendall((request("127.0.0.6") + request("127.0.0.5")).encode())
    assert pol.answer() == DUNNO and pol.answer() == OK
    # Byte by byte works too.
    for ch in request("127.0.0.5"):
        pol.sock.sendall(ch.encode())
    assert pol.answer() == OK
    assert relay(p, "revoke", "127.0.0.5").returncode == 0
    assert pol.ask("127.0.0.5") == DUNNO
    pol.close()
    assert "policy " in p.log()
    finish(p)


def test_policy_service_closes_on_garbage_and_keeps_serving(make_postern):
    p = start(make_postern)
    s = socket.create_connection(("127.0.0.1", p.policy_port), timeout=10)
    s.sendall(b"this is not a policy request\n")
    assert s.recv(100) == b""
    s.close()
    s = socket.create_connection(("127.0.0.1", p.policy_port), timeout=10)
    s.sendall(b"a=" + b"x" * 70000 + b"\n")
    try:
        assert s.recv(100) == b""
    except ConnectionResetError:
        pass
    s.close()
    pol = Policy(p.policy_port)
    assert pol.ask("127.0.0.5") == DUNNO
    pol.sock.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n\n")
    assert pol.answer() == DUNNO               # no client_address: Postfix decides
    pol.close()
    local_delivery_works(p)
    finish(p)


def test_policy_counts_relayed_messages_for_the_report(make_postern):
    p = start(make_postern)
    relay(p, "grant", "127.0.0.5", "--login", "alice@example.test")
    relay(p, "grant", "127.0.0.7", "--login", "bob@example.test")
    pol = Policy(p.policy_port)
    assert pol.ask("127.0.0.5", "aa.1") == OK
    assert pol.ask("127.0.0.5", "aa.1") == OK   # a second recipient of the same message
    assert pol.ask("127.0.0.5", "bb.2") == OK
    assert pol.ask("127.0.0.7", "cc.3") == OK
    assert pol.ask("10.0.0.1", "dd.4") == OK    # trusted: not a grant, not counted
    pol.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = relay(p, "report")
        if "bob@example.test" in r.stdout:
            break
        time.sleep(0.1)
    rows = [line.split() for line in r.stdout.strip().split("\n")]
    assert rows[0] == ["LOGIN", "MESSAGES", "LAST"]
    assert [row[:2] for row in rows[1:]] == [["alice@example.test", "2"],
                                             ["bob@example.test", "1"]]
    r = relay(p, "report", "--since", "1h")
    assert "alice@example.test" in r.stdout
    finish(p)


# --- Redis -----------------------------------------------------------------

def test_redis_store_with_ctl_and_policy(make_postern, redis):
    p = start(make_postern, "redis://127.0.0.1:%d/3" % redis.port)
    pol = Policy(p.policy_port)
    assert pol.ask("127.0.0.5") == DUNNO
    assert relay(p, "check", "127.0.0.5").returncode == 1
    r = relay(p, "grant", "127.0.0.5", "--login", "alice@example.test", "--for", "2s")
    assert r.returncode == 0, r.stderr
    assert relay(p, "grant", "127.0.0.6", "--login", "carol@example.test").returncode == 0
    assert pol.ask("127.0.0.5") == OK
    rows = [line.split()[:2] for line in relay(p, "list").stdout.strip().split("\n")[1:]]
    assert rows == [["127.0.0.5", "alice@example.test"], ["127.0.0.6", "carol@example.test"]]
    assert relay(p, "check", "127.0.0.6").returncode == 0
    assert relay(p, "revoke", "127.0.0.6").returncode == 0
    assert pol.ask("127.0.0.6") == DUNNO
    assert pol.ask("127.0.0.5", "m.1") == OK
    time.sleep(2.2)                              # the key's TTL ends the grant
    assert pol.ask("127.0.0.5") == DUNNO
    r = relay(p, "check", "127.0.0.5")
    assert r.returncode == 1 and "expired at" in r.stdout
    r = relay(p, "report")                       # instances 123.456.7 and m.1
    assert [line.split()[:2] for line in r.stdout.strip().split("\n")[1:]] == [
        ["alice@example.test", "2"]]
    pol.close()
    finish(p)


def test_redis_down_defers_and_local_mail_flows(make_postern, redis):
    p = start(make_postern, "redis://127.0.0.1:%d/0" % redis.port)
    assert relay(p, "grant", "127.0.0.5", "--login", "alice@example.test").returncode == 0
    pol = Policy(p.policy_port)
    assert pol.ask("127.0.0.5") == OK

    redis.stop()
    t0 = time.monotonic()
    assert pol.ask("127.0.0.5") == DEFER
    assert pol.ask("10.0.0.1") == OK            # trusted networks need no store
    assert time.monotonic() - t0 < 3
    r = relay(p, "check", "127.0.0.5")
    assert r.returncode == 1 and "unavailable" in r.stderr, r.stderr
    assert relay(p, "grant", "127.0.0.7").returncode == 1
    local_delivery_works(p)
    for _ in range(5):
        assert pol.ask("127.0.0.5") == DEFER
    assert "unavailable" in p.log()

    redis.start()                                # an empty Redis: the grant is gone
    deadline = time.monotonic() + 5
    answer = None
    while time.monotonic() < deadline and answer != DUNNO:
        time.sleep(0.2)
        answer = pol.ask("127.0.0.5")
    assert answer == DUNNO
    assert relay(p, "grant", "127.0.0.5").returncode == 0
    assert pol.ask("127.0.0.5") == OK
    pol.close()
    finish(p)


def test_silent_redis_does_not_freeze_the_daemon(make_postern, tmp_path):
    """A server that accepts but never answers: bounded waits, other sessions go on."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    p = start(make_postern, "redis://127.0.0.1:%d/0" % silent.getsockname()[1])
    pol = Policy(p.policy_port)
    answers = []
    t = threading.Thread(target=lambda: answers.append(pol.ask("127.0.0.5")))
    t0 = time.monotonic()
    t.start()
    time.sleep(0.2)
    local_delivery_works(p)                      # while the policy request waits
    assert time.monotonic() - t0 < 1.0
    t.join(10)
    assert answers == [DEFER]
    assert time.monotonic() - t0 < 4
    r = relay(p, "check", "127.0.0.5")
    assert r.returncode == 1
    pol.close()
    finish(p)
    silent.close()
