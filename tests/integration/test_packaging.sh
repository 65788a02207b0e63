#!/usr/bin/env bash
# Packaging test (issue "Packaging: .deb and .rpm"): builds the .deb from an
# export of the source tree with dpkg-buildpackage and checks it with
# lintian; installs it on this machine with dpkg; starts portcullisd the way
# the installed unit's ExecStart would under systemd (its capability
# bounding set, NoNewPrivileges, ProtectSystem=strict + ReadWritePaths,
# ProtectHome, PrivateTmp, UMask, RuntimeDirectory, Type=notify readiness),
# inside a network namespace of its own; registers a user with sipp;
# reloads and stops it as systemctl would; purges the package and checks
# that nothing is left behind. Meanwhile it builds the .rpm with rpmbuild
# and checks its file list and scripts.
#
# Runs as root. It refuses to touch a machine where a portcullis package,
# account, configuration or state exists that an earlier run of this test
# did not install (the marker below tells its own leftovers apart). While
# the package is installed (about a minute) the machine has a portcullis
# account: daemons that other tests start as root at that moment drop to
# it, and the purge cannot delete an account in use (it then reports the
# account as left behind). scripts/test.sh runs one script at a time.
#
# Knobs: PC_PKG_JOBS (parallel build jobs, default nproc), IT_KEEP=1 keeps
# the work directory (built packages, logs).

. "$(dirname "$0")/lib.sh"

MARKER=/var/lib/portcullis-packaging-test.installed
UNIT=/lib/systemd/system/portcullis.service
CONF=/etc/portcullis/portcullis.json
JOBS=${PC_PKG_JOBS:-$(nproc)}
MAINPID=""
NOTIFY_DIR=""
RPM_PID=""

note() { printf '# %s\n' "$*"; }
# tap that also says whether the check passed (lib.sh's tap does not).
check() {
	local before=$IT_FAILED
	tap "$@"
	[ "$IT_FAILED" = "$before" ]
}

# The version the tree says it is (AC_INIT), which both packages must carry.
tree_version() {
	sed -n 's/^AC_INIT(\[portcullis\], *\[\([^]]*\)\].*/\1/p' \
		"$IT_TOP/configure.ac"
}

# Copies the source tree as git sees it (tracked and untracked, not ignored:
# what the rest of the suite builds) into $1, else the whole tree without
# build directories.
export_tree() {
	local dst=$1
	mkdir -p "$dst"
	if git -C "$IT_TOP" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$IT_TOP" && git ls-files -z -c -o --exclude-standard |
			while IFS= read -r -d '' f; do
				[ -e "$f" ] && printf '%s\0' "$f"
			done | tar --null -cf - -T -) | tar -xf - -C "$dst"
	else
		(cd "$IT_TOP" && tar --exclude='./build*' -cf - .) |
			tar -xf - -C "$dst"
	fi
}

# Everything a package could leave behind, with its owner: taken before the
# install and after the purge. Paths other software keeps changing while
# this runs (dpkg's own database, logs, caches, network namespaces that
# concurrent tests make) are left out.
fs_snapshot() {
	find /etc /usr /lib /var /opt /srv /run -xdev \
		\( -path /var/lib/dpkg -o -path /var/log -o -path /var/cache \
		-o -path /var/backups -o -path /var/tmp -o -path /var/lib/apt \
		-o -path /run/netns -o -path /run/user -o -path /run/lock \
		-o -path /run/mount \
		-o -path "$NOTIFY_DIR" -o -path /var/lib/man-db \) -prune -o \
		\( -name '*-' -path '/etc/*' \) -prune -o -path /etc/.pwd.lock -prune -o \
		-printf '%p %u:%g %m\n' 2>/dev/null | sort
}

