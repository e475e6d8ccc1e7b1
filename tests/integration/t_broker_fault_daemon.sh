#!/bin/sh
# t_broker_fault_daemon.sh: kill -9 of provostd itself with 20 live
# sessions.  The orphaned session processes do not relay unsupervised:
# each tells its engineer, seals its recording and exits (its row stays
# open: only the monitor writes the store).  After a
# restart: no session row open, every recording verifies (or is reported
# incomplete, never corrupt), the store passes integrity_check and the
# audit chain verifies.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
[ -n "$SQLITE3" ] && [ -x "$SQLITE3" ] || pv_skip "sqlite3 not found"
REPLAY="$top_builddir/provost-replay"
sql() { "$SQLITE3" -cmd '.timeout 5000' "$STATE/provost.db" "$1"; }
N=20

# 20 logins from one address at once: above the default per-source
# start-up limit, which is not what this test is about.
# One BrokerName across the restart on another port: the next start
# aborts the rows its crashed self left open (provost.conf(5)).
LIMITS="MaxStartups 40:30:60
PerSourceMaxStartups 40
BrokerName fault"
start_provostd "$LIMITS"
L="alice+$ME@db01"
# The TOTP code once; MFAGrace lets the same key in without it after.
pvssh "$L" true </dev/null || pv_fail "first login"

i=1
while [ $i -le $N ]; do
	pvssh "$L" "echo up $i; while seq 1 2000; do sleep 0.2; done" \
	    </dev/null >"$PV_TMP/s$i.out" 2>"$PV_TMP/s$i.err" &
	echo $! >> "$PV_TMP/ssh.pids"
	i=$((i + 1))
done
i=1
while [ $i -le $N ]; do
	pv_wait_log "$PV_TMP/s$i.out" "^up $i\$" 60 ||
	    pv_fail "session $i did not start: $(cat "$PV_TMP/s$i.err")"
	i=$((i + 1))
done
sleep 1.5
n=$(sql "select count(*) from sessions where state = 'open'")
[ "$n" -eq $N ] || pv_fail "$n open session rows, want $N"
kids=$(pgrep -P "$PVD_PID")
[ "$(echo "$kids" | wc -w)" -eq $N ] || pv_fail "session processes: $kids"

t0=$(date +%s%N)
kill -9 "$PVD_PID"
# Every engineer is told, and every ssh ends with a failure status.
for p in $(cat "$PV_TMP/ssh.pids"); do
	wait "$p" && pv_fail "an engineer's ssh exited 0"
done
t1=$(date +%s%N)
i=1
while [ $i -le $N ]; do
	grep -q "provost: session ended: provostd stopped; no session runs unsupervised" \
	    "$PV_TMP/s$i.err" || pv_fail "session $i: $(cat "$PV_TMP/s$i.err")"
	i=$((i + 1))
done
# No session process goes on alone.
n=0
for p in $kids; do
	while kill -0 "$p" 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 100 ] || pv_fail "session process $p still runs"
		sleep 0.1
	done
done
end_ms=$(( (t1 - t0) / 1000000 ))

# Their rows stay open: only the monitor writes the store, and it is gone.
# The next start marks them aborted.
n=$(sql "select count(*) from sessions where state = 'open'")
[ "$n" -eq $N ] || pv_fail "$n rows open after the kill, want $N"
start_provostd "$LIMITS"
grep -q "$N session(s) left open by a crash marked aborted" "$PVD_LOG" ||
    pv_fail "recovery not logged"
n=$(sql "select count(*) from sessions where state = 'open'")
[ "$n" -eq 0 ] || pv_fail "$n rows still open after the restart"

sealed=0
for rec in $(sql "select recording_path from sessions where account = '$ME'
    and recording_path is not null"); do
	if "$REPLAY" verify --key "$PV_TMP/sec.pem" "$rec" >"$PV_TMP/v.txt" 2>&1; then
		sealed=$((sealed + 1))
	else
		grep -q 'FAILED: incomplete' "$PV_TMP/v.txt" ||
		    pv_fail "recording $rec: $(cat "$PV_TMP/v.txt")"
	fi
done
# Sealed by the session processes themselves (and the first login's).
[ $sealed -eq $((N + 1)) ] || pv_fail "$sealed recordings sealed, want $((N + 1))"
[ "$(sql 'pragma integrity_check')" = ok ] || pv_fail "store integrity"
pvctl audit verify >"$PV_TMP/av.txt" 2>&1 || pv_fail "audit verify: $(cat "$PV_TMP/av.txt")"

out=$(pvssh "$L" 'echo after' </dev/null 2>&1) || pv_fail "after the restart: $out"
[ "$out" = after ] || pv_fail "after the restart: $out"
pv_log "$N orphaned sessions ended and sealed; the last ssh exited $end_ms ms after kill -9"
exit 0
