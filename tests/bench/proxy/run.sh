#!/usr/bin/env bash
# Proxy benchmark, run by hand (not part of scripts/test.sh):
#   tests/bench/proxy/run.sh
# Starts portcullis-core + portcullis-edge (an -O2 build) on 127.0.0.11:5060
# pinned to CPU 1, drives them with ../shared/bench/measure.sh (sipp on CPU
# 0), then does the same for the reference Kamailio (run-kamailio.sh, same
# pinning, same rates), and prints proxy CPU microseconds per operation of
# both, the ratio Portcullis/Kamailio and the memory of both.
# Several builds and rounds are interleaved: each round measures every
# build in PC_BUILDS and then Kamailio, so the ratios of a round come from
# the same minutes of the machine. Every step of every run is appended to
# TSV, and summary.sh TSV prints median and spread (run.sh prints them too).
# Fixed mode (default): one rate per operation (no step search), so a run
# is bounded: about 3 x (STEP_SECS + 8) s per proxy and round.
# Step mode (RATE_MODE=step): measure.sh's own step-load (its default rate
# lists unless REG_RATES/CALL_RATES/OPT_RATES are given, REFINE [2]
# bisection steps, COOLDOWN_S [15]); slower, run one TESTS at a time.
# Environment: PC_BUILD [build-perf, configured -O2 and built if missing],
#   PC_BUILDS ["pc=$PC_BUILD"; "label=dir ..." to compare builds],
#   ROUNDS [1], KAM [1] (0: skip Kamailio), TSV [/tmp/pc-bench-proxy-DATE.tsv],
#   BENCH [/work/shared/bench], TESTS ["register calls options"],
#   REG_RATE [3000] CALL_RATE [500] OPT_RATE [6000] STEP_SECS [10],
#   PC_CPU [1] SIPP_CPU [0], KEEP [0] (keep the temporary directory),
#   PERF_DIR [""]: perf record -g / perf stat of core and edge apart for
#   PERF_SECS [5] s of the first step (one test at a time, KAM=0);
#   PERF_MODE=split: no perf, only each process's CPU and context switches.
# Resolution: measure.sh reports the proxy's CPU in whole percent of a core
# (3.3 us per REGISTER at 3,000/s). run.sh therefore also reads, over the
# same steady window of every step (2 s after the clients start, for
# STEP_SECS - 3 s), the scheduler run time of every thread of the proxy
# (/proc/PID/task/*/schedstat, ns) and records it per operation: columns
# sched_us (all Portcullis processes, resp. all Kamailio processes),
# edge_us and core_us (Portcullis only) of the TSV, and summary.sh's
# "schedstat" block. The old column (us, from measure.sh) stays.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
here=$(cd "$(dirname "$0")" && pwd)
B=${PC_BUILD:-$top/build-perf}
PC_BUILDS=${PC_BUILDS:-"pc=$B"}
ROUNDS=${ROUNDS:-1}
KAM=${KAM:-1}
BENCH=${BENCH:-/work/shared/bench}
TESTS=${TESTS:-"register calls options"}
RATE_MODE=${RATE_MODE:-fixed}
STEP_SECS=${STEP_SECS:-10}
PC_CPU=${PC_CPU:-1}
SIPP_CPU=${SIPP_CPU:-0}
HOST=127.0.0.11
PORT=5060
T=$(mktemp -d /tmp/pc-bench-proxy.XXXXXX)
TSV=${TSV:-/tmp/pc-bench-proxy-$(date +%Y%m%d-%H%M%S).tsv}
WRAP_PID=""
MEMPOLL_PID=""
SCHED_PID=""

