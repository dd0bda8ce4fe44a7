#!/bin/sh
# checktools.sh - check that every external program the tests call is there
# and can do what the tests need (swaks with TLS and AUTH, fetchmail with SSL,
# ...); for each one that cannot, name the Debian package that brings it.
# make test runs it before any test, so that a missing tool fails loudly
# instead of failing one test obscurely or skipping it.
# Usage: [PYTHON=/usr/bin/python3] scripts/checktools.sh   (exit 0: all there; 1: not)
set -u
export PYTHON="${PYTHON:-/usr/bin/python3}"
checked=0
missing=""
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# check PACKAGE WHAT SCRIPT - run SCRIPT with sh; when it fails, PACKAGE is missing.
check() {
	checked=$((checked + 1))
	if ! HOME=$scratch sh -c "$3" >"$scratch/out" 2>&1; then
		echo "checktools: $2: no (Debian package $1)" >&2
		tail -n 2 "$scratch/out" | sed 's/^/checktools:   /' >&2
		case " $missing " in *" $1 "*) ;; *) missing="$missing $1" ;; esac
	fi
}

# swaks: test_submission.py, test_pop3.py
check swaks "swaks" 'swaks --version'
check libnet-ssleay-perl "swaks --tls (Net::SSLeay)" 'swaks --support 2>&1 | grep -q "=== TLS supported"'
check perl "swaks --auth LOGIN (MIME::Base64)" 'swaks --support 2>&1 | grep -q "=== Basic AUTH supported"'
check perl "swaks --auth CRAM-MD5 (Digest::MD5)" 'swaks --support 2>&1 | grep -q "=== AUTH CRAM-MD5 supported"'
# Perl's own POP3 client: test_pop3.py (USER/PASS and APOP)
check perl "perl Net::POP3 and Digest::MD5" 'perl -MNet::POP3 -MDigest::MD5 -e 1'
check netbase "/etc/protocols and /etc/services" 'test -s /etc/protocols && test -s /etc/services'
# curl: SMTP and POP3, with TLS
check curl "curl smtp, smtps, pop3 with TLS" \
	'v=$(curl -V) && for w in smtp smtps pop3 pop3s SSL; do echo "$v" | grep -qw $w || exit 1; done'
check openssl "openssl s_client -starttls" 'openssl s_client -help 2>&1 | grep -q starttls'
check msmtp "msmtp with TLS" 'msmtp --version | grep -q "^TLS/SSL library: [A-Za-z]"'
check mpop "mpop with TLS" 'mpop --version | grep -q "^TLS/SSL library: [A-Za-z]"'
check fetchmail "fetchmail with SSL" 'fetchmail -V 2>&1 | grep -q "release .*+SSL"'
# IMAP clients: test_imap_clients.py
check curl "curl imap and imaps" 'v=$(curl -V) && echo "$v" | grep -qw imap && echo "$v" | grep -qw imaps'
check openssl "openssl s_client -starttls imap" \
	'openssl s_client -starttls no-such-protocol 2>&1 | grep -qx "[[:space:]]*imap"'
check fetchmail "fetchmail speaking IMAP" 'fetchmail -V 2>&1 | grep -q "This is fetchmail release"'
check isync "mbsync with TLS (OpenSSL)" 'mbsync --version && ldd "$(command -v mbsync)" | grep -q libssl'
check libsasl2-modules "mbsync's AUTHENTICATE PLAIN (Cyrus SASL's plain module)" \
	'ls /usr/lib/*/sasl2/libplain.so* >/dev/null'
check offlineimap3 "offlineimap (imaplib2 and ssl)" 'offlineimap --version'
check ca-certificates "the system trust store" 'test -s /etc/ssl/certs/ca-certificates.crt'
check socat "socat (a fetchmail plugin in test_pop_before_smtp.py)" 'socat -V'
check redis-server "redis-server (the shared grant store)" 'redis-server --version'
# test_install.py
check make "make (make install)" 'make --version'
check man-db "man (man pages render without warnings)" 'man --version'
check groff-base "nroff (man's formatter)" 'command -v nroff'
check systemd "systemd-analyze verify (the unit)" 'systemd-analyze --version'
check procps "/bin/kill (the unit's ExecReload, which systemd-analyze verify checks)" 'test -x /bin/kill'
check util-linux "unshare and setpriv" 'unshare --version && setpriv --version'
check mount "mount and umount (test_resilience.py's tmpfs)" 'mount --version && umount --version'
check passwd "useradd" 'command -v useradd'
# Python: the test runner and the standard modules the tests import
check python3 "$PYTHON with ssl, smtplib, poplib, hashlib md5, xml.etree" \
	'"$PYTHON" -c "import ssl, smtplib, poplib, hmac, hashlib, resource, pwd, xml.etree.ElementTree as E; hashlib.md5(); E.fromstring(\"<a/>\")"'
check python3-pytest "$PYTHON -m pytest" '"$PYTHON" -m pytest --version'
check python3-dkim "dkimpy (import dkim)" '"$PYTHON" -c "import dkim"'
check python3-nacl "dkimpy with Ed25519 (nacl)" '"$PYTHON" -c "import nacl.signing"'
check python3-spf "pyspf (import spf)" '"$PYTHON" -c "import spf"'
check python3-dns "pyspf's resolver (dns)" '"$PYTHON" -c "import dns.resolver"'
check python3-dnslib "dnslib (the tests' DNS server)" '"$PYTHON" -c "import dnslib.server"'
check python3-authheaders "authheaders" '"$PYTHON" -c "import authheaders, authres"'
check python3-yaml "yaml (the RFC 7208 suite)" '"$PYTHON" -c "import yaml"'
check python3-spf "the RFC 7208 suite file" 'test -s /usr/share/doc/python3-spf/rfc7208-tests.yml.gz'
check opendkim "opendkim -t (an independent DKIM verifier)" 'command -v opendkim'
check postfix "smtp-source (test_bench.py runs the bench's load)" 'test -x /usr/sbin/smtp-source'
check dovecot-imapd "Dovecot's imap binary (test_imap_dovecot.py runs it as a PREAUTH session)" 'test -x /usr/lib/dovecot/imap'
check publicsuffix "the Public Suffix List" 'test -s /usr/share/publicsuffix/public_suffix_list.dat'
check postgresql "initdb, pg_ctl and psql (a throwaway PostgreSQL: pgsql.py)" 'ls /usr/lib/postgresql/*/bin/initdb /usr/lib/postgresql/*/bin/pg_ctl /usr/lib/postgresql/*/bin/psql'
check postgresql "the postgres system user the throwaway server runs as" 'getent passwd postgres'
check iproute2 "ip netns (the several-hosts tests: netns.py)" 'ip netns list'
nouser=""
if [ "$(id -u)" = 0 ] && ! getent passwd postern >/dev/null 2>&1; then
	# test_fresh.py: posternd started as root on the embedded default runs as "postern"
	echo "checktools: the system user postern: no (scripts/deps.sh user makes it)" >&2
	nouser=1
fi

if [ -n "$missing" ]; then
	echo "checktools: the tests need:$missing" >&2
	echo "checktools: install with: apt-get install -y --no-install-recommends$missing" >&2
	echo "checktools: (or run make test as root: scripts/deps.sh test installs them)" >&2
	exit 1
fi
[ -z "$nouser" ] || exit 1
echo "checktools: all $checked checks passed: the tests' tools can do what the tests need"
