#!/usr/bin/env bash
# Proxy benchmark, run by hand (not part of scripts/test.sh):
#   tests/bench/proxy/run.sh
# Starts portcullis-core + portcullis-edge (an -O2 build) on 127.0.0.11:5060
# pinned to CPU 1, drives them with ../shared/bench/measure.sh (sipp on CPU
# 0), then does the same for the reference Kamailio (run-kamailio.sh, same
# pinning, same rates), and prints proxy CPU microseconds per operation of
# both, the ratio Portcullis/Kamailio and the memory of both.
# One fixed rate per operation (no step search), so the run is bounded:
# about 3 x (STEP_SECS + 8) s per proxy.
# Environment: PC_BUILD [build-perf, configured -O2 and built if missing],
#   BENCH [/work/shared/bench], TESTS ["register calls options"],
#   REG_RATE [3000] CALL_RATE [500] OPT_RATE [6000] STEP_SECS [10],
#   PC_CPU [1] SIPP_CPU [0], KEEP [0] (keep the temporary directory).
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
B=${PC_BUILD:-$top/build-perf}
BENCH=${BENCH:-/work/shared/bench}
TESTS=${TESTS:-"register calls options"}
REG_RATE=${REG_RATE:-3000}
CALL_RATE=${CALL_RATE:-500}
OPT_RATE=${OPT_RATE:-6000}
STEP_SECS=${STEP_SECS:-10}
PC_CPU=${PC_CPU:-1}
SIPP_CPU=${SIPP_CPU:-0}
HOST=127.0.0.11
PORT=5060
T=$(mktemp -d /tmp/pc-bench-proxy.XXXXXX)
WRAP_PID=""
MEMPOLL_PID=""

cleanup() {
	local k
	[ -n "$MEMPOLL_PID" ] && kill "$MEMPOLL_PID" 2>/dev/null
	if [ -n "$WRAP_PID" ]; then
		# The wrapper's own children: core and edge.
		for k in $(ps -o pid= --ppid "$WRAP_PID" 2>/dev/null); do
			kill "$k" 2>/dev/null
		done
		kill "$WRAP_PID" 2>/dev/null
		wait "$WRAP_PID" 2>/dev/null
	fi
	[ "${KEEP:-0}" = 1 ] && echo "# kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$B/sbc/portcullis-edge" ] || [ ! -x "$B/core/portcullis-core" ]; then
	mkdir -p "$B"
	if [ ! -f "$B/Makefile" ]; then
		(cd "$B" && CFLAGS="-O2 -g" "$top/configure" >"$T/configure.log" 2>&1) ||
			{ echo "configure failed, see $T/configure.log"; KEEP=1; exit 1; }
	fi
	nice make -C "$B" -j2 sbc/portcullis-edge core/portcullis-core \
		>"$T/make.log" 2>&1 || { echo "build failed"; tail "$T/make.log"; exit 1; }
fi
if ss -ulnH 2>/dev/null | grep -q "$HOST:$PORT "; then
	echo "something already listens on $HOST:$PORT"
	exit 1
fi

# The bench's users (user0000/pass0000 ...), MD5 only as the reference
# Kamailio challenges; limits out of the way of one busy sipp source.
users=$(awk 'BEGIN { for (i = 0; i < 10000; i++) {
	printf "%s{\"user\":\"user%04d\",\"password\":\"pass%04d\"}", i ? "," : "", i, i } }')
chmod 755 "$T"
cat >"$T/pc.json" <<J
{"runtime_dir": "$T/run", "state_dir": "$T/state",
 "listen": [{"transport": "udp", "address": "$HOST", "port": $PORT}],
 "auth": {"algorithms": ["MD5"]},
 "media_anchor": {"enabled": false},
 "limits": {"register_rate": 100000, "register_burst": 1000000,
            "invite_rate": 100000, "invite_burst": 1000000,
            "other_rate": 1000000, "other_burst": 1000000,
            "response_rate": 1000000, "response_burst": 1000000,
            "global_rate": 0, "flood_drops": 1000000},
 "routes": [{"match": {"user": "uas"}, "uri": "sip:127.0.0.20:5080"}],
 "users": [$users]}
J

# One parent for both daemons: measure.sh counts PROXY_PID and its children.
taskset -c "$PC_CPU" bash -c '
	"$1/core/portcullis-core" -f -c "$2/pc.json" >"$2/core.log" 2>&1 &
	for i in $(seq 1 300); do [ -S "$2/run/core.sock" ] && break; sleep 0.1; done
	"$1/sbc/portcullis-edge" -f -c "$2/pc.json" >"$2/edge.log" 2>&1 &
	wait' _ "$B" "$T" &
