#!/bin/sh
# t_broker_lease.sh: two provostd (bastion-a, bastion-b) on one SQLite
# store; t_broker_lease_pg.sh runs it with PV_LEASE_PG=1 on one throwaway
# PostgreSQL store instead (its rows read with psql).  A second provostd
# under a name in use is refused; a session through A is killed with
# provostctl against B's configuration (a kill pending in the store, ended
# by A within a second, audited with who asked); after kill -9 of A, B
# leaves A's live session open until A's lease has expired and then marks
# it aborted (audited, naming A, the recording incomplete); A started
# again under its name takes its lease over and first aborts its own stale
# row; an A that cannot renew its lease ends its own sessions once it has
# expired.
. "$top_srcdir/tests/integration/lib.sh"
if [ "${PV_LEASE_PG:-0}" = 1 ]; then
	. "$top_srcdir/tests/integration/pg-cluster.sh"
	PSQL=${PSQL:-$PG_BINDIR/psql}
	[ -x "$PSQL" ] || PSQL=$(command -v psql || :)
	[ -n "$PSQL" ] || pv_skip "psql not found (apt-get install postgresql-client-15)"
	pv_pg_test_store
	q() { "$PSQL" -X -q -tA -v ON_ERROR_STOP=1 "$PV_PG_URI" -c "$1"; }
else
	SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
	[ -n "$SQLITE3" ] || pv_skip "sqlite3 not found"
	q() { "$SQLITE3" -cmd '.timeout 5000' "$STATE/provost.db" "$1"; }
fi
. "$top_srcdir/tests/integration/broker-setup.sh"
REPLAY=$top_builddir/provost-replay
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

mkdir -m 0700 "$PV_TMP/run"
LEASE=6
start_provostd "BrokerName bastion-b
BrokerLease ${LEASE}s
ControlSocket $PV_TMP/run/b.sock"
cp "$CONF" "$PV_TMP/b.conf"
B_LOG=$PVD_LOG
B_PID=$PVD_PID
start_a() {
	start_provostd "BrokerName bastion-a
BrokerLease ${LEASE}s
ControlSocket $PV_TMP/run/a.sock"
	cp "$CONF" "$PV_TMP/a.conf"
	A_PORT=$PVD_PORT
	A_PID=$PVD_PID
	A_LOG=$PVD_LOG
}
start_a
pv_wait_log "$A_LOG" "BrokerName bastion-a: lease taken" 5 || pv_fail "A: no lease line"
pvb() { "$PROVOSTCTL" -f "$PV_TMP/b.conf" "$@"; }

# The default name is the host's and the port's; -T shows it.
"$PROVOSTD" -T -f "$PV_TMP/a.conf" 2>/dev/null | grep -qx 'brokername bastion-a' ||
    pv_fail "-T does not show BrokerName"
sed -e '/^BrokerName/d' -e 's/^ListenAddress .*/ListenAddress 127.0.0.1:2299/' \
    "$PV_TMP/a.conf" > "$PV_TMP/def.conf"
"$PROVOSTD" -T -f "$PV_TMP/def.conf" 2>/dev/null |
    grep -qx "brokername $(hostname | tr 'A-Z' 'a-z' | tr -c 'a-z0-9._\n-' '-')-2299" ||
    pv_fail "default BrokerName: $("$PROVOSTD" -T -f "$PV_TMP/def.conf" 2>&1 | grep brokername)"
printf 'BrokerName Bastion_A!\n' > "$PV_TMP/bad.conf"
"$PROVOSTD" -t -f "$PV_TMP/bad.conf" 2>"$PV_TMP/bad.err" && pv_fail "a bad BrokerName was taken"
grep -q "bad.conf:1: BrokerName: 1-64 of a-z" "$PV_TMP/bad.err" || pv_fail "bad name: $(cat "$PV_TMP/bad.err")"

# A third provostd under A's name while A runs: refused, A's lease kept.
p3=$(pv_free_port)
sed -e "s/^ListenAddress .*/ListenAddress 127.0.0.1:$p3/" \
    -e "s#^ControlSocket .*#ControlSocket $PV_TMP/run/dup.sock#" "$PV_TMP/a.conf" > "$PV_TMP/dup.conf"
"$PROVOSTD" -D -f "$PV_TMP/dup.conf" > "$PV_TMP/dup.log" 2>&1 &
dp=$!
pv_track $dp
i=0
while kill -0 $dp 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $dp 2>/dev/null && pv_fail "a second provostd named bastion-a runs"
grep -q "BrokerName bastion-a: broker bastion-a: the name is held by provostd $A_PID on" "$PV_TMP/dup.log" ||
    pv_fail "duplicate name: $(cat "$PV_TMP/dup.log")"
[ "$(q "SELECT pid FROM broker_leases WHERE name = 'bastion-a'")" = "$A_PID" ] ||
    pv_fail "A's lease changed hands"

