# Shared helpers for integration tests (sourced). Each test script:
#   . "$(dirname "$0")/lib.sh"
#   it_begin            # sets traps; everything made below is removed on exit
#   ns_add sbc; ns_link sbc 10.77.0.1/24 alice 10.77.0.2/24
#   tap "alice registers" check_cmd ...
# Names carry a per-run prefix so concurrent runs never collide, and test
# traffic stays inside the namespaces this run creates.

set -u
IT_TOP=${PC_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
IT_BUILD=${PC_BUILD:-$IT_TOP/build-test}
IT_ID=${IT_ID:-$(printf 'p%x' $(($$ % 65536)))}
IT_TMP=""
IT_NS=()
IT_PIDS=()
IT_N=0
IT_FAILED=0

it_begin() {
	IT_TMP=$(mktemp -d "/tmp/pc-it-$IT_ID.XXXXXX")
	trap it_cleanup EXIT
	trap 'exit 130' INT TERM
}

# The namespace's real name for a short name ("alice" -> "p1a2b-alice").
ns() { printf '%s-%s' "$IT_ID" "$1"; }
# Runs a command inside a namespace.
in_ns() {
	local n=$1
	shift
	ip netns exec "$(ns "$n")" "$@"
}

ns_add() {
	local n
	n=$(ns "$1")
	ip netns add "$n"
	IT_NS+=("$n")
	ip -n "$n" link set lo up
}

# ns_link NS1 ADDR1/LEN NS2 ADDR2/LEN: a veth pair between two namespaces.
ns_link() {
	local a=$1 aa=$2 b=$3 ba=$4 ia ib
	IT_LINKS=$((${IT_LINKS:-0} + 1))
	ia="v${IT_LINKS}${1:0:5}"
	ib="v${IT_LINKS}${3:0:5}"
	ip link add "$ia" netns "$(ns "$a")" type veth peer name "$ib" netns "$(ns "$b")"
	ip -n "$(ns "$a")" addr add "$aa" dev "$ia"
	ip -n "$(ns "$b")" addr add "$ba" dev "$ib"
	ip -n "$(ns "$a")" link set "$ia" up
	ip -n "$(ns "$b")" link set "$ib" up
	# Tell the caller the interface names.
	IT_LAST_IFA=$ia
	IT_LAST_IFB=$ib
}

ns_route() { in_ns "$1" ip route add default via "$2"; }
ns_forwarding() { in_ns "$1" sysctl -qw net.ipv4.ip_forward=1; }
# ns_masquerade NS OUT_IF: source NAT for everything leaving OUT_IF.
ns_masquerade() {
	in_ns "$1" nft -f - <<NFT
table ip itnat {
	chain post { type nat hook postrouting priority 100; oifname "$2" masquerade; }
}
NFT
}

# bg NS LOGNAME CMD...: starts CMD in a namespace, in the background, with
# its output in $IT_TMP/LOGNAME.log; records the pid for cleanup.
bg() {
	local n=$1 log=$2
	shift 2
	if [ "$n" = "-" ]; then
		"$@" >"$IT_TMP/$log.log" 2>&1 &
	else
		ip netns exec "$(ns "$n")" "$@" >"$IT_TMP/$log.log" 2>&1 &
	fi
	IT_LAST_PID=$!
	IT_PIDS+=("$IT_LAST_PID")
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_until() {
	local limit=$1 i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge $((limit * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# tap NAME CMD...: one TAP line for CMD's success; the output of a failing
# CMD is shown as TAP comments.
tap() {
	local name=$1 out
	shift
	IT_N=$((IT_N + 1))
	if out=$("$@" 2>&1); then
		echo "ok $IT_N - $name"
	else
		echo "not ok $IT_N - $name"
		printf '%s\n' "$out" | tail -20 | sed 's/^/# /'
		IT_FAILED=$((IT_FAILED + 1))
	fi
}

# Prints the plan; the script's exit status says whether all passed.
it_end() {
	echo "1..$IT_N"
	[ "$IT_FAILED" = 0 ]
}

it_cleanup() {
	local rc=$?
	for p in "${IT_PIDS[@]+"${IT_PIDS[@]}"}"; do
		kill "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${IT_PIDS[@]+"${IT_PIDS[@]}"}"; do
		kill -9 "$p" 2>/dev/null
	done
	for n in "${IT_NS[@]+"${IT_NS[@]}"}"; do
		# Processes a test started inside the namespace by other means.
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	if [ -n "$IT_TMP" ] && [ "${IT_KEEP:-0}" != 1 ]; then
		rm -rf "$IT_TMP"
	fi
	exit $rc
}

# it_edge_bed PREFIX "UA..." "PROGRAM...": the test bed of the edge tests.
# Sets B (the build), T ($IT_TMP), D (tests/integration/edge), the
# programs EDGE CORE RELAY RELAYCTL PD (portcullisd) PCCTL_BIN, and
# SBC=PREFIX.0.1 on lo of namespace sbc; bails out unless each program
# named (by variable: "EDGE CORE") is built; IT_EDGE_P=PREFIX. Then links each UA, the Nth
# as PREFIX.N.2/24 to sbc's PREFIX.N.1/24 with its default route there
# (IT_LAST_IFA/IT_LAST_IFB: the last UA's link; IT_UA_IF[UA]: each UA's
# side), and makes $T/run and $T/state.
it_edge_bed() {
	local prefix=$1 uas=$2 need=$3 v i=0 n
	B=$IT_BUILD
	T=$IT_TMP
	D=$(cd "$(dirname "$0")" && pwd)/edge
	EDGE=$B/sbc/portcullis-edge
	CORE=$B/core/portcullis-core
	RELAY=$B/relay/portcullis-relay
	RELAYCTL=$B/tests/tools/relayctl
	PD=$B/mgmt/portcullisd
	PCCTL_BIN=$B/mgmt/pcctl
	for v in $need; do
		[ -x "${!v}" ] || { echo "Bail out! ${!v} not built"; exit 1; }
	done
	SBC=$prefix.0.1
	IT_EDGE_P=$prefix
	declare -gA IT_UA_IF=()
	ns_add sbc
	for n in $uas; do ns_add "$n"; done
	for n in $uas; do
		i=$((i + 1))
		ns_link "$n" "$prefix.$i.2/24" sbc "$prefix.$i.1/24"
		IT_UA_IF[$n]=$IT_LAST_IFA
		ns_route "$n" "$prefix.$i.1"
	done
	in_ns sbc ip addr add "$SBC/32" dev lo
	mkdir -p "$T/run" "$T/state"
}

# it_edge_call SCENARIO NAME PORT: alice (the first UA of it_edge_bed)
# runs the sipp scenario $D/SCENARIO once from PORT toward the edge,
# calling the users of $T/callee.csv, with $SIPP_COMMON; its messages in
# $T/NAME.msg, its errors in $T/NAME.err, its output in $T/NAME.out.
it_edge_call() {
	local a=$IT_EDGE_P.1.2
	in_ns alice timeout 60 sipp $SIPP_COMMON -sf "$D/$1" -i $a -p "$3" \
		-mi $a -mp 6100 -s "$2" -inf "$T/callee.csv" -m 1 -trace_msg \
		-message_file "$T/$2.msg" -error_file "$T/$2.err" "$SBC:5060" \
		>"$T/$2.out" 2>&1
}
