#!/usr/bin/env bash
# Installs what Portcullis needs on Debian 12: build tools and libraries;
# with --test also what the test suite drives (sipp, nftables, conntrack,
# tshark, network namespaces); with --pkg what building and testing the
# .deb/.rpm needs (debhelper with dh-autoreconf since packages build from
# the git tree, lintian, rpm, fakeroot, man-db, systemd for sysusers and
# systemd-analyze, util-linux for setpriv/unshare). Options combine.
# Idempotent: does nothing when all is there.
set -euo pipefail

build_pkgs="build-essential autoconf automake libtool pkg-config clang
libssl-dev libpcap-dev libnftnl-dev libmnl-dev libjansson-dev libsqlite3-dev
sqlite3"
test_pkgs="clang-format sip-tester nftables conntrack iproute2 tcpdump
tshark procps psmisc netcat-openbsd python3 kmod openssl"

pkg_pkgs="dpkg-dev debhelper dh-autoreconf fakeroot lintian rpm man-db
groff-base systemd python3 util-linux"

pkgs="$build_pkgs"
for opt in "$@"; do
	case "$opt" in
	--test) pkgs="$pkgs $test_pkgs" ;;
	--pkg) pkgs="$pkgs $pkg_pkgs" ;;
	*) echo "usage: deps.sh [--test] [--pkg]" >&2; exit 2 ;;
	esac
done

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing$missing"
apt-get update -q >/dev/null
# tshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" |
	debconf-set-selections
apt-get install -y -q --no-install-recommends $missing >/dev/null
