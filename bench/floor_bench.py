"""The floor under any server on this machine: build/floorsrv (bench/floorsrv.c).

floorsrv answers the same load generators as postern, in the same run, making
only the system calls a server must make for the load: for POP3, a read of
each command and an open, read, close and writev of each message; for SMTP, a
read and a reply per command, the text written into a file, and postern's
commit (one syncfs per batch for the text, a link into new/, the next syncfs
for the link, then the 250). No logins, no checks, no parsing, no logs: what
postern could reach if its own work cost nothing. A target above the floor
cannot be met on this machine by any server with this load generator.
"""
import os
import signal
import subprocess

from benchlib import PosternSmtp
from conftest import free_port, wait_port

FLOORSRV = os.environ.get("FLOORSRV", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "build", "floorsrv"))


class FloorServer:
    """floorsrv in mode self.mode over the directory tmp; its extra arguments in args."""
    mode = None

    def __init__(self, tmp, *args):
        self.dir, self.args = tmp, list(args)
        self.proc = None

    def start(self):
        self.port = free_port()
        self.proc = subprocess.Popen([FLOORSRV, "-m", self.mode, "-d", self.dir,
                                      "-P", str(self.port), "-T", str(min(os.cpu_count() or 2, 64))] + self.args)
        self.pid = self.proc.pid
        wait_port(self.port, alive=lambda: self.proc.poll() is None)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        return None


class FloorSmtp(FloorServer):
    """floorsrv taking SMTP into DIR/new: delivered() counts it, as postern's Maildir."""
    name = "floor"
    mode = "smtp"
    rcpt, sender, msgfile = PosternSmtp.rcpt, PosternSmtp.sender, None

    def delivered(self):
        d = os.path.join(self.dir, "new")
        return len(os.listdir(d)) if os.path.isdir(d) else 0


class FloorPop3(FloorServer):
    """floorsrv serving messages of messages x size octets (the size on the wire)."""
    name = "floor"
    mode = "pop3"

    def __init__(self, tmp, messages, size):
        super().__init__(tmp, "-n", str(messages), "-s", str(size))
