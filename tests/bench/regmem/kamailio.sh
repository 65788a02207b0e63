#!/usr/bin/env bash
# The reference for regmem: Kamailio's memory per registration, with the
# shared benchmark configuration (../shared/bench/kamailio/kamailio.cfg:
# usrloc in memory, digest auth against an htable) and its sipp scenario
# (reg-auth.xml: REGISTER, 401, REGISTER with credentials, 200), N
# distinct users. Prints the PSS of all Kamailio processes before and
# after, its shared-memory statistics and the usrloc counts. Run by hand:
#   tests/bench/regmem/kamailio.sh
# Environment: N [100000], RATE [2000] registrations/s, BENCH
#   [/work/shared/bench], SETTLE [33] s before the second reading, LOCK
#   [/tmp/pc-bench.lock] (held for the whole run), KEEP [0].
# Loopback only: Kamailio on udp:127.0.0.10:5070, sipp on 127.0.0.30.
set -u
LOCK=${LOCK:-/tmp/pc-bench.lock}
# The whole run holds the machine-wide benchmark lock.
if [ -z "${REGMEM_LOCKED:-}" ]; then
	REGMEM_LOCKED=1 exec flock "$LOCK" "$0" "$@"
fi
N=${N:-100000}
RATE=${RATE:-2000}
BENCH=${BENCH:-/work/shared/bench}
CFG=$BENCH/kamailio/kamailio.cfg
HOST=127.0.0.10
PORT=5070
T=$(mktemp -d /tmp/pc-bench-regmem-kam.XXXXXX)
KPID=""

stop_kamailio() {
	local kids i
	[ -n "$KPID" ] && kill -0 "$KPID" 2>/dev/null || return 0
	kids=$(ps -o pid= --ppid "$KPID" 2>/dev/null | tr -d ' ')
	kill -TERM "$KPID" 2>/dev/null
	for i in $(seq 1 40); do kill -0 "$KPID" 2>/dev/null || break; sleep 0.25; done
	kill -0 "$KPID" 2>/dev/null && kill -KILL "$KPID" 2>/dev/null
	wait "$KPID" 2>/dev/null
	for i in $kids; do
		if kill -0 "$i" 2>/dev/null && grep -q kamailio "/proc/$i/cmdline" 2>/dev/null; then
			kill -TERM "$i" 2>/dev/null
		fi
	done
}
cleanup() {
	stop_kamailio
	[ "${KEEP:-0}" = 1 ] && echo "# kept $T" || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v kamailio >/dev/null && command -v sipp >/dev/null ||
	{ echo "kamailio or sipp not installed"; exit 1; }
[ "$N" -ge 1 ] && [ "$N" -le 1000000 ] || { echo "N must be 1..1000000"; exit 2; }

# Credentials as ../shared/bench/gen-users.sh writes them, for N users
# (its own limit is 10,000): an htable db_text table and a sipp CSV.
mkdir -p "$T/db"
{
	echo "id(int,auto) key_name(string) key_type(int) value_type(int) key_value(string) expires(int) "
	awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "%d:user%07d:0:0:pass%07d:0\n", i + 1, i, i }'
} >"$T/db/creds"
printf 'id(int,auto) table_name(string) table_version(int) \n0:creds:2\n' >"$T/db/version"
{
	echo "SEQUENTIAL"
	awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "user%07d;pass%07d;[authentication username=user%07d password=pass%07d]\n", i, i, i, i }'
} >"$T/users.csv"

# The PSS of the main process and its children, kB (shared memory once).
pss_all() {
	local p total=0 v
	for p in $KPID $(ps -o pid= --ppid "$KPID" 2>/dev/null); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

measure() {
	if ss -ulnH 2>/dev/null | grep -q "$HOST:$PORT "; then
		echo "something already listens on $HOST:$PORT"
		return 1
	fi
	local defs=(-A "NCHILDREN=2" -A "UAS_URI=\"sip:127.0.0.20:5080\""
		-A "CREDS_DB_URL=\"text://$T/db\"" -A "CTL_SOCK=\"unix:$T/kamailio_ctl\"")
	kamailio -f "$CFG" "${defs[@]}" -DD -E -P "$T/kamailio.pid" -m 1024 -M 32 \
		-w "$T" >"$T/kamailio.log" 2>&1 &
	KPID=$!
	local i
	for i in $(seq 1 80); do
		ss -ulnH 2>/dev/null | grep -q "$HOST:$PORT " && break
		kill -0 "$KPID" 2>/dev/null || { tail "$T/kamailio.log"; return 1; }
		sleep 0.25
	done
	sleep 1 # the htable of N users is loaded before the workers start
	echo "kamailio=$(kamailio -v | head -1 | awk '{print $3}') pid=$KPID processes=$(($(ps -o pid= --ppid "$KPID" | wc -l) + 1))"
	local base
	base=$(pss_all)
	echo "base_pss_kb=$base"
	kamcmd -s "unix:$T/kamailio_ctl" stats.get_statistics shmem: 2>/dev/null |
		grep -E ' used_size|real_used' | tr -d ' ' | sed 's/^/# base /'
	local t0 t1
	t0=$(date +%s.%N)
	timeout $((N / RATE * 3 + 120)) sipp -sf "$BENCH/sipp/reg-auth.xml" \
		-inf "$T/users.csv" -i 127.0.0.30 -p 5090 -r "$RATE" -m "$N" \
		-l 20000 -timeout $((N / RATE * 3 + 60))s -nostdin -trace_err \
		-error_file "$T/sipp.err" "$HOST:$PORT" >"$T/sipp.out" 2>&1
	local rc=$?
	t1=$(date +%s.%N)
	grep -E 'Successful call|Failed call' "$T/sipp.out" | tail -2 | tr -s ' ' | sed 's/^/# sipp: /'
	echo "sipp_rc=$rc register_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
	kamcmd -s "unix:$T/kamailio_ctl" stats.get_statistics usrloc: 2>/dev/null |
		grep -E 'registered_users|location-contacts' | tr -d ' ' | sed 's/^/# /'
	kamcmd -s "unix:$T/kamailio_ctl" stats.get_statistics shmem: 2>/dev/null |
		grep -E 'used_size|max_used_size|real_used' | tr -d ' ' | sed 's/^/# /'
	local after
	after=$(pss_all)
	echo "after_pss_kb=$after pss_bytes_per_reg=$(((after - base) * 1024 / N))"
	# tm's transactions of the REGISTERs are stateless here (sl replies):
	# nothing lingers, but wait the same 32 s as core's timer J anyway.
	sleep "${SETTLE:-33}"
	after=$(pss_all)
	echo "settled_pss_kb=$after settled_pss_bytes_per_reg=$(((after - base) * 1024 / N))"
	kamcmd -s "unix:$T/kamailio_ctl" stats.get_statistics shmem: 2>/dev/null |
		grep -E ' used_size|real_used' | tr -d ' ' | sed 's/^/# settled /'
	stop_kamailio
	return $rc
}

echo "# kamailio regmem N=$N RATE=$RATE date=$(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
measure
rc=$?
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
