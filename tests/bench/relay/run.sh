#!/usr/bin/env bash
# Relay benchmark, run by hand as root (not part of the test suite):
#   tests/bench/relay/run.sh   [RATE=30000 SECS=4 REPS=3 STREAMS="1 100 1000 10000"
#                               SETUPS=20000 WINDOW=64 RTPENGINE=1
#                               PC_BUILD=<optimized build> REF_BUILD=<another>
#                               MODES="plain kernel user setups tick" PERF=<dir>
#                               BURST=16 REF_FULL=]
# Three namespaces a - r - b joined by veth. For each stream count it
# measures, at the same packet rate, CPU per packet of
#   plain:  a sends straight to b, r only routes (no relay, no conntrack)
#   kernel: portcullis-relay in r, streams in the nftables maps
#   user:   portcullis-relay in r with media.kernel "off"
#   (with kernel: also plain+ct and plain+ctnat, see ct_rows below)
# CPU = sender + sink + relay + every ksoftirqd thread, from
# /proc/<pid>/schedstat (RELAY-NOTES: on veth the forwarding softirq runs
# in the sending task), divided by packets received. Then call set-ups per
# second over relay.sock (setupbench: wall clock, and the relay's own CPU
# per set-up, which does not depend on the other tenants' load). With
# REF_BUILD, every relay measurement is repeated with that build's relay
# in the same run (old against new, side by side). MODES picks the parts
# (plain is always measured before the relays of a stream count when
# kernel or user is asked for); PERF=DIR records `perf record -g` of the
# relay process during the first user-space run of each build and stream
# count into DIR, and the whole machine (-a -e cpu-clock) during an extra
# kernel-path run. BURST is the sender's burst (loadgen -b): 16 clumps the
# packets (the relay finds several sockets ready per wake-up), 1 spreads
# them evenly, as independent phones would. REF_FULL=1: the reference
# relay closes kernel streams' sockets too (session 3 and later), so
# measure it at every stream count instead of the fd-limited one.
set -u
BURST=${BURST:-16}
MODES=${MODES:-"plain kernel user setups"}
has_mode() { case " $MODES " in *" $1 "*) return 0 ;; esac; return 1; }
top=$(cd "$(dirname "$0")/../../.." && pwd)
B=${PC_BUILD:-$top/build-relay}
RATE=${RATE:-30000}
SECS=${SECS:-4}
STREAMS=${STREAMS:-"1 100 1000 10000"}
SETUPS=${SETUPS:-20000}
LG=$B/tests/bench/relay/loadgen
RC=$B/tests/tools/relayctl
SB=$B/tests/bench/relay/setupbench
RELAY=$B/relay/portcullis-relay
REF=${REF_BUILD:+$REF_BUILD/relay/portcullis-relay}
P=pcb$$
T=$(mktemp -d /tmp/pc-bench-relay.XXXXXX)
RELAY_PID=""

