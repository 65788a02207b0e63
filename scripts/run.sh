#!/usr/bin/env bash
# The README's run command: on a fresh Debian 12 machine, as root, installs
# the build dependencies (scripts/deps.sh) and sipp, builds Portcullis in
# build-run/ (normal -O2 build, no sanitizers), and runs the appliance in the
# foreground with the embedded defaults: SIP on 127.0.0.1:5060 (UDP and
# TCP), media on 127.0.0.1, SQLite under ./run/state, sockets under
# ./run/runtime, logs in ./run/portcullisd.log. Two demo users,
# alice@localhost and bob@localhost, get random passwords (kept in
# ./run/demo-users.txt so they survive restarts). Ctrl-C stops everything.
#
#   sudo scripts/run.sh            build if needed, then run
#   RUN_DIR=/somewhere scripts/run.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build-run
run=${RUN_DIR:-$top/run}

say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (installs packages, binds port 5060): sudo $0"

# 1. Dependencies: the build set, plus sipp for the test call.
"$top/scripts/deps.sh"
if ! command -v sipp >/dev/null 2>&1; then
	say "run.sh: installing sipp (sip-tester) for the test call"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends sip-tester >/dev/null ||
		say "run.sh: could not install sipp; the sipp examples below need it"
fi

# 2. Build (only the five programs the appliance needs).
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	[ -n "$(find . -name local.mk -newer configure 2>/dev/null)" ]; then
	say "run.sh: autoreconf"
	autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; die "autoreconf failed"; }
fi
mkdir -p "$build"
if [ ! -f "$build/Makefile" ] || [ configure -nt "$build/Makefile" ]; then
	say "run.sh: configure (build-run/)"
	(cd "$build" && "$top/configure" CFLAGS="-O2 -g" >configure.log 2>&1) ||
		{ tail -20 "$build/configure.log"; die "configure failed"; }
fi
say "run.sh: building"
progs="mgmt/portcullisd mgmt/pcctl sbc/portcullis-edge core/portcullis-core relay/portcullis-relay"
# shellcheck disable=SC2086
make -C "$build" -j"$(nproc)" $progs >"$build/make.log" 2>&1 ||
	{ grep -E 'error|Error' "$build/make.log" | head -30; die "build failed (see $build/make.log)"; }

pd=$build/mgmt/portcullisd
pcctl_bin=$build/mgmt/pcctl

# 3. Runtime: configuration with the defaults except where files go, and
# MD5 offered before SHA-256: a client answers the first challenge it
# sees, and sipp 3.6 (Debian 12) and many softphones know only MD5.
mkdir -p "$run/state" "$run/runtime"
cfg=$run/portcullis.json
cat >"$cfg" <<JSON
{
  "runtime_dir": "$run/runtime",
  "state_dir": "$run/state",
  "auth": {"algorithms": ["MD5", "SHA-256"]}
}
JSON
"$pd" -n -c "$cfg" >/dev/null || die "configuration rejected"

users=$run/demo-users.txt
if [ ! -s "$users" ]; then
	umask 077
	for u in alice bob; do
		printf '%s@localhost,%s\n' "$u" "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	done >"$users"
	umask 022
fi
pw() { grep "^$1@" "$users" | cut -d, -f2; }

sock=$run/runtime/mgmt.sock
pcctl() { "$pcctl_bin" --socket "$sock" "$@"; }
if [ -S "$sock" ] && pcctl status >/dev/null 2>&1; then
	die "Portcullis is already running here ($sock); stop it first"
fi

log=$run/portcullisd.log
say "run.sh: starting portcullisd (log: $log)"
"$pd" -f -c "$cfg" >>"$log" 2>&1 &
pid=$!
stop() {
	trap - INT TERM
	say ""
	say "run.sh: stopping Portcullis"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	exit 0
}
trap stop INT TERM

ready=0
for _ in $(seq 1 150); do
	kill -0 "$pid" 2>/dev/null || { tail -20 "$log"; die "portcullisd exited"; }
	if pcctl status >/dev/null 2>&1; then ready=1; break; fi
	sleep 0.2
done
[ "$ready" = 1 ] || { pcctl status || true; tail -20 "$log"; stop; }

# Demo users: added, or their password set again if they already exist.
for u in alice bob; do
	pw "$u" | pcctl users add "$u@localhost" --password-stdin >/dev/null 2>&1 ||
		pw "$u" | pcctl users password "$u@localhost" --password-stdin >/dev/null ||
		say "run.sh: could not set up $u@localhost"
done

pcctl status || true
alice=$(pw alice)
bob=$(pw bob)
sd=$top/scripts/sipp
cat <<TEXT

Portcullis is running: SIP on 127.0.0.1:5060 (UDP and TCP), domain "localhost".

Demo users (also in $users):
  alice@localhost  password $alice
  bob@localhost    password $bob

Register a phone with sipp (another terminal):
  sipp -sf $sd/register.xml -s alice -au alice -ap $alice -i 127.0.0.1 -p 5071 -m 1 127.0.0.1:5060

Place a test call alice -> bob with sipp:
  # bob registers from port 5072, then answers there (built-in uas; leave it running)
  sipp -sf $sd/register.xml -s bob -au bob -ap $bob -i 127.0.0.1 -p 5072 -m 1 127.0.0.1:5060
  sipp -sn uas -i 127.0.0.1 -p 5072 -m 1
  # in another terminal: alice calls bob (digest auth, 3 s of call, BYE)
  sipp -sf $sd/call.xml -s alice -au alice -ap $alice -i 127.0.0.1 -p 5071 -m 1 127.0.0.1:5060

Or with a softphone on this machine (baresip, Linphone, ...):
  user alice, domain localhost, password $alice,
  proxy/outbound 127.0.0.1:5060 (UDP), its own SIP port NOT 5060 (e.g. 5062).
  baresip ~/.baresip/accounts line:
    <sip:alice@localhost>;auth_pass=$alice;outbound="sip:127.0.0.1:5060";regint=300
  and in ~/.baresip/config: sip_listen 127.0.0.1:5062

Watch it:  $pcctl_bin --socket $sock status | reg list | calls | media | stats
Log:       tail -f $log
Stop:      Ctrl-C here
TEXT

# Foreground until Ctrl-C (or portcullisd exits on its own).
wait "$pid" || true
trap - INT TERM
say "run.sh: portcullisd exited; see $log"
