"""GET /metrics (SPEC.md "Metrics"): the Prometheus text format read with
curl and parsed here, counters that move with real traffic, and a listener
that survives the abuse the mail listeners do (slow clients, huge headers,
floods, running out of descriptors)."""
import poplib
import re
import smtplib
import socket
import subprocess
import time

import pytest
from conftest import cpu_seconds, free_port, wait_for

ALICE = "alice@example.test"
MSG = b"Subject: metrics\r\n\r\nhello\r\n"

# ---------------------------------------------------------------------------
# A small parser of the Prometheus text exposition format (version 0.0.4).

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def parse_labels(text):
    """'{a="x",b="y"}' -> {"a": "x", "b": "y"}; the whole text must be labels."""
    labels, pos, body = {}, 0, text[1:-1]
    while pos < len(body):
        m = LABEL_RE.match(body, pos)
        assert m, "bad labels %r" % text
        assert m.group(1) not in labels, "label twice in %r" % text
        labels[m.group(1)] = m.group(2)
        pos = m.end()
        if pos < len(body):
            assert body[pos] == ",", "bad labels %r" % text
            pos += 1
    return labels


class Metrics:
    """One scrape: HELP and TYPE per family, and every sample by (name, labels)."""

    def __init__(self, text):
        self.helps, self.types, self.samples = {}, {}, {}
        assert text.endswith("\n"), "the text must end with a newline"
        for line in text.split("\n")[:-1]:
            self.line(line)

    def line(self, line):
        if line.startswith("# HELP "):
            name, _, text = line[7:].partition(" ")
            assert name not in self.helps and text, line
            self.helps[name] = text
        elif line.startswith("# TYPE "):
            name, typ = line[7:].split(" ")
            assert name in self.helps and name not in self.types, line
            assert typ in ("counter", "gauge"), line
            self.types[name] = typ
        else:
            assert not line.startswith("#") and line, "unexpected line %r" % line
            m = SAMPLE_RE.match(line)
            assert m, "bad sample %r" % line
            name, labels, value = m.groups()
            assert name in self.types, "sample before its TYPE: %r" % line
            key = (name, tuple(sorted(parse_labels(labels).items())) if labels else ())
            assert key not in self.samples, "sample twice: %r" % line
            self.samples[key] = float(value)

    def get(self, name, **labels):
        return self.samples[(name, tuple(sorted(labels.items())))]

    def has(self, name, **labels):
        return (name, tuple(sorted(labels.items()))) in self.samples


def test_parser_rejects_what_it_must():
    """The parser itself can fail: a sample without TYPE, a duplicate, junk."""
    good = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 2\n'
    assert Metrics(good).get("a_total", x="1") == 2
    for bad in ('a_total 1\n', good + 'a_total{x="1"} 3\n', good + "junk\n",
                '# HELP a A.\n# TYPE a gauge\na{x=1} 2\n', good.rstrip("\n")):
        with pytest.raises(AssertionError):
            Metrics(bad)


# ---------------------------------------------------------------------------
# Clients.


def curl(port, path="/metrics", *args):
    """(HTTP status, Content-Type, body) of one request made by curl."""
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "-",
                        "-w", "\n@@%{http_code} %{content_type}"] + list(args) +
                       ["http://127.0.0.1:%d%s" % (port, path)],
                       capture_output=True, text=True, timeout=30)
    body, _, tail = r.stdout.rpartition("\n@@")
    code, _, ctype = tail.partition(" ")
    return int(code), ctype, body


def scrape(p):
    code, ctype, body = curl(p.metrics_port)
    assert code == 200, (code, body)
    assert ctype.startswith("text/plain; version=0.0.4"), ctype
    return Metrics(body)


def moved(p, before, name, by=1, timeout=15, **labels):
    """Wait until the sample grew by `by` since before; the last scrape."""
    want = before.get(name, **labels) + by
    last = [None]

    def check():
        last[0] = scrape(p)
        return last[0].get(name, **labels) == want
    try:
        wait_for(check, timeout, "%s%r to reach %s" % (name, labels, want))
    except AssertionError:
        raise AssertionError("%s%r is %s, want %s" % (name, labels,
                                                     last[0].get(name, **labels), want))
    return last[0]