cleanup() {
	stop_pc
	[ -n "$MEMPOLL_PID" ] && kill "$MEMPOLL_PID" 2>/dev/null
	[ -n "$SCHED_PID" ] && kill "$SCHED_PID" 2>/dev/null
	[ "${KEEP:-0}" = 1 ] && echo "# kept $T" || rm -rf "$T"
}
stop_pc() {
	local k
	[ -n "$WRAP_PID" ] || return 0
	# The wrapper's own children: core and edge.
	for k in $(ps -o pid= --ppid "$WRAP_PID" 2>/dev/null); do
		kill "$k" 2>/dev/null
	done
	kill "$WRAP_PID" 2>/dev/null
	wait "$WRAP_PID" 2>/dev/null
	WRAP_PID=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for spec in $PC_BUILDS; do
	d=${spec#*=}
	if [ ! -x "$d/sbc/portcullis-edge" ] || [ ! -x "$d/core/portcullis-core" ]; then
		mkdir -p "$d"
		if [ ! -f "$d/Makefile" ]; then
			(cd "$d" && CFLAGS="-O2 -g" "$top/configure" >"$T/configure.log" 2>&1) ||
				{ echo "configure failed, see $T/configure.log"; KEEP=1; exit 1; }
		fi
		nice make -C "$d" -j2 sbc/portcullis-edge core/portcullis-core \
			>"$T/make.log" 2>&1 || { echo "build failed"; tail "$T/make.log"; exit 1; }
	fi
done
if ss -ulnH 2>/dev/null | grep -q "$HOST:$PORT "; then
	echo "something already listens on $HOST:$PORT"
	exit 1
fi

# The bench's users (user0000/pass0000 ...), MD5 only as the reference
# Kamailio challenges; limits out of the way of one busy sipp source.
users=$(awk 'BEGIN { for (i = 0; i < 10000; i++) {
	printf "%s{\"user\":\"user%04d\",\"password\":\"pass%04d\"}", i ? "," : "", i, i } }')
chmod 755 "$T"

if [ "$RATE_MODE" = step ]; then
	knobs=(REFINE="${REFINE:-2}" COOLDOWN_S="${COOLDOWN_S:-15}")
	[ -n "${REG_RATES:-}" ] && knobs+=(REG_RATES="$REG_RATES")
	[ -n "${CALL_RATES:-}" ] && knobs+=(CALL_RATES="$CALL_RATES")
	[ -n "${OPT_RATES:-}" ] && knobs+=(OPT_RATES="$OPT_RATES")
else
	knobs=(REG_RATES="${REG_RATE:-3000}" CALL_RATES="${CALL_RATE:-500}"
		OPT_RATES="${OPT_RATE:-6000}" REFINE=0 COOLDOWN_S=3)
fi
knobs+=(TESTS="$TESTS" STEP_SECS="$STEP_SECS" CONTENDED_RETRIES=1
	UAC_CPUS="$SIPP_CPU" UAS_CPUS="$SIPP_CPU")

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
mem_stop() {
	kill "$MEMPOLL_PID" 2>/dev/null
	wait "$MEMPOLL_PID" 2>/dev/null
	MEMPOLL_PID=""
}
# record ROUND LABEL OUTFILE [SCHEDFILE]: every step line of a measure.sh
# output into TSV, with the schedstat figures of the same step (the n-th
# line of SCHEDFILE belongs to the n-th step line; "na" when missing).
record() {
	awk -v r="$1" -v l="$2" -v d="$(date -u +%FT%TZ)" -v sf="${4:-/dev/null}" '
	BEGIN { while ((getline line < sf) > 0) { ns++; split(line, f, " ")
		tot[ns] = f[2]; ed[ns] = f[3]; co[ns] = f[4]; secs[ns] = f[5] } }
	function per_op(ns_, a, s_) {
		if (ns_ == "" || ns_ == "-" || a <= 0 || s_ <= 0)
			return "na"
		return sprintf("%.2f", ns_ / 1000 / s_ / a)
	}
	$1 == "step" {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		k++; a = v["achieved_rate"] + 0
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d, r, l,
		    v["test"], v["target"], v["achieved_rate"], v["proxy_us_per_op"],
		    v["pass"], v["fail_pct"], per_op(tot[k], a, secs[k]),
		    per_op(ed[k], a, secs[k]), per_op(co[k], a, secs[k]) }' "$3" >>"$TSV"
}

# task_ns PID...: scheduler run time (ns) of every thread of the PIDs.
# Builtins only (no fork), so that sampling does not disturb the step.
task_ns() {
	local p f v s=0
	for p in "$@"; do
		for f in /proc/"$p"/task/*/schedstat; do
			{ read -r v _ <"$f"; } 2>/dev/null && s=$((s + v))
		done
	done
	echo "$s"
}

# step_lines FILE: how many step lines measure.sh has printed (builtins).
step_lines() {
	local l c=0
	while IFS= read -r l; do
		[[ $l == step* ]] && c=$((c + 1))
	done <"$1"
	echo "$c"
}

# sched_steps OUTDIR MEASUREOUT SCHEDFILE KIND PID_OR_PIDFILE: follows
# measure.sh from beside it. A step starts when a client0.out newer than the
# end of the previous step appears (measure.sh creates it as it starts the
# clients); then, like measure.sh, it waits 2 s and reads the run time of
# the proxy's threads over STEP_SECS - 3 s. One line per step to SCHEDFILE:
# "n total_ns edge_ns core_ns secs" (edge/core "-" for KIND kam).
sched_steps() {
	local out=$1 mo=$2 sf=$3 kind=$4 src=$5 mark="$1.mark" n=0 seen
	local win=$((STEP_SECS - 3)) f pid k comm
	[ "$win" -ge 1 ] || win=1
	mkdir -p "$out"
	: >"$mark"
	while :; do
		# the previous step's line is out: its files are complete
		[ "$(step_lines "$mo")" -ge "$n" ] || { sleep 0.1; continue; }
		seen=""
		for f in "$out"/*/client0.out; do
			[ -e "$f" ] && [ "$f" -nt "$mark" ] && seen=$f
		done
		if [ -z "$seen" ]; then
			sleep 0.1
			continue
		fi
		local t0 t1 a0 a1 e0=0 e1=0 c0=0 c1=0 epid="" cpid="" pids=()
		t0=$EPOCHREALTIME
		pid=$src
		[ -f "$src" ] && pid=$(cat "$src" 2>/dev/null)
		for k in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
			pids+=("$k")
			comm=$(cat "/proc/$k/comm" 2>/dev/null)
			case $comm in portcullis-cor*) cpid=$k ;;
			portcullis-edg*) epid=$k ;; esac
		done
		sleep "$(awk -v t0="$t0" -v t="$EPOCHREALTIME" 'BEGIN { d = 2 - (t - t0); print (d > 0 ? d : 0) }')"
		t0=$EPOCHREALTIME
		a0=$(task_ns "$pid" "${pids[@]}")
		[ -n "$epid" ] && e0=$(task_ns "$epid")
		[ -n "$cpid" ] && c0=$(task_ns "$cpid")
		sleep "$win"
		t1=$EPOCHREALTIME
		a1=$(task_ns "$pid" "${pids[@]}")
		[ -n "$epid" ] && e1=$(task_ns "$epid")
		[ -n "$cpid" ] && c1=$(task_ns "$cpid")
		n=$((n + 1))
		if [ "$kind" = kam ]; then
			echo "$n $((a1 - a0)) - - $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" >>"$sf"
		else
			echo "$n $((a1 - a0)) $((e1 - e0)) $((c1 - c0)) $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" >>"$sf"
		fi
		# wait for this step's line before looking for the next step
		while [ "$(step_lines "$mo")" -lt "$n" ]; do
			sleep 0.2
		done
		: >"$mark"
	done
}

