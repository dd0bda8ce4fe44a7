"""Dovecot compatibility of the IMAP state on disk (issue 14, SPEC.md "IMAP").

A Maildir tree that Dovecot 2.3 wrote is served by postern with the same
UIDVALIDITY, UIDs, flags, keywords, folders and subscriptions, and the other
way round; with both on one tree at once, dovecot-uidlist.lock keeps the
UIDs unique.

Dovecot is Debian's dovecot-imapd: its imap binary started directly as a
PREAUTH session (no listener, no network), driven by imaplib.IMAP4_stream.
postern is the real posternd, driven by imaplib over loopback. Both run as
one unprivileged user (postern's server.user, Dovecot's userdb uid), as a
Maildir shared by the two would be in a migration.
"""
import imaplib
import os
import re
import shlex
import smtplib
import subprocess
import threading
import time

import pytest
from conftest import Postern

DOVECOT_IMAP = "/usr/lib/dovecot/imap"
pytestmark = pytest.mark.skipif(not os.access(DOVECOT_IMAP, os.X_OK),
                                reason="dovecot-imapd is not installed (no %s)" % DOVECOT_IMAP)

ALICE = "alice@example.test"
SPECIAL = {"Sent", "Drafts", "Trash", "Junk"}  # postern makes them at the first login
ENTWURFE = "Entw&APw-rfe"  # "Entwürfe" in modified UTF-7

# first_valid_uid: the mail user is a system user (Dovecot refuses UIDs below 500 by default)
DOVECOT_CONF = """protocols = imap
base_dir = {home}/run
state_dir = {home}/state
mail_location = maildir:{maildir}
ssl = no
first_valid_uid = 1
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = static
  args = password=unused
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={home}
}}
"""


class Dovecot:
    """Dovecot's imap on one Maildir, as the given system user, one PREAUTH session at a time."""

    def __init__(self, home, maildir, user):
        self.home, self.user = home, user
        self.conf = os.path.join(home, "dovecot.conf")
        self.log_path = os.path.join(home, "dovecot.log")
        for d in ("run", "state"):
            os.makedirs(os.path.join(home, d), exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(home=home, maildir=maildir, uid=user.pw_uid,
                                        gid=user.pw_gid))
        subprocess.run(["chown", "-R", "%d:%d" % (user.pw_uid, user.pw_gid), home], check=True)

    def session(self):
        """A logged-in imaplib session (stderr, where Dovecot logs, goes to dovecot.log)."""
        cmd = "runuser -u %s -- env USER=alice HOME=%s %s -c %s 2>>%s" % (
            shlex.quote(self.user.pw_name), shlex.quote(self.home), DOVECOT_IMAP,
            shlex.quote(self.conf), shlex.quote(self.log_path))
        m = imaplib.IMAP4_stream(cmd)
        assert m.state == "AUTH", m.welcome
        return m

    def complaints(self):
        """The lines where Dovecot found something wrong (a broken uidlist, a lost file...)."""
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path, errors="replace") as f:
            return [x for x in f if re.search(r"(Error|Warning|Panic|Fatal):", x)]


@pytest.fixture
def pair(test_user, reachable_dir):
    """A postern (not started) and a Dovecot for alice's Maildir, both as the test user."""
    p = Postern(reachable_dir, {"server": {"user": test_user.pw_name}})
    maildir = p.maildir(ALICE)
    os.makedirs(maildir, mode=0o700)
    for d in (p.data_dir, os.path.dirname(os.path.dirname(maildir)),
              os.path.dirname(maildir), maildir):
        os.chmod(d, 0o700)
        os.chown(d, test_user.pw_uid, test_user.pw_gid)
    p.add_user(ALICE)
    dc = Dovecot(os.path.join(reachable_dir, "dovecot"), maildir, test_user)
    yield p, dc
    if p.proc is not None:
        rc = p.stop()
        assert rc == 0, "posternd exited with %s:\n%s" % (rc, p.log()[-3000:])
        assert "ERROR: AddressSanitizer" not in p.log() and "runtime error:" not in p.log()
    assert dc.complaints() == []


