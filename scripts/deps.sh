#!/bin/sh
# deps.sh - install the Debian packages a make target needs, when missing.
# Usage: scripts/deps.sh build|test|bench|peers
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
build="gcc make pkg-config libevent-dev libssl-dev libcrypt-dev liblmdb-dev libhiredis-dev libc-ares-dev"
test="$build clang libclang-rt-dev libcmocka-dev python3 python3-pytest swaks curl openssl msmtp fetchmail mpop redis-server socat man-db groff-base systemd"
bench="$build python3 python3-pytest postfix"
# the peers make bench compares with; their services must never start here
peers="postfix dovecot-core dovecot-pop3d"
target=${1:-build}
case "$target" in
	build) want=$build ;;
	test) want=$test ;;
	bench) want=$bench ;;
	peers) want=$peers ;;
	*) echo "usage: $0 build|test|bench|peers" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing packages:$missing" >&2
	echo "run: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# postfix must not start or ask questions: it is only a benchmark peer here.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
apt-get update -qq || true
# No package may start its daemon (ports 25/110): invoke-rc.d asks policy-rc.d.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy
	trap 'rm -f $policy' EXIT
fi
rc=0
apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
# Belt and braces: stop any system instance a package started anyway.
if [ "$target" = peers ]; then
	[ -x /usr/sbin/postfix ] && /usr/sbin/postfix status >/dev/null 2>&1 &&
		/usr/sbin/postfix stop >/dev/null 2>&1 || true
	[ -x /usr/sbin/dovecot ] && /usr/bin/doveadm stop >/dev/null 2>&1 || true
fi
exit $rc
