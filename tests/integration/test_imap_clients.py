"""IMAP (issue 14) with real clients on both ports, STARTTLS and implicit TLS:
curl, mbsync (isync), offlineimap3, fetchmail and openssl s_client. Each test
checks what arrived where: the clients' Maildirs and mbox files, and the
server's Maildir (file names with their :2, flags) and flags seen by imaplib.
postern's certificate is self-signed: every client accepts it explicitly
(curl -k, mbsync CertificateFile, offlineimap cert_fingerprint, fetchmail
no sslcertck).
"""
import hashlib
import imaplib
import os
import re
import smtplib
import ssl
import subprocess

import pytest

ALICE = "alice@example.test"
BOB = "bob@example.test"
TOOL_TIMEOUT = 30


def deliver(p, n, rcpt=ALICE):
    """An SMTP delivery of "msg N" with the body "body N"."""
    msg = "From: Bob <bob@remote.test>\r\nTo: %s\r\nSubject: msg %d\r\n\r\nbody %d\r\n" % (
        rcpt, n, n)
    with smtplib.SMTP("127.0.0.1", p.smtp_port) as s:
        s.sendmail("bob@remote.test", [rcpt], msg)


def wire(data):
    """A Maildir file (LF line ends) as IMAP sends it."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def cert(p):
    return os.path.join(p.data_dir, "tls", "cert.pem")


def run_tool(args, home, **kw):
    env = dict(os.environ, HOME=str(home))
    return subprocess.run(args, capture_output=True, text=True, timeout=TOOL_TIMEOUT, env=env, **kw)


def maildir_files(root):
    """{path under root: content} of every message file of a Maildir tree."""
    out = {}
    for top, _, names in os.walk(str(root)):
        if os.path.basename(top) in ("cur", "new"):
            for name in names:
                with open(os.path.join(top, name), "rb") as f:
                    out[os.path.relpath(os.path.join(top, name), str(root))] = f.read()
    return out


def server_files(p, user=ALICE):
    return maildir_files(p.maildir(user))


def with_subject(files, n):
    """The one (name, content) of files whose subject is "msg N"."""
    found = [(k, v) for k, v in files.items() if b"Subject: msg %d\n" % n in v.replace(b"\r", b"")]
    assert len(found) == 1, (n, sorted(files))
    return found[0]


def server_flags(p, folder="INBOX"):
    """{uid: set of flags} as imaplib sees them (EXAMINE: nothing changes)."""
    m = imaplib.IMAP4("127.0.0.1", p.ports["imap"])
    m.login(ALICE, "secret")
    assert m.select(folder, readonly=True)[0] == "OK"
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS)")
    m.logout()
    out = {}
    for line in data:
        if line:
            mo = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)|FLAGS \(([^)]*)\) UID (\d+)", line)
            uid = int(mo.group(1) or mo.group(4))
            out[uid] = set((mo.group(2) if mo.group(1) else mo.group(3)).decode().split())
    return out


@pytest.fixture
def mx(postern):
    for n in range(3):
        deliver(postern, n)
    return postern


# curl -------------------------------------------------------------------------

def curl_for(p, port):
    base = ("imap://127.0.0.1:%d" if port == "imap" else "imaps://127.0.0.1:%d") % p.ports[port]
    tls = ["-k", "--ssl-reqd"] if port == "imap" else ["-k"]

    def curl(path, *args, user=ALICE + ":secret"):
        return subprocess.run(["curl", "-sS", "-v", "--max-time", "20", "--user", user] + tls +
                              [base + path] + list(args), capture_output=True, timeout=TOOL_TIMEOUT)
    return curl


@pytest.mark.parametrize("port", ["imap", "imaps"])
def test_curl_list_fetch_append_search(mx, tmp_path, port):
    curl = curl_for(mx, port)
    r = curl("/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        b'* LIST (\\HasNoChildren) "/" "INBOX"', b'* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        b'* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
        b'* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        b'* LIST (\\HasNoChildren \\Trash) "/" "Trash"']
    err = r.stderr.decode()
    assert "SSL connection using TLS" in err
    if port == "imap":  # STARTTLS, and no password before it
        assert re.search(r"^> \S+ STARTTLS", err, re.M), err
        assert err.index("STARTTLS") < err.index("SSL connection")
    assert err.index("SSL connection") < err.index("AUTHENTICATE PLAIN")

    name, content = with_subject(server_files(mx), 1)
    r = curl("/INBOX;UID=2")  # FETCH BODY[]: the exact bytes, and \Seen set
    assert r.returncode == 0, r.stderr
    assert r.stdout == wire(content)
    assert curl("/INBOX;UID=3;SECTION=TEXT").stdout == b"body 2\r\n"  # BODY[TEXT]: seen too
    assert server_flags(mx) == {1: set(), 2: {"\\Seen"}, 3: {"\\Seen"}}
    base = os.path.basename(name).split(":")[0]
    assert with_subject(server_files(mx), 1)[0] == "cur/" + base + ":2,S"

    assert curl("/INBOX", "-X", 'SEARCH SUBJECT "msg 1"').stdout == b"* SEARCH 2\r\n"
    assert curl("/INBOX", "-X", "UID SEARCH UNSEEN").stdout == b"* SEARCH 1\r\n"
    assert curl("/INBOX", "-X", 'SEARCH BODY "body 2" SEEN').stdout == b"* SEARCH 3\r\n"
    assert curl("/INBOX", "-X", 'SEARCH BODY "body 2" NOT SEEN').stdout == b"* SEARCH\r\n"
    assert curl("/INBOX?SUBJECT%20%22msg%200%22").stdout == b"* SEARCH 1\r\n"

    eml = tmp_path / "sent.eml"
    sent = b"From: Alice <alice@example.test>\r\nTo: bob@remote.test\r\nSubject: kept copy\r\n" \
        b"\r\nsent by curl\r\n"
    eml.write_bytes(sent)
    r = curl("/Sent", "-T", str(eml))
    assert r.returncode == 0, r.stderr
    assert re.search(r"^> \S+ APPEND Sent \(\\Seen\) \{%d\}" % len(sent), r.stderr.decode(), re.M)
    stored = maildir_files(os.path.join(mx.maildir(ALICE), ".Sent"))
    assert [wire(v) for v in stored.values()] == [sent]
    assert re.search(r",S=\d+,W=%d:2,S$" % len(sent), list(stored)[0])
    assert server_flags(mx, "Sent") == {1: {"\\Seen"}}
    assert curl("/Sent;UID=1").stdout == sent

    r = curl("/", user=ALICE + ":wrong")
    assert r.returncode == 67, r.stderr  # CURLE_LOGIN_DENIED
    assert b"AUTHENTICATIONFAILED" in r.stderr


# mbsync -----------------------------------------------------------------------

def mbsync_setup(p, tmp_path, port):
    local = tmp_path / "mbsync-mail"
    local.mkdir()
    conf = tmp_path / "mbsyncrc"
    conf.write_text(
        "IMAPAccount postern\nHost 127.0.0.1\nPort %d\nUser %s\nPass secret\n"
        "SSLType %s\nCertificateFile %s\nSystemCertificates no\nTimeout 20\n\n"
        "IMAPStore remote\nAccount postern\n\n"
        "MaildirStore local\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
        "Channel postern\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\n"
        "Expunge Both\nSyncState *\n"
        % (p.ports[port], ALICE, "STARTTLS" if port == "imap" else "IMAPS", cert(p), local, local))

    def sync():
        r = run_tool(["mbsync", "-D", "-c", str(conf), "-a"], tmp_path)
        assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
        return re.findall(r"^F: >>> \d+ (.*)$", r.stdout + r.stderr, re.M)
    return local, sync


def mbsync_local(local, folder="INBOX"):
    return maildir_files(local / folder)


def no_tuid(data):
    """A message without the X-TUID header mbsync adds to its copies, LF line ends."""
    return re.sub(rb"^X-TUID: .*\n", b"", data.replace(b"\r\n", b"\n"), flags=re.M)


def assert_nothing_changed(commands, before, after):
    """No IMAP command that changes or downloads anything; both Maildirs as they were."""
    changing = [c for c in commands
                if re.match(r"(UID )?(STORE|APPEND|EXPUNGE|COPY|MOVE|CREATE|DELETE)"
                            r"|.*BODY(\.PEEK)?\[", c)]
    assert changing == [], changing
    assert after == before


def test_mbsync_second_sync_changes_nothing_flags_up_expunges_down(mx, tmp_path):
    local, sync = mbsync_setup(mx, tmp_path, "imap")
    commands = sync()
    assert "STARTTLS" in commands and commands.index("STARTTLS") < commands.index("CAPABILITY")
    inbox = mbsync_local(local)
    assert len(inbox) == 3
    for n in range(3):
        name, content = with_subject(inbox, n)
        assert no_tuid(content) == with_subject(server_files(mx), n)[1]
        assert re.search(r",U=%d:2,$" % (n + 1), name), name
    for folder in ("Sent", "Drafts", "Trash", "Junk"):
        assert (local / folder / "cur").is_dir()
    assert server_flags(mx) == {1: set(), 2: set(), 3: set()}  # BODY.PEEK: nothing marked seen

    def state():
        return maildir_files(local), server_files(mx)
    before = state()
    assert_nothing_changed(sync(), before, state())

    name = with_subject(mbsync_local(local), 1)[0]  # flag msg 1 locally: \Flagged \Seen
    os.rename(local / "INBOX" / name, local / "INBOX" / "cur" / (os.path.basename(name) + "FS"))
    commands = sync()
    assert "UID STORE 2 +FLAGS.SILENT (\\Flagged \\Seen)" in commands, commands
    assert server_flags(mx)[2] == {"\\Flagged", "\\Seen"}
    assert with_subject(server_files(mx), 1)[0].endswith(":2,FS")

    m = imaplib.IMAP4("127.0.0.1", mx.ports["imap"])  # the server expunges msg 2, gets msg 3
    m.login(ALICE, "secret")
    m.select("INBOX")
    m.uid("STORE", "3", "+FLAGS", "(\\Deleted)")
    assert m.expunge()[1] == [b"3"]
    m.logout()
    deliver(mx, 3)
    sync()
    inbox = mbsync_local(local)
    assert sorted(re.search(rb"Subject: msg (\d)", v).group(1) for v in inbox.values()) == \
        [b"0", b"1", b"3"]
    assert with_subject(inbox, 3)[0].endswith(",U=4:2,")
    before = state()
    assert_nothing_changed(sync(), before, state())


def test_mbsync_pushes_new_folder_message_and_deletion_over_imaps(mx, tmp_path):
    local, sync = mbsync_setup(mx, tmp_path, "imaps")
    commands = sync()
    assert "STARTTLS" not in commands
    assert len(mbsync_local(local)) == 3
    draft = b"From: Alice <alice@example.test>\nSubject: plan\nDate: Mon, 1 Jan 2024 10:00:00 " \
        b"+0000\n\nnew local folder\n"
    for sub in ("cur", "new", "tmp"):
        (local / "Projects" / sub).mkdir(parents=True)
    (local / "Projects" / "cur" / "1700000000.1_1.laptop:2,DS").write_bytes(draft)
    os.unlink(local / "INBOX" / with_subject(mbsync_local(local), 0)[0])
    commands = sync()
    assert 'CREATE "Projects"' in commands
    assert any(c.startswith('APPEND "Projects" (\\Draft \\Seen)') for c in commands), commands
    projects = maildir_files(os.path.join(mx.maildir(ALICE), ".Projects"))
    assert [no_tuid(v) for v in projects.values()] == [draft]
    assert list(projects)[0].endswith(":2,DS")
    assert server_flags(mx, "Projects") == {1: {"\\Draft", "\\Seen"}}
    assert sorted(re.search(rb"Subject: msg (\d)", v).group(1)
                  for v in server_files(mx).values() if not v.startswith(b"From: Alice")) == \
        [b"1", b"2"]  # msg 0, deleted locally, was expunged on the server
    assert set(server_flags(mx)) == {2, 3}


# offlineimap3 -----------------------------------------------------------------

def offlineimap_setup(p, tmp_path, port):
    """A configuration for offlineimap on port (imaps), and a sync function returning
    the commands it sent."""
    local = tmp_path / "oi-mail"
    local.mkdir()
    with open(cert(p)) as f:
        fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
    tls = "ssl = yes\ncert_fingerprint = %s\n" % fingerprint
    conf = tmp_path / "offlineimaprc"
    conf.write_text(
        "[general]\naccounts = postern\nmetadata = %s\nui = basic\n\n"
        "[Account postern]\nlocalrepository = local\nremoterepository = remote\n\n"
        "[Repository local]\ntype = Maildir\nlocalfolders = %s\n\n"
        "[Repository remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = %d\n"
        "remoteuser = %s\nremotepass = secret\nmaxconnections = 1\n%s"
        % (tmp_path / "oi-meta", local, p.ports[port], ALICE, tls))

    def sync():
        r = run_tool(["offlineimap", "-o", "-u", "basic", "-c", str(conf), "-d", "imap"], tmp_path)
        out = r.stdout + r.stderr
        assert r.returncode == 0 and "ERROR" not in out, out[-4000:]
        return [c.decode() for c in
                (eval(x) for x in re.findall(r"writer > (b'.*')$", out, re.M))]  # noqa: S307
    return local, sync


def test_offlineimap_full_sync_then_nothing_over_imaps(mx, tmp_path):
    """IMAPS only: offlineimap's STARTTLS (imaplib2 on Python 3.11) hangs or crashes
    in about one run of five against Dovecot 2.3 as well as postern: its reader thread
    and its writer use the one SSL object at the same time after the handshake."""
    local, sync = offlineimap_setup(mx, tmp_path, "imaps")
    commands = sync()
    assert not any(c.split()[1:2] == ["STARTTLS"] for c in commands)
    inbox = maildir_files(local / "INBOX")
    assert len(inbox) == 3
    for n in range(3):
        assert with_subject(inbox, n)[1].replace(b"\r\n", b"\n") == \
            with_subject(server_files(mx), n)[1]
    assert sorted(os.listdir(local)) == ["Drafts", "INBOX", "Junk", "Sent", "Trash"]
    assert server_flags(mx) == {1: set(), 2: set(), 3: set()}

    def state():
        return maildir_files(local), server_files(mx)
    before = state()
    commands = sync()
    assert_nothing_changed([c.split(" ", 1)[1] for c in commands if " " in c], before, state())

    name = with_subject(maildir_files(local), 2)[0]  # a flag set locally reaches the server
    base = os.path.basename(name).split(":")[0]
    os.rename(local / name, local / "INBOX" / "cur" / (base + ":2,RS"))
    sync()
    assert server_flags(mx)[3] == {"\\Answered", "\\Seen"}
    assert with_subject(server_files(mx), 2)[0].endswith(":2,RS")


# fetchmail --------------------------------------------------------------------

def fetchmail(p, tmp_path, port, opts, dest):
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        'set no bouncemail\n'
        'poll 127.0.0.1 with proto IMAP port %d auth password\n'
        '  user "%s" there with password "secret" is %s here\n'
        '  %s no sslcertck\n' % (p.ports[port], ALICE, dest, opts))
    rc.chmod(0o600)
    return run_tool(["fetchmail", "-v", "-f", str(rc), "--idfile", str(tmp_path / "ids"),
                     "--pidfile", str(tmp_path / "fetchmail.pid"), "--nosyslog", "-N"], tmp_path)


def test_fetchmail_keep_over_starttls_into_postern_smtp(mx, tmp_path):
    opts = 'keep sslproto "tls1.2+" smtphost "127.0.0.1/%d"' % mx.smtp_port
    r = fetchmail(mx, tmp_path, "imap", opts, '"%s"' % BOB)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "IMAP> A0001 STARTTLS" in out and "upgrade to TLS succeeded" in out
    assert "FETCH 1:3 RFC822.SIZE" in out
    got = server_files(mx, BOB)  # through postern's own SMTP into bob's Maildir
    assert len(got) == 3
    for n in range(3):
        alice_copy = with_subject(server_files(mx), n)[1]
        assert with_subject(got, n)[1].endswith(alice_copy[alice_copy.index(b"From: Bob"):])
    assert server_flags(mx) == {1: {"\\Seen"}, 2: {"\\Seen"}, 3: {"\\Seen"}}  # kept, seen
    r = fetchmail(mx, tmp_path, "imap", opts, '"%s"' % BOB)
    assert r.returncode == 1, r.stdout + r.stderr  # 1: no new mail
    assert len(server_files(mx, BOB)) == 3


def test_fetchmail_over_imaps_deletes_what_it_delivered(mx, tmp_path):
    mbox = tmp_path / "fetched"
    r = fetchmail(mx, tmp_path, "imaps", 'ssl mda "cat >> %s"' % mbox, "root")
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "STARTTLS" not in out.split("IMAP> A0001", 1)[1]
    text = mbox.read_bytes()
    for n in range(3):  # each message whole: headers, the blank line, the body
        assert b"Subject: msg %d\n\nbody %d\n" % (n, n) in text.replace(b"\r\n", b"\n")
    assert server_files(mx) == {}
    assert server_flags(mx) == {}
    m = imaplib.IMAP4("127.0.0.1", mx.ports["imap"])
    m.login(ALICE, "secret")
    assert m.select("INBOX")[1] == [b"0"]
    m.logout()


# openssl s_client -------------------------------------------------------------

@pytest.mark.parametrize("port", ["imap", "imaps"])
def test_openssl_s_client_capability_login_select(mx, port):
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % mx.ports[port], "-crlf", "-quiet",
            "-ign_eof"] + (["-starttls", "imap"] if port == "imap" else [])
    script = "a CAPABILITY\nb LOGIN %s secret\nc SELECT INBOX\nd LOGOUT\n" % ALICE
    r = subprocess.run(args, input=script, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    lines = r.stdout.splitlines()
    caps = [x for x in lines if x.startswith("* CAPABILITY ")]
    assert len(caps) == 1, r.stdout + r.stderr
    assert caps[0].startswith("* CAPABILITY IMAP4rev1 ") and "STARTTLS" not in caps[0]
    assert "AUTH=PLAIN" in caps[0]
    assert any(x.startswith("b OK [CAPABILITY IMAP4rev1 ") and "UIDPLUS" in x for x in lines), lines
    assert "* 3 EXISTS" in lines
    assert any(re.match(r"\* OK \[UIDVALIDITY \d+\]", x) for x in lines)
    assert "* OK [UIDNEXT 4] Predicted next UID" in lines
    assert "c OK [READ-WRITE] SELECT completed" in lines
    assert lines[-2:] == ["* BYE Logging out", "d OK Logout completed"]
    if port == "imaps":
        assert lines[0].startswith("* OK [CAPABILITY IMAP4rev1 ")
