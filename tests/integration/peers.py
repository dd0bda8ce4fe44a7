"""Scriptable peers for the outbound tests: an SMTP server and a DNS server.

SinkServer is a tiny threaded SMTP server that answers per script (per
RCPT, at DATA, after the final dot, AUTH) and records every transaction
with the raw bytes it received. DnsStub answers MX/A/AAAA queries over UDP
from a fixed table.
"""
import base64
import socket
import socketserver
import struct
import threading
import time


class Transaction:
    def __init__(self):
        self.ehlo = None
        self.auth = None  # (user, password)
        self.mail = None  # the whole MAIL FROM line
        self.rcpts = []   # accepted recipients
        self.raw = b""    # DATA as received on the wire, without the final ".\r\n"
        self.acked = False  # 250 sent after the dot

    @property
    def body(self):
        """The message with the dot-stuffing undone (CRLF kept)."""
        lines = self.raw.split(b"\r\n")
        return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


class SinkServer:
    """Answers like a remote MTA. Script with the attributes below."""

    def __init__(self, host="127.0.0.1", port=0):
        self.rcpt_replies = {}      # address (lower) -> reply line, or a list used in turn
        self.data_replies = []      # replies after the dot, used in turn; then dot_reply
        self.dot_reply = "250 2.0.0 Ok: queued"
        self.start_data_reply = "354 End data with <CR><LF>.<CR><LF>"
        self.greeting = "220 sink.test ESMTP"
        self.extensions = ["PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES"]
        self.auth = None            # {user: password}: offer AUTH and require it
        self.auth_mechs = "PLAIN LOGIN"
        self.hold_dot = threading.Event()  # set: the dot is answered at once; clear: held
        self.hold_dot.set()
        self.transactions = []      # completed (the dot was received)
        self.lock = threading.Condition()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                sink._session(self.rfile, self.wfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server((host, port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.hold_dot.set()
        self.server.shutdown()
        self.server.server_close()

    def wait(self, n, timeout=15):
        """Wait until n transactions were received; return them."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.transactions) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("only %d of %d transactions arrived" %
                                         (len(self.transactions), n))
                self.lock.wait(left)
            return list(self.transactions)

    def _reply_for(self, table_value):
        if isinstance(table_value, list):
            return table_value.pop(0) if len(table_value) > 1 else table_value[0]
        return table_value

    def _session(self, rfile, wfile):
        def send(line):
            wfile.write(line.encode() + b"\r\n")
            wfile.flush()

        send(self.greeting)
        if not self.greeting.startswith("220"):
            return
        txn = Transaction()
        authed = self.auth is None
        while True:
            line = rfile.readline()
            if not line:
                return
            cmd = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = cmd.split(" ", 1)[0].upper()
            if verb == "EHLO":
                txn.ehlo = cmd[5:]
                exts = list(self.extensions)
                if self.auth is not None:
                    exts.append("AUTH " + self.auth_mechs)
                lines = ["sink.test"] + exts
                for i, text in enumerate(lines):
                    send("250%s%s" % ("-" if i < len(lines) - 1 else " ", text))
            elif verb == "HELO":
                txn.ehlo = cmd[5:]
                send("250 sink.test")
            elif verb == "AUTH":
                authed = self._auth(cmd, rfile, send, txn)
            elif verb == "MAIL":
                if not authed:
                    send("530 5.7.0 Authentication required")
                    continue
                txn.mail = cmd
                send("250 2.1.0 Ok")
            elif verb == "RCPT":
                addr = cmd[cmd.index("<") + 1:cmd.rindex(">")].lower()
                reply = self._reply_for(self.rcpt_replies.get(addr, "250 2.1.5 Ok"))
                if reply.startswith("2"):
                    txn.rcpts.append(addr)
                send(reply)
            elif verb == "DATA":
                if not txn.rcpts:
                    send("554 5.5.1 Error: no valid recipients")
                    continue
                send(self.start_data_reply)
                if not self.start_data_reply.startswith("354"):
                    continue
                self._data(rfile, send, txn)
                txn = Transaction()
            elif verb == "RSET":
                txn = Transaction()
                send("250 2.0.0 Ok")
            elif verb == "QUIT":
                send("221 2.0.0 Bye")
                return
            else:
                send("502 5.5.2 Error: command not recognized")

    def _auth(self, cmd, rfile, send, txn):
        parts = cmd.split(" ")
        mech = parts[1].upper() if len(parts) > 1 else ""
        if mech == "PLAIN":
            if len(parts) > 2:
                resp = parts[2]
            else:
                send("334 ")
                resp = rfile.readline().decode().strip()
            _, user, password = base64.b64decode(resp).decode().split("\0")
        elif mech == "LOGIN":
            send("334 VXNlcm5hbWU6")
            user = base64.b64decode(rfile.readline().strip()).decode()
            send("334 UGFzc3dvcmQ6")
            password = base64.b64decode(rfile.readline().strip()).decode()
        else:
            send("504 5.5.4 Unrecognized authentication type")
            return False
        txn.auth = (user, password)
        if self.auth.get(user) == password:
            send("235 2.7.0 Authentication successful")
            return True
        send("535 5.7.8 Error: authentication failed")
        return False

    def _data(self, rfile, send, txn):
        raw = b""
        while True:
            line = rfile.readline()
            if not line:
                return
            if line == b".\r\n":
                break
            raw += line
        txn.raw = raw
        with self.lock:
            self.transactions.append(txn)
            self.lock.notify_all()
        self.hold_dot.wait()
        reply = self.data_replies.pop(0) if self.data_replies else self.dot_reply
        txn.acked = reply.startswith("2")
        send(reply)


def _dns_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


class DnsStub:
    """UDP DNS server answering from records: {(name, "MX"|"A"|"AAAA"): [values]}.

    MX values are (preference, host); host "." is the null MX. A name with no
    entry at all is NXDOMAIN; a known name without that type is NODATA.
    """
    TYPES = {1: "A", 15: "MX", 28: "AAAA"}

    def __init__(self, records):
        self.records = {(n.lower(), t): v for (n, t), v in records.items()}
        self.names = {n for n, _ in self.records}
        self.queries = []
        stub = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = stub._answer(data)
                if reply:
                    sock.sendto(reply, self.client_address)

        self.server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, data):
        qid, flags, qd = struct.unpack("!HHH", data[:6])
        pos, labels = 12, []
        while data[pos]:
            labels.append(data[pos + 1:pos + 1 + data[pos]].decode().lower())
            pos += 1 + data[pos]
        qtype, qclass = struct.unpack("!HH", data[pos + 1:pos + 5])
        question = data[12:pos + 5]
        name = ".".join(labels)
        tname = self.TYPES.get(qtype, str(qtype))
        self.queries.append((name, tname))
        answers = []
        for value in self.records.get((name, tname), []):
            if tname == "MX":
                rdata = struct.pack("!H", value[0]) + _dns_name(value[1])
            elif tname == "A":
                rdata = socket.inet_pton(socket.AF_INET, value)
            else:
                rdata = socket.inet_pton(socket.AF_INET6, value)
            answers.append(_dns_name(name) + struct.pack("!HHIH", qtype, 1, 60, len(rdata)) + rdata)
        rcode = 0 if name in self.names else 3
        header = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(answers), 0, 0)
        return header + question + b"".join(answers)