cleanup() {
	[ -n "$RELAY_PID" ] && kill "$RELAY_PID" 2>/dev/null
	sleep 0.3
	for n in a r b; do
		ip netns pids "$P-$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$P-$n" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

for n in a r b; do ip netns add "$P-$n"; ip -n "$P-$n" link set lo up; done
ip link add va netns "$P-a" type veth peer name ra netns "$P-r"
ip link add vb netns "$P-b" type veth peer name rb netns "$P-r"
ip -n "$P-a" addr add 10.82.1.2/24 dev va
ip -n "$P-r" addr add 10.82.1.1/24 dev ra
ip -n "$P-b" addr add 10.82.2.2/24 dev vb
ip -n "$P-r" addr add 10.82.2.1/24 dev rb
for x in "a va" "r ra" "r rb" "b vb"; do set -- $x; ip -n "$P-$1" link set "$2" up; done
ip -n "$P-a" route add default via 10.82.1.1
ip -n "$P-b" route add default via 10.82.2.1
ip netns exec "$P-r" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$P-r" sysctl -qw net.netfilter.nf_conntrack_max=262144 2>/dev/null

softirq_ns() {
	local s=0 p
	for p in $(pgrep -x 'ksoftirqd/[0-9]+' 2>/dev/null); do
		s=$((s + $(cut -d' ' -f1 "/proc/$p/schedstat" 2>/dev/null || echo 0)))
	done
	echo $s
}
# Every thread of a process (rtpengine has worker threads).
pid_ns() {
	local s=0 f
	[ -n "$1" ] || { echo 0; return; }
	for f in /proc/"$1"/task/*/schedstat; do
		s=$((s + $(cut -d' ' -f1 "$f" 2>/dev/null || echo 0)))
	done
	echo $s
}

# once SENDER-ARGS...: one run; prints "sent recv total_ns tasks_ns relay_ns"
once() {
	local s0 s1 r0 r1 out sink sent recv scpu kcpu
	ip netns exec "$P-b" "$LG" sink -l 10.82.2.2:7000 -t $((SECS + 2)) >"$T/sink.out" &
	sink=$!
	sleep 0.3
	s0=$(softirq_ns)
	r0=$(pid_ns "$RELAY_PID")
	out=$(ip netns exec "$P-a" "$LG" send -l 10.82.1.2:5000 -r "$RATE" -t "$SECS" -b "$BURST" "$@")
	sleep 0.5
	r1=$(pid_ns "$RELAY_PID")
	s1=$(softirq_ns)
	wait $sink
	sent=$(echo "$out" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
	scpu=$(echo "$out" | sed -n 's/.*cpu_ns=\([0-9]*\).*/\1/p')
	recv=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$T/sink.out")
	kcpu=$(sed -n 's/.*cpu_ns=\([0-9]*\).*/\1/p' "$T/sink.out")
	echo "${sent:-0} ${recv:-0} $((scpu + ${kcpu:-0} + r1 - r0 + s1 - s0)) $((scpu + ${kcpu:-0} + r1 - r0)) $((r1 - r0))"
}

# measure LABEL SENDER-ARGS...: REPS runs (other tenants share this
# machine), the one with the least CPU per packet is printed, then the
# spread (min-max over the runs) of all and relay:
#   all  = sender + sink + relay + ksoftirqd (host-wide) per packet received
#   task = sender + sink + relay only (ksoftirqd also serves other tenants)
#   relay = the relay process alone
measure() {
	local label=$1 i
	shift
	for i in $(seq "${REPS:-3}"); do
		once "$@"
	done | awk -v l="$label" '{
		r = $2 ? $2 : 1
		if (best == "" || $3 / r < best) {
			best = $3 / r; t = $4 / r; rel = $5 / r; s = $1; rv = $2
		}
		if (amax == "" || $3 / r > amax) amax = $3 / r
		if (rmin == "" || $5 / r < rmin) rmin = $5 / r
		if (rmax == "" || $5 / r > rmax) rmax = $5 / r
	} END {
		printf "%-22s sent=%d recv=%d loss=%.2f%% all_ns/pkt=%.0f task_ns/pkt=%.0f relay_ns/pkt=%.0f (all %.0f-%.0f relay %.0f-%.0f)\n",
			l, s, rv, (s - rv) * 100.0 / (s ? s : 1), best, t, rel, best, amax, rmin, rmax
	}'
}

start_relay() { # KERNEL PORT_HI [RELAY-BINARY]
	local bin=${3:-$RELAY}
	mkdir -p "$T/run"
	cat >"$T/r.json" <<J
{"runtime_dir": "$T/run", "state_dir": "$T/state", "log_level": "warn",
 "media": {"address": "10.82.1.1", "ports": [20000, $2], "kernel": "$1",
           "latch_wait_ms": 0, "timeout_s": 3600}}
J
	rm -f "$T/run/relay.sock" "$T/state/relay-streams.journal"
	ip netns exec "$P-r" "$bin" -c "$T/r.json" >"$T/relay.log" 2>&1 &
	RELAY_PID=$!
	# A wide range takes a while: one guard element per port.
	for _ in $(seq 600); do [ -S "$T/run/relay.sock" ] && break; sleep 0.1; done
}
stop_relay() {
	kill "$RELAY_PID" 2>/dev/null
	wait "$RELAY_PID" 2>/dev/null
	RELAY_PID=""
	ip netns exec "$P-r" "$RELAY" --teardown -c "$T/r.json" >/dev/null 2>&1
	ip netns exec "$P-r" conntrack -F >/dev/null 2>&1
}

