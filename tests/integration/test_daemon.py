"""The daemon as a whole: configuration check, reload, shutdown, crash safety."""
import os
import signal
import smtplib
import subprocess
import threading
import time

from conftest import POSTERND, Postern, wait_port


def test_check_accepts_a_valid_file(tmp_path):
    p = Postern(tmp_path)
    r = subprocess.run([POSTERND, "-c", p.conf, "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_check_reports_file_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[server]\nhostname = a\n\n[smtp]\nno_such_key = 1\n")
    r = subprocess.run([POSTERND, "-c", str(conf), "--check"], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.startswith("%s:5: " % conf)


def test_check_without_file_validates_the_default():
    r = subprocess.run([POSTERND, "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_sighup_reloads_configuration(postern):
    with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
        s.ehlo()
        assert s.esmtp_features["size"] == str(25 * 1024 * 1024)
    postern.write_config({"smtp": {"max_message_size": "1m"}})
    postern.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "configuration reloaded" not in postern.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
        s.ehlo()
        assert s.esmtp_features["size"] == str(1024 * 1024)


def test_sigterm_ends_sessions_and_exits_zero(tmp_path):
    p = Postern(tmp_path).start()
    s = smtplib.SMTP("127.0.0.1", p.smtp_port)
    s.ehlo()
    assert p.stop() == 0
    assert "shutting down" in p.log()


def test_default_data_dir_is_created(tmp_path):
    p = Postern(tmp_path).start()
    assert os.path.isdir(os.path.join(p.data_dir, "queue"))
    assert p.stop() == 0


def test_kill9_loses_no_acknowledged_message(tmp_path):
    """kill -9 while 20 clients send: every 250'd message is there once."""
    p = Postern(tmp_path)
    p.add_user("alice@example.test")
    p.start()
    acked, stop = [], threading.Event()
    lock = threading.Lock()

    def client(n):
        i = 0
        while not stop.is_set() and i < 500:
            tag = "m%d-%d" % (n, i)
            i += 1
            try:
                with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10) as s:
                    s.sendmail("x@remote.test", ["alice@example.test"],
                               "Subject: %s\r\n\r\n%s\r\n" % (tag, ("x" * 70 + "\r\n") * 30))
                with lock:
                    acked.append(tag)
            except (OSError, smtplib.SMTPException):
                return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    p.kill9()
    stop.set()
    for t in threads:
        t.join(30)
    p.start()
    wait_port(p.smtp_port)
    subjects = [m.split(b"Subject: ")[1].split(b"\n")[0].decode()
                for m in p.messages("alice@example.test")]
    assert len(acked) > 0
    assert len(subjects) == len(set(subjects)), "a message was delivered twice"
    missing = set(acked) - set(subjects)
    assert not missing, "acknowledged but lost: %s" % sorted(missing)[:5]
    assert p.queue_tmp() == []
    assert p.stop() == 0


def test_check_refuses_an_overlong_hostname(tmp_path):
    conf = tmp_path / "long.conf"
    conf.write_text("[server]\nhostname = %s\n" % ("a" * 254))
    r = subprocess.run([POSTERND, "-c", str(conf), "--check"], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("%s:2: " % conf)


def test_users_file_changes_are_read_off_the_loop_and_a_bad_file_keeps_the_last_table(postern):
    """posternctl's change is in force when it returns; a hand edit within seconds;
    a hand edit that does not parse is logged with FILE:LINE and changes nothing."""
    def rcpt(address):
        with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
            s.ehlo()
            s.mail("x@outside.test")
            return s.rcpt(address)[0]

    postern.add_user("carol@example.test")
    assert rcpt("carol@example.test") == 250  # no wait: posternctl asked the daemon
    users = os.path.join(postern.data_dir, "users")
    with open(users) as f:
        good = f.read()
    with open(users + ".new", "w") as f:
        f.write(good + "this line is not an account\n")
    os.rename(users + ".new", users)
    deadline = time.monotonic() + 10
    while "keeping the last good table" not in postern.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "%s:%d: " % (users, good.count("\n") + 1) in postern.log()
    assert rcpt("carol@example.test") == 250 and rcpt("alice@example.test") == 250
    dave = good.replace("carol@", "dave@")
    with open(users + ".new", "w") as f:
        f.write(dave)
    os.rename(users + ".new", users)
    deadline = time.monotonic() + 10
    while rcpt("dave@example.test") != 250 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rcpt("dave@example.test") == 250 and rcpt("carol@example.test") == 550


def test_control_users_requests_pipelined_or_abandoned(postern):
    """Two 'users' requests in one write get two answers, in order; a client that
    leaves before its answers must not be answered after it was freed."""
    import socket
    path = os.path.join(postern.data_dir, "control")
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(path)
        s.sendall(b"users\nusers\n")
        f = s.makefile("rb")
        assert [f.readline(), f.readline()] == [b"ok\n", b"ok\n"]
    for _ in range(20):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            s.sendall(b"users\nusers\n")
            s.shutdown(socket.SHUT_WR)
    time.sleep(1.5)
    assert postern.proc.poll() is None, postern.log()[-3000:]


def test_sighup_refuses_a_new_hostname_and_keeps_the_running_configuration(postern):
    """The store, the queue and the SRS addresses hang on server.hostname and data_dir."""
    postern.write_config({"server": {"hostname": "other.example.test"},
                          "smtp": {"max_message_size": "1m"}})
    postern.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "reload failed" not in postern.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "server.data_dir and server.hostname change only with a restart" in postern.log()
    with smtplib.SMTP("127.0.0.1", postern.smtp_port) as s:
        code, text = s.ehlo()
        assert text.startswith(b"mx.example.test")
        assert s.esmtp_features["size"] == str(25 * 1024 * 1024)
