"""The POP3 service on the real daemon, with real clients: poplib, curl,
fetchmail, mpop, Perl Net::POP3, and raw sockets for exact bytes."""
import base64
import hashlib
import hmac
import os
import poplib
import smtplib
import socket
import subprocess
import time

import pytest
from conftest import HungRedis
import smtpraw

ALICE = "alice@example.test"
DOTTY = (b"Subject: dots\r\n\r\nfirst line\r\n.starts with a dot\r\n..two dots\r\n"
         b".\r\nafter a lone dot\r\n")


def deliver(p, body, to=ALICE):
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        assert s.sendmail("x@remote.test", [to], body) == {}


def pop(p, user=ALICE, password="secret"):
    c = poplib.POP3("127.0.0.1", p.ports["pop3"], timeout=20)
    if user is not None:
        c.user(user)
        c.pass_(password)
    return c


def finish(p):
    """Stop a daemon from make_postern: clean exit, no sanitizer report."""
    assert p.stop() == 0, p.log()[-3000:]
    assert "ERROR: AddressSanitizer" not in p.log()
    assert "runtime error:" not in p.log()


def wire(data):
    """A Maildir file (LF line ends) as POP3 sends it, before dot-stuffing."""
    return data.replace(b"\n", b"\r\n")


def retr_bytes(c, n):
    _, lines, octets = c.retr(n)
    data = b"".join(line + b"\r\n" for line in lines)
    assert octets == len(data)
    return data


class Raw(smtpraw.Raw):
    """A raw POP3 client for exact bytes on the wire: line() gives bytes."""

    def __init__(self, port):
        super().__init__(port, timeout=20)

    line = smtpraw.Raw.rawline

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line().decode()

    def multi(self):
        out = []
        while True:
            line = self.line()
            if line == b".":
                return out
            out.append(line)



def test_greeting_and_capa(postern):
    c = pop(postern, user=None)
    assert c.getwelcome().startswith(b"+OK")
    assert b"<" not in c.getwelcome(), "no APOP timestamp without any secret"
    caps = c.capa()
    for cap in ("TOP", "UIDL", "USER", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"):
        assert cap in caps, cap
    assert caps["SASL"] == ["PLAIN", "LOGIN"]
    assert caps["IMPLEMENTATION"] == ["postern"]
    assert caps["EXPIRE"] == ["NEVER"] and "LOGIN-DELAY" not in caps  # RFC 2449 6.7, 6.5
    assert "STLS" in caps  # test_pop3_tls.py covers it
    assert c.quit().startswith(b"+OK")


def test_poplib_full_session(postern):
    bodies = [b"Subject: m%d\r\n\r\nbody %d\r\nline two\r\nline three\r\n" % (i, i)
              for i in range(3)]
    for b in bodies:
        deliver(postern, b)
    files = postern.messages(ALICE)
    c = pop(postern)
    n, size = c.stat()
    assert n == 3 and size == sum(len(wire(f)) for f in files)
    _, listing, _ = c.list()
    assert [int(x.split()[1]) for x in listing] == [len(wire(f)) for f in files]
    assert c.list(2).split()[2] == str(len(wire(files[1]))).encode()
    _, uids, _ = c.uidl()
    assert len({u.split()[1] for u in uids}) == 3
    assert c.uidl(1).split()[2] == uids[0].split()[1]
    _, top, _ = c.top(1, 1)
    assert top[-2] == b"" and top[-1] == b"body 0"
    assert retr_bytes(c, 2) == wire(files[1])
    assert c.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto, match="deleted"):
        c.retr(1)
    assert c.stat()[0] == 2
    assert c.rset().startswith(b"+OK")
    assert c.stat()[0] == 3
    assert c.noop().startswith(b"+OK")
    assert c.dele(3).startswith(b"+OK")
    assert c.quit().startswith(b"+OK")
    left = postern.messages(ALICE)
    assert left == files[:2]
    # the retrieved message moved to cur/ with the seen flag
    cur = os.listdir(os.path.join(postern.maildir(ALICE), "cur"))
    assert len(cur) == 1 and cur[0].endswith(":2,S")
    assert "pop3 login user=alice@example.test ip=127.0.0.1 method=user ok" in postern.log()


