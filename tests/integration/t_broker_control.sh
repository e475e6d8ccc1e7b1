#!/bin/sh
# t_broker_control.sh: provostd's control socket with real ssh sessions:
# list and show a live session, kill it (reason shown, audited with the
# admin), peers other than root refused, 0600, malformed requests, and
# the time from provostctl revoke to the engineer's ssh exiting.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
PYTHON3=${PYTHON3:-$(command -v python3 || :)}
[ -n "$PYTHON3" ] || pv_skip "python3 not found"

mkdir -m 0700 "$PV_TMP/run"
SOCK="$PV_TMP/run/control.sock"
start_provostd "ControlSocket $SOCK"
[ -S "$SOCK" ] || pv_fail "no control socket at $SOCK"
[ "$(stat -c %a "$SOCK")" = 600 ] || pv_fail "socket mode $(stat -c %a "$SOCK")"

# raw REQUEST-LINE: one request on the socket as the current user.
cat > "$PV_TMP/raw.py" <<'EOP'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
sys.stdout.write(out.decode())
EOP
raw() { "$PYTHON3" "$PV_TMP/raw.py" "$SOCK" "$1"; }
# jcheck FILE EXPR: FILE is one JSON document j for which EXPR holds.
jcheck() {
	"$PYTHON3" -c 'import json, sys
j = json.load(open(sys.argv[1]))
assert eval("(" + sys.argv[2] + ")"), j' "$1" "$2" 2>&1
}
out=$(raw 'not json') || pv_fail "raw request"
echo "$out" | grep -q '"error":"malformed request' || pv_fail "malformed: $out"
out=$(raw '{"cmd":"frobnicate"}')
echo "$out" | grep -q '"error":"unknown command frobnicate"' || pv_fail "unknown: $out"
out=$(raw "$(head -c 6000 /dev/zero | tr '\0' a)")
echo "$out" | grep -q '"error":"request too long"' || pv_fail "long: $out"
out=$(raw '{"cmd":"kill","id":"00000000-0000"}')
echo "$out" | grep -q 'no such live session' || pv_fail "kill unknown: $out"

# A live session: list and show it with engineer, target, account, bytes.
pvssh "alice+$ME@db01" 'echo live; head -c 5000 /dev/zero | tr "\0" x; echo; sleep 30' \
    </dev/null >"$PV_TMP/s1.out" 2>"$PV_TMP/s1.err" &
