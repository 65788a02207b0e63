#!/usr/bin/env bash
# portcullisd with the real edge, core and relay inside a network namespace,
# driven through `pcctl --json` and sipp: status; users add -> REGISTER with
# digest -> registrations list; kill -9 of each child -> restarted, serving
# again, registrations intact; bad config -> clear error, non-zero exit;
# malformed management requests -> JSON errors while the socket keeps
# serving; SIGTERM -> clean exit.
set -u
. "$(dirname "$0")/lib.sh"

PD=$IT_BUILD/mgmt/portcullisd
PCCTL_BIN=$IT_BUILD/mgmt/pcctl
it_begin
# The children drop to the configured user: they must reach the runtime
# and state directories below our (mode 0700) temporary directory.
chmod 755 "$IT_TMP"
ns_add pc

cfg=$IT_TMP/portcullis.json
cat >"$cfg" <<JSON
{
  "runtime_dir": "$IT_TMP/rt",
  "state_dir": "$IT_TMP/st",
  "log_level": "info",
  "auth": {"algorithms": ["MD5"]},
  "supervisor": {"restart_backoff_ms": 100}
}
JSON
sock=$IT_TMP/rt/mgmt.sock
pcctl() { "$PCCTL_BIN" --socket "$sock" "$@"; }

# json_ok: stdin is a reply line; true iff "ok" is true.
json_ok() { python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("ok") is True else 1)'; }
# child_field NAME FIELD: a field of one process in `pcctl --json status`.
child_field() {
	pcctl --json status | python3 -c '
import json, sys
r = json.load(sys.stdin).get("result") or {}
for p in r.get("processes", []):
    if p.get("name") == sys.argv[1]:
        print(p.get(sys.argv[2], ""))' "$1" "$2"
}
status_ok() { pcctl --json status | json_ok; }
registered() {
	pcctl --json reg list | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["ok"] is True, r
assert any("alice@localhost" in json.dumps(row) for row in r["result"]), r' 
}

cat >"$IT_TMP/reg.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="REGISTER with digest">
  <send retrans="500"><![CDATA[
REGISTER sip:localhost SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
Max-Forwards: 70
From: <sip:[service]@localhost>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@localhost>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
Expires: 3600
Content-Length: 0

]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
REGISTER sip:localhost SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
Max-Forwards: 70
From: <sip:[service]@localhost>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@localhost>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port]>
[authentication]
Expires: 3600
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
XML
REG_PORT=5070
sipp_register() {
	REG_PORT=$((REG_PORT + 1))
	in_ns pc timeout 20 sipp -sf "$IT_TMP/reg.xml" -i 127.0.0.1 \
		-p "$REG_PORT" -s alice -au alice -ap "wonderland-7" -m 1 \
		-timeout 10s -timeout_error -nostdin \
		-trace_err -error_file "$IT_TMP/sipp-err-$REG_PORT.log" \
		127.0.0.1:5060 >"$IT_TMP/sipp-$REG_PORT.out" 2>&1
}

have_children() {
	local b
	for b in sbc/portcullis-edge core/portcullis-core relay/portcullis-relay; do
		[ -x "$IT_BUILD/$b" ] || { echo "missing $IT_BUILD/$b"; return 1; }
	done
}
tap "edge, core and relay are built" have_children

# --- configuration errors ---
printf '{\n  "runtime_dir": 5,\n  "management": {"max_clients": 0}\n}\n' >"$IT_TMP/bad.json"
bad_config_check() {
	local out rc
	out=$("$PD" -n -c "$IT_TMP/bad.json" 2>&1)
	rc=$?
	[ "$rc" = 1 ] || { echo "exit $rc"; return 1; }
	echo "$out" | grep -q "bad.json:2:[0-9]*: runtime_dir:" &&
		echo "$out" | grep -q "bad.json:3:[0-9]*: management.max_clients:"
}
tap "portcullisd -n reports every error as file:line:column: key: problem" bad_config_check
bad_config_start() {
	local rc
	timeout 10 "$PD" -f -c "$IT_TMP/bad.json" >"$IT_TMP/bad.out" 2>&1
	rc=$?
	[ "$rc" = 1 ] && grep -q "not started" "$IT_TMP/bad.out"
}
tap "portcullisd refuses to start on a bad config" bad_config_start
tap "portcullisd -n accepts the test config" sh -c "'$PD' -n -c '$cfg' | grep -qx 'configuration OK'"
tap "pcctl config check works without a daemon" sh -c "'$PCCTL_BIN' config check '$IT_TMP/bad.json'; [ \$? = 1 ]"