def login(p):
    m = imaplib.IMAP4("127.0.0.1", p.ports["imap"])
    m.login(ALICE, "secret")
    return m


def ok(result):
    typ, data = result
    assert typ == "OK", data
    return data


def q(name):
    return '"%s"' % name


def msg(mid, subject=None, body="hello\r\n"):
    return ("From: Bob <bob@remote.test>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@remote.test>\r\n"
            "\r\n%s" % (ALICE, subject or mid, mid, body)).encode()


def deliver(p, mid):
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        s.sendmail("bob@remote.test", [ALICE], msg(mid))


def appenduid(data):
    """The UID in an APPEND's [APPENDUID v u] answer."""
    return int(re.search(rb"\[APPENDUID \d+ (\d+)\]", data[0]).group(1))


# --- What a client keeps after a sync, asked the same way of both servers ---

LIST_RE = re.compile(rb'^\(([^)]*)\) (?:NIL|"(?:[^"\\]|\\.)") (.*)$')


def unquote(name):
    if name.startswith(b'"'):
        name = re.sub(rb"\\(.)", rb"\1", name[1:-1])
    return name.decode()


def listed(m, *args):
    """{name: attributes} of LIST args (a LIST-EXTENDED selection when given)."""
    typ, data = m._simple_command("LIST", *(args or ('""', '"*"')))
    typ, lines = m._untagged_response(typ, data, "LIST")
    assert typ == "OK", lines
    out = {}
    for line in lines:
        if line is None:
            continue
        r = LIST_RE.match(line)
        assert r, line
        out[unquote(r.group(2))] = set(r.group(1).decode().split())
    return out


def fetched(data):
    """{uid: (flags without \\Recent, RFC822.SIZE, Message-ID)} of a UID FETCH answer."""
    out = {}
    items = [x for x in data if x is not None]
    for i, item in enumerate(items):
        if not isinstance(item, tuple):
            continue
        text = item[0] + (items[i + 1] if i + 1 < len(items) and isinstance(items[i + 1], bytes)
                          else b"")
        uid = int(re.search(rb"UID (\d+)", text).group(1))
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", text).group(1).decode().split()) - {"\\Recent"}
        size = int(re.search(rb"RFC822\.SIZE (\d+)", text).group(1))
        mid = re.search(rb"<([^>]*)>", item[1]).group(1).decode() if b"<" in item[1] else None
        out[uid] = (frozenset(flags), size, mid)
    return out