# live_a TAG: a session of alice through A; sets SP (its ssh) and SID.
live_a() {
	: > "$PV_TMP/$1.out"
	PVD_PORT=$A_PORT pvssh "alice+$ME@db01" "echo $1-up; sleep 600" </dev/null \
	    >"$PV_TMP/$1.out" 2>"$PV_TMP/$1.err" &
	SP=$!
	pv_track $SP
	pv_wait_log "$PV_TMP/$1.out" "$1-up" 15 || pv_fail "$1: no session: $(cat "$PV_TMP/$1.err")"
	SID=$(sed -n 's/.*session \([0-9a-f-]*\): recording to .*/\1/p' "$A_LOG" | tail -1)
	[ -n "$SID" ] || pv_fail "$1: no session id"
	[ "$(q "SELECT broker || ' ' || state FROM sessions WHERE id = '$SID'")" = "bastion-a open" ] ||
	    pv_fail "$1: row $(q "SELECT broker, state FROM sessions WHERE id = '$SID'")"
}

# 1. Killed from B: B has no such live session, so the kill waits in the
# store; A's monitor reads it with the revocations and ends the session.
live_a k1
t0=$(date +%s%N)
pvb session kill "$SID" --reason "ticket 42" > "$PV_TMP/kill.out" 2>&1 ||
    pv_fail "kill through B: $(cat "$PV_TMP/kill.out")"
wait $SP
t1=$(date +%s%N)
kill_ms=$(( (t1 - t0) / 1000000 ))
pv_log "kill of A's session through B: ssh ended ${kill_ms} ms after the request"
[ $kill_ms -lt 2000 ] || pv_fail "the pending kill took $kill_ms ms"
grep -q "session $SID killed (by broker bastion-a)" "$PV_TMP/kill.out" ||
    pv_fail "kill output: $(cat "$PV_TMP/kill.out")"
grep -q "provost: access revoked (session.kill session:$SID): ticket 42; asked by admin:$ME" \
    "$PV_TMP/k1.err" || pv_fail "engineer's message: $(cat "$PV_TMP/k1.err")"
[ "$(q "SELECT requested_by || ' ' || CASE WHEN done_at IS NULL THEN 0 ELSE 1 END FROM session_kills WHERE session_id = '$SID'")" = "admin:$ME 1" ] ||
    pv_fail "pending kill row: $(q "SELECT * FROM session_kills")"
[ "$(q "SELECT state FROM sessions WHERE id = '$SID'")" != open ] || pv_fail "k1 row still open"
[ "$(q "SELECT count(*) FROM audit WHERE action = 'session.kill' AND object = 'session:$SID' AND actor = 'admin:$ME' AND details LIKE '%ticket 42%' AND details LIKE '%bastion-a%'")" = 1 ] ||
    pv_fail "session.kill not audited with who asked"
[ "$(q "SELECT count(*) FROM audit WHERE action = 'session.revoked' AND object = 'session:$SID' AND details LIKE '%asked by admin:$ME%'")" = 1 ] ||
    pv_fail "the end not audited: $(q "SELECT action, details FROM audit WHERE object = 'session:$SID'")"
pvb session kill "$SID" 2>"$PV_TMP/kill2.err" && pv_fail "killed an ended session"
grep -q "no such live session" "$PV_TMP/kill2.err" || pv_fail "kill2: $(cat "$PV_TMP/kill2.err")"

# 2. kill -9 of A with a live session: open until A's lease has expired,
# aborted by B after it.
live_a k2
REC=$(q "SELECT recording_path FROM sessions WHERE id = '$SID'")
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null
exp=$(q "SELECT expires_ms FROM broker_leases WHERE name = 'bastion-a'")
[ -n "$exp" ] || pv_fail "no lease of A"
pv_log "A killed at $(now_ms), its lease expires at $exp"
seen_open=0
while [ "$(now_ms)" -lt $((exp - 300)) ]; do
	st=$(q "SELECT state FROM sessions WHERE id = '$SID'")
	[ "$st" = open ] || pv_fail "A's session $st at $(now_ms), before A's lease expired at $exp"
	seen_open=1
	sleep 0.2
done
[ $seen_open = 1 ] || pv_fail "the lease had expired before it was looked at"
pv_log "A's session still open at $(now_ms), 300 ms before expiry"
i=0
while [ "$(q "SELECT state FROM sessions WHERE id = '$SID'")" = open ] && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
t_ab=$(now_ms)
[ "$(q "SELECT state FROM sessions WHERE id = '$SID'")" = aborted ] || pv_fail "A's session not aborted after its lease"
pv_log "aborted by B $((t_ab - exp)) ms after A's lease expired"
[ $((t_ab - exp)) -lt 3000 ] || pv_fail "aborted $((t_ab - exp)) ms after expiry"
q "SELECT end_reason FROM sessions WHERE id = '$SID'" | grep -q "broker bastion-a lost its lease" ||
    pv_fail "end reason: $(q "SELECT end_reason FROM sessions WHERE id = '$SID'")"
