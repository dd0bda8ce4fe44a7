#!/usr/bin/python3
"""Regenerate tests/unit/imap_mime_dovecot.h: run each test message below
through a private Dovecot (dovecot-imapd, its imap binary started directly
in PREAUTH mode as user nobody, no listener, no network) and keep what it
answers for RFC822.SIZE, BODY, BODYSTRUCTURE, ENVELOPE and body sections.

Usage (as root, with dovecot-imapd installed):
    python3 tests/unit/imap_mime_dovecot.py tests/unit/imap_mime_dovecot.h
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

CASES = []
def case(name, text, sections=()):
    CASES.append((name, text, list(sections)))

STD = ["BODY[]", "BODY[HEADER]", "BODY[TEXT]", "BODY[1]", "BODY[1.MIME]", "BODY[2]",
       "BODY[HEADER.FIELDS (From Subject)]", "BODY[HEADER.FIELDS.NOT (Subject Date)]",
       "BODY[]<0.10>", "BODY[]<5.3>", "BODY[TEXT]<2.5>", "BODY[9]", "BODY[1.1]"]

case("simple", """Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
From: Fred Foobar <foobar@Blurdybloop.example>
Subject: afternoon meeting
To: mooch@owatagu.siam.edu.example
Message-Id: <B27397-0100000@Blurdybloop.example>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?
Second line.
""", STD)

case("nocontenttype", "Subject: hi\n\nbody\n", STD)

case("alternative", """From: a@example.test
To: b@example.test
Subject: alt
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="XX"

This is a preamble.
--XX
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

plain text =C3=A9
line 2
--XX
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: 7bit

<p>html</p>
--XX--
epilogue line
""", STD + ["BODY[2.MIME]", "BODY[1.TEXT]", "BODY[1.HEADER]"])

case("mixed", """From: "Joe Q. Public" <john.q.public@example.com>
To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>
Cc: <boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>
Subject: attachments
Date: Tue, 1 Jul 2003 10:52:37 +0200
Message-ID: <5678.21-Nov-1997@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="==b1==";
 foo=bar

--==b1==
Content-Type: text/plain

see attached
--==b1==
Content-Type: application/pdf; name="doc.pdf"
Content-Disposition: attachment; filename="doc.pdf"; size=12
Content-Transfer-Encoding: base64
Content-ID: <part2@example.com>
Content-Description: A document
Content-Language: en, de
Content-Location: http://example.com/doc.pdf
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==

JVBERi0xLjQK
JVBERi0xLjQK
--==b1==
Content-Type: image/png
Content-Disposition: inline

iVBORw0KGgo=
--==b1==--
""", STD + ["BODY[3]", "BODY[3.MIME]", "BODY[2.MIME]<10.20>"])

case("nested", """Subject: nested
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

plain
--inner
Content-Type: text/html

<b>html</b>
--inner--

--outer
Content-Type: multipart/related; boundary="rel"; type="text/html"

--rel
Content-Type: text/html

<img src="cid:x">
--rel
Content-Type: image/gif
Content-ID: <x>
Content-Transfer-Encoding: base64

R0lGODlh
--rel--
--outer--
""", STD + ["BODY[1.2]", "BODY[1.2.MIME]", "BODY[2.2]", "BODY[2.2.MIME]", "BODY[1.MIME]", "BODY[2.1.TEXT]", "BODY[1.3]"])

case("rfc822", """From: outer@example.test
Subject: fwd
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

see below
--b
Content-Type: message/rfc822

From: Inner Person <inner@example.test>
To: x@example.test, group: a@b.test, c@d.test;
Subject: inner subject
Date: Wed, 2 Jan 2019 01:02:03 +0000
Message-ID: <inner@example.test>
In-Reply-To: <prev@example.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="ib"

--ib
Content-Type: text/plain

inner plain
--ib
Content-Type: text/html

inner html
--ib--
--b--
""", STD + ["BODY[2.HEADER]", "BODY[2.TEXT]", "BODY[2.1]", "BODY[2.2]", "BODY[2.1.MIME]", "BODY[2.MIME]",
           "BODY[2.HEADER.FIELDS (Subject To)]", "BODY[2.3]"])

case("rfc822_leaf", """Subject: fwd leaf
Content-Type: message/rfc822

Subject: inner
From: x@y.test

inner body
""", STD + ["BODY[1.HEADER]", "BODY[1.TEXT]", "BODY[1.1]"])

case("noclose", """Subject: no close
Content-Type: multipart/mixed; boundary="nc"