echo "# relay benchmark: $RATE packets/s for $SECS s in bursts of $BURST, 172-byte RTP, $(nproc) CPUs, $(uname -r), load: $(uptime | sed 's/.*average: //')"
# User space: four bound sockets per stream, so the fd hard limit caps
# the streams (root without CAP_SYS_RESOURCE cannot raise it). Kernel
# mode closes the sockets of kernel-forwarded pairs when descriptors run
# short (the reference build may not: it is capped like user space).
fdmax=$(( ($(ulimit -Hn) - 64) / 4 - 16 ))
# one_relay LABEL KERNEL N BIN: one relay measurement at n streams.
one_relay() {
	local label=$1 mode=$2 n=$3 bin=$4
	start_relay "$mode" $((20000 + 4 * n + 3)) "$bin"
	if ! ip netns exec "$P-r" "$RC" -s "$T/run/relay.sock" setup "$n" 10.82.1.2:5000 10.82.2.2:7000 "$T/ports"; then
		echo "$label n=$n: set-up failed"
		stop_relay
		return
	fi
	# Warm-up: one conntrack entry per stream, as in steady state.
	ip netns exec "$P-a" "$LG" send -l 10.82.1.2:5000 -a 10.82.1.1 -p "$T/ports" -r 20000 -t $(( (n / 20000) + 1 )) >/dev/null
	if [ -n "${PERF:-}" ] && [ "$mode" = off ]; then
		mkdir -p "$PERF"
		perf record -q -g -p "$RELAY_PID" -o "$PERF/${label// /}-$n.data" -- sleep "$SECS" >/dev/null 2>&1 &
		local pp=$!
		once -a 10.82.1.1 -p "$T/ports" >/dev/null
		wait $pp
		# System calls and switches per packet of the relay.
		perf stat -x, -e syscalls:sys_enter_epoll_wait,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_io_uring_enter,sched:sched_switch \
			-p "$RELAY_PID" -o "$PERF/${label// /}-$n.stat" -- sleep "$SECS" >/dev/null 2>&1 &
		pp=$!
		once -a 10.82.1.1 -p "$T/ports" >"$PERF/${label// /}-$n.once"
		wait $pp
	fi
	if [ -n "${PERF:-}" ] && [ "$mode" = on ]; then
		# The kernel path's cost is in softirq, in the sender's and
		# other tasks' context: profile the whole machine.
		mkdir -p "$PERF"
		perf record -q -e cpu-clock -a -g -o "$PERF/${label// /}-$n.data" -- sleep "$SECS" >/dev/null 2>&1 &
		local kp=$!
		once -a 10.82.1.1 -p "$T/ports" >"$PERF/${label// /}-$n.once"
		wait $kp
	fi
	measure "$label n=$n" -a 10.82.1.1 -p "$T/ports"
	stop_relay
}
# Informative rows beside the kernel path (the goal's baseline stays
# "plain", without conntrack):
#   plain+ct:    plain forwarding with conntrack active in r (one `ct
#                state` rule in a throw-away table), one flow as plain;
#   plain+ctnat: conntrack and NAT of n flows by two static rules (dnat to
#                the sink, snat to r's address), sent to the n ports the
#                relay would use: each stream is a conntrack entry, as in
#                the kernel path, without the relay's table.
# kernel - plain+ctnat is then what the relay's own rules cost.
ct_rows() { # N
	local n=$1
	ip netns exec "$P-r" nft -f - <<N
table ip pcb_ct {
	chain forward_ct {
		type filter hook forward priority 0; policy accept;
		ct state established,related,new accept
	}
}
N
	measure "plain+ct n=$n" -a 10.82.2.2 -P 7000
	ip netns exec "$P-r" nft delete table ip pcb_ct
	ip netns exec "$P-r" conntrack -F >/dev/null 2>&1
	seq 0 $((n - 1)) | awk '{ print 20000 + 4 * $1 }' >"$T/ctports"
	ip netns exec "$P-r" nft -f - <<N
table ip pcb_ctnat {
	chain pre {
		type nat hook prerouting priority -100; policy accept;
		ip daddr 10.82.1.1 udp dport 20000-$((20000 + 4 * n)) dnat to 10.82.2.2:7000
	}
	chain post {
		type nat hook postrouting priority 100; policy accept;
		ip daddr 10.82.2.2 udp dport 7000 snat to 10.82.1.1
	}
}
N
	ip netns exec "$P-a" "$LG" send -l 10.82.1.2:5000 -a 10.82.1.1 -p "$T/ctports" -r 20000 -t $(( (n / 20000) + 1 )) >/dev/null
	measure "plain+ctnat n=$n" -a 10.82.1.1 -p "$T/ctports"
	ip netns exec "$P-r" nft delete table ip pcb_ctnat
	ip netns exec "$P-r" conntrack -F >/dev/null 2>&1
}
for n in $STREAMS; do
	has_mode plain || has_mode kernel || has_mode user || continue
	measure "plain  n=$n" -a 10.82.2.2 -P 7000
	has_mode kernel && ct_rows "$n"
	has_mode kernel && one_relay "kernel" on "$n" "$RELAY"
	if has_mode kernel && [ -n "$REF" ]; then
		if [ "$n" -gt "$fdmax" ] && [ -z "${REF_FULL:-}" ]; then
			echo "kernel-ref n=$n: needs $((4 * n)) sockets; fd hard limit $(ulimit -Hn): measuring n=$fdmax"
			one_relay "kernel-ref" on "$fdmax" "$REF"
		else
			one_relay "kernel-ref" on "$n" "$REF"
		fi
	fi
	un=$n
	if [ "$n" -gt "$fdmax" ]; then
		echo "user n=$n: needs $((4 * n)) sockets; fd hard limit $(ulimit -Hn): measuring n=$fdmax"
		un=$fdmax
	fi
	if has_mode user; then
		one_relay "user  " off "$un" "$RELAY"
		[ -n "$REF" ] && one_relay "user-ref" off "$un" "$REF"
	fi