row=$(q "SELECT actor || ' ' || details FROM audit WHERE action = 'session.aborted' AND object = 'session:$SID'")
echo "$row" | grep -q '^broker:bastion-b .*"broker":"bastion-a"' || pv_fail "session.aborted: $row"
echo "$row" | grep -q '"recording_state":"incomplete"' || pv_fail "recording state: $row"
echo "$row" | grep -q "\"recording\":\"$REC\"" || pv_fail "recording path: $row"
pvb session show "$SID" --json > "$PV_TMP/show.json" || pv_fail "session show"
grep -q '"state": *"aborted"' "$PV_TMP/show.json" && grep -q '"broker": *"bastion-a"' "$PV_TMP/show.json" ||
    pv_fail "session show: $(cat "$PV_TMP/show.json")"
grep -q "marked aborted" "$B_LOG" || pv_fail "B did not log it"
# The recording A left: its session process saw the monitor gone and
# sealed it (or not, if it died first); either way the chain holds no end
# hash of it, and provostctl session verify says it is incomplete.
[ -f "$REC" ] || pv_fail "no recording $REC"
"$REPLAY" verify --key "$PV_TMP/sec.pem" "$REC" > "$PV_TMP/v.txt" 2>&1
pv_log "provost-replay verify of A's recording: $(cat "$PV_TMP/v.txt")"
pvb session verify "$SID" > "$PV_TMP/sv.txt" 2>&1 && pv_fail "session verify passed an aborted session: $(cat "$PV_TMP/sv.txt")"
grep -q "FAILED: incomplete: session $SID was marked aborted after its broker bastion-a lost its lease" "$PV_TMP/sv.txt" ||
    pv_fail "session verify: $(cat "$PV_TMP/sv.txt")"

# 3. A again, under its name: its last process is gone, so it takes the
# lease over at once (before expiry) and aborts its own stale row itself.
start_a
live_a k3
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null
start_a
grep -q "BrokerName bastion-a: its last provostd (pid [0-9]*) is gone; taking its lease over" "$A_LOG" ||
    pv_fail "takeover not logged: $(head -5 "$A_LOG")"
[ "$(q "SELECT state FROM sessions WHERE id = '$SID'")" = aborted ] || pv_fail "A's own stale row not aborted"
q "SELECT end_reason FROM sessions WHERE id = '$SID'" | grep -q "broker restarted" ||
    pv_fail "stale row reason: $(q "SELECT end_reason FROM sessions WHERE id = '$SID'")"
[ "$(q "SELECT count(*) FROM audit WHERE action = 'session.aborted' AND object = 'session:$SID'")" = 0 ] ||
    pv_fail "B aborted a row of a broker whose lease was held"
[ "$(q "SELECT count(*) FROM audit WHERE action = 'broker.lease' AND object = 'broker:bastion-a' AND details LIKE '%\"taken_over\":true%'")" -ge 1 ] ||
    pv_fail "takeover not audited"
# A runs again and renews: B aborts nothing of it from now on.
live_a k4
sleep $((LEASE + 2))
[ "$(q "SELECT state FROM sessions WHERE id = '$SID'")" = open ] || pv_fail "a renewed lease's session was aborted"
# 4. A can no longer renew (its lease taken from under it, as a store it
# cannot reach would do): once its lease has expired, A ends its own
# sessions (fail closed), since B now marks their rows aborted.
q "UPDATE broker_leases SET holder = 'stolen' WHERE name = 'bastion-a'"
exp=$(q "SELECT expires_ms FROM broker_leases WHERE name = 'bastion-a'")
while kill -0 $SP 2>/dev/null && [ "$(now_ms)" -lt $((exp + 5000)) ]; do sleep 0.05; done
t_end=$(now_ms)
kill -0 $SP 2>/dev/null && pv_fail "A's session outlived its lease by 5 s"
pv_log "A could not renew: its session ended $((t_end - exp)) ms after its lease expired"
[ $t_end -ge $((exp - 200)) ] || pv_fail "A's session ended $((exp - t_end)) ms before its lease expired"
[ $((t_end - exp)) -lt 3000 ] || pv_fail "A's session outlived its lease by $((t_end - exp)) ms"
grep -q "session ended: broker bastion-a could not renew its lease in the store" "$PV_TMP/k4.err" ||
    pv_fail "lease-lost message: $(cat "$PV_TMP/k4.err")"
grep -q "BrokerName bastion-a: the lease could not be renewed" "$A_LOG" || pv_fail "renewal failure not logged"
[ "$(q "SELECT state FROM sessions WHERE id = '$SID'")" != open ] || pv_fail "k4 row still open"
"$PROVOSTCTL" -f "$PV_TMP/a.conf" audit verify > /dev/null 2>&1 || pv_fail "audit verify"
pv_log "ok"