# --- start ---
# Through sh so the exit status is kept (ASan leak reports make it non-zero).
bg pc portcullisd sh -c "'$PD' -f -c '$cfg'; echo \$? >'$IT_TMP/pd.rc'"
tap "status: all processes run" wait_until 30 status_ok
tap "status --json says ok:true" sh -c "'$PCCTL_BIN' --socket '$sock' --json status | grep -q '^{\"ok\":true'"
tap "mgmt.sock has mode 0660" sh -c "[ \"\$(stat -c %a '$sock')\" = 660 ]"

add_alice() { printf 'wonderland-7\n' | pcctl --json users add alice@localhost --password-stdin | json_ok; }
tap "users add alice@localhost" add_alice
tap "users list shows alice" sh -c "'$PCCTL_BIN' --socket '$sock' --json users list | grep -q alice"
tap "REGISTER with digest succeeds (sipp)" sipp_register
tap "registrations list shows alice" wait_until 5 registered
# The location is written behind (at most ~1 s): a kill -9 inside that
# window may lose the newest binding by design, so wait until it is stored.
stored() {
	[ "$(sqlite3 "$IT_TMP/st/portcullis.db" \
		"SELECT count(*) FROM location WHERE aor = 'alice@localhost'")" = 1 ]
}
tap "alice's binding is written behind to SQLite" wait_until 5 stored

# --- kill -9 of each child ---
restarted() {
	local name=$1 old=$2 pid st
	pid=$(child_field "$name" pid)
	st=$(child_field "$name" state)
	[ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$old" ] &&
		[ "$st" = running ] && status_ok
}
kill_child() {
	local name=$1 old
	old=$(child_field "$name" pid)
	[ -n "$old" ] && [ "$old" != 0 ] || { echo "no pid for $name"; return 1; }
	kill -9 "$old"
	wait_until 20 restarted "$name" "$old" || { pcctl status; return 1; }
	child_field "$name" last_exit | grep -q "signal 9"
}
for child in core edge relay; do
	tap "kill -9 $child: restarted, cause recorded" kill_child "$child"
	tap "after $child restart: registrations intact" wait_until 10 registered
	tap "after $child restart: REGISTER works again" wait_until 20 sipp_register
done
restarts_counted() {
	pcctl --json stats | python3 -c '
import json, sys
r = json.load(sys.stdin)["result"]
assert r["portcullisd"]["child_restarts"] == 3, r["portcullisd"]
for n in ("edge", "core", "relay"):
    assert r["processes"][n]["restarts"] == 1 and r["processes"][n]["up"], r["processes"]'
}
tap "stats count the restarts" restarts_counted
tap "stats --prometheus" sh -c "'$PCCTL_BIN' --socket '$sock' stats --prometheus | grep -q '^portcullis_up{process=\"core\"} 1'"

# --- malformed management requests ---
malformed() {
	python3 - "$sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
bad = [b"not json", b"[]", b'{"cmd":5}', b'{"cmd":"no.such"}',
       b'{"cmd":"status","args":[1]}', b'\xff\xfe\x00{', b'{"cmd":"status","x":1}',
       b'{"cmd":"users.add","args":{"user":"x"}}', b'{"cmd":"bans.add","args":{"addr":[]}}',
       b'{' * 5000]
for line in bad:
    f.write(line + b"\n"); f.flush()
    r = json.loads(f.readline())
    assert r["ok"] is False and r["error"]["code"] and r["error"]["message"], (line, r)
f.write(b'{"cmd":"status"}\n'); f.flush()
r = json.loads(f.readline())
assert "processes" in r["result"], r
# An over-long request: an error, then the server closes that client.
s2 = socket.socket(socket.AF_UNIX); s2.connect(sys.argv[1])
s2.sendall(b'{"cmd":"' + b"a" * 200000)
r = json.loads(s2.makefile("rb").readline())
assert r["error"]["code"] == "request_too_large", r
PY
}
tap "malformed requests get JSON errors" malformed
tap "the socket keeps serving" status_ok

# --- shutdown ---
clean_stop() {
	local pid
	pid=$(child_field portcullisd pid)
	[ -n "$pid" ] || { echo "no portcullisd pid"; return 1; }
	kill -TERM "$pid"
	wait_until 20 test -s "$IT_TMP/pd.rc" || { echo "still running"; return 1; }
	[ "$(cat "$IT_TMP/pd.rc")" = 0 ] || { echo "exit $(cat "$IT_TMP/pd.rc")"; return 1; }
	wait_until 5 sh -c "! ip netns pids '$(ns pc)' | grep -q ."
}
tap "SIGTERM stops everything cleanly" clean_stop

if [ "$IT_FAILED" != 0 ]; then
	echo "# portcullisd log:"
	tail -40 "$IT_TMP/portcullisd.log" | sed 's/^/# /'
fi
it_end