# Processes running one of the package's programs.
pkg_pids() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case "$exe" in
		/usr/sbin/portcullisd | /usr/lib/portcullis/*) echo "${p#/proc/}" ;;
		esac
	done
}

# Leftovers from an earlier run of this test that died half way.
clean_own_leftovers() {
	[ -f "$MARKER" ] || return 0
	note "removing what an interrupted earlier run installed"
	for p in $(pkg_pids); do kill -9 "$p" 2>/dev/null; done
	dpkg --purge portcullis >/dev/null 2>&1
	rm -f "$MARKER"
}

pkg_cleanup() {
	local rc=$? p
	[ -n "$MAINPID" ] && kill -TERM "$MAINPID" 2>/dev/null
	[ -n "$RPM_PID" ] && kill "$RPM_PID" 2>/dev/null
	if [ -f "$MARKER" ]; then
		for p in $(pkg_pids); do kill -9 "$p" 2>/dev/null; done
		dpkg --purge portcullis >/dev/null 2>&1
		rm -f "$MARKER"
	fi
	[ -n "$NOTIFY_DIR" ] && rm -rf "$NOTIFY_DIR"
	(exit "$rc")
	it_cleanup
}

# What must be true of the machine before this test may install anything.
check_machine_free() {
	local st
	st=$(dpkg-query -W -f='${Status}' portcullis 2>/dev/null)
	case "$st" in
	*installed* | *config-files* | *unpacked* | *half*)
		echo "a portcullis package this test did not install is present ($st)"
		return 1
		;;
	esac
	for f in /etc/portcullis /var/lib/portcullis /run/portcullis \
		/usr/sbin/portcullisd /usr/lib/portcullis; do
		if [ -e "$f" ]; then
			echo "$f exists: a Portcullis install this test did not make"
			return 1
		fi
	done
	if getent passwd portcullis >/dev/null || getent group portcullis >/dev/null; then
		echo "an account or group portcullis exists already"
		return 1
	fi
	return 0
}

# --- the checks -----------------------------------------------------------

build_deb() {
	(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=$JOBS" \
		dpkg-buildpackage -us -uc -b) >"$WORK/deb-build.log" 2>&1 || {
		tail -30 "$WORK/deb-build.log"
		return 1
	}
	ls "$WORK"/portcullis_"$VERSION"_*.deb >/dev/null
}

# Runs in the background while the .deb is tested.
build_rpm() {
	local top=$WORK/rpmbuild
	mkdir -p "$top"/SOURCES "$top"/SPECS
	tar -C "$WORK/rpmsrc" -czf "$top/SOURCES/portcullis-$VERSION.tar.gz" \
		"portcullis-$VERSION"
	cp "$SRC/packaging/rpm/portcullis.spec" "$top/SPECS/"
	# --nodeps: this is Debian; the BuildRequires name RPM packages.
	rpmbuild --define "_topdir $top" --define "_smp_build_ncpus $JOBS" \
		--nodeps --nocheck -bb "$top/SPECS/portcullis.spec" \
		>"$WORK/rpm-build.log" 2>&1
}

deb_lintian() {
	local deb
	deb=$(ls "$WORK"/portcullis_"$VERSION"_*.deb)
	lintian --fail-on error --tag-display-limit 0 "$deb" >"$WORK/lintian.log" 2>&1
}

deb_contents() {
	local deb list f
	deb=$(ls "$WORK"/portcullis_"$VERSION"_*.deb)
	list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
	for f in /usr/sbin/portcullisd /usr/bin/pcctl /usr/bin/portcullis-sipcheck \
		/usr/lib/portcullis/portcullis-edge /usr/lib/portcullis/portcullis-core \
		/usr/lib/portcullis/portcullis-relay "$UNIT" "$CONF" \
		/usr/lib/sysusers.d/portcullis.conf /usr/lib/tmpfiles.d/portcullis.conf \
		/usr/share/doc/portcullis/examples/portcullis.json \
		/usr/share/man/man1/pcctl.1.gz /usr/share/man/man5/portcullis.json.5.gz \
		/usr/share/man/man8/portcullisd.8.gz \
		/usr/share/man/man1/portcullis-sipcheck.1.gz; do
		printf '%s\n' "$list" | grep -qx "$f" || {
			echo "missing from the .deb: $f"
			return 1
		}
	done
	dpkg-deb -f "$deb" Version | grep -qx "$VERSION" || {
		echo "package version is not the tree's $VERSION"
		return 1
	}
	dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles | grep -qx "$CONF" || {
		echo "$CONF is not a conffile"
		return 1
	}
}

# dh_installsystemd --no-start: enabled at install, never started by dpkg.
deb_scripts_enable_not_start() {
	local deb dir
	deb=$(ls "$WORK"/portcullis_"$VERSION"_*.deb)
	dir=$WORK/ctrl
	mkdir -p "$dir" && dpkg-deb -e "$deb" "$dir"
	grep -q 'deb-systemd-helper enable portcullis.service' "$dir/postinst" ||
		grep -q "deb-systemd-helper.*enable" "$dir/postinst" || {
		echo "postinst does not enable the unit"
		return 1
	}
	if grep -E 'deb-systemd-invoke (start|restart) ' "$dir/postinst"; then
		echo "postinst starts the service on install"
		return 1
	fi
	grep -q 'systemd-sysusers' "$dir/postinst" || {
		echo "postinst does not create the account"
		return 1
	}
}

deb_install() {
	touch "$MARKER"
	dpkg -i "$(ls "$WORK"/portcullis_"$VERSION"_*.deb)" >"$WORK/dpkg-i.log" 2>&1 || {
		cat "$WORK/dpkg-i.log"
		return 1
	}
}

installed_layout() {
	local uid st
	uid=$(id -u portcullis) || return 1
	[ "$uid" -lt 1000 ] || {
		echo "portcullis is not a system account (uid $uid)"
		return 1
	}
	getent group portcullis >/dev/null || return 1
	[ "$(getent passwd portcullis | cut -d: -f7)" = /usr/sbin/nologin ] || return 1
	st=$(stat -c '%U:%G %a' /var/lib/portcullis) || return 1
	[ "$st" = "portcullis:portcullis 750" ] || {
		echo "/var/lib/portcullis is $st"
		return 1
	}
	st=$(stat -c '%U:%G %a' "$CONF") || return 1
	[ "$st" = "root:portcullis 640" ] || {
		echo "$CONF is $st"
		return 1
	}
	[ -L /etc/systemd/system/multi-user.target.wants/portcullis.service ] || {
		echo "the unit is not enabled"
		return 1
	}
	if [ -n "$(pkg_pids)" ]; then
		echo "dpkg started the service"
		return 1
	fi
}

unit_verifies() {
	systemd-analyze verify "$UNIT"
}

man_pages_render() {
	local m out
	for m in pcctl.1 portcullis-sipcheck.1 portcullis.json.5 portcullisd.8; do
		m=$(ls /usr/share/man/man*/"$m".gz) || return 1
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
		[ -z "$out" ] || {
			echo "$m: $out"
			return 1
		}
		[ "$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$m" 2>/dev/null | wc -l)" -gt 10 ] || {
			echo "$m is (nearly) empty"
			return 1
		}
	done
}

