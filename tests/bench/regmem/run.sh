#!/usr/bin/env bash
# Core memory per registration (issue #3), run by hand (not part of
# scripts/test.sh):
#   tests/bench/regmem/run.sh
# Seeds N users into a fresh state_dir's SQLite (one transaction, HA1s as
# core computes them), then, under the machine-wide benchmark lock, starts
# portcullis-core with a ctl channel (regmem plays portcullisd and the
# edge), registers N distinct AoRs with digest credentials through
# core.sock, and prints core's RSS/PSS (base, right after the storm,
# settled after the transactions ended), bytes per registration, the
# SQLite files' sizes, a sample check of the bindings, and with RESTART=1
# kills core (-9), times the restore and reads its memory again.
# Environment: PC_BUILD [build-rm-rel; configured -O2 -g and built if
#   missing], N [1000000], WINDOW [2000] requests in flight, RATE [0 = as
#   fast as core answers], CORE_CHALLENGE [0; 1 = core answers the 401s,
#   not the edge], RESTART [1], SAMPLE [200], TIMEOUT [600] s for the
#   registrations, PORT [5560] (the listener named in the flows; nothing
#   binds it), CORE_CPU [""] pin core (taskset list), CORE_WRAPPER [""]
#   runs core under a tool (e.g. "valgrind --tool=massif
#   --massif-out-file=/tmp/x.massif"; the pid stays core's), LOCK
#   [/tmp/pc-bench.lock], CORE_BIN [$PC_BUILD/core/portcullis-core] (another
#   build to compare), KEEP [0] keep the temporary directory.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
B=${PC_BUILD:-$top/build-rm-rel}
N=${N:-1000000}
WINDOW=${WINDOW:-2000}
RATE=${RATE:-0}
CORE_CHALLENGE=${CORE_CHALLENGE:-0}
RESTART=${RESTART:-1}
SAMPLE=${SAMPLE:-200}
TIMEOUT=${TIMEOUT:-600}
PORT=${PORT:-5560}
CORE_CPU=${CORE_CPU:-}
LOCK=${LOCK:-/tmp/pc-bench.lock}
DOMAIN=regmem.test
T=$(mktemp -d /tmp/pc-bench-regmem.XXXXXX)

cleanup() {
	[ "${KEEP:-0}" = 1 ] && echo "# kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$B/core/portcullis-core" ] || [ ! -x "$B/tests/bench/regmem/regmem" ]; then
	mkdir -p "$B"
	if [ ! -f "$B/Makefile" ]; then
		(cd "$B" && CFLAGS="-O2 -g" "$top/configure" >"$T/configure.log" 2>&1) ||
			{ echo "configure failed, see $T/configure.log"; KEEP=1; exit 1; }
	fi
	nice -n 19 make -C "$B" -j2 core/portcullis-core tests/bench/regmem/regmem \
		>"$T/make.log" 2>&1 || { echo "build failed"; tail "$T/make.log"; exit 1; }
fi
CORE=${CORE_BIN:-$B/core/portcullis-core}
RM=$B/tests/bench/regmem/regmem
if [ -n "$CORE_CPU" ]; then
	# core inherits the pinning from the wrapper below
	CORE_WRAP="taskset -c $CORE_CPU"
else
	CORE_WRAP=""
fi

mkdir -p "$T/run" "$T/state"
chmod 755 "$T"
cat >"$T/pc.json" <<J
{"runtime_dir": "$T/run", "state_dir": "$T/state",
 "domains": ["$DOMAIN"],
 "listen": [{"transport": "udp", "address": "127.0.0.1", "port": $PORT},
            {"transport": "tcp", "address": "127.0.0.1", "port": $PORT}],
 "registrar": {"max_expires": 3600}}
J
cat >"$T/core.sh" <<S
#!/bin/sh
exec $CORE_WRAP ${CORE_WRAPPER:-} "$CORE" "\$@" 2>>"$T/core.log"
S
chmod 755 "$T/core.sh"

echo "# regmem N=$N WINDOW=$WINDOW RATE=$RATE CORE_CHALLENGE=$CORE_CHALLENGE" \
	"commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null)" \
	"date=$(date -u +%FT%TZ)"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
nice -n 19 "$RM" seed -D "$T/state/portcullis.db" -n "$N" -d "$DOMAIN" || exit 1
ls -l "$T/state" | awk 'NR > 1 { printf "# seeded %s %s\n", $9, $5 }'

args=(run -b "$T/core.sh" -c "$T/pc.json" -R "$T/run" -S "$T/state"
	-n "$N" -d "$DOMAIN" -p "$PORT" -w "$WINDOW" -r "$RATE" -t "$TIMEOUT"
	-s "$SAMPLE")
[ "$CORE_CHALLENGE" = 1 ] && args+=(-C)
[ "$RESTART" = 1 ] && args+=(-k)
start=$(date +%s)
flock "$LOCK" "$RM" "${args[@]}"
rc=$?
echo "# wall_s=$(($(date +%s) - start)) load after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -E 'restored|error|fatal' "$T/core.log" | head -5 | sed 's/^/# core: /'
[ $rc = 0 ] || { echo "# FAILED (rc $rc)"; tail -5 "$T/core.log" | sed 's/^/# core: /'; }
exit $rc
