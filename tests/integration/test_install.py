"""Production: make install, the man pages and the systemd unit; the privilege
drop of a daemon started as root; syslog; posternctl autoconfig."""
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import stat
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
from conftest import POSTERND, POSTERNCTL, ROOT, TEST_USER, Postern

MAN_PAGES = ["man8/posternd.8", "man8/posternctl.8", "man5/postern.conf.5"]


def make_env():
    """The environment for a nested make: none of the outer make's variables (SAN=1...)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def make_install(**variables):
    args = ["make", "--no-print-directory", "-C", ROOT, "install"]
    args += ["%s=%s" % kv for kv in variables.items()]
    r = subprocess.run(args, capture_output=True, text=True, env=make_env(), timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def destdir(tmp_path_factory):
    """make install DESTDIR=... PREFIX=/usr/local, once for the module."""
    d = tmp_path_factory.mktemp("destdir")
    make_install(DESTDIR=str(d), PREFIX="/usr/local")
    return d / "usr" / "local"


def test_install_lays_out_every_file(destdir):
    for exe in ("sbin/posternd", "sbin/posternctl"):
        path = destdir / exe
        assert path.is_file() and os.access(path, os.X_OK), exe
    for link in ("sbin/sendmail", "sbin/mailq"):
        assert os.path.islink(destdir / link), link
        assert os.readlink(destdir / link) == "posternctl"
    for page in MAN_PAGES:
        assert (destdir / "share" / "man" / page).is_file(), page
    assert (destdir / "share/doc/postern/postern.conf.example").is_file()
    unit = (destdir / "lib/systemd/system/posternd.service").read_text()
    assert "ExecStart=/usr/local/sbin/posternd -c /etc/postern/postern.conf\n" in unit
    assert "@PREFIX@" not in unit
    for line in ("Type=simple", "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=strict",
                 "ReadWritePaths=-/var/lib/postern", "NoNewPrivileges=yes", "LimitNOFILE=65536"):
        assert line + "\n" in unit, line


def test_installed_binaries_run(destdir):
    r = subprocess.run([str(destdir / "sbin/posternctl"), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "autoconfig DOMAIN" in r.stdout


def test_mailq_lists_the_queue(destdir, postern):
    env = dict(os.environ, POSTERN_CONFIG=postern.conf)
    r = subprocess.run([str(destdir / "sbin/mailq")], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders_without_warnings(destdir, page):
    if shutil.which("man") is None:
        pytest.fail("man is not installed (scripts/deps.sh test installs man-db)")
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    r = subprocess.run(["man", "--warnings", "-l", str(destdir / "share/man" / page)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    assert "NAME" in r.stdout and "SEE ALSO" in r.stdout


def config_keys():
    """(section, key) of every row of the configuration table in cfg_value.c."""
    with open(os.path.join(ROOT, "src/config/cfg_value.c")) as f:
        text = f.read()
    table = text[text.index("cfg_keys[] = {"):]
    table = table[:table.index("\n};")]
    keys = re.findall(r'CFG_\w+\("(\w+)", "(\w+)"', table)
    keys += re.findall(r'\.section = "(\w+)", \.key = "(\w+)"', table)
    assert len(keys) >= 30
    return set(keys)


def test_conf_page_documents_every_key_with_its_default():
    documented, section = set(), None
    with open(os.path.join(ROOT, "doc/postern.conf.5")) as f:
        for line in f:
            m = re.match(r'\.SH "\[(\w+)\]"', line)
            if m:
                section = m.group(1)
            m = re.match(r'\.BR (\w+) " \(default: [^)]+\)"', line)
            if m and section:
                documented.add((section, m.group(1)))
    missing = config_keys() - documented
    assert not missing, "postern.conf(5) lacks %s" % sorted(missing)
    with open(os.path.join(ROOT, "doc/postern.conf.5")) as f:
        assert '.SH "[routes]"' in f.read()


def test_systemd_unit_verifies(tmp_path):
    """Installed with a real PREFIX, so that ExecStart and the man pages exist."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed and the systemd package is not "
                    "installable here (scripts/deps.sh test tries)")
    prefix = tmp_path / "prefix"
    make_install(PREFIX=str(prefix))
    unit = prefix / "lib/systemd/system/posternd.service"
    env = dict(os.environ, MANPATH=str(prefix / "share/man"))
    r = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                       env=env, cwd=str(tmp_path), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "posternd.service" not in r.stdout + r.stderr, r.stdout + r.stderr


# --- privileges -------------------------------------------------------------

def need_root():
    if os.geteuid() != 0:
        pytest.skip("privilege tests need root (the suite runs as root in CI)")


