#!/bin/sh
# t_broker_fault_session.sh: kill -9 of a session process mid-transfer.
# The engineer's ssh fails, provostd (not the next start) marks the row
# aborted, the recording verifies up to its last flush and is reported
# incomplete, its bytes are exactly a prefix of what was sent, and the
# store and its audit chain are intact.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
[ -n "$SQLITE3" ] && [ -x "$SQLITE3" ] || pv_skip "sqlite3 not found"
REPLAY="$top_builddir/provost-replay"
sql() { "$SQLITE3" -cmd '.timeout 5000' "$STATE/provost.db" "$1"; }

start_provostd
L="alice+$ME@db01"
seq 1 5000000 > "$PV_TMP/seq.txt"

# A long transfer (the numbers in order, 10,000 every 50 ms), paced so
# that it is still running when it is killed.
pvssh "$L" 'i=0; while seq $((i * 10000 + 1)) $((i * 10000 + 10000)); do
    i=$((i + 1)); sleep 0.05; done' </dev/null >"$PV_TMP/out" 2>"$PV_TMP/err" &
sp=$!
n=0
while [ "$(stat -c %s "$PV_TMP/out" 2>/dev/null || echo 0)" -lt 500000 ]; do
	n=$((n + 1)); [ $n -lt 200 ] || pv_fail "transfer did not start: $(cat "$PV_TMP/err")"
	sleep 0.1
done
# Two seconds in: chunks are sealed at least every second.
sleep 2
kill -0 $sp 2>/dev/null || pv_fail "the transfer ended before the kill"
id=$(sql "select id from sessions where state = 'open'")
[ -n "$id" ] || pv_fail "no open session row"
kids=$(pgrep -P "$PVD_PID")
[ "$(echo "$kids" | wc -w)" -eq 1 ] || pv_fail "session processes: $kids"
kill -9 "$kids"
wait $sp && pv_fail "ssh exited 0 after its session process was killed"

# provostd marks the row itself when it reaps the killed process.
n=0
while :; do
	st=$(sql "select state || '|' || end_reason from sessions where id = '$id'")
	[ "$st" = "aborted|session process killed by signal 9" ] && break
	n=$((n + 1)); [ $n -lt 50 ] || pv_fail "session row: $st"
	sleep 0.1
done
grep -q "session $id: session process killed by signal 9: marked aborted" "$PVD_LOG" ||
    pv_fail "abort not logged"
kill -0 "$PVD_PID" || pv_fail "provostd died"

rec=$(sql "select recording_path from sessions where id = '$id'")
[ -f "$rec" ] || pv_fail "no recording $rec"
"$REPLAY" verify --key "$PV_TMP/sec.pem" "$rec" >"$PV_TMP/v.txt" 2>&1 &&
    pv_fail "a killed session's recording verified as complete"
grep -q "FAILED: incomplete: [0-9]* chunks, no end event; last event at" "$PV_TMP/v.txt" ||
    pv_fail "verify: $(cat "$PV_TMP/v.txt")"
"$REPLAY" play --key "$PV_TMP/sec.pem" --raw --speed 1000000 "$rec" \
    </dev/null >"$PV_TMP/rec.out" 2>"$PV_TMP/play.err"
got=$(stat -c %s "$PV_TMP/rec.out")
# At least the first second's worth, and exactly what was sent, in order.
[ "$got" -ge 500000 ] || pv_fail "only $got bytes recorded"
head -c "$got" "$PV_TMP/seq.txt" | cmp -s - "$PV_TMP/rec.out" ||
    pv_fail "the recording is not a prefix of the output"
shown=$(stat -c %s "$PV_TMP/out")
[ "$got" -le "$shown" ] || pv_fail "recorded $got bytes, the engineer got $shown"

[ "$(sql 'pragma integrity_check')" = ok ] || pv_fail "store integrity"
pvctl audit verify >"$PV_TMP/av.txt" 2>&1 || pv_fail "audit verify: $(cat "$PV_TMP/av.txt")"
pvctl audit export --format jsonl | grep '"session.abort"' |
    grep -q "killed by signal 9" || pv_fail "the abort is not in the audit chain"

# A new session still works: the daemon goes on.
out=$(pvssh "$L" 'echo after' </dev/null 2>&1) || pv_fail "after the kill: $out"
[ "$out" = after ] || pv_fail "after the kill: $out"
pv_log "killed mid-transfer: $shown bytes shown, $got recorded (prefix verified)"
exit 0