sp=$!
pv_wait_log "$PV_TMP/s1.out" live 10 || pv_fail "session did not start: $(cat "$PV_TMP/s1.err")"
sleep 1.2
pvctl session list --json > "$PV_TMP/list.json" || pv_fail "session list --json"
grep -q '"engineer": "alice"' "$PV_TMP/list.json" || pv_fail "list: $(cat "$PV_TMP/list.json")"
grep -q '"target": "db01"' "$PV_TMP/list.json" || pv_fail "list target"
grep -q "\"account\": \"$ME\"" "$PV_TMP/list.json" || pv_fail "list account"
grep -q '"source": "provostd"' "$PV_TMP/list.json" || pv_fail "list source"
# provostctl(8): the one list printed as an object, with exactly these keys.
out=$(jcheck "$PV_TMP/list.json" 'sorted(j) == ["sessions", "source", "store_stale", "unauthenticated"]
    and isinstance(j["sessions"], list) and len(j["sessions"]) == 1
    and j["unauthenticated"] == 0 and j["store_stale"] is False') ||
    pv_fail "list --json shape: $out"
bout=$(sed -n 's/.*"bytes_out": \([0-9]*\).*/\1/p' "$PV_TMP/list.json")
[ -n "$bout" ] && [ "$bout" -ge 5001 ] && [ "$bout" -lt 6000 ] ||
    pv_fail "bytes_out $bout (5006 expected)"
id=$(sed -n 's/.*"id": "\([0-9a-f-]*\)".*/\1/p' "$PV_TMP/list.json")
[ -n "$id" ] || pv_fail "no id"
out=$(pvctl session list) || pv_fail "session list"
echo "$out" | grep -q "^$id  alice .*$ME@db01 .*pid " || pv_fail "list text: $out"
pvctl session show "$(echo "$id" | cut -c1-8)" --json > "$PV_TMP/show.json" ||
    pv_fail "session show by prefix"
grep -q "\"id\": \"$id\"" "$PV_TMP/show.json" || pv_fail "show: $(cat "$PV_TMP/show.json")"
out=$(jcheck "$PV_TMP/show.json" 'j["source"] == "provostd" and j["engineer"] == "alice"') ||
    pv_fail "show --json shape: $out"

# Connections not yet authenticated are counted beside the sessions: two
# held open after provostd's version line, then dropped.
cat > "$PV_TMP/hold.py" <<'EOP'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print(s.recv(256).decode(errors="replace").strip(), flush=True)
time.sleep(60)
EOP
unauth() { pvctl session list --json | sed -n 's/.*"unauthenticated": \([0-9]*\).*/\1/p'; }
out=$(pvctl session list) || pv_fail "session list"
echo "$out" | grep -q '^(0 connections not yet authenticated)$' || pv_fail "no count of 0: $out"
[ "$(unauth)" = 0 ] || pv_fail "unauthenticated before: $(unauth)"
hp=""
for i in 1 2; do
	"$PYTHON3" "$PV_TMP/hold.py" "$PVD_PORT" >"$PV_TMP/hold$i.out" 2>&1 &
	hp="$hp $!"
	pv_track $!
	pv_wait_log "$PV_TMP/hold$i.out" '^SSH-2.0' 10 || pv_fail "hold $i: $(cat "$PV_TMP/hold$i.out")"
done
out=$(pvctl session list) || pv_fail "session list with two held"
echo "$out" | grep -q '^(2 connections not yet authenticated)$' || pv_fail "held: $out"
echo "$out" | grep -q "^$id  alice " || pv_fail "the live session is gone from the list: $out"
[ "$(unauth)" = 2 ] || pv_fail "unauthenticated with two held: $(unauth)"
kill $hp
i=0
while [ "$(unauth)" != 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(unauth)" = 0 ] || pv_fail "unauthenticated after the drop: $(unauth)"

# Only root or provostd's own user may talk to it: nobody is refused by
# the socket's mode, and, with the mode opened up, by SO_PEERCRED.
# (A python3 that nobody may run: pyenv shims under /root are not.)
NPY=/usr/bin/python3
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ -x "$NPY" ] &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$NPY" -c pass 2>/dev/null; then
	chmod 0711 "$PV_TMP" "$PV_TMP/run"
	np() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$NPY" \
	    "$PV_TMP/raw.py" "$SOCK" '{"cmd":"list"}' 2>&1; }
	chmod 0644 "$PV_TMP/raw.py"
	out=$(np) && pv_fail "nobody connected to a 0600 socket: $out"
	echo "$out" | grep -q 'PermissionError' || pv_fail "nobody: $out"
	chmod 0666 "$SOCK"
	out=$(np)
	chmod 0600 "$SOCK"
	chmod 0700 "$PV_TMP" "$PV_TMP/run"
	echo "$out" | grep -q '"error":"permission denied"' || pv_fail "peercred: $out"
	echo "$out" | grep -q alice && pv_fail "nobody saw the sessions: $out"
	grep -q 'control socket: refused pid [0-9]* uid 65534' "$PVD_LOG" ||
	    pv_fail "refusal not logged"
else
	pv_log "not root, no setpriv or no system python3: peer credentials not exercised"
fi

# Kill: the engineer reads the reason, ssh exits within a second, and
# the audit names the admin.
t0=$(date +%s%N)
pvctl session kill "$id" --reason "policy breach" --json > "$PV_TMP/kill.out" ||
    pv_fail "session kill: $(cat "$PV_TMP/kill.out")"
wait $sp
t1=$(date +%s%N)
kill_ms=$(( (t1 - t0) / 1000000 ))
grep -q "provost: session killed by the security team: policy breach" "$PV_TMP/s1.err" ||
    pv_fail "kill message: $(cat "$PV_TMP/s1.err")"
[ $kill_ms -lt 1000 ] || pv_fail "kill took $kill_ms ms"
out=$(jcheck "$PV_TMP/kill.out" "sorted(j) == ['killed', 'pid'] and j['killed'] == '$id'") ||
    pv_fail "kill --json shape: $out"
pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"
grep '"session.kill"' "$PV_TMP/audit.jsonl" | grep -q "admin=admin:$ME" ||
    pv_fail "kill not audited with the admin"
# Under sudo, the person is recorded beside the peer's user.
if [ "$(id -u)" = 0 ]; then
	pvssh "alice+$ME@db01" 'echo live3; sleep 30' </dev/null >"$PV_TMP/s3.out" 2>"$PV_TMP/s3.err" &
	sp=$!
	pv_wait_log "$PV_TMP/s3.out" live3 10 || pv_fail "third session did not start"
	sleep 0.5
	id3=$(pvctl session list --json | sed -n 's/.*"id": "\([0-9a-f-]*\)".*/\1/p')
	SUDO_USER=nobody pvctl session kill "$id3" --reason sudo >/dev/null || pv_fail "kill as sudo"
	wait $sp
	pvctl audit export --format jsonl | grep '"session.kill"' |
	    grep -q 'admin=admin:nobody(via admin:root)' || pv_fail "sudo admin not audited"
fi
pvctl session kill "$id" 2>"$PV_TMP/kill2.err" && pv_fail "killed a dead session"
grep -q 'no such live session' "$PV_TMP/kill2.err" || pv_fail "kill2: $(cat "$PV_TMP/kill2.err")"
out=$(pvctl session show "$id") || pv_fail "show of an ended session"
echo "$out" | grep -q "ended: session killed by the security team: policy breach" ||
    pv_fail "ended row: $out"
pvctl session show "$id" --json > "$PV_TMP/ended.json" || pv_fail "show --json of an ended session"
out=$(jcheck "$PV_TMP/ended.json" 'j["source"] == "store" and "policy breach" in j["end_reason"]') ||
    pv_fail "ended row --json: $out"

# stopped_session TAG: a live session of alice, then its session process
# stopped (SIGSTOP), so it can neither end nor check anything by itself.
# Sets sp (its ssh), sid and kp (the session process).
stopped_session() {
	pvssh "alice+$ME@db01" "echo live$1; sleep 60" </dev/null >"$PV_TMP/s$1.out" 2>"$PV_TMP/s$1.err" &
	sp=$!
	pv_wait_log "$PV_TMP/s$1.out" "live$1" 10 || pv_fail "session $1 did not start"
	sleep 0.5
	js=$(pvctl session list --json)
	sid=$(echo "$js" | sed -n 's/.*"id": "\([0-9a-f-]*\)".*/\1/p')
	kp=$(echo "$js" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
	[ -n "$sid" ] && [ -n "$kp" ] && kill -0 "$kp" || pv_fail "the live session: $js"
	kill -STOP "$kp"
	t0=$(date +%s%N)
}
# killed_after: waits (30 s at most) for the stopped session process to be
# gone, which must take the 10 s grace, then for its ssh; sets gone_ms
# (since t0) and checks provostd's kill line.
killed_after() {
	tries=0
	while kill -0 "$kp" 2>/dev/null; do
		tries=$((tries + 1))
		[ $tries -lt 150 ] || { kill -KILL "$kp"; pv_fail "the stopped session process is still there after 30 s"; }
		sleep 0.2
	done
	gone_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	wait $sp
	[ $gone_ms -ge 9000 ] && [ $gone_ms -lt 30000 ] || pv_fail "the stopped session ended after $gone_ms ms"
	grep -q "session $sid: still running 10 s after it was told to end: killed" "$PVD_LOG" ||
	    pv_fail "no kill line: $(tail -5 "$PVD_LOG")"
}

# A session process that does not end when killed (here it is stopped) is
# killed once the grace (10 s) has passed, and its row says so.
stopped_session 4
pvctl session kill "$sid" --reason hung >/dev/null || pv_fail "kill of a stopped session"
killed_after
hung_ms=$gone_ms
out=$(pvctl session show "$sid") || pv_fail "show of the killed session"
echo "$out" | grep -q "killed by signal 9" || pv_fail "killed row: $out"

# Revocation: from provostctl revoke to the engineer's ssh exiting.
ENG_KEY="$PV_TMP/bob" TOTP_OF=bob pvssh "bob+$ME@db01" 'echo live; sleep 30' \
    </dev/null >"$PV_TMP/s2.out" 2>"$PV_TMP/s2.err" &
sp=$!
pv_wait_log "$PV_TMP/s2.out" live 10 || pv_fail "bob's session did not start"
t0=$(date +%s%N)
pvctl revoke engineer bob --reason "left the company" >/dev/null || pv_fail "revoke engineer"
wait $sp
t1=$(date +%s%N)
rev_ms=$(( (t1 - t0) / 1000000 ))
grep -q "provost: access revoked (engineer.revoke engineer:bob): left the company" "$PV_TMP/s2.err" ||
    pv_fail "revocation message: $(cat "$PV_TMP/s2.err")"
[ $rev_ms -lt 1000 ] || pv_fail "revoke to close took $rev_ms ms"
# A revocation this daemon is not told of (written to the store by another
# broker, or by a provostctl that cannot reach the control socket) is
# found by the monitor's own once-a-second scan: the session process does
# not ask (it no longer polls), and the session still ends within about
# a second, with the reason.
pv_keygen "$PV_TMP/carol"
pvctl engineer add carol --provider acme >/dev/null || pv_fail "engineer add carol"
pvctl engineer key add carol "$PV_TMP/carol.pub" >/dev/null || pv_fail "key add carol"
pvctl engineer totp carol 2>/dev/null | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' >"$PV_TMP/carol.totp"
sed "s|^ControlSocket .*|ControlSocket $PV_TMP/run/elsewhere.sock|" "$CONF" >"$PV_TMP/other.conf"
ENG_KEY="$PV_TMP/carol" TOTP_OF=carol pvssh "carol+$ME@db01" 'echo live; sleep 30' \
    </dev/null >"$PV_TMP/s6.out" 2>"$PV_TMP/s6.err" &
sp=$!
pv_wait_log "$PV_TMP/s6.out" live 10 || pv_fail "carol's session did not start"
sleep 1.2
t0=$(date +%s%N)
"$PROVOSTCTL" -f "$PV_TMP/other.conf" revoke engineer carol --reason "told elsewhere" \
    >/dev/null 2>"$PV_TMP/other.err" || pv_fail "revoke carol: $(cat "$PV_TMP/other.err")"
wait $sp
t1=$(date +%s%N)
scan_ms=$(( (t1 - t0) / 1000000 ))
grep -q "provost: access revoked (engineer.revoke engineer:carol): told elsewhere" "$PV_TMP/s6.err" ||
    pv_fail "unnudged revocation message: $(cat "$PV_TMP/s6.err")"
[ $scan_ms -lt 1600 ] || pv_fail "an unnudged revoke took $scan_ms ms"
grep -q "session.revoked" "$PVD_LOG" || pv_fail "the scan's end is not in the log"

# The monitor enforces revocation itself: a session process that does not
# check (here it is stopped) is told to end by the monitor's own scan,
# audited as session.revoked, and killed when the grace has passed.
stopped_session 5
pvctl revoke engineer alice --reason "contract ended" >/dev/null || pv_fail "revoke alice"
killed_after
rhung_ms=$gone_ms
pvctl audit export --format jsonl | grep '"session.revoked"' | grep -q "$sid" ||
    pv_fail "the monitor's revocation is not audited"

# Each signed checkpoint of the audit chain is published in provostd's
# log (an anchor for off the host), whoever made it: here provostctl.
pvctl audit checkpoint >/dev/null || pv_fail "audit checkpoint"
last=$(pvctl audit anchors export | tail -n 1)
[ -n "$last" ] || pv_fail "no anchor to export"
pv_wait_log "$PVD_LOG" "audit anchor: $last" 5 || pv_fail "the anchor was not published: $last"
grep 'audit anchor: ' "$PVD_LOG" | sed 's/.*audit anchor: //' >"$PV_TMP/anchors.log"
pvctl audit verify --anchors "$PVD_LOG" >"$PV_TMP/av.txt" || pv_fail "verify against the log: $(cat "$PV_TMP/av.txt")"
grep -q "$(wc -l <"$PV_TMP/anchors.log") anchors held" "$PV_TMP/av.txt" || pv_fail "anchors: $(cat "$PV_TMP/av.txt")"

# With provostd down: list falls back to the store and says so; kill fails.
kill "$PVD_PID"; wait "$PVD_PID" 2>/dev/null
[ ! -e "$SOCK" ] || pv_fail "control socket left behind"
pvctl session list >/dev/null 2>"$PV_TMP/down.err" || pv_fail "list without daemon"
grep -q "provostd is not running.*showing the store's open session rows" "$PV_TMP/down.err" ||
    pv_fail "fallback: $(cat "$PV_TMP/down.err")"
pvctl session list --json >"$PV_TMP/down.json" 2>/dev/null || pv_fail "list --json without daemon"
out=$(jcheck "$PV_TMP/down.json" 'sorted(j) == ["sessions", "source", "store_stale", "unauthenticated"]
    and j["source"] == "store" and isinstance(j["sessions"], list)
    and j["unauthenticated"] is None and j["store_stale"] is None') ||
    pv_fail "list --json from the store: $out"
pvctl session list --live >/dev/null 2>&1 && pv_fail "--live without a daemon"
pvctl session kill "$id" 2>"$PV_TMP/down.err" && pv_fail "kill without daemon"
grep -q "provostd is not running" "$PV_TMP/down.err" || pv_fail "kill: $(cat "$PV_TMP/down.err")"
# Something else in the socket's place: provostd refuses to start.
: > "$SOCK"
"$PROVOSTD" -D -f "$CONF" >"$PV_TMP/nostart.log" 2>&1 && pv_fail "started over a file"
grep -q "exists and is not a socket" "$PV_TMP/nostart.log" || pv_fail "$(cat "$PV_TMP/nostart.log")"

pv_log "kill ended the session in $kill_ms ms (a stopped one: killed after $hung_ms ms); revoke to ssh exit $rev_ms ms (a stopped one: killed after $rhung_ms ms); a revoke the daemon was not told of: $scan_ms ms"
exit 0
