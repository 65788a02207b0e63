#!/usr/bin/env bash
# The README's test command: installs the build and test dependencies on a
# fresh Debian 12 (as root), builds Portcullis with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer with libFuzzer targets,
# checks formatting, then runs every test: unit tests (TAP, make check),
# fuzz targets (bounded time each), integration tests (real daemons in
# network namespaces, root only). Ends with "N passed, N failed".
#
# Knobs: FUZZ_SECS (default 20), ONLY=unit|fuzz|integration, JOBS.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build="$top/build-test"
FUZZ_SECS=${FUZZ_SECS:-20}
JOBS=${JOBS:-$(nproc)}
ONLY=${ONLY:-}
passed=0
failed=0
failures=()

note() { printf '== %s\n' "$*"; }
pass() { passed=$((passed + 1)); printf 'PASS: %s\n' "$1"; }
fail() { failed=$((failed + 1)); failures+=("$1"); printf 'FAIL: %s\n' "$1"; }
summary() {
	for f in "${failures[@]+"${failures[@]}"}"; do echo "failed: $f"; done
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit $?
}

note "dependencies"
if ! "$top/scripts/deps.sh" --test; then
	fail "dependencies installed"
	summary
fi

note "format"
if clang-format --dry-run --Werror $(git ls-files '*.c' '*.h' 2>/dev/null ||
	find common sbc core relay mgmt tests -name '*.[ch]') 2>format.log; then
	pass "clang-format"
else
	head -40 format.log
	fail "clang-format (run: clang-format -i on the files above)"
fi
rm -f format.log

note "build (clang, ASan+UBSan, libFuzzer)"
if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	[ -n "$(find . -name local.mk -newer configure 2>/dev/null)" ]; then
	autoreconf -fi >autoreconf.log 2>&1 || { cat autoreconf.log; fail "autoreconf"; summary; }
	rm -f autoreconf.log
fi
mkdir -p "$build"
if [ ! -f "$build/Makefile" ] || [ configure -nt "$build/Makefile" ]; then
	(cd "$build" && CC=clang "$top/configure" --enable-sanitizers \
		--enable-fuzzing --prefix=/usr --sysconfdir=/etc \
		--localstatedir=/var --runstatedir=/run >configure.log 2>&1) ||
		{ tail -30 "$build/configure.log"; fail "configure"; summary; }
fi
if make -C "$build" -j"$JOBS" all >"$build/make.log" 2>&1 &&
	make -C "$build" -j"$JOBS" check TESTS= >>"$build/make.log" 2>&1; then
	pass "build"
else
	grep -E 'error|Error' "$build/make.log" | head -40
	fail "build"
	summary
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ -z "$ONLY" ] || [ "$ONLY" = unit ]; then
	note "unit tests"
	make -C "$build" -j"$JOBS" check >"$build/check.log" 2>&1
	for log in "$build"/tests/unit/test_*.log; do
		[ -f "$log" ] || continue
		name=$(basename "$log" .log)
		while IFS= read -r line; do
			case "$line" in
			"not ok "*) fail "$name: ${line#not ok }" ;;
			"ok "*) pass "$name: ${line#ok }" ;;
			esac
		done <"$log"
		# A test program that crashed before printing its plan.
		grep -q '^1\.\.' "$log" || fail "$name: did not finish (see $log)"
	done
fi

if [ -z "$ONLY" ] || [ "$ONLY" = fuzz ]; then
	note "fuzz targets (${FUZZ_SECS}s each)"
	for bin in "$build"/tests/fuzz/fuzz_*; do
		[ -x "$bin" ] || continue
		name=$(basename "$bin")
		corpus="$top/tests/fuzz/corpus/${name#fuzz_}"
		work=$(mktemp -d)
		[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
		if (cd "$work" && "$bin" -max_total_time="$FUZZ_SECS" \
			-rss_limit_mb=2048 -timeout=10 -print_final_stats=0 \
			. >"$build/$name.log" 2>&1); then
			pass "$name (${FUZZ_SECS}s)"
		else
			tail -40 "$build/$name.log"
			cp "$work"/crash-* "$build/" 2>/dev/null
			fail "$name: crash (input kept in $build)"
		fi
		rm -rf "$work"
	done
fi

if [ -z "$ONLY" ] || [ "$ONLY" = integration ]; then
	note "integration tests"
	if [ "$(id -u)" != 0 ]; then
		fail "integration tests need root (network namespaces, nftables)"
	else
		export PC_BUILD="$build" PC_TOP="$top"
		for t in "$top"/tests/integration/test_*.sh; do
			[ -f "$t" ] || continue
			name=$(basename "$t" .sh)
			out="$build/$name.out"
			timeout 600 bash "$t" >"$out" 2>&1
			rc=$?
			nfail=0
			why=0
			# A failing case's TAP comments (its reason) follow its
			# FAIL line, so that an excerpt of the run shows them.
			while IFS= read -r line; do
				case "$line" in
				"not ok "*) fail "$name: ${line#not ok }"; nfail=$((nfail + 1)); why=1 ;;
				"ok "*) pass "$name: ${line#ok }"; why=0 ;;
				"# "*) [ "$why" = 1 ] && printf '  %s\n' "$line" ;;
				*) why=0 ;;
				esac
			done <"$out"
			if [ "$rc" != 0 ]; then
				tail -30 "$out"
				# A script that died without saying which case broke.
				[ "$nfail" = 0 ] && fail "$name: exited $rc"
			fi
		done
	fi
fi

summary