# The shipped configuration and the example with every default must both
# be accepted by the daemon's own check (what ExecStartPre runs).
configs_accepted() {
	local ex=/usr/share/doc/portcullis/examples/portcullis.json
	python3 -m json.tool "$ex" >/dev/null || return 1
	/usr/sbin/portcullisd -n -c "$CONF" | grep -q 'configuration OK' || return 1
	/usr/sbin/portcullisd -n -c "$ex" | grep -q 'configuration OK' || return 1
	# And the check refuses a broken file (so the checks above mean something).
	echo '{"listen": 5}' >"$IT_TMP/bad.json"
	! /usr/sbin/portcullisd -n -c "$IT_TMP/bad.json" >/dev/null 2>&1
}

# The value of a unit setting (last assignment wins, as in systemd);
# User= and Group= default to root.
unit_get() {
	local v
	v=$(sed -n "s/^$1=//p" "$UNIT" | tail -1)
	case "$1" in User | Group) v=${v:-root} ;; esac
	printf '%s' "$v"
}

# CAP_NET_ADMIN CAP_NET_RAW -> -all,+net_admin,+net_raw (setpriv syntax).
bounding_set_arg() {
	local arg=-all c
	for c in $(unit_get CapabilityBoundingSet); do
		c=${c#CAP_}
		arg="$arg,+$(printf '%s' "$c" | tr 'A-Z' 'a-z')"
	done
	printf '%s' "$arg"
}

# Starts ExecStart as systemd would run it, in namespace "pkg": the mount
# namespace reproduces ProtectSystem=strict (every mount read-only but the
# API file systems), ReadWritePaths and RuntimeDirectory writable,
# ProtectHome and PrivateTmp; setpriv applies the capability bounding set
# and NoNewPrivileges; the environment is systemd's (PATH, NOTIFY_SOCKET).
start_like_systemd() {
	local exec rw umask_ mode setup p
	exec=$(unit_get ExecStart)
	umask_=$(unit_get UMask)
	mode=$(unit_get RuntimeDirectoryMode)
	[ "$(unit_get Type)" = notify ] || {
		echo "unit is not Type=notify"
		return 1
	}
	[ "$(unit_get NoNewPrivileges)" = yes ] || return 1
	[ "$(unit_get ProtectSystem)" = strict ] || return 1
	# RuntimeDirectory=portcullis: made for User:Group before start.
	install -d -m "${mode:-0755}" -o "$(unit_get User)" -g "$(unit_get Group)" \
		"/run/$(unit_get RuntimeDirectory)"
	rw=$(sed -n 's/^ReadWritePaths=-\{0,1\}//p' "$UNIT" | tr '\n' ' ')
	rw="$rw /run/$(unit_get RuntimeDirectory)"
	setup='set -e
mount --make-rprivate /
awk "{print \$2}" /proc/self/mounts | while read -r m; do
	case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
	mount -o remount,bind,ro "$m" 2>/dev/null || true
done
findmnt -no OPTIONS / | grep -qw ro
for p in '"$rw"'; do
	mount --bind "$p" "$p"
	mount -o remount,bind,rw "$p"
done
for d in /home /root /run/user; do
	[ -d "$d" ] && mount -t tmpfs -o ro,mode=0755 tmpfs "$d"
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
umask '"${umask_:-0022}"'
exec setpriv --no-new-privs --bounding-set='"$(bounding_set_arg)"' \
	--reuid='"$(unit_get User)"' --regid='"$(unit_get Group)"' --clear-groups -- \
	env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 NOTIFY_SOCKET='"$NOTIFY_DIR/notify"' '"$exec"
	bg pkg portcullisd unshare --mount --propagation private bash -c "$setup"
	MAINPID=$IT_LAST_PID
	note "portcullisd pid $MAINPID: $exec"
}

notified_ready() {
	grep -q '^READY=1' "$NOTIFY_DIR/messages"
}

# READY=1 again after a RELOADING=1.
notified_reloaded() {
	sed -n '/^RELOADING=1/,$p' "$NOTIFY_DIR/messages" | grep -q '^READY=1'
}

reload_ok() {
	local out
	out=$(pcctl --json config reload 2>&1)
	printf '%s\n' "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
sys.exit(0 if r.get("ok") is True else 1)' || {
		echo "$out"
		return 1
	}
}