def view(m):
    """The folders (LIST and their children), the subscriptions (LSUB and LIST
    (SUBSCRIBED)), and per folder UIDVALIDITY, UIDNEXT, its keywords (FLAGS)
    and per UID its flags, size and Message-ID, without changing anything."""
    everything = listed(m)
    v = {"list": {name: attrs & {"\\HasChildren", "\\HasNoChildren", "\\Noselect", "\\NonExistent"}
                  for name, attrs in everything.items()},
         "lsub": lsubbed(m),
         "subscribed": {name for name, attrs in listed(m, "(SUBSCRIBED)", '""', '"*"').items()
                        if "\\Subscribed" in attrs},
         "folders": {}}
    for name, attrs in sorted(everything.items()):
        if attrs & {"\\Noselect", "\\NonExistent"}:
            continue
        ok(m.select(q(name), readonly=True))
        r = m.untagged_responses
        status = ok(m.status(q(name), "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"))[0].decode()
        status = status[status.rindex("(") + 1:-1].split()
        data = ok(m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"))
        v["folders"][name] = {
            "uidvalidity": int(r["UIDVALIDITY"][-1]), "uidnext": int(r["UIDNEXT"][-1]),
            "exists": int(r["EXISTS"][-1]),
            "keywords": set(r["FLAGS"][-1].decode().strip("()").split()),
            "status": dict(zip(status[::2], status[1::2])),
            "messages": fetched(data) if int(r["EXISTS"][-1]) else {}}
        ok(m.close())
    return v


def lsubbed(m):
    typ, lines = m.lsub('""', '"*"')
    assert typ == "OK", lines
    return {unquote(LIST_RE.match(x).group(2)) for x in lines if x is not None}


def disk(maildir, folder=""):
    """The file names in new/ and cur/ of a folder."""
    d = os.path.join(maildir, folder)
    return {sub: sorted(os.listdir(os.path.join(d, sub))) for sub in ("new", "cur")}


def uidlist(maildir, folder=""):
    """The header and the {uid: base name} records of a folder's dovecot-uidlist."""
    with open(os.path.join(maildir, folder, "dovecot-uidlist")) as f:
        lines = f.read().splitlines()
    records = [(int(x.split(" ", 1)[0]), x.rsplit(":", 1)[1]) for x in lines[1:]]
    uids = [uid for uid, _ in records]
    assert len(uids) == len(set(uids)), lines  # never one UID twice
    return lines[0], dict(records)


# --- 1. Dovecot writes, postern serves ---

def dovecot_builds(dc):
    """Messages, flags, keywords, folders and subscriptions, all through Dovecot's IMAP."""
    m = dc.session()  # nothing selected: APPEND without flags leaves the message in new/
    for i in (1, 2, 3):
        ok(m.append("INBOX", None, None, msg("m%d" % i)))
    ok(m.append("INBOX", "(\\Seen)", None, msg("m4")))
    for name in ("Work", "Work/2026", ENTWURFE):
        ok(m.create(q(name)))
    for name in ("INBOX", "Work/2026", ENTWURFE):
        ok(m.subscribe(q(name)))
    ok(m.create("Archiv/2025"))  # no "Archiv" of its own
    ok(m.create("Old"))
    ok(m.subscribe("Old"))
    ok(m.delete("Old"))  # Dovecot keeps the subscription
    ok(m.append("Work/2026", "(\\Seen \\Answered)", None, msg("w1")))
    ok(m.append("Work/2026", "(\\Flagged $Forwarded)", None, msg("w2")))
    ok(m.append(q(ENTWURFE), "(\\Draft)", None, msg("d1")))
    m.logout()
    m = dc.session()
    ok(m.select("INBOX"))  # moves m1..m3 to cur/
    ok(m.store("1", "+FLAGS", "(\\Seen \\Answered $Forwarded)"))
    ok(m.store("2", "+FLAGS", "(\\Deleted)"))
    ok(m.expunge())  # UID 2 is gone
    ok(m.append("INBOX", "(\\Flagged \\Seen Project-X)", None, msg("m5")))
    ok(m.store("3", "+FLAGS", "(\\Flagged Project-X)"))  # m4
    ok(m.append("INBOX", None, None, msg("m6")))
    ok(m.uid("STORE", "6", "+FLAGS", "(\\Deleted)"))
    ok(m.uid("EXPUNGE", "6"))  # the highest UID is gone: UIDNEXT stays 7
    ok(m.store("2", "+FLAGS", "(\\Deleted)"))  # m3, kept
    ok(m.select("Work/2026"))
    ok(m.append("Work/2026", "(\\Deleted)", None, msg("w3")))
    ok(m.uid("EXPUNGE", "3"))  # the last message is gone: UIDNEXT stays 4
    m.logout()
    m = dc.session()
    ok(m.append("INBOX", None, None, msg("m7")))  # left in new/
    ok(m.append("INBOX", "(\\Answered)", None, msg("m8")))
    m.logout()


def test_dovecot_tree_served_by_postern_unchanged(pair):
    """What Dovecot made is what postern serves: a client that synced with
    Dovecot finds every folder's UIDVALIDITY and every UID's message and flags
    where it left them, and downloads nothing again. postern then goes on
    from where Dovecot stopped, and Dovecot sees what postern did."""
    p, dc = pair
    maildir = p.maildir(ALICE)
    dovecot_builds(dc)
    m = dc.session()
    before = view(m)
    m.logout()
    # the tree is what the test means it to be
    inbox = before["folders"]["INBOX"]
    assert sorted(inbox["messages"]) == [1, 3, 4, 5, 7, 8] and inbox["uidnext"] == 9
    assert inbox["messages"][1][0] == {"\\Seen", "\\Answered", "$Forwarded"}
    assert inbox["messages"][4][0] == {"\\Seen", "\\Flagged", "Project-X"}
    assert inbox["messages"][3][0] == {"\\Deleted"}
    assert sorted(before["folders"]["Work/2026"]["messages"]) == [1, 2]
    assert before["folders"]["Work/2026"]["uidnext"] == 4
    files = disk(maildir)
    assert len(files["new"]) == 1 and len(files["cur"]) == 5, files
    with open(os.path.join(maildir, "dovecot-keywords")) as f:
        assert f.read() == "0 $Forwarded\n1 Project-X\n"
    with open(os.path.join(maildir, "subscriptions")) as f:
        assert f.read() == "V\t2\n\nINBOX\nWork\t2026\n%s\nOld\n" % ENTWURFE

    p.start()
    m = login(p)
    served = view(m)
    m.logout()
    # postern adds its special folders at the first login, and nothing else
    assert set(served["list"]) == set(before["list"]) | SPECIAL
    assert {k: v for k, v in served["list"].items() if k not in SPECIAL} == before["list"]
    assert served["lsub"] == before["lsub"] | SPECIAL
    assert served["subscribed"] == before["subscribed"] | SPECIAL
    for name, folder in before["folders"].items():
        assert served["folders"][name] == folder, name
    # postern numbers after Dovecot's last UID, expunged ones included
    m = login(p)
    assert appenduid(ok(m.append("Work/2026", "(\\Seen Later)", None, msg("w4")))) == 4
    deliver(p, "m9")
    ok(m.select("INBOX"))
    ok(m.uid("STORE", "7", "+FLAGS", "(\\Seen Project-X)"))
    ok(m.uid("STORE", "1", "-FLAGS", "($Forwarded)"))
    served = view(m)
    m.logout()
    assert served["folders"]["INBOX"]["messages"][9][2] == "m9@remote.test"
    # and Dovecot, back on the tree, sees what postern serves: special folders included
    m = dc.session()
    after = view(m)
    m.logout()
    assert after == served


def subscription_answers(m):
    """LSUB "%" and LIST (SUBSCRIBED ...): each name with \\Noselect, \\NonExistent
    (which implies \\Noselect), \\Subscribed and CHILDINFO."""
    keep = {"\\Noselect", "\\NonExistent", "\\Subscribed"}
    out = {}
    for cmd, args in (("LSUB", ('""', '"%"')), ("LIST", ("(SUBSCRIBED)", '""', '"*"')),
                      ("LIST", ("(SUBSCRIBED RECURSIVEMATCH)", '""', '"%"'))):
        typ, data = m._simple_command(cmd, *args)
        typ, lines = m._untagged_response(typ, data, cmd)
        assert typ == "OK", lines
        answer = {}
        for line in lines:
            r = re.match(rb'^\(([^)]*)\) "/" ("[^"]*"|\S+)(?: \(CHILDINFO \(([^)]*)\)\))?$', line)
            assert r, line
            attrs = set(r.group(1).decode().split()) & keep
            if "\\NonExistent" in attrs:
                attrs.add("\\Noselect")
            answer[unquote(r.group(2))] = (frozenset(attrs), r.group(3))
        out[cmd + " " + " ".join(args)] = answer
    # LSUB may flag a subscribed name otherwise than LIST (RFC 3501 6.3.9): only its
    # parents' \Noselect counts
    subscribed = out['LIST (SUBSCRIBED) "" "*"']
    for name, (attrs, info) in out['LSUB "" "%"'].items():
        if name in subscribed:
            out['LSUB "" "%"'][name] = (frozenset(), info)
    return out


def test_subscriptions_of_missing_folders_answered_as_dovecot(pair):
    """Subscriptions Dovecot keeps for folders that are not there (a parent
    never created, a folder deleted after it was subscribed) are answered
    by postern as Dovecot answers them."""
    p, dc = pair
    m = dc.session()
    ok(m.create("Work/2026"))
    ok(m.subscribe("Work/2026"))
    ok(m.create("Old"))
    ok(m.subscribe("Old"))
    ok(m.delete("Old"))
    m.logout()
    p.start()
    m = login(p)
    served = subscription_answers(m)
    m.logout()
    m = dc.session()
    answered = subscription_answers(m)
    m.logout()
    assert served == answered


# --- 2. postern writes, Dovecot serves ---

def postern_builds(p):
    """Deliveries, APPEND, STORE, EXPUNGE, MOVE, CREATE and SUBSCRIBE, all through postern."""
    for i in range(1, 6):
        deliver(p, "p%d" % i)
    m = login(p)
    ok(m.select("INBOX"))
    ok(m.store("1", "+FLAGS", "(\\Seen $Forwarded)"))
    ok(m.store("2", "+FLAGS", "(\\Flagged \\Answered Project-X)"))
    ok(m.store("3", "+FLAGS", "(\\Deleted)"))
    ok(m.expunge())  # UID 3 is gone
    ok(m.store("3", "+FLAGS", "(\\Deleted)"))  # p4, kept
    ok(m.append("INBOX", "(\\Seen \\Draft)", None, msg("p6")))
    for name in ("Work/2026", ENTWURFE):
        ok(m.create(q(name)))
        ok(m.subscribe(q(name)))
    ok(m.unsubscribe("Junk"))
    ok(m._simple_command("MOVE", "4", q(ENTWURFE)))  # p5 leaves a gap in INBOX
    ok(m.append("Work/2026", "(\\Flagged Project-X)", None, msg("w1")))
    ok(m.append("Sent", "(\\Seen)", None, msg("s1")))
    m.logout()
    deliver(p, "p7")  # in new/, no UID yet: the next server to look gives it one


def test_postern_tree_served_by_dovecot_unchanged(pair):
    """What postern made is what Dovecot serves, and postern then shows what
    Dovecot added and changed."""
    p, dc = pair
    maildir = p.maildir(ALICE)
    p.start()
    postern_builds(p)
    m = login(p)
    served = view(m)
    m.logout()
    inbox = served["folders"]["INBOX"]
    assert sorted(inbox["messages"]) == [1, 2, 4, 6, 7] and inbox["uidnext"] == 8
    assert inbox["messages"][2][0] == {"\\Flagged", "\\Answered", "Project-X"}
    assert served["subscribed"] == {"Sent", "Drafts", "Trash", "Work/2026", ENTWURFE}
    assert disk(maildir)["new"], "p7 should still be in new/"

    m = dc.session()
    seen = view(m)
    assert seen == served
    # a message Dovecot adds takes the next UID, and postern shows it
    uid = appenduid(ok(m.append("INBOX", "(\\Flagged Later)", None, msg("d1"))))
    assert uid == inbox["uidnext"]
    ok(m.select("INBOX"))
    ok(m.uid("STORE", "1", "-FLAGS", "(\\Seen)"))
    ok(m.uid("STORE", "7", "+FLAGS", "($Forwarded)"))
    m.logout()
    m = dc.session()
    seen = view(m)
    m.logout()
    assert seen["folders"]["INBOX"]["messages"][uid] == (frozenset({"\\Flagged", "Later"}),
                                                         len(msg("d1")), "d1@remote.test")
    m = login(p)
    assert view(m) == seen
    m.logout()


# --- 3. Both on one tree: dovecot-uidlist.lock ---

class HeldLock:
    """dovecot-uidlist.lock taken as Dovecot takes it (O_EXCL, "PID:host"),
    owned by the mail user; release() renames a new list over the uidlist,
    as Dovecot's rewrite does, or just removes the lock."""

    def __init__(self, maildir):
        self.maildir = maildir
        self.path = os.path.join(maildir, "dovecot-uidlist.lock")
        st = os.stat(maildir)
        self.owner = st.st_uid, st.st_gid
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(self.fd, b"%d:%s" % (os.getpid(), os.uname().nodename.encode()))
        os.fchown(self.fd, *self.owner)

    def add_file(self, mid):
        """A message of the holder's in cur/, as a Dovecot APPEND puts it; its base name."""
        base = "%d.M1P%d.other,S=%d" % (time.time(), os.getpid(), len(msg(mid)))
        with open(os.path.join(self.maildir, "cur", base + ":2,S"), "wb") as f:
            f.write(msg(mid))
            os.fchown(f.fileno(), *self.owner)
        return base

    def release(self, header=None, records=None):
        if header is not None:
            os.pwrite(self.fd, (header + "\n" + "".join(
                "%d :%s\n" % r for r in sorted(records.items()))).encode(), 0)
            os.ftruncate(self.fd, os.lseek(self.fd, 0, os.SEEK_END))
            os.close(self.fd)
            os.rename(self.path, os.path.join(self.maildir, "dovecot-uidlist"))
        else:
            os.close(self.fd)
            os.unlink(self.path)
        return time.monotonic()


def select_in_thread(p):
    """SELECT INBOX and UID FETCH in a thread: (thread, result dict with the time and the UIDs)."""
    out = {}

    def run():
        c = login(p)
        ok(c.select("INBOX"))
        out["at"] = time.monotonic()
        out["uidvalidity"] = int(c.untagged_responses["UIDVALIDITY"][-1])
        data = ok(c.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"))
        out["uids"] = {mid: uid for uid, (_, _, mid) in fetched(data).items()}
        c.logout()

    t = threading.Thread(target=run)
    t.start()
    return t, out


def one_numbered_one_new(p):
    """a1 with UID 1, a2 delivered after it, in new/ without a UID; the uidlist."""
    deliver(p, "a1")
    m = login(p)
    ok(m.select("INBOX"))
    m.logout()
    deliver(p, "a2")
    return uidlist(p.maildir(ALICE))


def test_postern_waits_for_a_held_uidlist_lock(pair):
    """postern needs the lock to number a new message: it waits while another
    holds it, leaves the list alone, then reads the holder's new list (here
    UIDs 2..5 used and expunged meanwhile: N6) and numbers after it."""
    p, dc = pair
    maildir = p.maildir(ALICE)
    p.start()
    header, records = one_numbered_one_new(p)
    v, guid = re.match(r"3 V(\d+) N\d+ G(\w+)$", header).groups()
    lock = HeldLock(maildir)
    t, selected = select_in_thread(p)
    time.sleep(1.5)
    assert "at" not in selected, "postern did not wait for dovecot-uidlist.lock"
    assert uidlist(maildir) == (header, records)
    released = lock.release("3 V%s N6 G%s" % (v, guid), records)
    t.join(20)
    assert not t.is_alive()
    assert selected["at"] >= released
    assert selected["uidvalidity"] == int(v)
    assert selected["uids"] == {"a1@remote.test": 1, "a2@remote.test": 6}
    m = dc.session()
    assert view(m)["folders"]["INBOX"]["messages"].keys() == {1, 6}
    m.logout()
    # a lock that is let go without a new list: postern goes on at once
    deliver(p, "a3")
    lock = HeldLock(maildir)
    t, selected = select_in_thread(p)
    time.sleep(0.5)
    released = lock.release()
    t.join(20)
    assert selected["at"] - released < 5
    assert selected["uids"]["a3@remote.test"] == 7


def test_a_uid_given_while_postern_waits_is_kept(pair):
    """The holder adds a message with the next UID (as a Dovecot APPEND does
    while postern waits to number an SMTP delivery): both UIDs stay."""
    p, dc = pair
    maildir = p.maildir(ALICE)
    p.start()
    header, records = one_numbered_one_new(p)
    v, guid = re.match(r"3 V(\d+) N\d+ G(\w+)$", header).groups()
    lock = HeldLock(maildir)
    t, selected = select_in_thread(p)
    time.sleep(1.0)
    records[2] = lock.add_file("held")
    lock.release("3 V%s N3 G%s" % (v, guid), records)
    t.join(20)
    assert not t.is_alive()
    # what postern answered first and what it keeps afterwards
    after = uidlist(maildir)[1]
    m = login(p)
    kept = {mid: uid for uid, (_, _, mid) in view(m)["folders"]["INBOX"]["messages"].items()}
    m.logout()
    assert (after.get(2), kept) == (records[2], {"a1@remote.test": 1, "held@remote.test": 2,
                                                 "a2@remote.test": 3}), after
    assert selected["uids"] == kept


def test_an_unreadable_uidlist_is_not_replaced(pair):
    p, dc = pair
    maildir = p.maildir(ALICE)
    p.start()
    header, records = one_numbered_one_new(p)
    path = os.path.join(maildir, "dovecot-uidlist")
    os.chmod(path, 0)  # postern runs as the mail user, which now cannot open it
    try:
        m = login(p)
        typ, data = m.select("INBOX")
        m.logout()
    finally:
        os.chmod(path, 0o600)
    assert uidlist(maildir)[0].split(" ")[1] == header.split(" ")[1], (typ, data)
    assert typ == "NO"


def test_dovecot_and_postern_append_at_once(pair):
    """Dovecot and postern add messages to one INBOX at the same time: every
    APPENDUID either server answered is that message's UID for both."""
    p, dc = pair
    maildir = p.maildir(ALICE)
    p.start()
    m = login(p)  # the special folders, so that Dovecot's view has nothing to create
    m.logout()
    n = 12
    uids = {}
    both_in = threading.Barrier(2, timeout=20)

    def dovecot_appends():
        d = dc.session()
        both_in.wait()
        for i in range(n):
            uids["dc%d@remote.test" % i] = appenduid(ok(d.append("INBOX", None, None, msg("dc%d" % i))))
            time.sleep(0.02)  # let postern in between: a waiter on the lock sleeps 0.1-0.2 s
        d.logout()

    def postern_appends():
        c = login(p)
        both_in.wait()
        for i in range(n):
            uids["pn%d@remote.test" % i] = appenduid(ok(c.append("INBOX", None, None, msg("pn%d" % i))))
        c.logout()

    threads = [threading.Thread(target=f) for f in (dovecot_appends, postern_appends)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert len(uids) == 2 * n and len(set(uids.values())) == 2 * n, uids
    # the two really ran at once: some of postern's UIDs fall between Dovecot's
    assert min(u for mid, u in uids.items() if mid.startswith("pn")) < \
        max(u for mid, u in uids.items() if mid.startswith("dc")), uids
    assert not os.path.exists(os.path.join(maildir, "dovecot-uidlist.lock"))
    m = dc.session()
    seen = view(m)
    m.logout()
    m = login(p)
    served = view(m)
    m.logout()
    assert served == seen
    assert {mid: uid for uid, (_, _, mid) in seen["folders"]["INBOX"]["messages"].items()} == uids
    header, records = uidlist(maildir)
    assert sorted(records) == sorted(uids.values())
