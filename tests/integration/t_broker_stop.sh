#!/bin/sh
# t_broker_stop.sh: SIGTERM to provostd (systemctl stop) ends every live
# session the way a kill does: the engineer is told "provostd is stopping",
# the recording is sealed and the row ended (aborted, with the reason, as
# a kill leaves it); new connections are refused
# at once; a session process that does not end within the grace (here one
# stopped with SIGSTOP) is killed after it, its row marked aborted; then
# provostd exits 0 and the store and audit chain verify.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
[ -n "$SQLITE3" ] && [ -x "$SQLITE3" ] || pv_skip "sqlite3 not found"
REPLAY="$top_builddir/provost-replay"
sql() { "$SQLITE3" -cmd '.timeout 5000' "$STATE/provost.db" "$1"; }
N=4

start_provostd
L="alice+$ME@db01"
# The TOTP code once; MFAGrace lets the same key in without it after.
pvssh "$L" true </dev/null || pv_fail "first login"

# start_session I: a session printing a line every 0.2 s; waits for it.
start_session() {
	pvssh "$L" "echo up $1; while seq 1 2000; do sleep 0.2; done" \
	    </dev/null >"$PV_TMP/s$1.out" 2>"$PV_TMP/s$1.err" &
	echo $! >"$PV_TMP/ssh$1.pid"
	pv_wait_log "$PV_TMP/s$1.out" "^up $1\$" 60 ||
	    pv_fail "session $1 did not start: $(cat "$PV_TMP/s$1.err")"
}
i=1
while [ $i -le $N ]; do start_session $i; i=$((i + 1)); done
pgrep -P "$PVD_PID" | sort >"$PV_TMP/kids"
# One more, whose session process is stopped: it cannot end by itself.
start_session hung
hung=$(pgrep -P "$PVD_PID" | sort | comm -13 "$PV_TMP/kids" -)
[ "$(echo "$hung" | wc -w)" -eq 1 ] || pv_fail "the last session process: '$hung'"
sleep 1.5
kill -STOP "$hung"

t0=$(date +%s%N)
kill -TERM "$PVD_PID"
i=1
while [ $i -le $N ]; do
	wait "$(cat "$PV_TMP/ssh$i.pid")" && pv_fail "session $i: ssh exited 0"
	grep -q "provost: session ended: provostd is stopping" "$PV_TMP/s$i.err" ||
	    pv_fail "session $i: $(cat "$PV_TMP/s$i.err")"
	i=$((i + 1))
done
t1=$(date +%s%N)
# While it waits for the stopped one: no new connection is taken.
out=$(pvssh "$L" 'echo in' </dev/null 2>&1) && pv_fail "a new session during the stop: $out"
wait "$PVD_PID"
rc=$?
t2=$(date +%s%N)
kill -CONT "$hung" 2>/dev/null
[ $rc -eq 0 ] || pv_fail "provostd exited $rc on SIGTERM"
grep -q "terminating on signal 15: ending $((N + 1)) session(s)" "$PVD_LOG" ||
    pv_fail "no stop line: $(tail -5 "$PVD_LOG")"
grep -q "1 session process(es) did not end in time: killed" "$PVD_LOG" ||
    pv_fail "the stopped session process was not killed"
end_ms=$(( (t1 - t0) / 1000000 ))
stop_ms=$(( (t2 - t0) / 1000000 ))
[ $stop_ms -lt 20000 ] || pv_fail "provostd took $stop_ms ms to stop"

[ "$(sql "select count(*) from sessions where state = 'open'")" -eq 0 ] ||
    pv_fail "rows left open"
# Ended early, like a kill: aborted, with the reason, and sealed.
[ "$(sql "select count(*) from sessions where state = 'aborted' and
    end_reason = 'session ended: provostd is stopping'")" -eq $N ] ||
    pv_fail "rows: $(sql 'select state, end_reason from sessions')"
[ "$(sql "select count(*) from sessions where state = 'aborted' and
    end_reason like 'session process killed by signal 9%'")" -eq 1 ] ||
    pv_fail "rows: $(sql 'select state, end_reason from sessions')"
sealed=0
for rec in $(sql "select recording_path from sessions where
    end_reason not like 'session process killed%'"); do
	"$REPLAY" verify --key "$PV_TMP/sec.pem" "$rec" >"$PV_TMP/v.txt" 2>&1 ||
	    pv_fail "recording $rec: $(cat "$PV_TMP/v.txt")"
	sealed=$((sealed + 1))
done
[ $sealed -eq $((N + 1)) ] || pv_fail "$sealed recordings sealed, want $((N + 1))"
rec=$(sql "select recording_path from sessions where
    end_reason like 'session process killed%'")
"$REPLAY" verify --key "$PV_TMP/sec.pem" "$rec" >"$PV_TMP/v.txt" 2>&1 &&
    pv_fail "the killed session's recording verifies as complete"
grep -q 'FAILED: incomplete' "$PV_TMP/v.txt" || pv_fail "killed recording: $(cat "$PV_TMP/v.txt")"
[ "$(sql 'pragma integrity_check')" = ok ] || pv_fail "store integrity"
pvctl audit verify >"$PV_TMP/av.txt" 2>&1 || pv_fail "audit verify: $(cat "$PV_TMP/av.txt")"
pv_log "SIGTERM: $N sessions told and sealed in $end_ms ms; a stopped one killed after the grace; provostd exited after $stop_ms ms"
exit 0