status_ok() {
	pcctl --json status | python3 -c '
import json, sys
r = json.load(sys.stdin)
sys.exit(0 if r.get("ok") is True else 1)'
}

# Children of portcullisd: after binding, each runs as portcullis; only the
# relay keeps CAP_NET_ADMIN, core keeps nothing (DESIGN section 10).
children_dropped() {
	local c exe user capeff n=0
	for c in $(pgrep -P "$MAINPID"); do
		exe=$(readlink "/proc/$c/exe") || continue
		user=$(stat -c %U "/proc/$c")
		capeff=$(awk '/^CapEff/ {print $2}' "/proc/$c/status")
		note "$(basename "$exe") user=$user CapEff=$capeff"
		[ "$user" = portcullis ] || {
			echo "$exe runs as $user"
			return 1
		}
		case "$exe" in
		*/portcullis-relay)
			# bit 12 = CAP_NET_ADMIN
			(((0x$capeff >> 12) & 1)) || {
				echo "relay lost CAP_NET_ADMIN"
				return 1
			}
			;;
		*/portcullis-core)
			[ $((0x$capeff)) = 0 ] || {
				echo "core keeps capabilities $capeff"
				return 1
			}
			;;
		esac
		n=$((n + 1))
	done
	[ "$n" -ge 3 ] || {
		echo "only $n children"
		return 1
	}
}

