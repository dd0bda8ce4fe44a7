"""The relayhost's TLS certificate is verified (delivery.relayhost_tls_verify).

"near" is the postern under test; it sends all remote mail to a relayhost
with a password (delivery.relayhost_auth). The relayhost is a second
postern ("far", host name relay.test, its self-signed certificate made on
first start) taking passwords only over TLS on its submission port, or a
peers.SinkServer without STARTTLS. relay.test and alias.test resolve to
127.0.0.1 through a peers.DnsStub. Certificates that postern does not make
itself (a private CA, an IP address) come from the openssl command.
"""
import os
import re
import signal
import subprocess

import pytest
from conftest import free_port
from peers import DnsStub, SinkServer
from test_outbound import BODY as OUTBOUND_BODY, TRUSTED, check_clean_exit, queue_list_shows, relay, wait_for

# far is a submission service: carol must own the From: address as well as the sender
BODY = OUTBOUND_BODY.replace("From: alice@example.test", "From: carol@far.test")


@pytest.fixture
def dns():
    d = DnsStub({("relay.test", "A"): ["127.0.0.1"], ("alias.test", "A"): ["127.0.0.1"]})
    yield d
    d.close()


@pytest.fixture
def far(make_postern):
    """The relayhost: relay.test, passwords only over TLS, carol may send to dave."""
    p = make_postern({"server": {"hostname": "relay.test"}, "domains": {"local": "far.test"},
                      "auth": {"allow_plaintext": "no"}}, sub="far")
    p.add_user("dave@far.test")
    p.add_user("carol@far.test", password="carol-pw")
    p.start()
    yield p
    check_clean_exit(p)


def far_cert(far):
    return os.path.join(far.data_dir, "tls", "cert.pem")


def near_config(near, dns, port, host="relay.test", **delivery):
    keys = {"relayhost": "[%s]:%d" % (host, port), "dns_servers": "127.0.0.1:%d" % dns.port,
            "relayhost_auth": os.path.join(near.dir, "relay-auth")}
    keys.update(delivery)
    return {"relay": TRUSTED, "delivery": keys}


def make_near(make_postern, dns, port, host="relay.test", **delivery):
    near = make_postern({}, sub="near")
    with open(os.path.join(near.dir, "relay-auth"), "w") as f:
        f.write("carol@far.test:carol-pw\n")
    near.write_config(near_config(near, dns, port, host, **delivery))
    return near


def reload(p):
    done = p.log().count("configuration reloaded")
    p.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: p.log().count("configuration reloaded") > done, what="the reload")


def arrived(far):
    return far.messages("dave@far.test")


def assert_nothing_reached(far):
    """far saw neither a login nor a message."""
    log = far.log()
    assert "smtp auth" not in log, log[-2000:]
    assert arrived(far) == []


def test_self_signed_relayhost_gets_nothing_until_its_certificate_is_trusted(make_postern,
                                                                              far, dns):
    near = make_near(make_postern, dns, far.ports["submission"])
    near.start()
    relay(near, "carol@far.test", ["dave@far.test"], BODY.encode())
    out = queue_list_shows(near, "<dave@far.test> deferred")
    assert "4.7.5 TLS certificate verification failed: self-signed certificate" in out
    log = near.log()
    assert re.search(r"to=<dave@far.test> relay=relay.test\[127\.0\.0\.1\]:%d status=deferred "
                     r"\(4\.7\.5 TLS certificate verification failed: self-signed certificate"
                     % far.ports["submission"], log), log[-2000:]
    assert "smtp starttls" in far.log()  # TLS was started, and abandoned at the certificate
    assert_nothing_reached(far)
    assert len(near.queued()) == 1

    # trust far's own certificate: a SIGHUP and a flush deliver, with the password
    near.write_config(near_config(near, dns, far.ports["submission"],
                                  relayhost_tls_ca=far_cert(far)))
    reload(near)
    near.ctl("queue", "flush")
    (msg,) = wait_for(lambda: arrived(far), what="delivery through far")
    assert b"with ESMTPSA id" in msg
    assert re.search(r"smtp auth user=carol@far.test .*ok", far.log())
    wait_for(lambda: near.queued() == [], what="the entry to go")
    assert "carol-pw" not in near.log()
    check_clean_exit(near)


def test_relayhost_tls_verify_no_accepts_an_unverified_relayhost(make_postern, far, dns):
    near = make_near(make_postern, dns, far.ports["submission"], relayhost_tls_verify="no")
    near.start()
    relay(near, "carol@far.test", ["dave@far.test"], BODY.encode())
    wait_for(lambda: arrived(far), what="delivery through far")
    assert "smtp auth user=carol@far.test" in far.log()
    assert "verification failed" not in near.log()
    check_clean_exit(near)