WRAP_PID=$!
for i in $(seq 1 300); do
	ss -ulnH 2>/dev/null | grep -q "$HOST:$PORT " && break
	sleep 0.1
done
ss -ulnH 2>/dev/null | grep -q "$HOST:$PORT " ||
	{ echo "portcullis did not start"; tail "$T"/*.log; KEEP=1; exit 1; }
sleep 1

knobs=(TESTS="$TESTS" REG_RATES="$REG_RATE" CALL_RATES="$CALL_RATE"
	OPT_RATES="$OPT_RATE" STEP_SECS="$STEP_SECS" REFINE=0 COOLDOWN_S=3
	CONTENDED_RETRIES=1 UAC_CPUS="$SIPP_CPU" UAS_CPUS="$SIPP_CPU")

# mem_of PID: proportional set size (kB) of PID and its children.
mem_of() {
	local s=0 p v
	for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
		v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
# mem_poll PIDFILE_OR_PID OUT: highest PSS seen, every second.
mem_poll() {
	local src=$1 out=$2 max=0 pid m
	while :; do
		pid=$src
		[ -f "$src" ] && pid=$(cat "$src" 2>/dev/null)
		if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
			m=$(mem_of "$pid")
			[ "$m" -gt "$max" ] && max=$m && echo "$max" >"$out"
		fi
		sleep 1
	done
}

echo "# portcullis: $B, pid $WRAP_PID on CPU $PC_CPU; load: $(cut -d' ' -f1-3 /proc/loadavg)"
mem_poll "$WRAP_PID" "$T/pc.mem" &
MEMPOLL_PID=$!
env "${knobs[@]}" PROXY_PID="$WRAP_PID" OUT_DIR="$T/pc" \
	"$BENCH/measure.sh" "$HOST" "$PORT" | tee "$T/pc.out" | grep '^step'
kill "$MEMPOLL_PID" 2>/dev/null
wait "$MEMPOLL_PID" 2>/dev/null
MEMPOLL_PID=""
for k in $(ps -o pid= --ppid "$WRAP_PID"); do kill "$k" 2>/dev/null; done
wait "$WRAP_PID" 2>/dev/null
WRAP_PID=""

echo "# kamailio; load: $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$T/kam"
mem_poll "$T/kam/kamailio.pid" "$T/kam.mem" &
MEMPOLL_PID=$!
env "${knobs[@]}" KAM_CPUS="$PC_CPU" RUNDIR="$T/kam" OUT_DIR="$T/kout" \
	"$BENCH/run-kamailio.sh" >"$T/kam.out" 2>&1
grep '^step' "$T/kam.out"
kill "$MEMPOLL_PID" 2>/dev/null
wait "$MEMPOLL_PID" 2>/dev/null
MEMPOLL_PID=""

# us OUTFILE TEST: proxy_us_per_op of that step ("na" if missing).
us() {
	awk -v t="$2" '$1 == "step" && $2 == "test=" t {
		for (i = 3; i <= NF; i++) if ($i ~ /^proxy_us_per_op=/) {
			sub(/^proxy_us_per_op=/, "", $i); v = $i } }
		END { print (v == "" ? "na" : v) }' "$1"
}
pass() {
	awk -v t="$2" '$1 == "step" && $2 == "test=" t {
		for (i = 3; i <= NF; i++) if ($i ~ /^pass=/) v = substr($i, 6) }
		END { print (v == "" ? "na" : v) }' "$1"
}
echo "# summary (proxy CPU us per operation; ratio = portcullis / kamailio)"
for t in $TESTS; do
	case $t in
	register) goal=0.50 ;;
	calls) goal=0.67 ;;
	*) goal=1.00 ;;
	esac
	p=$(us "$T/pc.out" "$t")
	k=$(us "$T/kam.out" "$t")
	awk -v t="$t" -v p="$p" -v k="$k" -v g="$goal" -v pp="$(pass "$T/pc.out" "$t")" \
		-v kp="$(pass "$T/kam.out" "$t")" 'BEGIN {
		r = (p + 0 > 0 && k + 0 > 0) ? sprintf("%.2f", p / k) : "na"
		printf "%-8s portcullis_us=%s kamailio_us=%s ratio=%s goal<=%s pass=%s/%s\n",
			t, p, k, r, g, pp, kp }'
done
echo "memory   portcullis_pss_kb=$(cat "$T/pc.mem" 2>/dev/null || echo na) kamailio_pss_kb=$(cat "$T/kam.mem" 2>/dev/null || echo na)"