--nc
Content-Type: text/plain

first
--nc
Content-Type: text/plain

second and last, never closed
""", STD)

case("trailingws", "Subject: ws\nContent-Type: multipart/mixed; boundary=\"tw\"\n\n--tw  \t\nContent-Type: text/plain\n\none\n--tw extra junk\n\ntwo\n--twx\nstill two\n--tw-- \ntrailer\n", STD)

case("prefix", """Subject: prefix boundaries
Content-Type: multipart/mixed; boundary="a"

--a
Content-Type: multipart/mixed; boundary="ab"

--ab
Content-Type: text/plain

x
--ab--
--a
Content-Type: text/plain

y
--a--
""", STD + ["BODY[1.1]", "BODY[1.2]"])

case("malformed", """Subject: bad headers
This line has no colon
Content-Type: text
Content-Transfer-Encoding:  Base64 (comment)
Content-Disposition: ;;;
Content-Language:
X-Empty:

body
""", STD)

case("badtype2", "Subject: t\nContent-Type: text/plain; charset=\"unterminated\n\nbody\n", STD)
case("badtype3", "Subject: t\nContent-Type: ;charset=x\n\nbody\n", STD)
case("badtype4", "Subject: t\nContent-Type: application/x-thing; name==?utf-8?b?w6k=?=; a=b\n\nbody\n", STD)
case("badtype5", "Subject: t\nContent-Type: text/plain; format=flowed; delsp=yes; CHARSET=ISO-8859-1\nContent-Type: text/html\n\nbody\n", STD)

case("nobound", "Subject: t\nContent-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\nhi\n--x--\n", STD)

case("digest", """Subject: digest
Content-Type: multipart/digest; boundary="d"

--d

From: one@example.test
Subject: first

first body
--d
Content-Type: text/plain

not a message
--d--
""", STD + ["BODY[1.HEADER]", "BODY[1.1]"])

case("headeronly", "Subject: only header\nFrom: a@b.test", STD)
case("headeronly2", "Subject: only header\nFrom: a@b.test\n", STD)

case("nomime", "Subject: t\nContent-Description: desc\nContent-ID: <x>\n\nbody\n", STD)

case("rfc2231", """Subject: 2231
MIME-Version: 1.0
Content-Type: application/octet-stream;
 name*0="long";
 name*1="name.txt";
 q="a\\"b\\\\c"
Content-Disposition: attachment; filename*0*=utf-8''%E2%82%AC; filename*1=".txt"

data
""", STD)

case("firstline", """Subject: boundary right after header
Content-Type: multipart/mixed; boundary=fl

--fl
Content-Type: text/plain
--fl
Content-Type: text/plain