# profile LABEL: perf record -g and perf stat of core and edge separately
# during the steady part of the first step (PERF_DIR set; one test only).
profile() {
	local label=$1 k comm pids=() names=() waits=()
	# The step's sipp has started once its statistics file exists.
	for k in $(seq 1 1200); do
		ls "$st"/out/*/client0.csv >/dev/null 2>&1 && break
		sleep 0.1
	done
	sleep 2
	for k in $(ps -o pid= --ppid "$WRAP_PID"); do
		comm=$(cat "/proc/$k/comm" 2>/dev/null)
		case $comm in portcullis-cor*) names+=(core) ;;
		portcullis-edg*) names+=(edge) ;; *) continue ;; esac
		pids+=("$k")
	done
	mkdir -p "$PERF_DIR"
	# Per process CPU (schedstat, ns) and context switches over the window,
	# with no perf attached when PERF_MODE=split.
	local -a c0=() w0=()
	for k in "${!pids[@]}"; do
		read -r c0[k] _ </proc/"${pids[$k]}"/schedstat
		w0[k]=$(awk '/ctxt_switches/ {s += $2} END {print s}' /proc/"${pids[$k]}"/status)
	done
	if [ "${PERF_MODE:-}" = split ]; then
		sleep "${PERF_SECS:-5}"
		for k in "${!pids[@]}"; do
			local c1 w1
			read -r c1 _ </proc/"${pids[$k]}"/schedstat
			w1=$(awk '/ctxt_switches/ {s += $2} END {print s}' /proc/"${pids[$k]}"/status)
			echo "${names[$k]} cpu_ms=$(((c1 - c0[k]) / 1000000)) ctx_switches=$((w1 - w0[k])) secs=${PERF_SECS:-5}" \
				>>"$PERF_DIR/$label.split"
		done
		return
	fi
	for k in "${!pids[@]}"; do
		perf record -q --call-graph dwarf,8192 -F 1999 -o "$PERF_DIR/$label-${names[$k]}.data" \
			-p "${pids[$k]}" -- sleep "${PERF_SECS:-5}" 2>/dev/null &
		waits+=($!)
		perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter,'syscalls:sys_enter_*' \
			-o "$PERF_DIR/$label-${names[$k]}.stat" \
			-p "${pids[$k]}" -- sleep "${PERF_SECS:-5}" 2>/dev/null &
		waits+=($!)
	done
	wait "${waits[@]}"
}

# run_pc ROUND LABEL DIR: one measure.sh run of that build.
run_pc() {
	local r=$1 label=$2 d=$3 st="$T/$1-$2"
	mkdir -p "$st"
	cat >"$st/pc.json" <<J
{"runtime_dir": "$st/run", "state_dir": "$st/state",
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
	# One parent for both daemons: measure.sh counts PROXY_PID and its
	# children.
	taskset -c "$PC_CPU" bash -c '
		"$1/core/portcullis-core" -f -c "$2/pc.json" >"$2/core.log" 2>&1 &
		for i in $(seq 1 300); do [ -S "$2/run/core.sock" ] && break; sleep 0.1; done
		"$1/sbc/portcullis-edge" -f -c "$2/pc.json" >"$2/edge.log" 2>&1 &
		wait' _ "$d" "$st" &
	WRAP_PID=$!
	for i in $(seq 1 300); do
		ss -ulnH 2>/dev/null | grep -q "$HOST:$PORT " && break
		sleep 0.1
	done
	ss -ulnH 2>/dev/null | grep -q "$HOST:$PORT " ||
		{ echo "portcullis did not start"; tail "$st"/*.log; KEEP=1; exit 1; }
	sleep 1
	echo "# round $r $label: $d, pid $WRAP_PID on CPU $PC_CPU; load: $(cut -d' ' -f1-3 /proc/loadavg)"
	mem_poll "$WRAP_PID" "$T/$label.mem" &
	MEMPOLL_PID=$!
	: >"$st/measure.out"
	sched_steps "$st/out" "$st/measure.out" "$st/sched" pc "$WRAP_PID" &
	SCHED_PID=$!
	env "${knobs[@]}" PROXY_PID="$WRAP_PID" OUT_DIR="$st/out" \
		"$BENCH/measure.sh" "$HOST" "$PORT" >"$st/measure.out" &
	local mpid=$!
	[ -n "${PERF_DIR:-}" ] && profile "$label"
	wait "$mpid"
	kill "$SCHED_PID" 2>/dev/null
	wait "$SCHED_PID" 2>/dev/null
	SCHED_PID=""
	grep '^step' "$st/measure.out"
	sched_show "$st/measure.out" "$st/sched"
	mem_stop
	stop_pc
	record "$r" "$label" "$st/measure.out" "$st/sched"
}

# sched_show MEASUREOUT SCHEDFILE: the schedstat figures of each step.
sched_show() {
	awk -v sf="$2" 'BEGIN { while ((getline line < sf) > 0) { split(line, f, " ")
		t[++n] = f[2]; e[n] = f[3]; c[n] = f[4]; s[n] = f[5] } }
	$1 == "step" { k++; split($0, x, "achieved_rate="); split(x[2], y, " "); a = y[1] + 0
		if (k > n || a <= 0 || s[k] <= 0) { print "sched step " k ": na"; next }
		printf "sched %s us_per_op=%.2f", $2, t[k] / 1000 / s[k] / a
		if (e[k] != "-") printf " edge_us=%.2f core_us=%.2f", e[k] / 1000 / s[k] / a, c[k] / 1000 / s[k] / a
		printf " secs=%s\n", s[k] }' "$1"
}

run_kam() {
	local r=$1 st="$T/$1-kam"
	mkdir -p "$st/run"
	echo "# round $r kamailio; load: $(cut -d' ' -f1-3 /proc/loadavg)"
	mem_poll "$st/run/kamailio.pid" "$T/kam.mem" &
	MEMPOLL_PID=$!
	: >"$st/measure.out"
	sched_steps "$st/out" "$st/measure.out" "$st/sched" kam "$st/run/kamailio.pid" &
	SCHED_PID=$!
	env "${knobs[@]}" KAM_CPUS="$PC_CPU" RUNDIR="$st/run" OUT_DIR="$st/out" \
		"$BENCH/run-kamailio.sh" >"$st/measure.out" 2>&1
	kill "$SCHED_PID" 2>/dev/null
	wait "$SCHED_PID" 2>/dev/null
	SCHED_PID=""
	grep '^step' "$st/measure.out"
	sched_show "$st/measure.out" "$st/sched"
	mem_stop
	record "$r" kam "$st/measure.out" "$st/sched"
}

for ((r = 1; r <= ROUNDS; r++)); do
	round="$(date -u +%H%M)-$r"
	for spec in $PC_BUILDS; do
		run_pc "$round" "${spec%%=*}" "${spec#*=}"
	done
	[ "$KAM" = 1 ] && run_kam "$round"
done

"$here/summary.sh" "$TSV"
mem=""
for spec in $PC_BUILDS; do
	mem+=" ${spec%%=*}_pss_kb=$(cat "$T/${spec%%=*}.mem" 2>/dev/null || echo na)"
done
echo "memory  $mem kamailio_pss_kb=$(cat "$T/kam.mem" 2>/dev/null || echo na)"
echo "# steps in $TSV"
