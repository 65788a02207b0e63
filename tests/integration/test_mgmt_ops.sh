#!/usr/bin/env bash
# Operations through pcctl against portcullisd with the real children in a
# network namespace: users import (10,000 users, one transaction, timed),
# password change and removal, a test call alice -> bob with the sipp
# scenarios that scripts/run.sh prints (calls and media visible), bans via
# relay, log level, config reload (a good change applied, a bad file
# refused with nothing changed), /metrics over HTTP, and pcctl's usage
# errors and --help.
set -u
. "$(dirname "$0")/lib.sh"

PD=$IT_BUILD/mgmt/portcullisd
PCCTL_BIN=$IT_BUILD/mgmt/pcctl
SIPP_DIR=$IT_TOP/scripts/sipp
it_begin
chmod 755 "$IT_TMP"
ns_add pc

cfg=$IT_TMP/portcullis.json
write_cfg() {
	cat >"$cfg" <<JSON
{
  "runtime_dir": "$IT_TMP/rt",
  "state_dir": "$IT_TMP/st",
  "log_level": "$1",
  "auth": {"algorithms": ["MD5"]},
  "supervisor": {"restart_backoff_ms": 100},
  "management": {"metrics_listen": "127.0.0.1:9191", "idle_timeout_s": 2}
}
JSON
}
write_cfg info
sock=$IT_TMP/rt/mgmt.sock
pcctl() { "$PCCTL_BIN" --socket "$sock" "$@"; }
json_ok() { python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("ok") is True else 1)'; }
status_ok() { pcctl --json status | json_ok; }
# jq-like: pyq EXPR evaluates EXPR with r = the parsed reply on stdin.
pyq() { python3 -c "import json,sys; r=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }

bg pc portcullisd "$PD" -f -c "$cfg"
tap "status: all processes run" wait_until 30 status_ok

# --- users ---
import_10k() {
	local f=$IT_TMP/users.csv start end
	python3 -c '
for i in range(10000):
    print("user%05d@example.org,pw-%d-secret" % (i, i))' >"$f"
	start=$(date +%s%N)
	pcctl --json users import "$f" >"$IT_TMP/import.json" || { cat "$IT_TMP/import.json"; return 1; }
	end=$(date +%s%N)
	echo "# import took $(((end - start) / 1000000)) ms"
	pyq 'r["ok"] and r["result"]["imported"] == 10000' <"$IT_TMP/import.json" ||
		{ cat "$IT_TMP/import.json"; return 1; }
	[ $(((end - start) / 1000000)) -lt 10000 ]
}
tap "users import of 10,000 users in under 10 s" import_10k
tap "imported users are listed" sh -c "'$PCCTL_BIN' --socket '$sock' --json users list --limit 20000 | python3 -c 'import json,sys; r=json.load(sys.stdin); n=sum(1 for u in r[\"result\"] if u[\"domain\"]==\"example.org\"); sys.exit(0 if n==10000 else 1)'"
tap "users import from stdin" sh -c "printf 'carol@localhost,c-pass-1\n' | '$PCCTL_BIN' --socket '$sock' users import - >/dev/null"
add() { printf '%s\n' "$2" | pcctl --json users add "$1" --password-stdin | json_ok; }
add2() { add alice@localhost alice-pw-1 && add bob@localhost bob-pw-1; }
tap "users add alice and bob" add2
dup_add() { printf 'x\n' | pcctl --json users add alice@localhost --password-stdin | pyq 'r["ok"] is False and r["error"]["code"] == "already_exists"'; }
tap "adding an existing user is an error" dup_add
tap "users add without USER@DOMAIN is a usage error" sh -c "'$PCCTL_BIN' --socket '$sock' users add alice </dev/null; [ \$? = 2 ]"

sipp_reg() { # USER PASSWORD PORT
	in_ns pc timeout 20 sipp -sf "$SIPP_DIR/register.xml" -s "$1" -au "$1" -ap "$2" \
		-i 127.0.0.1 -p "$3" -m 1 -timeout 10s -timeout_error -nostdin \
		127.0.0.1:5060 >"$IT_TMP/reg-$1-$3.out" 2>&1
}
tap "alice registers" sipp_reg alice alice-pw-1 5171
pw_change() { printf 'alice-pw-2\n' | pcctl --json users password alice@localhost --password-stdin | json_ok; }
tap "users password" pw_change
not_reg() { ! sipp_reg "$@"; }
tap "old password refused" not_reg alice alice-pw-1 5172
tap "new password accepted" sipp_reg alice alice-pw-2 5173
tap "carol (imported from stdin) registers" sipp_reg carol c-pass-1 5174

# --- a test call as scripts/run.sh describes it ---
call() {
	sipp_reg bob bob-pw-1 5175 || { echo "bob did not register"; return 1; }
	bg pc uas timeout 30 sipp -sn uas -i 127.0.0.1 -p 5175 -m 1 -nostdin \
		-timeout 25s -timeout_error
	local uas=$IT_LAST_PID
	in_ns pc timeout 30 sipp -sf "$SIPP_DIR/call.xml" -s alice -au alice -ap alice-pw-2 \
		-i 127.0.0.1 -p 5176 -m 1 -timeout 20s -timeout_error -nostdin \
		-trace_err -error_file "$IT_TMP/call-err.log" 127.0.0.1:5060 >"$IT_TMP/call.out" 2>&1 &
	local caller=$!
	# While the call is up (3 s), it shows in calls and media.
	wait_until 10 sh -c "'$PCCTL_BIN' --socket '$sock' --json calls | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"result\"] else 1)'" ||
		{ echo "no call listed"; pcctl calls; }
	local listed=$?
	pcctl --json media >"$IT_TMP/media.json"
	wait "$caller" || { tail -20 "$IT_TMP/call-err.log"; return 1; }
	wait "$uas" || { echo "uas failed"; return 1; }
	[ "$listed" = 0 ] && pyq 'r["ok"] and len(r["result"]) > 0' <"$IT_TMP/media.json"
}
tap "test call alice -> bob (sipp scenarios of run.sh), listed in calls and media" call
stats_calls() { pcctl --json stats | pyq 'r["ok"] and r["result"]["core"]["calls_answered"] >= 1'; }
tap "stats count the answered call" stats_calls
cdr_call() { pcctl --json cdr --limit 10 | pyq 'r["ok"] and any(c.get("status") == 200 for c in r["result"])'; }
tap "pcctl cdr lists the answered call" wait_until 5 cdr_call
trunk_add() { pcctl --json trunks add '{"name": "carrier-x", "options_interval_s": 0, "peers": [{"address": "127.0.0.9", "port": 5099}]}' | json_ok; }
tap "pcctl trunks add (live)" trunk_add
trunk_listed() { pcctl --json trunks | pyq 'r["ok"] and any(t.get("name") == "carrier-x" for t in r["result"])'; }
tap "pcctl trunks lists it" trunk_listed
trunk_gone() { pcctl --json trunks remove carrier-x | json_ok && ! trunk_listed; }
tap "pcctl trunks remove" trunk_gone
tap "pcctl trunks add of bad JSON is an error" sh -c "'$PCCTL_BIN' --socket '$sock' trunks add '{not json'; [ \$? = 1 ]"
tap "users remove" sh -c "'$PCCTL_BIN' --socket '$sock' --json users remove carol@localhost | grep -q '\"ok\":true'"
tap "a removed user cannot register" not_reg carol c-pass-1 5177
tap "reg remove" sh -c "'$PCCTL_BIN' --socket '$sock' --json reg remove alice@localhost | grep -q '\"ok\":true' && ! '$PCCTL_BIN' --socket '$sock' --json reg list | grep -q 'alice@localhost'"

# --- bans ---
tap "bans add" sh -c "'$PCCTL_BIN' --socket '$sock' --json bans add 192.0.2.77 --timeout 600 | grep -q '\"ok\":true'"
tap "bans list shows it" sh -c "'$PCCTL_BIN' --socket '$sock' --json bans | grep -q 192.0.2.77"
tap "bans remove" sh -c "'$PCCTL_BIN' --socket '$sock' --json bans remove 192.0.2.77 | grep -q '\"ok\":true' && ! '$PCCTL_BIN' --socket '$sock' --json bans | grep -q 192.0.2.77"
tap "bans add of a non-address is an error" sh -c "'$PCCTL_BIN' --socket '$sock' --json bans add not-an-address | grep -q '\"ok\":false'"

# --- capture (relay, libpcap) ---
capture() {
	# In capture.dir (default STATE_DIR/capture), where relay may write
	# after dropping privileges.
	local cap=$IT_TMP/st/capture/sip.pcap
	pcctl --json capture start --path sip.pcap --max-seconds 30 | json_ok || return 1
	sipp_reg alice alice-pw-2 5178 || return 1
	pcctl --json capture stop --path sip.pcap | json_ok || return 1
	wait_until 5 test -s "$cap" &&
		python3 -c 'import sys; m = open(sys.argv[1], "rb").read(4); sys.exit(0 if m in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1)' "$cap"
}
tap "capture start/stop writes a pcap" capture
tap "a capture outside capture.dir is refused" sh -c "'$PCCTL_BIN' --socket '$sock' --json capture start --path /tmp/elsewhere.pcap | grep -q 'only in capture.dir'"
tap "capture stop of an unknown capture is an error" sh -c "'$PCCTL_BIN' --socket '$sock' capture stop --path /nonexistent.pcap; [ \$? = 1 ]"

# --- log level and reload ---
tap "log level debug for all" sh -c "'$PCCTL_BIN' --socket '$sock' --json log level debug | grep -q '\"ok\":true'"
tap "log level nonsense is refused" sh -c "'$PCCTL_BIN' --socket '$sock' log level loud; [ \$? = 1 ]"
bad_reload() {
	echo '{"log_level": 7, "runtime_dir": "'"$IT_TMP"'/rt"}' >"$cfg"
	pcctl --json config reload >"$IT_TMP/reload-bad.json"
	pyq 'r["ok"] is False and r["error"]["code"] == "invalid_config" and "log_level" in r["error"]["message"]' <"$IT_TMP/reload-bad.json" ||
		{ cat "$IT_TMP/reload-bad.json"; return 1; }
	status_ok
}
tap "reload of a bad file is refused, nothing changes" bad_reload
good_reload() {
	write_cfg warn
	pcctl --json config reload >"$IT_TMP/reload.json"
	pyq 'r["ok"] and r["result"]["applied"] and "core" in r["result"]["processes"]' <"$IT_TMP/reload.json" ||
		{ cat "$IT_TMP/reload.json"; return 1; }
	pcctl --json config show | pyq 'r["result"]["config"]["log_level"] == "warn"'
}
tap "reload applies a good file (children too)" good_reload
hup_reload() {
	write_cfg info
	kill -HUP "$(pcctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["processes"][0]["pid"])')"
	wait_until 10 sh -c "'$PCCTL_BIN' --socket '$sock' --json config show | grep -q '\"log_level\":\"info\"'"
}
tap "SIGHUP reloads" hup_reload
tap "config.show masks nothing it should not show" sh -c "! '$PCCTL_BIN' --socket '$sock' --json config show | grep -q 'alice-pw'"

# --- metrics ---
metrics() {
	in_ns pc python3 - <<'PY'
import urllib.request
t = urllib.request.urlopen("http://127.0.0.1:9191/metrics", timeout=10).read().decode()
assert 'portcullis_up{process="relay"} 1' in t, t[:500]
assert "portcullis_sip_in_invite" in t, t[:2000]
try:
    urllib.request.urlopen("http://127.0.0.1:9191/other", timeout=10)
    raise SystemExit("no 404")
except urllib.error.HTTPError as e:
    assert e.code == 404
PY
}
tap "/metrics over loopback HTTP" metrics

# --- idle clients ---
idle_closed() {
	python3 - "$sock" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"sta')          # never completed
s.settimeout(10)
t = time.time()
assert s.recv(100) == b"", "expected the server to close"
assert 1.5 < time.time() - t < 6, time.time() - t
PY
}
tap "an idle management client is closed after idle_timeout_s" idle_closed
tap "and the socket keeps serving" status_ok

# --- pcctl itself ---
tap "pcctl --help" sh -c "'$PCCTL_BIN' --help | grep -q 'users import'"
tap "pcctl users --help" sh -c "'$PCCTL_BIN' users --help | grep -q 'password-stdin'"
tap "pcctl unknown command exits 2" sh -c "'$PCCTL_BIN' frobnicate; [ \$? = 2 ]"
tap "pcctl without a daemon exits 3" sh -c "'$PCCTL_BIN' --socket '$IT_TMP/none.sock' status; [ \$? = 3 ]"
tap "human status table" sh -c "'$PCCTL_BIN' --socket '$sock' status | grep -q '^relay  *running'"

it_end
