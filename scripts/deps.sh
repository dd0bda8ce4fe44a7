#!/bin/sh
# deps.sh - install the Debian packages a make target needs, when missing,
# and the system user posternd runs as when it is started as root.
# Usage: scripts/deps.sh build|test|bench|peers|user
# As root it runs apt-get (and useradd); otherwise it prints the exact command to run.
#
# Packages are installed with --no-install-recommends, so a package that a
# tool needs only through a Debian "Recommends" is named here itself.
# scripts/checktools.sh then checks that each tool can do what the tests need.
set -eu
# libc6-dev: gcc only recommends it, and without it there is no <stdio.h>.
# passwd: useradd, for the postern user. publicsuffix: the list DMARC reads at run time.
# libpq-dev: libpq (and its libpq.pc) for auth.store = postgresql://.
build="gcc libc6-dev make pkg-config libevent-dev libssl-dev libcrypt-dev liblmdb-dev libhiredis-dev libc-ares-dev zlib1g-dev passwd publicsuffix libpq-dev"
# The test tools, with what each needs only through Recommends:
#   swaks TLS: libnet-ssleay-perl (and libio-socket-ssl-perl); swaks AUTH:
#   libauthen-sasl-perl, libdigest-hmac-perl; perl Net::POP3: perl (its
#   perl-modules) and netbase; fetchmail, msmtp: ca-certificates; man: man-db,
#   groff-base; systemd-analyze verify: systemd, and procps for the unit's
#   /bin/kill; unshare, setpriv: util-linux; mount, umount: mount; fuzz
#   targets: clang, libclang-rt-dev (libFuzzer). Mail authentication: dkimpy
#   (python3-dkim, python3-nacl for Ed25519), pyspf (python3-spf, python3-dns),
#   python3-dnslib (the tests' DNS server), python3-authheaders, python3-yaml
#   (the RFC 7208 suite), opendkim and opendkim-tools (an independent verifier).
#   postfix: smtp-source, the load of make bench, which test_bench.py runs small.
#   IMAP clients (test_imap_clients.py): isync (mbsync), whose AUTHENTICATE PLAIN goes
#   through Cyrus SASL and needs libsasl2-modules (a Recommends); offlineimap3.
#   dovecot-imapd: test_imap_dovecot.py runs its imap binary (no listener) on postern's Maildirs.
#   Several hosts (tests/integration/pgsql.py, netns.py): postgresql (initdb, pg_ctl, psql;
#   its postgresql-common makes the postgres system user the server runs as), iproute2
#   (ip netns, veth, bridge), util-linux (ipcrm).
test="$build postgresql iproute2 python3-dkim python3-nacl python3-spf python3-dns python3-dnslib python3-authheaders python3-yaml opendkim opendkim-tools postfix clang libclang-rt-dev libcmocka-dev python3 python3-pytest swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl libdigest-hmac-perl perl netbase ca-certificates curl openssl msmtp fetchmail mpop redis-server socat man-db groff-base systemd procps util-linux mount dovecot-imapd isync libsasl2-modules offlineimap3"
bench="$build python3 python3-pytest postfix python3-dkim python3-dnslib postgresql"
# the peers make bench compares with; their services must never start here
peers="postfix dovecot-core dovecot-pop3d dovecot-imapd opendkim"
target=${1:-build}
case "$target" in
	build) want=$build ;;
	test) want=$test ;;
	bench) want=$bench ;;
	peers) want=$peers ;;
	user) want="" ;;
	*) echo "usage: $0 build|test|bench|peers|user" >&2; exit 2 ;;
esac

# deps_missing - the packages of $want that are not installed.
deps_missing() {
	for p in $want; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
			printf ' %s' "$p"
	done
}

# deps_install - apt-get install $missing, no service started, no question asked.
deps_install() {
	echo "installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# postfix must not start or ask questions: it is a benchmark peer and smtp-source here.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
	apt-get update -qq || true
	# No package may start its daemon (ports 25/110/6379): invoke-rc.d asks policy-rc.d.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e $policy ]; then
		printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy
		trap 'rm -f $policy' EXIT
	fi
	rc=0
	apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
	# Belt and braces: stop any system instance a package started anyway
	# (postfix comes with the test and bench lists too, for smtp-source).
	[ -x /usr/sbin/postfix ] && /usr/sbin/postfix status >/dev/null 2>&1 &&
		/usr/sbin/postfix stop >/dev/null 2>&1 || true
	[ -x /usr/sbin/dovecot ] && /usr/bin/doveadm stop >/dev/null 2>&1 || true
	return $rc
}

# deps_user - as root: the system user "postern" (SPEC.md server.user), when missing.
# posternd started as root binds its ports and then runs as this user.
deps_user() {
	[ "$(id -u)" = 0 ] || return 0
	getent passwd postern >/dev/null 2>&1 && return 0
	echo "creating the system user postern (posternd started as root runs as it)" >&2
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin postern
}

missing=$(deps_missing)
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages:$missing" >&2
		echo "run: sudo apt-get install -y --no-install-recommends$missing" >&2
		exit 1
	fi
	deps_install
fi
case "$target" in
	build|test|user) deps_user ;;
esac