b
--fl--""", STD)

case("emptymulti", "Subject: e\nContent-Type: multipart/mixed; boundary=q\n\n--q--\n", STD)

case("envelope1", """From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>
To:A Group(Some people)
     :Chris Jones <c@(Chris's host.)public.example>,
         joe@example.org,
  John <jdoe@one.test> (my dear friend); (the end of the group)
Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;
Date: Thu,
      13
        Feb
          1969
      23:32
               -0330 (Newfoundland Time)
Message-ID:              <testabcd.1234@silly.test>
Subject:   folded
   subject	with  tabs  
Reply-To: "" <r@x.test>
Bcc: undisclosed-recipients:;
In-Reply-To: <a@b> <c@d>

Testing.
""", ["BODY[HEADER.FIELDS (Subject)]", "BODY[HEADER.FIELDS (Cc To)]"])

case("envelope2", """From: user
From: second@example.test
To: @route1,@route2:user@dom.test, <@r:u2@d2.test>, "quoted local"@x.test, "Q Name" <a.b@[127.0.0.1]>
Cc: broken <unterminated, , x@y.test,
Sender: <>
Subject: "quoted" \\back\\slash "x" "y" "z"
Date: 
Message-ID: <one@x>
Message-ID: <two@x>
Subject: second subject

x
""", [])

case("envelope3", "From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\nTo: J\xc3\xb6rg <j@x.test>\nSubject: caf\xc3\xa9 \"x\"\nCc: a@b.test (Comment Name)\nBcc: a.@b.test, .a@b.test, a..b@c.test, @d.test\nReply-To: ,, ,\n\nb\n", [])
case("envelope4", "To: alice@example.test bob@example.test\nFrom: Alice Example\nCc: \"Alice\" alice@x.test\nBcc: <a@b.test> <c@d.test>\nSender: group:;\nSubject:\n\nbody\n", [])
case("envelope5", "From: a@b.test (c) (d)\nTo: \"a\tb\"  <x@y.test>\nSubject: a\"b\\c\"d\"e\"f\"\nCc: x@y.test, \nDate: \t Mon, 1 Jan 2001 \n\nbody\n", [])

case("mixedcrlf", "Subject: mix\r\nContent-Type: multipart/mixed; boundary=m\n\r\n--m\r\nContent-Type: text/plain\n\nline1\r\nline2\n--m\nContent-Type: text/plain\r\n\r\nx\r\n--m--\r\n", STD)
case("barecr", "Subject: cr\n\nline\rwith cr\nend\r", STD)
case("nul", "Subject: a\x00b\nFrom: \"x\x00y\" <a@b.test>\n\nbo\x00dy\n", ["BODY[]", "BODY[HEADER.FIELDS (Subject)]"])
case("lang_loc", "Subject: l\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=L; charset=x\nContent-Language: fr\nContent-Location: \"where\"\nContent-Disposition: inline; a=b\n\n--L\nContent-Type: text/plain\nContent-Location: http://x\n  /folded\nContent-Description: multi\n line\n\nx\n--L--\n", STD)
case("nestedrfc822", "Subject: o\nContent-Type: message/rfc822\n\nSubject: m\nContent-Type: message/rfc822\n\nSubject: i\nContent-Type: text/html\n\n<p>deep</p>\n", STD + ["BODY[1.1]", "BODY[1.1.1]", "BODY[1.1.HEADER]", "BODY[1.1.TEXT]", "BODY[1.HEADER]", "BODY[1.MIME]"])
case("hdrboundary", "Subject: h\nContent-Type: multipart/mixed; boundary=hb\n\n--hb\nContent-Type: text/plain\nX-A: b\n--hb\n\nbody2\n--hb--\n", STD)
case("samebound", "Subject: s\nContent-Type: multipart/mixed; boundary=s\n\n--s\nContent-Type: multipart/mixed; boundary=s\n\n--s\nContent-Type: text/plain\n\ninner\n--s--\nafter\n--s--\n", STD + ["BODY[1.1]"])
case("emptyheaders", "\nbody only\n", STD)

def item_value(buf, i):
    """Return (value_bytes_raw, new_index) of one IMAP value at buf[i]."""
    start = i
    depth = 0
    while True:
        c = buf[i:i+1]
        if c == b'{':
            j = buf.index(b'}', i)
            n = int(buf[i+1:j])
            i = j + 3 + n
        elif c == b'"':
            i += 1
            while buf[i:i+1] != b'"':
                i += 2 if buf[i:i+1] == b'\\' else 1
            i += 1
        elif c == b'(':
            depth += 1; i += 1
        elif c == b')':
            if depth == 0:
                return buf[start:i], i
            depth -= 1; i += 1
            if depth == 0:
                return buf[start:i], i
        elif c == b' ' and depth == 0:
            return buf[start:i], i
        else:
            i += 1
        if depth == 0 and c in (b'"', b'{') :
            return buf[start:i], i

def decode_string(v):
    if v == b'NIL':
        return None
    if v.startswith(b'{'):
        j = v.index(b'}')
        return v[j+3:]
    out = bytearray(); i = 1
    while i < len(v) - 1:
        if v[i:i+1] == b'\\':
            i += 1
        out += v[i:i+1]; i += 1
    return bytes(out)

def fetch_items(out):
    """Parse '* 1 FETCH (...)' responses into {name: raw value}."""
    items = {}
    pos = 0
    while True:
        k = out.find(b'* 1 FETCH (', pos)
        if k < 0:
            return items
        i = k + len(b'* 1 FETCH (')
        while out[i:i+1] != b')':
            sp = out.index(b' ', i)
            name = out[i:sp]
            # section names may contain spaces: BODY[HEADER.FIELDS (A B)]
            if name.startswith(b'BODY[') and b']' not in name:
                e = out.index(b']', i)
                sp = out.index(b' ', e)
                name = out[i:sp]
            val, i = item_value(out, sp + 1)
            items[name.decode()] = val
            if out[i:i+1] == b' ':
                i += 1
        pos = i

def run(msg, sections):
    shutil.rmtree(ROOT + "/Maildir", ignore_errors=True)
    for d in ("cur", "new", "tmp"):
        os.makedirs(f"{ROOT}/Maildir/{d}")
    with open(f"{ROOT}/Maildir/cur/1000.M1P1.h:2,", "wb") as f:
        f.write(msg)
    subprocess.run(["chown", "-R", "nobody:nogroup", ROOT], check=True)
    cmds = [b"a SELECT INBOX", b"b FETCH 1 (RFC822.SIZE BODY BODYSTRUCTURE ENVELOPE)"]
    for n, s in enumerate(sections):
        cmds.append(b"c%d FETCH 1 (%s)" % (n, s.replace("BODY[", "BODY.PEEK[").encode()))
    cmds.append(b"z LOGOUT")
    p = subprocess.run(["runuser", "-u", "nobody", "--", "env", "USER=nobody", "HOME=" + ROOT,
                        "/usr/lib/dovecot/imap", "-c", ROOT + "/dovecot.conf"],
                       input=b"\r\n".join(cmds) + b"\r\n", capture_output=True, timeout=20)
    out = p.stdout
    items = fetch_items(out)
    res = {}
    for k in ("RFC822.SIZE", "BODY", "BODYSTRUCTURE", "ENVELOPE"):
        res[k] = items[k]
    for s in sections:
        up = {k.upper(): v for k, v in items.items()}
        res[s] = up[re.sub(r"<(\d+)\.\d+>", r"<\1>", s).upper()]
    return res

def cstr(b):
    out = []
    for c in b:
        ch = chr(c)
        if ch == '"' or ch == '\\':
            out.append('\\' + ch)
        elif 32 <= c < 127 and ch != '?':
            out.append(ch)
        elif ch == '\n':
            out.append('\\n')
        elif ch == '\r':
            out.append('\\r')
        elif ch == '\t':
            out.append('\\t')
        else:
            out.append('\\%03o' % c)
    s = ''.join(out)
    # split long lines after \n for readability
    parts = s.split('\\n')
    if len(parts) > 1:
        lines = [p + '\\n' for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        return '\n\t\t'.join('"%s"' % l for l in lines)
    return '"%s"' % s


DOVECOT_CONF = """protocols = imap
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log
mail_location = maildir:{root}/Maildir
ssl = no
passdb {{
  driver = static
  args = password=unused
}}
userdb {{
  driver = static
}}
"""

HEADER = """/* imap_mime_dovecot.h - generated by imap_mime_dovecot.py: each test message
 * and what Dovecot 2.3.19 (dovecot-imapd, Debian 12, a private instance in
 * PREAUTH mode) answered for RFC822.SIZE, BODY, BODYSTRUCTURE, ENVELOPE and
 * body sections. Do not edit by hand. */

struct dc_section {
\tconst char *section; /* as in FETCH, BODY[...]<o.c> */
\tconst char *value;
\tsize_t value_len;
};

struct dc_case {
\tconst char *name;
\tconst char *msg;
\tsize_t msg_len;
\tunsigned long long size;
\tconst char *body, *bodystructure, *envelope;
\tstruct dc_section sections[24];
};

static const struct dc_case dc_cases[] = {"""


def main():
    global ROOT
    ROOT = tempfile.mkdtemp(prefix="dc-mime-")
    for d in ("run", "state"):
        os.makedirs(f"{ROOT}/{d}")
    with open(f"{ROOT}/dovecot.conf", "w") as f:
        f.write(DOVECOT_CONF.format(root=ROOT))
    out = [HEADER]
    try:
        for name, text, sections in CASES:
            msg = text.encode("latin-1")
            r = run(msg, sections)
            out.append("\t{")
            out.append('\t\t"%s",' % name)
            out.append("\t\t%s," % cstr(msg))
            out.append("\t\t%d," % len(msg))
            out.append("\t\t%s," % r["RFC822.SIZE"].decode())
            for k in ("BODY", "BODYSTRUCTURE", "ENVELOPE"):
                out.append("\t\t%s," % cstr(r[k]))
            out.append("\t\t{")
            assert len(sections) <= 23
            for s in sections:
                v = decode_string(r[s])
                out.append('\t\t\t{ "%s", %s, %d },' % (s.replace('"', '\\"'), cstr(v), len(v)))
            out.append("\t\t},")
            out.append("\t},")
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)
    out.append("};")
    with open(sys.argv[1], "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