done

# tick: the relay's CPU per media-timeout tick (every 5 s here) at n
# kernel streams, no traffic after the warm-up (the conntrack entries
# stay 30 s): relay CPU over 10.2 s (two ticks) / 2. The new build reads
# the counters both ways (PC_RELAY_CT_DUMP_MIN: 0 = one filtered dump,
# huge = a GET per component), then the reference build.
tick_one() { # LABEL N BIN DUMP_MIN
	local r0 r1
	PC_RELAY_CT_DUMP_MIN=$4 start_relay on $((20000 + 4 * $2 + 3)) "$3"
	ip netns exec "$P-r" "$RC" -s "$T/run/relay.sock" setup "$2" 10.82.1.2:5000 10.82.2.2:7000 "$T/ports" >/dev/null || { echo "$1 n=$2: set-up failed"; stop_relay; return; }
	ip netns exec "$P-a" "$LG" send -l 10.82.1.2:5000 -a 10.82.1.1 -p "$T/ports" -r 20000 -t $(( ($2 / 20000) + 1 )) >/dev/null
	r0=$(pid_ns "$RELAY_PID")
	if [ -n "${PERF:-}" ]; then
		mkdir -p "$PERF"
		perf record -q -g -p "$RELAY_PID" -o "$PERF/${1// /}-$2.data" -- sleep 10.2 >/dev/null 2>&1
	else
		sleep 10.2
	fi
	r1=$(pid_ns "$RELAY_PID")
	printf "%-22s n=%d entries=%d relay_ms/tick=%.1f\n" "$1" "$2" \
		"$(ip netns exec "$P-r" conntrack -C 2>/dev/null)" "$(echo "($r1 - $r0) / 2000000" | bc -l)"
	stop_relay
}
if has_mode tick; then
	for n in $STREAMS; do
		tick_one "tick new dump" "$n" "$RELAY" 0
		[ -n "${TICK_DUMP_ONLY:-}" ] && continue
		tick_one "tick new get" "$n" "$RELAY" 1000000000
		[ -n "$REF" ] && tick_one "tick ref" "$n" "$REF" ""
	done
fi

# rtpengine (Debian rtpengine-daemon, user-space mode: --table=-1) on the
# same streams, when RTPENGINE=1.
if [ "${RTPENGINE:-0}" = 1 ] && has_mode user && command -v rtpengine >/dev/null; then
	for n in $STREAMS; do
		[ "$n" -gt 4000 ] && { echo "rtpengine n=$n: skipped (fd limit)"; continue; }
		ip netns exec "$P-r" rtpengine --table=-1 --interface=10.82.1.1 \
			--listen-ng=127.0.0.1:22222 --port-min=20000 --port-max=59999 \
			--foreground --log-stderr --log-level=3 --pidfile="$T/rtpe.pid" \
			>"$T/rtpe.log" 2>&1 &
		RELAY_PID=$!
		sleep 1
		ip netns exec "$P-r" python3 "$(dirname "$0")/rtpengine_setup.py" \
			127.0.0.1:22222 "$n" 10.82.1.2:5000 10.82.2.2:7000 "$T/ports" || exit 1
		measure "rtpengine n=$n" -a 10.82.1.1 -p "$T/ports"
		kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null; RELAY_PID=""
	done
fi

# setups LABEL KERNEL BIN ARGS...: REPS runs, the best relay CPU per set-up.
setups() {
	local label=$1 mode=$2 bin=$3 i
	shift 3
	for i in $(seq "${REPS:-3}"); do
		start_relay "$mode" 59999 "$bin"
		ip netns exec "$P-r" "$SB" -s "$T/run/relay.sock" -n "$SETUPS" -w "${WINDOW:-64}" -p "$RELAY_PID" "$@"
		stop_relay
	done | awk -v l="$label" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (best == "" || v["relay_cpu_us_per_setup"] < best) {
			best = v["relay_cpu_us_per_setup"]; w = v["setups_per_s"]; c = v["relay_cpu_setups_per_s"]; e = v["errors"]
		}
	} END { printf "%-34s wall_setups/s=%s relay_cpu_us/setup=%s relay_cpu_setups/s=%s errors=%s\n", l, w, best, c, e }'
}
for mode in on off; do
	has_mode setups || break
	for b in "$RELAY" $REF; do
		tag=$([ "$b" = "$RELAY" ] && echo new || echo ref)
		setups "setups $tag kernel=$mode" $mode "$b"
		setups "setups $tag kernel=$mode nat" $mode "$b" nat
		setups "setups $tag kernel=$mode rtcp-mux" $mode "$b" mux
	done
done
echo "# load after: $(uptime | sed 's/.*average: //')"