register_with_sipp() {
	cat >"$IT_TMP/reg.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="REGISTER with digest authentication">
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 1 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Expires: 300
      User-Agent: portcullis-packaging-test
      Content-Length: 0

    ]]>
  </send>
  <recv response="401" auth="true"/>
  <send retrans="500">
    <![CDATA[

      REGISTER sip:[remote_ip] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]>
      Call-ID: [call_id]
      CSeq: 2 REGISTER
      Contact: <sip:[service]@[local_ip]:[local_port]>
      [authentication]
      Max-Forwards: 70
      Expires: 300
      User-Agent: portcullis-packaging-test
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
XML
	in_ns pkg sipp 127.0.0.1:5060 -sf "$IT_TMP/reg.xml" -i 127.0.0.1 \
		-p 5099 -s alice -au alice -ap "$PASSWORD" -m 1 -timeout 20s \
		-timeout_error -nostdin -trace_err \
		-error_file "$IT_TMP/sipp-err.log" >"$IT_TMP/sipp.out" 2>&1 || {
		cat "$IT_TMP/sipp-err.log" 2>/dev/null | tail -30
		return 1
	}
}

registration_listed() {
	local out
	out=$(pcctl --json reg list alice@127.0.0.1) || return 1
	printf '%s\n' "$out" | grep -q 'alice@127\.0\.0\.1:5099' || {
		echo "no contact alice@127.0.0.1:5099 in: $out"
		return 1
	}
}