def test_dot_lines_byte_for_byte_and_stuffed_on_the_wire(postern):
    subprocess.run(["swaks", "--server", "127.0.0.1:%d" % postern.smtp_port,
                    "--from", "x@remote.test", "--to", ALICE, "--data", "-"],
                   input=DOTTY, check=True, capture_output=True, timeout=60)
    deliver(postern, DOTTY)
    files = postern.messages(ALICE)
    c = pop(postern)
    for i, f in enumerate(files, 1):
        data = retr_bytes(c, i)
        assert data == wire(f)
        assert b"\r\n.starts with a dot\r\n..two dots\r\n.\r\nafter a lone dot\r\n" in data
    c.quit()
    r = Raw(postern.ports["pop3"])
    r.line()
    r.cmd("USER " + ALICE)
    assert r.cmd("PASS secret").startswith("+OK")
    assert r.cmd("RETR 2").startswith("+OK %d octets" % len(wire(files[1])))
    body = b"\r\n".join(r.multi()) + b"\r\n"
    assert b"\r\n..starts with a dot\r\n...two dots\r\n..\r\nafter a lone dot\r\n" in body
    r.cmd("QUIT")


def test_big_message_is_streamed(postern):
    line = b"x" * 998 + b"\r\n"
    body = b"Subject: big\r\n\r\n" + line * 4000 + b".leading dot\r\n"
    deliver(postern, body)
    (f,) = postern.messages(ALICE)
    c = pop(postern)
    assert c.list(1).split()[2] == str(len(wire(f))).encode()
    assert retr_bytes(c, 1) == wire(f)
    c.quit()


def test_a_reader_that_stops_gets_everything_when_it_reads_again(postern):
    """Replies go straight to the socket; what a full socket does not take
    waits for it to drain. A client with a small buffer pipelines two RETRs of
    a big message and a STAT, stops reading for a while (another client is
    served meanwhile), then reads all of it, byte for byte."""
    body = b"Subject: big\r\n\r\n" + (b"." + b"y" * 500 + b"\r\n") * 8000
    deliver(postern, body)
    (f,) = postern.messages(ALICE)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", postern.ports["pop3"]))
    sock.settimeout(20)
    sock.sendall(("USER %s\r\nPASS secret\r\nRETR 1\r\nRETR 1\r\nSTAT\r\n" % ALICE).encode())
    time.sleep(1)
    c = pop(postern, user=None)
    c.user("bob@example.test")
    c.pass_("secret")
    assert c.stat()[0] == 0
    c.quit()
    stuffed = wire(f).replace(b"\r\n.", b"\r\n..")
    reply = b"+OK %d octets\r\n" % len(wire(f)) + stuffed + b".\r\n"
    want = reply * 2 + b"+OK 1 %d\r\n" % len(wire(f))
    got = b""
    while not got.endswith(b"+OK 1 %d\r\n" % len(wire(f))):
        chunk = sock.recv(65536)
        assert chunk, got[-200:]
        got += chunk
    assert got.split(b"\r\n", 3)[3] == want  # after the greeting, USER and PASS
    sock.close()


def test_dele_then_drop_keeps_the_message(postern):
    deliver(postern, b"Subject: keep\r\n\r\nx\r\n")
    r = Raw(postern.ports["pop3"])
    r.line()
    r.cmd("USER " + ALICE)
    assert r.cmd("PASS secret").startswith("+OK")
    assert r.cmd("DELE 1").startswith("+OK")
    r.close()  # no QUIT: no UPDATE
    c = login_retry(postern)
    assert c.stat()[0] == 1
    c.quit()
    assert len(postern.messages(ALICE)) == 1


def test_dele_then_quit_removes_the_message(postern):
    deliver(postern, b"Subject: gone\r\n\r\nx\r\n")
    c = pop(postern)
    c.dele(1)
    assert c.quit().startswith(b"+OK")
    assert postern.messages(ALICE) == []
    assert pop(postern).stat() == (0, 0)


