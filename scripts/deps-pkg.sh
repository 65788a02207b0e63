#!/usr/bin/env bash
# Installs what building and testing the Portcullis packages needs on
# Debian 12, on top of scripts/deps.sh: debhelper (with dh-autoreconf, since
# the packages build from the git tree, which has no configure), lintian,
# rpm (rpmbuild; Debian's rpm package builds the .spec), fakeroot; and what
# the test drives: man (man-db), systemd (systemd-sysusers, the package's
# dependency; systemd-analyze), python3, setpriv/unshare (util-linux).
# Idempotent: does nothing when all is there. devscripts is not needed:
# the test calls dpkg-buildpackage and lintian directly.
set -euo pipefail

pkgs="build-essential dpkg-dev debhelper dh-autoreconf fakeroot lintian rpm
man-db groff-base systemd python3 util-linux"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps-pkg.sh: missing packages:$missing (run as root to install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps-pkg.sh: installing$missing"
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