def raw_http(port, data, timeout=10):
    """Send data, read until the server closes; the response bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except ConnectionResetError:
            pass
        return out


def alive_and_serving(p):
    """The daemon runs, /metrics answers and so does SMTP."""
    assert p.proc.poll() is None, p.log()[-3000:]
    assert scrape(p).has("postern_connections_total", service="smtp")
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10) as s:
        assert s.noop()[0] == 250


def start_with_metrics(p):
    """Start with metrics.listen on a free port (another one if it was taken)."""
    for attempt in range(3):
        p.metrics_port = free_port()
        extra = dict(p.extra)
        extra["metrics"] = {"listen": "127.0.0.1:%d" % p.metrics_port}
        p.write_config(extra)
        try:
            return p.start()
        except RuntimeError:
            if attempt == 2 or "Address already in use" not in p.log():
                raise
    return p


def clean_exit(p):
    """Stop p (when still running): exit status 0, no sanitizer report."""
    if p.proc is not None:
        rc = p.stop()
        assert rc == 0, p.log()[-3000:]
    log = p.log()
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-3000:]


@pytest.fixture
def mp(make_postern):
    p = make_postern()
    p.add_user(ALICE)
    p.add_user("bob@example.test")
    start_with_metrics(p)
    yield p
    clean_exit(p)


# ---------------------------------------------------------------------------
# The text and the counters.

FAMILIES = {
    "postern_connections_total": "counter",
    "postern_logins_total": "counter",
    "postern_messages_received_total": "counter",
    "postern_deliveries_total": "counter",
    "postern_relay_grants_total": "counter",
    "postern_relay_checks_total": "counter",
    "postern_spf_verdicts_total": "counter",
    "postern_dkim_verdicts_total": "counter",
    "postern_dmarc_verdicts_total": "counter",
    "postern_queue_messages": "gauge",
    "postern_sessions_open": "gauge",
    "postern_store_messages_total": "counter",
    "postern_store_batches_total": "counter",
    "postern_store_syncs_total": "counter",
}


def test_metrics_text_has_every_family_with_help_and_type(mp):
    m = scrape(mp)
    for name, typ in FAMILIES.items():
        assert m.types.get(name) == typ, name
        assert m.helps[name]
    assert all(name.startswith("postern_") for name in m.types)
    for service in ("smtp", "submission", "submissions", "pop3", "pop3s", "policy"):
        assert m.has("postern_connections_total", service=service)
    for status in ("sent", "deferred", "bounced"):
        for relay in ("local", "remote"):
            assert m.has("postern_deliveries_total", status=status, relay=relay)
    for check in ("spf", "dkim", "dmarc"):
        for result in ("pass", "fail", "none", "temperror", "permerror"):
            assert m.has("postern_%s_verdicts_total" % check, result=result)
    assert m.get("postern_queue_messages") == 0
    assert m.get("postern_sessions_open") == 0


def test_smtp_delivery_to_a_local_user_moves_the_counters(mp):
    before = scrape(mp)
    with smtplib.SMTP("127.0.0.1", mp.smtp_port, timeout=10) as s:
        assert s.sendmail("someone@outside.test", [ALICE], MSG) == {}
    wait_for(lambda: mp.messages(ALICE), what="the message in alice's Maildir")
    after = moved(mp, before, "postern_deliveries_total", status="sent", relay="local")
    assert after.get("postern_connections_total", service="smtp") == \
        before.get("postern_connections_total", service="smtp") + 1
    assert after.get("postern_messages_received_total", service="smtp") == \
        before.get("postern_messages_received_total", service="smtp") + 1
    assert after.get("postern_store_messages_total") >= before.get("postern_store_messages_total") + 1
    assert after.get("postern_store_syncs_total") >= before.get("postern_store_syncs_total") + 1
    assert after.get("postern_deliveries_total", status="sent", relay="remote") == \
        before.get("postern_deliveries_total", status="sent", relay="remote")


def test_sendmail_submission_counts_as_received(mp):
    before = scrape(mp)
    r = mp.ctl("sendmail", ALICE, stdin="Subject: s\n\nbody\n", check=False)
    assert r.returncode == 0, r.stderr
    moved(mp, before, "postern_messages_received_total", service="sendmail")
    moved(mp, before, "postern_deliveries_total", status="sent", relay="local")


def test_pop3_logins_ok_and_failed_are_counted(mp):
    before = scrape(mp)
    c = poplib.POP3("127.0.0.1", mp.ports["pop3"], timeout=15)
    c.user(ALICE)
    c.pass_("secret")
    c.quit()
    c = poplib.POP3("127.0.0.1", mp.ports["pop3"], timeout=15)
    c.user(ALICE)
    with pytest.raises(poplib.error_proto):
        c.pass_("wrong")
    c.quit()
    after = moved(mp, before, "postern_logins_total", service="pop3", result="fail")
    assert after.get("postern_logins_total", service="pop3", result="ok") == \
        before.get("postern_logins_total", service="pop3", result="ok") + 1
    assert after.get("postern_connections_total", service="pop3") == \
        before.get("postern_connections_total", service="pop3") + 2
    # relay.pop_before_smtp is on by default: the good login wrote a grant
    assert after.get("postern_relay_grants_total") == before.get("postern_relay_grants_total") + 1


def smtp_auth(port, password):
    """AUTH PLAIN on the submission port; the reply code."""
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as s:
        s.ehlo()
        s.user, s.password = ALICE, password
        try:
            return s.auth("PLAIN", s.auth_plain)[0]
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code


def test_smtp_auth_ok_and_failed_are_counted_and_relay_by_auth(mp):
    before = scrape(mp)
    port = mp.ports["submission"]
    assert smtp_auth(port, "secret") == 235
    assert smtp_auth(port, "wrong") == 535
    after = moved(mp, before, "postern_logins_total", service="submission", result="fail")
    assert after.get("postern_logins_total", service="submission", result="ok") == \
        before.get("postern_logins_total", service="submission", result="ok") + 1
    assert after.get("postern_logins_total", service="smtp", result="ok") == \
        before.get("postern_logins_total", service="smtp", result="ok")


def test_sessions_open_gauge_follows_connections(mp):
    socks = [socket.create_connection(("127.0.0.1", mp.smtp_port), timeout=10) for _ in range(3)]
    try:
        for s in socks:
            s.recv(512)  # the greeting: the session exists
        wait_for(lambda: scrape(mp).get("postern_sessions_open") == 3, what="3 open sessions")
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: scrape(mp).get("postern_sessions_open") == 0, what="no open session")


def test_remote_deliveries_queue_gauge_and_relay_checks(make_postern, sink):
    p = make_postern({"relay": {"trusted_networks": "127.0.0.1/32"},
                      "routes": {"remote.test": "[127.0.0.1]:%d" % sink.port}})
    p.add_user(ALICE)
    start_with_metrics(p)
    try:
        sink.rcpt_replies["later@remote.test"] = "451 4.3.0 try again later"
        sink.rcpt_replies["nobody@remote.test"] = "550 5.1.1 User unknown"
        before = scrape(p)
        with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10) as s:
            assert s.sendmail(ALICE, ["bob@remote.test", "later@remote.test",
                                      "nobody@remote.test"], MSG) == {}
        after = moved(p, before, "postern_deliveries_total", status="deferred", relay="remote")
        after = moved(p, before, "postern_deliveries_total", status="bounced", relay="remote")
        assert after.get("postern_deliveries_total", status="sent", relay="remote") == \
            before.get("postern_deliveries_total", status="sent", relay="remote") + 1
        assert after.get("postern_relay_checks_total", result="trusted") == \
            before.get("postern_relay_checks_total", result="trusted") + 3
        # later@ waits in the queue for its retry
        assert after.get("postern_queue_messages") >= 1
        assert p.queued()
    finally:
        clean_exit(p)


# ---------------------------------------------------------------------------
# Other paths, other methods, abuse.


def test_other_paths_are_404_and_only_get_and_head(mp):
    for path in ("/", "/metricsx", "/metrics/x", "/../etc/passwd", "/favicon.ico"):
        code, _, body = curl(mp.metrics_port, path)
        assert code == 404, (path, code)
        assert "etc/passwd" not in body
    code, _, _ = curl(mp.metrics_port, "/metrics?name=x")
    assert code == 200
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "TRACE"):
        code, _, _ = curl(mp.metrics_port, "/metrics", "-X", method)
        assert 400 <= code < 600 and code not in (404,), (method, code)
    code, ctype, body = curl(mp.metrics_port, "/metrics", "-I")
    assert code == 200 and "postern_" not in body
    alive_and_serving(mp)


def test_slow_clients_do_not_block_and_are_dropped(mp):
    """50 clients send half a request line and stall: /metrics answers meanwhile,
    and each stalled connection is closed after the idle timeout (10 s)."""
    socks = []
    try:
        for _ in range(50):
            s = socket.create_connection(("127.0.0.1", mp.metrics_port), timeout=30)
            s.sendall(b"GET /metr")
            socks.append(s)
        t0 = time.monotonic()
        scrape(mp)
        assert time.monotonic() - t0 < 5
        alive_and_serving(mp)
        for s in socks:  # each is closed (EOF or reset) once idle for the timeout
            s.settimeout(max(0.1, t0 + 25 - time.monotonic()))
            try:
                while s.recv(4096):
                    pass
            except ConnectionResetError:
                pass
            except socket.timeout:
                raise AssertionError("a stalled client was held past the timeout")
        assert time.monotonic() - t0 > 5, "stalled clients were dropped before the timeout"
    finally:
        for s in socks:
            s.close()
    alive_and_serving(mp)


def test_huge_headers_are_refused(mp):
    """100 KB of headers: 413 (or a closed connection), never a 200, never a crash."""
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + \
        b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(100)) + b"\r\n"
    out = raw_http(mp.metrics_port, req)
    assert not out.startswith(b"HTTP/1.1 200"), out[:200]
    if out:
        assert re.match(rb"HTTP/1\.[01] 4\d\d ", out), out[:200]
    # one enormous request line, too
    out = raw_http(mp.metrics_port, b"GET /" + b"m" * 100000 + b" HTTP/1.1\r\n\r\n")
    assert not out.startswith(b"HTTP/1.1 200"), out[:200]
    alive_and_serving(mp)


def test_flood_of_requests(mp):
    """2,000 requests one after the other (and 200 more on one kept-alive
    connection): every one answered, the daemon still serving."""
    ok = 0
    for _ in range(2000):
        out = raw_http(mp.metrics_port, b"GET /metrics HTTP/1.0\r\n\r\n")
        ok += out.startswith(b"HTTP/1.0 200") or out.startswith(b"HTTP/1.1 200")
    assert ok == 2000
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 199 + \
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    out = raw_http(mp.metrics_port, req, timeout=30)
    assert out.count(b"HTTP/1.1 200 OK\r\n") == 200
    alive_and_serving(mp)


def test_out_of_descriptors_pauses_the_metrics_listener(make_postern):
    """accept() failing with EMFILE must not make the daemon spin; /metrics
    answers again once descriptors are free."""
    p = make_postern()
    p.metrics_port = free_port()
    p.write_config({"metrics": {"listen": "127.0.0.1:%d" % p.metrics_port}})
    p.start(nofile=256)
    clients = []
    try:
        for _ in range(300):  # more than the daemon can hold, until its backlog is full too
            try:
                clients.append(socket.create_connection(("127.0.0.1", p.metrics_port),
                                                        timeout=2))
            except (socket.timeout, TimeoutError):
                break
        time.sleep(0.5)
        before = cpu_seconds(p.proc.pid)
        time.sleep(2)
        assert cpu_seconds(p.proc.pid) - before < 0.5, "the daemon spins while out of descriptors"
        assert "metrics listener: accept: Too many open files" in p.log()
    finally:
        for c in clients:
            c.close()
    wait_for(lambda: curl(p.metrics_port)[0] == 200, what="/metrics to answer again")
    clean_exit(p)


def test_metrics_off_by_default(make_postern):
    p = make_postern()
    p.start()
    assert "metrics listening" not in p.log()
    clean_exit(p)


def test_sigterm_with_metrics_connections_open_exits_at_once_and_clean(mp):
    """Open HTTP connections (one kept alive after a reply, one stalled mid-request)
    hold neither the shutdown nor anything ASan would see."""
    kept = socket.create_connection(("127.0.0.1", mp.metrics_port), timeout=10)
    kept.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert kept.recv(65536).startswith(b"HTTP/1.1 200")
    stalled = socket.create_connection(("127.0.0.1", mp.metrics_port), timeout=10)
    stalled.sendall(b"GET /metrics HTTP/1.1\r\nHo")
    time.sleep(0.2)
    t0 = time.monotonic()
    clean_exit(mp)
    assert time.monotonic() - t0 < 5, "the metrics connections held the shutdown"
    kept.close()
    stalled.close()
