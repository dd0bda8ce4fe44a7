"""Private instances of the peers make bench compares postern with.

Postfix and Dovecot from Debian's packages (make bench-peers), each with its
own configuration in a temporary directory, on a free loopback port, run as
root the way PEERS.md measured them: Postfix with example.test as a virtual
mailbox domain delivering into one Maildir, Dovecot with a passwd-file and
Maildirs filled like postern's. Every start has a stop that also kills
whatever is left of the instance's process tree, by pid.

Also the measuring helpers shared with bench.py: CPU and PSS of a process
tree from /proc.
"""
import os
import pwd
import shutil
import signal
import subprocess
import time

from conftest import free_port, wait_port  # tests/integration, on sys.path (bench.py)

TICK = os.sysconf("SC_CLK_TCK")
POSTFIX = "/usr/sbin/postfix"
DOVECOT = "/usr/sbin/dovecot"
MAIL_USER = "nobody"  # owns the peers' Maildirs (Postfix's virtual(8) refuses root)


def _stat(pid):
    """(ppid, utime+stime+cutime+cstime in s) of one process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / TICK


def tree(root):
    """pids of root and all its descendants (one scan of /proc)."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                children.setdefault(st[0], []).append(int(name))
    out, todo = [], [root]
    while todo and len(out) < 100000:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def cpu_tree(root):
    """CPU seconds of a process tree: live processes plus the ones they reaped."""
    total = 0.0
    for pid in tree(root):
        st = _stat(pid)
        if st is not None:
            total += st[1]
    return total


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_tree(root):
    return sum(pss_kb(pid) for pid in tree(root))


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    st = _stat(pid)
    return st is not None and _state(pid) != "Z"


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def kill_tree(pids, timeout=10.0):
    """SIGKILL whatever of these pids is still alive (they were all ours)."""
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def write_messages(maildir, count, body, uid=None):
    """A Maildir (tmp/new/cur) with count copies of body in new/, named as postern names them."""
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    wire = len(body) + body.count(b"\n") - body.count(b"\r\n")
    for i in range(count):
        name = "%d.M%06dP1Q%d.bench,S=%d,W=%d" % (1700000000 + i, i, i, len(body), wire)
        with open(os.path.join(maildir, "new", name), "wb") as f:
            f.write(body)
    if uid is not None:
        for dirpath, dirnames, filenames in os.walk(maildir):
            os.chown(dirpath, uid[0], uid[1])
            for n in filenames:
                os.chown(os.path.join(dirpath, n), uid[0], uid[1])


def _mail_ids():
    pw = pwd.getpwnam(MAIL_USER)
    return pw.pw_uid, pw.pw_gid


def _open_path(path):
    """The peers' unprivileged processes must traverse path (bench.py opens its parents)."""
    os.chmod(path, os.stat(path).st_mode | 0o711)


POSTFIX_MASTER_CF = """\
# service type  private unpriv  chroot  wakeup  maxproc command
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """A private Postfix: its own main.cf/master.cf, queue and Maildir under dir."""

    def __init__(self, dir, process_limit=100, extra=None):
        self.dir = dir
        self.conf = os.path.join(dir, "etc")
        self.queue = os.path.join(dir, "queue")
        self.mail = os.path.join(dir, "mail")
        self.port = free_port()
        self.pid = None
        self.pids = []
        uid, gid = _mail_ids()
        for d in (self.conf, self.queue, os.path.join(dir, "data"), self.mail):
            os.makedirs(d, exist_ok=True)
        _open_path(dir)
        write_messages(self.maildir, 0, b"", uid=(uid, gid))
        os.chown(self.mail, uid, gid)
        os.chown(os.path.join(self.mail, "example.test"), uid, gid)
        with open(os.path.join(self.conf, "vmailbox"), "w") as f:
            f.write("alice@example.test example.test/alice/\n")
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": os.path.join(dir, "data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "peer.example.test",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "virtual_mailbox_domains": "example.test",
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "texthash:%s/vmailbox" % self.conf,
            "virtual_uid_maps": "static:%d" % uid,
            "virtual_gid_maps": "static:%d" % gid,
            "virtual_mailbox_limit": "0",
            "message_size_limit": "26214400",
            "smtpd_peername_lookup": "no",
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_connection_rate_limit": "0",
            "default_process_limit": str(process_limit),
            "biff": "no",
            "maillog_file": os.path.join(dir, "postfix.log"),
            "maillog_file_prefixes": dir,
            "smtp_dns_support_level": "disabled",
        }
        settings.update(extra or {})
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF.format(listen="127.0.0.1:%d" % self.port))

    @property
    def maildir(self):
        return os.path.join(self.mail, "example.test", "alice")

    def delivered(self):
        return len(os.listdir(os.path.join(self.maildir, "new")))

    def _postfix(self, *args, check=True):
        return subprocess.run([POSTFIX, "-c", self.conf] + list(args), capture_output=True,
                              text=True, timeout=60, check=check)

    def start(self):
        self._postfix("set-permissions", check=False)
        r = self._postfix("start", check=False)
        pidfile = os.path.join(self.queue, "pid", "master.pid")
        deadline = time.monotonic() + 20
        while self.pid is None and time.monotonic() < deadline:
            try:
                with open(pidfile) as f:
                    self.pid = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                time.sleep(0.05)
        if self.pid is None:
            raise RuntimeError("postfix did not start: %s%s" % (r.stdout, r.stderr))
        wait_port(self.port, alive=lambda: _alive(self.pid))
        return self

    def stop(self):
        if self.pid is None:
            return
        self.pids = tree(self.pid)
        self._postfix("stop", check=False)
        deadline = time.monotonic() + 15
        while _alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        kill_tree(self.pids)
        self.pid = None

    def log(self):
        try:
            with open(os.path.join(self.dir, "postfix.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Dovecot:
    """A private Dovecot serving POP3 from its own config, passwd-file and Maildirs."""

    def __init__(self, dir, users, process_limit=None):
        self.dir = dir
        self.conf = os.path.join(dir, "dovecot.conf")
        self.port = free_port()
        self.users = users
        self.proc = None
        self.pid = None
        self.pids = []
        uid, gid = _mail_ids()
        os.makedirs(os.path.join(dir, "mail"), exist_ok=True)
        _open_path(dir)
        os.chown(os.path.join(dir, "mail"), uid, gid)
        with open(os.path.join(dir, "passwd"), "w") as f:
            for user in users:
                f.write("%s:{PLAIN}secret:%d:%d::%s::\n" % (user, uid, gid, self.maildir(user)))
        limits = ""
        if process_limit:
            limits = "  process_limit = %d\n  client_limit = 1\n" % process_limit
        with open(self.conf, "w") as f:
            f.write("""\