def proc_ids(pid):
    """The Uid:, Gid: and Groups: lines of /proc/PID/status."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("Uid", "Gid", "Groups"):
                out[name] = [int(v) for v in value.split()]
    return out


def test_started_as_root_runs_as_the_configured_user(test_user, reachable_dir):
    p = Postern(reachable_dir, {"server": {"user": TEST_USER}})
    p.start()
    try:
        uid, gid = test_user.pw_uid, test_user.pw_gid
        ids = proc_ids(p.proc.pid)
        assert ids["Uid"] == [uid] * 4, ids
        assert ids["Gid"] == [gid] * 4, ids
        assert 0 not in ids["Groups"], ids
        assert "running as user %s" % TEST_USER in p.log()
        st = os.stat(p.data_dir)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (uid, 0o700)
        # the users file is added while it runs: posternctl (root) gives it the directory's owner
        p.add_user("alice@example.test")
        with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=30) as s:
            code, _ = s.ehlo()
            assert code == 250
            assert s.sendmail("x@remote.test", ["alice@example.test"],
                              "Subject: dropped\r\n\r\nhello\r\n") == {}
        maildir = p.maildir("alice@example.test")
        assert os.stat(maildir).st_uid == uid
        assert stat.S_IMODE(os.stat(maildir).st_mode) == 0o700
        new = os.path.join(maildir, "new")
        (name,) = os.listdir(new)
        assert os.stat(os.path.join(new, name)).st_uid == uid
        users = os.stat(os.path.join(p.data_dir, "users"))
        assert (users.st_uid, stat.S_IMODE(users.st_mode)) == (uid, 0o600)
        c = poplib.POP3("127.0.0.1", p.ports["pop3"], timeout=30)
        c.user("alice@example.test")
        c.pass_("secret")
        assert c.stat()[0] == 1
        assert b"hello" in b"\n".join(c.retr(1)[1])
        c.quit()
        # a reload re-reads the configuration and the (self-signed) key as the user
        p.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "configuration reloaded" not in p.log() and "reload failed" not in p.log():
            assert time.monotonic() < deadline, p.log()
            time.sleep(0.05)
        assert "configuration reloaded" in p.log(), p.log()
        for top, dirs, files in os.walk(p.data_dir):
            for name in dirs + files:
                mode = os.lstat(os.path.join(top, name)).st_mode
                assert mode & 0o007 == 0, "%s/%s is open to others: %o" % (top, name, mode)
    finally:
        rc = p.stop()
    assert rc == 0, p.log()[-3000:]
    assert "ERROR: AddressSanitizer" not in p.log() and "runtime error:" not in p.log()


def run_to_exit(p):
    r = subprocess.run([POSTERND, "-c", p.conf], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr


def test_missing_user_is_a_clear_error(tmp_path):
    need_root()
    p = Postern(tmp_path, {"server": {"user": "nosuchuser-postern"}})
    rc, err = run_to_exit(p)
    assert rc == 1, err
    assert "server.user 'nosuchuser-postern': no such user" in err
    assert not os.path.exists(p.data_dir)


def test_data_dir_the_user_cannot_write_is_a_clear_error(test_user, reachable_dir):
    p = Postern(reachable_dir, {"server": {"user": TEST_USER}})
    os.mkdir(p.data_dir, 0o700)  # root's
    rc, err = run_to_exit(p)
    assert rc == 1, err
    assert "server.data_dir %s is not writable by user %s" % (p.data_dir, TEST_USER) in err


def test_root_as_user_warns(postern):
    assert "running as root" in postern.log()


def test_not_root_runs_as_itself(test_user, reachable_dir):
    """Started by an ordinary user, posternd runs as that user, whatever server.user says."""
    p = Postern(reachable_dir, {"server": {"user": "nosuchuser-postern"}})
    os.chmod(p.conf, 0o644)
    os.chown(reachable_dir, test_user.pw_uid, test_user.pw_gid)
    logf = open(p.log_path, "ab")
    proc = subprocess.Popen(["setpriv", "--reuid", str(test_user.pw_uid), "--regid",
                             str(test_user.pw_gid), "--clear-groups", POSTERND, "-c", p.conf],
                            stdout=logf, stderr=logf)
    try:
        deadline = time.monotonic() + 30
        while "postern ready" not in p.log():
            assert proc.poll() is None and time.monotonic() < deadline, p.log()
            time.sleep(0.05)
        assert proc_ids(proc.pid)["Uid"] == [test_user.pw_uid] * 4
        assert os.stat(p.data_dir).st_uid == test_user.pw_uid
    finally:
        proc.terminate()
        rc = proc.wait(timeout=30)
        logf.close()
    assert rc == 0, p.log()[-3000:]
    assert "ERROR: AddressSanitizer" not in p.log()


# --- syslog -----------------------------------------------------------------

def test_syslog_gets_the_events(tmp_path):
    """server.syslog = yes: lines go to /dev/log, facility mail. /dev/log is
    pointed at a catcher inside a private mount namespace."""
    need_root()
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    sock_path = str(tmp_path / "log.sock")
    catcher = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    catcher.bind(sock_path)
    catcher.settimeout(1)
    real = tmp_path / "dev.real"
    real.mkdir()
    script = ('mount --rbind /dev "$0" && mount -t tmpfs -o mode=755 tmpfs /dev && '
              'for n in null zero full random urandom tty; do ln -s "$0/$n" /dev/$n; done && '
              'ln -s "$1" /dev/log && shift && exec "$@"')
    probe = subprocess.run(["unshare", "-m", "sh", "-c", script, str(real), sock_path, "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("cannot make a private /dev here: " + probe.stderr.strip())
    os.mkdir(tmp_path / "p")
    p = Postern(tmp_path / "p", {"server": {"syslog": "yes"}})
    logf = open(p.log_path, "ab")
    proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script, str(real), sock_path,
                             POSTERND, "-c", p.conf], stdout=logf, stderr=logf)
    try:
        lines, deadline = [], time.monotonic() + 30
        while time.monotonic() < deadline and not any("postern ready" in l for l in lines):
            try:
                lines.append(catcher.recv(4096).decode("utf-8", "replace"))
            except socket.timeout:
                assert proc.poll() is None, p.log()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        logf.close()
        catcher.close()
    ready = [l for l in lines if "postern ready" in l]
    assert ready, lines
    assert ready[0].startswith("<22>"), ready[0]  # LOG_MAIL | LOG_INFO
    assert "posternd[" in ready[0]


# --- posternctl autoconfig --------------------------------------------------

PRODUCTION = {
    "server": {"hostname": "mail.example.org"},
    "smtp": {"listen": "0.0.0.0:25, [::]:25"},
    "submission": {"listen": "0.0.0.0:587", "listen_tls": "[::]:465"},
    "pop3": {"listen": "0.0.0.0:110", "listen_tls": "0.0.0.0:995"},
    "imap": {"listen": "0.0.0.0:143", "listen_tls": "0.0.0.0:993"},
}


def autoconfig(tmp_path, config, *args):
    p = Postern(tmp_path, config)
    r = subprocess.run([POSTERNCTL, "-c", p.conf, "autoconfig"] + list(args),
                       capture_output=True, text=True, timeout=60)
    return r


def test_autoconfig_xml_and_records(tmp_path):
    r = autoconfig(tmp_path, PRODUCTION, "Example.ORG")
    assert r.returncode == 0, r.stderr
    xml_text, _, dns = r.stdout.partition("</clientConfig>\n")
    root = ET.fromstring(xml_text + "</clientConfig>")
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider.get("id") == "example.org"
    assert [d.text for d in provider.findall("domain")] == ["example.org"]
    servers = [(s.tag, s.get("type"), s.findtext("hostname"), s.findtext("port"),
                s.findtext("socketType"), s.findtext("username"), s.findtext("authentication"))
               for s in provider if s.tag.endswith("Server")]
    common = ("mail.example.org",)
    auth = ("%EMAILADDRESS%", "password-cleartext")
    assert servers == [  # IMAP first: mail programs take the first incoming server
        ("incomingServer", "imap") + common + ("993", "SSL") + auth,
        ("incomingServer", "imap") + common + ("143", "STARTTLS") + auth,
        ("incomingServer", "pop3") + common + ("995", "SSL") + auth,
        ("incomingServer", "pop3") + common + ("110", "STARTTLS") + auth,
        ("outgoingServer", "smtp") + common + ("465", "SSL") + auth,
        ("outgoingServer", "smtp") + common + ("587", "STARTTLS") + auth,
    ]
    records = [l for l in dns.splitlines() if l and not l.startswith(";")]
    assert records == [
        "example.org. 3600 IN MX 10 mail.example.org.",
        "_imaps._tcp.example.org. 3600 IN SRV 0 1 993 mail.example.org.",
        "_imap._tcp.example.org. 3600 IN SRV 0 1 143 mail.example.org.",
        "_pop3s._tcp.example.org. 3600 IN SRV 0 1 995 mail.example.org.",
        "_pop3._tcp.example.org. 3600 IN SRV 0 1 110 mail.example.org.",
        "_submissions._tcp.example.org. 3600 IN SRV 0 1 465 mail.example.org.",
        "_submission._tcp.example.org. 3600 IN SRV 0 1 587 mail.example.org.",
        'example.org. 3600 IN TXT "v=spf1 mx -all"',
        '_dmarc.example.org. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:postmaster@example.org"',
    ]


def test_autoconfig_service_without_listener_is_not_offered(tmp_path):
    config = dict(PRODUCTION, pop3={"listen": "", "listen_tls": "0.0.0.0:995"},
                  imap={"listen": "", "listen_tls": ""})
    r = autoconfig(tmp_path, config, "example.org", "--dns")
    assert r.returncode == 0, r.stderr
    assert "_pop3._tcp.example.org. 3600 IN SRV 0 0 0 .\n" in r.stdout
    assert "_imaps._tcp.example.org. 3600 IN SRV 0 0 0 .\n" in r.stdout
    assert "<clientConfig" not in r.stdout
    r = autoconfig(tmp_path, config, "example.org", "--xml")
    root = ET.fromstring(r.stdout)
    assert [s.findtext("port") for s in root.iter("incomingServer")] == ["995"]


def test_autoconfig_rejects_a_bad_domain(tmp_path):
    r = autoconfig(tmp_path, PRODUCTION, "exa<mple.org")
    assert r.returncode == 2
    assert "not a domain name" in r.stderr
