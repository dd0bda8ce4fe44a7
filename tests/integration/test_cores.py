"""posternd on every core: a POP3 session in TRANSACTION moves to a loop
thread of its own (daemon/loops.h); logins, grants and everything shared stay
on the main loop. These tests pin where the work runs and that moving a
session loses nothing: pipelined commands, the UPDATE, shutdown."""
import os
import poplib
import smtplib
import socket
import threading

import pytest

ALICE = "alice@example.test"
BIG = b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 3000  # about 3 MB


def threads(pid):
    """{thread name: CPU ticks so far} of the daemon's threads (names repeat: summed)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            name = f.read().strip()
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


@pytest.fixture
def loaded(make_postern):
    # The retrieved text is counted line by line: no Authentication-Results: on top.
    p = make_postern({"relay": {"pop_before_smtp": "no"}, "inbound": {"verify": "no"}})
    p.add_user(ALICE)
    p.start()
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        for _ in range(3):
            s.sendmail("x@outside.test", [ALICE], BIG)
    yield p
    assert p.stop() == 0, p.log()[-3000:]
    assert "ERROR: AddressSanitizer" not in p.log() and "runtime error:" not in p.log()


def test_retrievals_run_on_the_loop_threads_not_the_main_loop(loaded):
    before = threads(loaded.proc.pid)
    loops = [n for n in before if n.startswith("loop")]
    assert len(loops) == max(1, os.cpu_count()), before
    for _ in range(10):
        pop = poplib.POP3("127.0.0.1", loaded.ports["pop3"], timeout=30)
        pop.user(ALICE)
        pop.pass_("secret")
        for i in range(3):
            assert len(pop.retr(i + 1)[1]) == 3006  # Received: (4 lines), Subject:, blank, text
        pop.quit()
    after = threads(loaded.proc.pid)
    loop_ticks = sum(after[n] - before[n] for n in loops)
    main_ticks = after["posternd"] - before["posternd"]
    # 90 MB dot-stuffed and sent: the loop threads did it, the main loop did the logins
    assert loop_ticks > 2 * main_ticks and loop_ticks >= 5, (before, after)


def raw_session(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    return s, f


def test_pipelined_commands_after_the_login_move_with_the_session(loaded):
    s, f = raw_session(loaded.ports["pop3"])
    # everything in one write: the commands after PASS are read before the move
    s.sendall(b"USER %s\r\nPASS secret\r\nSTAT\r\nDELE 1\r\nLIST 2\r\nQUIT\r\n" % ALICE.encode())
    replies = [f.readline() for _ in range(6)]
    assert [r[:3] for r in replies] == [b"+OK"] * 6, replies
    assert replies[2].startswith(b"+OK 3 ")
    assert f.readline() == b""  # closed after QUIT's UPDATE
    s.close()
    assert len(loaded.messages(ALICE)) == 2


def test_sigterm_reaches_sessions_on_the_loop_threads(make_postern):
    # The retrieved text is counted line by line: no Authentication-Results: on top.
    p = make_postern({"relay": {"pop_before_smtp": "no"}, "inbound": {"verify": "no"}})
    p.add_user(ALICE)
    p.start()
    moved, mf = raw_session(p.ports["pop3"])  # logged in: on a loop thread
    moved.sendall(b"USER %s\r\nPASS secret\r\n" % ALICE.encode())
    assert mf.readline().startswith(b"+OK") and mf.readline().startswith(b"+OK")
    stayed, sf = raw_session(p.ports["pop3"])  # AUTHORIZATION: on the main loop
    result = {}
    t = threading.Thread(target=lambda: result.update(rc=p.stop()))
    t.start()
    for sock, f in ((moved, mf), (stayed, sf)):
        assert f.readline() == b"-ERR [SYS/TEMP] Server shutting down\r\n"
        sock.close()
    t.join(30)
    assert result.get("rc") == 0, p.log()[-3000:]