# ExecReload: the check, then SIGHUP to the main process.
reload_like_systemd() {
	local line
	while IFS= read -r line; do
		line=${line//\$MAINPID/$MAINPID}
		line=${line//\$\{MAINPID\}/$MAINPID}
		eval "$line" || return 1
	done < <(sed -n 's/^ExecReload=//p' "$UNIT")
	kill -0 "$MAINPID"
}

# systemctl stop with KillMode=mixed: SIGTERM to the main process, which
# must end its children and itself within TimeoutStopSec.
stop_like_systemd() {
	local limit
	limit=$(unit_get TimeoutStopSec)
	[ "$(unit_get KillMode)" = mixed ] || return 1
	kill -TERM "$MAINPID" || return 1
	wait_until "${limit:-30}" bash -c "[ -z \"\$(for p in /proc/[0-9]*; do
		case \$(readlink \$p/exe 2>/dev/null) in
		/usr/sbin/portcullisd|/usr/lib/portcullis/*) echo \$p;; esac; done)\" ]" || {
		echo "still running after ${limit:-30}s: $(pkg_pids)"
		return 1
	}
	wait "$MAINPID" 2>/dev/null
	MAINPID=""
	# systemd removes RuntimeDirectory when the service stops.
	rm -rf /run/portcullis
}

# The upgrade path, as far as one version allows: maintainer scripts run a
# second time over an installed, configured, edited system.
deb_reinstall() {
	DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold \
		"$(ls "$WORK"/portcullis_"$VERSION"_*.deb)" </dev/null \
		>"$WORK/dpkg-reinstall.log" 2>&1 || {
		cat "$WORK/dpkg-reinstall.log"
		return 1
	}
	grep -q '"MD5"' "$CONF" || {
		echo "the edited $CONF was replaced"
		return 1
	}
	[ "$(stat -c '%U:%G %a' "$CONF")" = "root:portcullis 640" ] || return 1
	[ -z "$(pkg_pids)" ] || {
		echo "the reinstall started the service"
		return 1
	}
}

deb_purge() {
	dpkg --purge portcullis >"$WORK/dpkg-purge.log" 2>&1 || {
		cat "$WORK/dpkg-purge.log"
		return 1
	}
	rm -f "$MARKER"
}

nothing_left() {
	local after
	after=$(fs_snapshot)
	if ! diff <(printf '%s\n' "$BEFORE") <(printf '%s\n' "$after") \
		>"$WORK/leftovers.diff"; then
		echo "the file system differs from before the install:"
		head -30 "$WORK/leftovers.diff"
		return 1
	fi
	if getent passwd portcullis || getent group portcullis; then
		echo "the account is still there"
		return 1
	fi
	[ -z "$(pkg_pids)" ] || return 1
	! dpkg-query -W -f='${Status}\n' portcullis 2>/dev/null | grep -q .
}

rpm_built() {
	[ "$RPM_RC" = 0 ] || {
		tail -30 "$WORK/rpm-build.log"
		return 1
	}
	[ -f "$RPM" ]
}

rpm_file_list() {
	local list f
	list=$(rpm -qlp "$RPM") || return 1
	for f in /usr/sbin/portcullisd /usr/bin/pcctl /usr/bin/portcullis-sipcheck \
		/usr/libexec/portcullis/portcullis-edge \
		/usr/libexec/portcullis/portcullis-core \
		/usr/libexec/portcullis/portcullis-relay \
		/usr/lib/systemd/system/portcullis.service "$CONF" \
		/usr/lib/sysusers.d/portcullis.conf /usr/lib/tmpfiles.d/portcullis.conf \
		/var/lib/portcullis /usr/share/doc/portcullis/examples/portcullis.json; do
		printf '%s\n' "$list" | grep -qx "$f" || {
			echo "missing from the .rpm: $f"
			return 1
		}
	done
	# Compressed or not, as the distribution's brp-compress does it.
	for f in man1/pcctl.1 man1/portcullis-sipcheck.1 man5/portcullis.json.5 \
		man8/portcullisd.8; do
		printf '%s\n' "$list" |
			grep -qE "^/usr/share/man/${f//./\\.}(\\.(gz|bz2|xz|zst))?\$" || {
			echo "missing from the .rpm: /usr/share/man/$f"
			return 1
		}
	done
	rpm -qcp "$RPM" | grep -qx "$CONF" || {
		echo "$CONF is not %config"
		return 1
	}
	rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' \
		"$RPM" >"$WORK/rpm-modes" || return 1
	grep -qx -- "-rw-r----- root:portcullis $CONF" "$WORK/rpm-modes" &&
		grep -qx "drwxr-x--- portcullis:portcullis /var/lib/portcullis" \
			"$WORK/rpm-modes" || {
		grep portcullis.json "$WORK/rpm-modes"
		grep /var/lib "$WORK/rpm-modes"
		return 1
	}
	# The unit is the one whose ExecStart names the RPM's paths.
	rpm2archive - <"$RPM" |
		tar -xzOf - ./usr/lib/systemd/system/portcullis.service |
		grep -qx 'ExecStart=/usr/sbin/portcullisd -f -c /etc/portcullis/portcullis.json'
}

rpm_scripts() {
	local s
	s=$(rpm -qp --scripts "$RPM") || return 1
	printf '%s\n' "$s" >"$WORK/rpm-scripts"
	grep -q '^preinstall scriptlet' "$WORK/rpm-scripts" &&
		grep -q 'useradd -r -g portcullis' "$WORK/rpm-scripts" &&
		grep -q '^postinstall scriptlet' "$WORK/rpm-scripts" &&
		grep -q 'systemctl.*preset.*portcullis.service' "$WORK/rpm-scripts" &&
		grep -q '^preuninstall scriptlet' "$WORK/rpm-scripts" &&
		grep -q 'systemctl.*disable.*portcullis.service' "$WORK/rpm-scripts" &&
		grep -q '^postuninstall scriptlet' "$WORK/rpm-scripts" &&
		grep -q 'try-restart.*portcullis.service' "$WORK/rpm-scripts" || {
		cat "$WORK/rpm-scripts"
		return 1
	}
}

# --- the run --------------------------------------------------------------

it_begin
trap pkg_cleanup EXIT

if [ "$(id -u)" != 0 ]; then
	tap "runs as root (installs a package)" false
	it_end
	exit
fi
tap "packaging tools installed (scripts/deps.sh --pkg)" "$IT_TOP/scripts/deps.sh" --pkg
clean_own_leftovers
if ! tap "machine has no Portcullis install of its own" check_machine_free; then
	it_end
	exit
fi
[ "$IT_FAILED" = 0 ] || {
	it_end
	exit
}

VERSION=$(tree_version)
WORK=$IT_TMP/work
SRC=$WORK/portcullis-$VERSION
PASSWORD=pkgtest-$RANDOM$RANDOM
NOTIFY_DIR=$(mktemp -d /run/pc-pkgtest.XXXXXX)
export_tree "$SRC"
cp -r "$SRC/packaging/debian" "$SRC/debian"
mkdir -p "$WORK/rpmsrc" && cp -a "$SRC" "$WORK/rpmsrc/" && rm -rf "$WORK/rpmsrc/portcullis-$VERSION/debian"

tap "debian/changelog and the .spec carry the tree's version $VERSION" \
	bash -c "dpkg-parsechangelog -l '$SRC/debian/changelog' -S Version | grep -qx '$VERSION' &&
		grep -qE '^Version: +$VERSION\$' '$SRC/packaging/rpm/portcullis.spec'"

build_rpm &
RPM_PID=$!
t0=$SECONDS
if check ".deb builds with dpkg-buildpackage -us -uc -b" build_deb; then
	note ".deb build took $((SECONDS - t0)) s"
	tap ".deb: lintian reports no errors" deb_lintian
	[ -s "$WORK/lintian.log" ] && sed 's/^/# lintian: /' "$WORK/lintian.log"
	tap ".deb ships programs, unit, config, examples and man pages" deb_contents
	tap ".deb maintainer scripts enable the unit, create the account, never start" \
		deb_scripts_enable_not_start
	BEFORE=$(fs_snapshot)
	check ".deb installs with dpkg -i" deb_install && DEB_INSTALLED=1
fi
if [ "${DEB_INSTALLED:-0}" = 1 ]; then
	tap "installed: account, state dir, config modes, unit enabled, not running" installed_layout
	tap "installed unit passes systemd-analyze verify" unit_verifies
	tap "man pages pcctl(1) portcullis-sipcheck(1) portcullis.json(5) portcullisd(8) render cleanly" man_pages_render
	tap "shipped config and the defaults example pass portcullisd -n" configs_accepted

	# sipp does digest MD5 only; the operator's edit of the conffile.
	python3 - "$CONF" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.setdefault("auth", {})["algorithms"] = ["MD5"]
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
	python3 - "$NOTIFY_DIR/notify" "$NOTIFY_DIR/messages" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
s.settimeout(300)
with open(sys.argv[2], "a") as out:
    while True:
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        out.write(data.decode(errors="replace") + "\n")
        out.flush()
PY
	IT_PIDS+=("$!")
	wait_until 5 test -S "$NOTIFY_DIR/notify"
	ns_add pkg
	tap "ExecStartPre check passes" bash -c "[ -n \"\$1\" ] && eval \"\$1\"" - \
		"$(unit_get ExecStartPre)"
	start_like_systemd
	if check "portcullisd under the unit's sandbox notifies READY=1" \
		wait_until 20 notified_ready; then
		tap "pcctl --json status is ok over /run/portcullis/mgmt.sock" \
			wait_until 10 status_ok
		tap "children run as portcullis; relay keeps CAP_NET_ADMIN, core none" \
			children_dropped
		tap "pcctl users add alice@127.0.0.1 --password-stdin" \
			bash -c "printf '%s\\n' '$PASSWORD' | pcctl users add alice@127.0.0.1 --password-stdin"
		tap "sipp registers alice with digest authentication" register_with_sipp
		tap "the registration is listed by pcctl" registration_listed
		tap "systemctl reload (ExecReload: check, SIGHUP) keeps it running" \
			reload_like_systemd
		tap "the reload is announced to systemd (RELOADING=1, then READY=1)" \
			wait_until 10 notified_reloaded
		tap "every process accepts a reload (pcctl --json config reload)" \
			reload_ok
		tap "still serving after reload" wait_until 10 status_ok
	else
		note "portcullisd log:"
		tail -20 "$IT_TMP/portcullisd.log" | sed 's/^/# /'
	fi
	tap "systemctl stop (SIGTERM, KillMode=mixed) ends every process" \
		stop_like_systemd
	[ -n "$MAINPID" ] && kill -9 "$MAINPID" 2>/dev/null
	tap "reinstall keeps the operator's conffile and starts nothing" deb_reinstall
	tap "dpkg --purge succeeds" deb_purge
	tap "nothing is left behind after the purge" nothing_left
fi

wait "$RPM_PID"
RPM_RC=$?
RPM_PID=""
RPM=$(ls "$WORK"/rpmbuild/RPMS/*/portcullis-"$VERSION"-1*.rpm 2>/dev/null | head -1)
if check ".rpm builds with rpmbuild" rpm_built; then
	tap ".rpm file list, %config and modes (rpm -qlp)" rpm_file_list
	tap ".rpm scripts create the account and use the systemd macros (rpm -qp --scripts)" \
		rpm_scripts
fi
it_end