def test_a_trusted_certificate_for_another_name_is_refused(make_postern, far, dns):
    # far's certificate is trusted, but names relay.test, not alias.test
    near = make_near(make_postern, dns, far.ports["submission"], host="alias.test",
                     relayhost_tls_ca=far_cert(far))
    near.start()
    relay(near, "carol@far.test", ["dave@far.test"], BODY.encode())
    out = queue_list_shows(near, "<dave@far.test> deferred")
    assert "TLS certificate verification failed: hostname mismatch" in out
    assert_nothing_reached(far)
    check_clean_exit(near)


@pytest.mark.parametrize("with_password", [True, False])
def test_a_verified_relayhost_without_starttls_gets_nothing(make_postern, dns, with_password):
    sink = SinkServer()  # no STARTTLS
    logins = []
    if with_password:
        sink.auth = {"carol@far.test": "carol-pw"}
        real_auth = sink._auth
        sink._auth = lambda *args: logins.append(args[0]) or real_auth(*args)
    try:
        near = make_near(make_postern, dns, sink.port, host="127.0.0.1")
        if not with_password:
            near.write_config(near_config(near, dns, sink.port, host="127.0.0.1",
                                          relayhost_auth=""))
        near.start()
        relay(near, "carol@far.test", ["dave@far.test"], BODY.encode())
        out = queue_list_shows(near, "<dave@far.test> deferred")
        assert "4.7.4" in out and "offers no STARTTLS: TLS is required" in out
        assert sink.transactions == [] and logins == []
        check_clean_exit(near)
    finally:
        sink.close()


def start_must_fail(p, config):
    """start() fails with config; a port taken meanwhile (free_port's race) is tried again."""
    for _ in range(3):
        offset = len(p.log()) if os.path.exists(p.log_path) else 0
        p.write_config(config)
        with pytest.raises(RuntimeError):
            p.start(attempts=1)
        if "Address already in use" not in p.log()[offset:]:
            return
        p.ports = {name: free_port() for name in p.ports}


def test_an_unreadable_relayhost_tls_ca_stops_start_and_reload(make_postern, far, dns):
    missing = os.path.join(far.dir, "no-such-ca.pem")
    near = make_near(make_postern, dns, far.ports["submission"], relayhost_tls_ca=missing)
    start_must_fail(near, near_config(near, dns, far.ports["submission"], relayhost_tls_ca=missing))
    assert "delivery.relayhost_tls_ca %s: No such file or directory" % missing in near.log()
    not_pem = os.path.join(near.dir, "relay-auth")
    start_must_fail(near, near_config(near, dns, far.ports["submission"], relayhost_tls_ca=not_pem))
    assert "delivery.relayhost_tls_ca %s: no PEM certificate" % not_pem in near.log()
    assert "carol-pw" not in near.log()
    # a running daemon keeps its configuration when the new one names a bad file
    near.write_config(near_config(near, dns, far.ports["submission"],
                                  relayhost_tls_ca=far_cert(far)))
    near.start()
    near.write_config(near_config(near, dns, far.ports["submission"], relayhost_tls_ca=missing))
    near.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed, keeping the running configuration: "
             "delivery.relayhost_tls_ca" in near.log(), what="the refused reload")
    relay(near, "carol@far.test", ["dave@far.test"], BODY.encode())
    wait_for(lambda: arrived(far), what="delivery with the running configuration")
    check_clean_exit(near)


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True,
                   timeout=60)


def make_ca_and_leaf(d, leaf_san):
    """A private CA and a certificate it signs for leaf_san, in directory d."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=Private Test CA", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", cwd=d)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=relay", "-keyout", "leaf.key", "-out", "leaf.csr", cwd=d)
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("subjectAltName=%s\n" % leaf_san)
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "leaf.ext", "-out", "leaf.pem", cwd=d)
    return os.path.join(d, "ca.pem"), os.path.join(d, "leaf.pem"), os.path.join(d, "leaf.key")


@pytest.mark.parametrize("san,host,ok", [
    ("DNS:relay.test", "relay.test", True),
    ("IP:127.0.0.1", "127.0.0.1", True),
    ("DNS:relay.test", "127.0.0.1", False),  # an address literal must be in the certificate
])
def test_a_relayhost_certificate_from_a_private_ca(make_postern, dns, tmp_path, san, host, ok):
    ca, cert, key = make_ca_and_leaf(str(tmp_path), san)
    far = make_postern({"domains": {"local": "far.test"}, "auth": {"allow_plaintext": "no"},
                        "tls": {"cert": cert, "key": key}}, sub="far")
    far.add_user("dave@far.test")
    far.add_user("carol@far.test", password="carol-pw")
    far.start()
    near = make_near(make_postern, dns, far.ports["submission"], host=host, relayhost_tls_ca=ca)
    near.start()
    relay(near, "carol@far.test", ["dave@far.test"], BODY.encode())
    if ok:
        wait_for(lambda: arrived(far), what="delivery through far")
        assert "smtp auth user=carol@far.test" in far.log()
    else:
        out = queue_list_shows(near, "<dave@far.test> deferred")
        assert "TLS certificate verification failed: IP address mismatch" in out
        assert_nothing_reached(far)
    check_clean_exit(near)
    check_clean_exit(far)