base_dir = {d}/run
state_dir = {d}/state
instance_name = dovecot-bench-{port}
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
log_path = {d}/dovecot.log
mail_location = maildir:~
pop3_uidl_format = %08Xu%08Xv
default_client_limit = {clients}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
{limits}}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""".format(d=dir, port=self.port, limits=limits, clients=max(1000, (process_limit or 0) + 100)))

    def maildir(self, user):
        local, domain = user.split("@")
        return os.path.join(self.dir, "mail", domain, local)

    def fill(self, count, body):
        ids = _mail_ids()
        for user in self.users:
            write_messages(self.maildir(user), count, body, uid=ids)
        for d in (os.path.join(self.dir, "mail", "example.test"),):
            if os.path.isdir(d):
                os.chown(d, *ids)

    def start(self):
        self.logf = open(os.path.join(self.dir, "dovecot.stderr"), "ab")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdout=self.logf,
                                     stderr=self.logf)
        self.pid = self.proc.pid
        wait_port(self.port, alive=lambda: self.proc.poll() is None)
        return self

    def stop(self):
        if self.proc is None:
            return
        self.pids = tree(self.pid)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        kill_tree(self.pids)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.pid = None
        self.logf.close()

    def log(self):
        out = ""
        for name in ("dovecot.log", "dovecot.stderr"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out += f.read()
            except OSError:
                pass
        return out


class DovecotImap(Dovecot):
    """A private Dovecot serving IMAP (dovecot-imapd) instead of POP3: the same passwd-file
    and Maildirs; Sent is created and subscribed at login (APPEND goes there); a process
    per connection, as Debian ships it, with room for process_limit connections."""

    def __init__(self, dir, users, process_limit=None):
        super().__init__(dir, users)
        limit = max(process_limit or 0, 100)
        with open(self.conf, "w") as f:
            f.write("""\
base_dir = {d}/run
state_dir = {d}/state
instance_name = dovecot-bench-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {d}/dovecot.log
mail_location = maildir:~
default_client_limit = {clients}
mail_max_userip_connections = 100
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_limit = {limit}
}}
service imap {{
  process_limit = {limit}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
""".format(d=dir, port=self.port, limit=limit, clients=max(1000, limit + 100)))

    def fill_user(self, user, count, body):
        """user's INBOX with count copies of body, owned by the mail user."""
        ids = _mail_ids()
        write_messages(self.maildir(user), count, body, uid=ids)
        os.chown(os.path.join(self.dir, "mail", user.split("@")[1]), *ids)


def dovecot_imap_installed():
    return os.path.exists(DOVECOT) and os.path.exists("/usr/lib/dovecot/imap")


def postfix_installed():
    return os.path.exists(POSTFIX) and os.path.exists("/usr/sbin/smtp-source")


def dovecot_installed():
    return os.path.exists(DOVECOT) and os.path.exists("/usr/lib/dovecot/pop3")


OPENDKIM = "/usr/sbin/opendkim"


def opendkim_installed():
    return os.path.exists(OPENDKIM)


class OpenDkim:
    """A private OpenDKIM milter signing for one domain (relaxed/relaxed, rsa-sha256) the
    mail of 127.0.0.1, on a free loopback port: the signer of a Postfix site."""

    def __init__(self, dir, domain, selector, keyfile):
        self.dir = dir
        self.port = free_port()
        self.conf = os.path.join(dir, "opendkim.conf")
        self.proc = None
        os.makedirs(dir, exist_ok=True)
        settings = {"Mode": "s", "Domain": domain, "Selector": selector, "KeyFile": keyfile,
                    "Socket": "inet:%d@127.0.0.1" % self.port, "InternalHosts": "127.0.0.1",
                    "Canonicalization": "relaxed/relaxed", "SignatureAlgorithm": "rsa-sha256",
                    "Syslog": "no", "PidFile": os.path.join(dir, "opendkim.pid"),
                    "RequireSafeKeys": "no"}  # the bench lives under /tmp, writable by all
        with open(self.conf, "w") as f:
            f.write("".join("%s %s\n" % kv for kv in settings.items()))

    @property
    def milter(self):
        """The main.cf settings that put this milter in Postfix's smtpd."""
        return {"smtpd_milters": "inet:127.0.0.1:%d" % self.port,
                "milter_default_action": "tempfail", "milter_protocol": "6"}

    def start(self):
        self.logf = open(os.path.join(self.dir, "opendkim.log"), "ab")
        self.proc = subprocess.Popen([OPENDKIM, "-f", "-x", self.conf], stdout=self.logf,
                                     stderr=self.logf)
        wait_port(self.port, alive=lambda: self.proc.poll() is None)
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.logf.close()
            self.proc = None


def remove(path):
    shutil.rmtree(path, ignore_errors=True)