def login_retry(p, timeout=10):
    """Log in, retrying while the server has not yet noticed a dropped session."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return pop(p)
        except poplib.error_proto as e:
            if b"[IN-USE]" not in e.args[0] or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_second_session_is_in_use_until_the_first_quits(postern):
    first = pop(postern)
    second = pop(postern, user=None)
    second.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[IN-USE\]"):
        second.pass_("secret")
    first.quit()
    second.user(ALICE)
    assert second.pass_("secret").startswith(b"+OK")
    second.quit()


def test_lock_is_released_when_the_client_is_killed(postern):
    client = subprocess.Popen(
        ["python3", "-c", "import poplib,sys,time; c=poplib.POP3('127.0.0.1', %d); "
         "c.user('%s'); c.pass_('secret'); print('in', flush=True); time.sleep(60)"
         % (postern.ports["pop3"], ALICE)], stdout=subprocess.PIPE)
    assert client.stdout.readline() == b"in\n"
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        pop(postern)
    client.kill()
    client.wait()
    login_retry(postern).quit()


def test_uidl_is_stable_across_sessions_and_a_restart(postern):
    for i in range(3):
        deliver(postern, b"Subject: u%d\r\n\r\nx\r\n" % i)

    def uidl():
        c = pop(postern)
        _, lines, _ = c.uidl()
        c.retr(2)  # moves message 2 from new/ to cur/ at QUIT
        c.quit()
        return lines

    first = uidl()
    assert uidl() == first
    assert uidl() == first
    postern.stop()
    postern.start()
    deliver(postern, b"Subject: later\r\n\r\nx\r\n")
    after = uidl()
    assert after[:3] == first
    assert len(after) == 4 and after[3].split()[1] not in [u.split()[1] for u in first]
    for u in after:
        uid = u.split()[1]
        assert 1 <= len(uid) <= 70 and all(0x21 <= b <= 0x7e for b in uid)


def test_messages_delivered_during_a_session_wait_for_the_next(postern):
    deliver(postern, b"Subject: one\r\n\r\nx\r\n")
    c = pop(postern)
    deliver(postern, b"Subject: two\r\n\r\nx\r\n")
    assert c.stat()[0] == 1
    c.quit()
    c = pop(postern)
    assert c.stat()[0] == 2
    c.quit()


def test_failed_login_is_auth_and_the_same_for_unknown_users(postern):
    c = pop(postern, user=None)
    c.user(ALICE)
    with pytest.raises(poplib.error_proto) as wrong:
        c.pass_("Wrong-Pw-42")
    c.user("nobody@example.test")
    with pytest.raises(poplib.error_proto) as unknown:
        c.pass_("secret")
    assert wrong.value.args[0].startswith(b"-ERR [AUTH]")
    assert wrong.value.args[0] == unknown.value.args[0]
    c.user(ALICE)
    assert c.pass_("secret").startswith(b"+OK")
    c.quit()
    log = postern.log()
    assert "method=user failed" in log
    assert "Wrong-Pw-42" not in log


def test_failed_logins_are_slowed_down(postern):
    c = pop(postern, user=None)
    times = []
    for _ in range(3):
        c.user(ALICE)
        t = time.monotonic()
        with pytest.raises(poplib.error_proto):
            c.pass_("wrong")
        times.append(time.monotonic() - t)
    assert times[0] >= 0.9 and times[1] >= 1.9 and times[2] >= 3.9, times
    c.quit()


def test_plaintext_refused_when_allow_plaintext_is_no(make_postern):
    p = make_postern({"auth": {"allow_plaintext": "no"}})
    p.add_user(ALICE)
    p.start()
    c = pop(p, user=None)
    caps = c.capa()
    assert "USER" not in caps and "SASL" not in caps
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        c.user(ALICE)
    r = Raw(p.ports["pop3"])
    r.line()
    plain = base64.b64encode(b"\0" + ALICE.encode() + b"\0secret").decode()
    assert r.cmd("AUTH PLAIN " + plain).startswith("-ERR")
    r.cmd("QUIT")
    c.quit()
    finish(p)


def test_apop(make_postern):
    p = make_postern()
    p.add_user(ALICE, apop="apop-secret")
    p.add_user("bob@example.test")
    p.start()
    deliver(p, b"Subject: apop\r\n\r\nx\r\n")
    c = pop(p, user=None)
    assert b"<" in c.getwelcome() and b"@mx.example.test>" in c.getwelcome()
    assert "CRAM-MD5" in c.capa()["SASL"]
    assert c.apop(ALICE, "apop-secret").startswith(b"+OK")
    assert c.stat()[0] == 1
    c.quit()
    c = pop(p, user=None)
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        c.apop(ALICE, "wrong")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\]"):
        c.apop("bob@example.test", "anything")  # an account without a secret
    c.quit()
    assert "method=apop ok" in p.log()
    finish(p)


def test_sasl_plain_login_cram_md5_and_cancel(make_postern):
    p = make_postern()
    p.add_user(ALICE, apop="cram-secret")
    p.start()
    r = Raw(p.ports["pop3"])
    r.line()
    b64 = lambda s: base64.b64encode(s).decode()
    assert r.cmd("AUTH PLAIN").startswith("+ ")
    assert r.cmd("*").startswith("-ERR")
    assert r.cmd("AUTH LOGIN") == "+ " + b64(b"Username:")
    assert r.cmd(b64(ALICE.encode())) == "+ " + b64(b"Password:")
    assert r.cmd(b64(b"secret")).startswith("+OK")
    r.cmd("QUIT")
    r = Raw(p.ports["pop3"])
    r.line()
    assert r.cmd("AUTH PLAIN " + b64(b"\0" + ALICE.encode() + b"\0secret")).startswith("+OK")
    r.cmd("QUIT")
    r = Raw(p.ports["pop3"])
    r.line()
    challenge = base64.b64decode(r.cmd("AUTH CRAM-MD5")[2:])
    digest = hmac.new(b"cram-secret", challenge, hashlib.md5).hexdigest()
    assert r.cmd(b64(("%s %s" % (ALICE, digest)).encode())).startswith("+OK")
    r.cmd("QUIT")
    r = Raw(p.ports["pop3"])
    r.line()
    r.cmd("AUTH CRAM-MD5")
    assert r.cmd(b64(("%s %s" % (ALICE, "0" * 32)).encode())).startswith("-ERR [AUTH]")
    r.cmd("QUIT")
    log = p.log()
    for method in ("login", "plain", "cram-md5"):
        assert "method=%s ok" % method in log
    finish(p)


def test_pipelining_and_errors(postern):
    deliver(postern, b"Subject: p\r\n\r\nx\r\n")
    r = Raw(postern.ports["pop3"])
    r.line()
    assert r.cmd("STAT") == "-ERR Not logged in"
    assert r.cmd("PASS x") == "-ERR No USER given"
    r.send("USER %s\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL 1\r\nRETR 9\r\nTOP 1 x\r\n"
           "NOOP\r\n" % ALICE)
    assert r.line() == b"+OK"
    assert r.line().startswith(b"+OK")
    assert r.line().startswith(b"+OK 1 ")
    assert r.line().startswith(b"+OK") and len(r.multi()) == 1
    assert r.line().startswith(b"+OK 1 ")
    assert r.line().startswith(b"-ERR")
    assert r.line().startswith(b"-ERR")
    assert r.line() == b"+OK"
    assert r.cmd("USER x") == "-ERR Already logged in"
    assert r.cmd("X" * 300).startswith("-ERR Line too long")
    assert r.cmd("NOOP") == "+OK"
    r.send("NOOP\n")
    assert r.line().startswith(b"-ERR")
    assert r.cmd("QUIT").startswith("+OK")


def test_big_mailbox_opens_fast(postern):
    new = os.path.join(postern.maildir(ALICE), "new")
    os.makedirs(new, exist_ok=True)
    os.makedirs(os.path.join(postern.maildir(ALICE), "cur"), exist_ok=True)
    body = b"Subject: bulk\n\nhello\n"
    for i in range(10000):
        name = "%d.M%06dP1Q%d.mx.example.test,S=%d,W=%d" % (
            1700000000 + i, i, i, len(body), len(wire(body)))
        with open(os.path.join(new, name), "wb") as f:
            f.write(body)
    # a foreign file without sizes, with CRLF already and no final newline
    with open(os.path.join(postern.maildir(ALICE), "cur", "1800000000.foreign:2,"), "wb") as f:
        f.write(b"Subject: foreign\r\n\r\nmixed\nends")
    t = time.monotonic()
    c = pop(postern)
    n, size = c.stat()
    elapsed = time.monotonic() - t
    assert n == 10001
    assert elapsed < 1.0, elapsed
    _, uids, _ = c.uidl()
    assert len(uids) == 10001 and len({u.split()[1] for u in uids}) == 10001
    assert int(c.list(10001).split()[2]) == len(b"Subject: foreign\r\n\r\nmixed\r\nends")
    assert retr_bytes(c, 10001) == b"Subject: foreign\r\n\r\nmixed\r\nends\r\n"
    c.quit()


def test_retr_reads_to_the_end_when_a_name_has_the_size_wrong(postern):
    """RETR stops at a name's S= size without reading the end of the file, but
    only when the file really ends there: a file longer or shorter than its
    name says is sent whole."""
    new = os.path.join(postern.maildir(ALICE), "new")
    os.makedirs(new, exist_ok=True)
    os.makedirs(os.path.join(postern.maildir(ALICE), "cur"), exist_ok=True)
    bodies = [b"Subject: right\n\nsize\n",
              b"Subject: long\n\n" + (b"y" * 70 + b"\n\n.z\n") * 1500,
              b"Subject: short\n\nabc\n",
              b"Subject: chunk\n\n" + (b"w" * 99 + b"\n") * 700]
    # exact, far less (over a read chunk), more, and exactly one read chunk of a longer file
    said = [len(bodies[0]), 10, 5000, 64 * 1024]
    for i, (body, size) in enumerate(zip(bodies, said)):
        name = "%d.M1P1Q%d.mx.example.test,S=%d,W=%d" % (1700000000 + i, i, size,
                                                         len(wire(body)))
        with open(os.path.join(new, name), "wb") as f:
            f.write(body)
    assert len(bodies[1]) > 64 * 1024 and len(bodies[3]) > 64 * 1024
    c = pop(postern)
    for i, body in enumerate(bodies, 1):
        _, lines, _ = c.retr(i)
        assert b"".join(line + b"\r\n" for line in lines) == wire(body)
    c.quit()


def test_curl(postern):
    deliver(postern, DOTTY)
    (f,) = postern.messages(ALICE)
    url = "pop3://127.0.0.1:%d/" % postern.ports["pop3"]
    auth = ["--user", ALICE + ":secret"]
    out = subprocess.run(["curl", "-sS", url] + auth, capture_output=True, check=True, timeout=60)
    assert out.stdout == b"1 %d\r\n" % len(wire(f))
    out = subprocess.run(["curl", "-sS", url + "1"] + auth, capture_output=True, check=True,
                         timeout=60)
    assert out.stdout == wire(f)
    bad = subprocess.run(["curl", "-sS", url, "--user", ALICE + ":wrong"], capture_output=True,
                         timeout=60)
    assert bad.returncode != 0


def run_tool(args, home, **kw):
    env = dict(os.environ, HOME=str(home))
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, **kw)


def test_fetchmail_keep_with_uidl_then_flush(postern, tmp_path):
    for i in range(2):
        deliver(postern, b"Subject: fm%d\r\n\r\nfetch me\r\n" % i)
    out = tmp_path / "fetched"
    rc = tmp_path / "fetchmailrc"

    def fetch(opts):
        rc.write_text(
            'set no bouncemail\n'
            'poll 127.0.0.1 with proto POP3 port %d uidl auth password\n'
            '  user "%s" there with password "secret" is "root" here\n'
            '  %s sslproto "" mda "cat >> %s"\n' % (postern.ports["pop3"], ALICE, opts, out))
        rc.chmod(0o600)
        return run_tool(["fetchmail", "-f", str(rc), "--idfile", str(tmp_path / "ids"),
                         "--pidfile", str(tmp_path / "fetchmail.pid"), "--nosyslog", "-N"],
                        tmp_path)

    r = fetch("keep")
    assert r.returncode == 0, r.stdout + r.stderr
    assert out.read_text().count("fetch me") == 2
    assert len(postern.messages(ALICE)) == 2
    r = fetch("keep")
    assert r.returncode == 1, r.stdout + r.stderr  # 1: no new mail (the UIDs were seen)
    assert out.read_text().count("fetch me") == 2
    r = fetch("nokeep flush fetchall")
    assert r.returncode == 0, r.stdout + r.stderr
    assert postern.messages(ALICE) == []


def test_mpop(postern, tmp_path):
    deliver(postern, b"Subject: mpop\r\n\r\nfor mpop\r\n")
    conf = tmp_path / "mpoprc"
    mbox = tmp_path / "mbox"
    conf.write_text(
        "account default\nhost 127.0.0.1\nport %d\nuser %s\npassword secret\nauth user\n"
        "tls off\nkeep on\nuidls_file %s\ndelivery mbox %s\n"
        % (postern.ports["pop3"], ALICE, tmp_path / "uidls", mbox))
    conf.chmod(0o600)
    r = run_tool(["mpop", "-C", str(conf), "-q"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "for mpop" in mbox.read_text()
    r = run_tool(["mpop", "-C", str(conf), "-q"], tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert mbox.read_text().count("for mpop") == 1  # UIDL: nothing new
    assert len(postern.messages(ALICE)) == 1


PERL = r"""
use strict; use Net::POP3;
my ($port, $user, $how, $secret) = @ARGV;
my $p = Net::POP3->new("127.0.0.1", Port => $port, Timeout => 20) or die "connect";
my $n = $how eq "apop" ? $p->apop($user, $secret) : $p->login($user, $secret);
defined $n or die "login failed: " . $p->message;
print "count=", $n + 0, "\n";
my $uidl = $p->uidl; print "uidl=", scalar(keys %$uidl), "\n";
my $msg = $p->get(1) or die "get"; print "msg=", join("", @$msg);
$p->quit;
"""


def test_perl_net_pop3_login_and_apop(make_postern):
    p = make_postern()
    p.add_user(ALICE, apop="perl-secret")
    p.start()
    deliver(p, DOTTY)
    for how, secret in (("login", "secret"), ("apop", "perl-secret")):
        r = subprocess.run(["perl", "-e", PERL, str(p.ports["pop3"]), ALICE, how, secret],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert b"count=1\nuidl=1\n" in r.stdout
        assert b"\n.starts with a dot\n..two dots\n.\n" in r.stdout.replace(b"\r\n", b"\n")
    assert "method=apop ok" in p.log()
    finish(p)


def test_shutdown_with_sessions_open(postern):
    deliver(postern, b"Subject: s\r\n\r\nx\r\n")
    idle = pop(postern)
    idle.dele(1)
    waiting = Raw(postern.ports["pop3"])
    waiting.line()
    waiting.cmd("USER " + ALICE)
    waiting.send("PASS wrong\r\n")  # answered after the failure delay
    time.sleep(0.3)
    assert postern.stop() == 0
    assert "ERROR: AddressSanitizer" not in postern.log()
    assert waiting.line().startswith(b"-ERR")
    assert len(postern.messages(ALICE)) == 1  # no QUIT, no UPDATE
    postern.start()


def test_timeout_does_not_end_a_login_that_waits_for_the_grant_store(make_postern):
    """pop3.timeout (1 s) is the client's silence; while the login waits for its
    grant write (up to 2 s) the silence is the daemon's: the login still gets
    its +OK (a store that fails lets it proceed), and the idle timeout then
    counts from that answer."""
    redis = HungRedis()
    p = make_postern({"pop3": {"timeout": "1s"},
                      "relay": {"store": "redis://127.0.0.1:%d/0" % redis.port}})
    p.add_user(ALICE)
    p.start()
    try:
        deliver(p, b"Subject: one\r\n\r\nbody\r\n")
        c = Raw(p.ports["pop3"])
        assert c.line().startswith(b"+OK")
        assert c.cmd("USER %s" % ALICE).startswith("+OK")
        t0 = time.monotonic()
        reply = c.cmd("PASS secret")
        assert reply.startswith("+OK Logged in"), reply
        assert time.monotonic() - t0 > 1.0, "the grant write did not wait"
        assert c.cmd("STAT").startswith("+OK 1 ")
        t0 = time.monotonic()
        assert c.line() == b"-ERR Disconnected for inactivity"
        assert 0.5 < time.monotonic() - t0 < 5
        c.close()
        finish(p)
    finally:
        redis.close()
