#!/bin/sh
# t_broker_fault_target.sh: the target vanishes mid-session (its sshd and
# every process of the session killed with SIGKILL).  The engineer reads
# why the session ended and ssh exits non-zero; the recording is sealed
# and verifies; the session row is closed with the reason.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
[ -n "$SQLITE3" ] && [ -x "$SQLITE3" ] || pv_skip "sqlite3 not found"
REPLAY="$top_builddir/provost-replay"
sql() { "$SQLITE3" -cmd '.timeout 5000' "$STATE/provost.db" "$1"; }

start_provostd
L="alice+$ME@db01"

# descendants PID: every process below PID, deepest last.
descendants() {
	for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done
}

pvssh "$L" 'echo up; while :; do echo tick; sleep 0.1; done' \
    </dev/null >"$PV_TMP/out" 2>"$PV_TMP/err" &
sp=$!
pv_wait_log "$PV_TMP/out" '^up$' 20 || pv_fail "session did not start: $(cat "$PV_TMP/err")"
sleep 1
victims="$TARGET_PID $(descendants "$TARGET_PID")"
[ "$(echo "$victims" | wc -w)" -ge 2 ] || pv_fail "no target session processes: $victims"
t0=$(date +%s%N)
# shellcheck disable=SC2086
kill -9 $victims
wait $sp
rc=$?
t1=$(date +%s%N)
[ $rc -ne 0 ] || pv_fail "ssh exited 0 although the target vanished"
grep -q '^provost: the connection to the target was lost' "$PV_TMP/err" ||
    pv_fail "no end message: $(cat "$PV_TMP/err")"
end_ms=$(( (t1 - t0) / 1000000 ))
[ $end_ms -lt 10000 ] || pv_fail "ssh ended $end_ms ms after the target"

n=0
while :; do
	row=$(sql "select state || '|' || end_reason || '|' || length(recording_sha256)
	    from sessions where state != 'open' and end_reason like '%target%'")
	[ -n "$row" ] && break
	n=$((n + 1)); [ $n -lt 50 ] || pv_fail "session row: $(sql 'select * from sessions')"
	sleep 0.1
done
[ "$row" = "aborted|the connection to the target was lost|64" ] || pv_fail "row: $row"
[ "$(sql "select count(*) from sessions where state = 'open'")" -eq 0 ] ||
    pv_fail "a session row is still open"
rec=$(sql "select recording_path from sessions where end_reason like '%target%'")
sha=$(sql "select recording_sha256 from sessions where end_reason like '%target%'")
"$REPLAY" verify --key "$PV_TMP/sec.pem" "$rec" >"$PV_TMP/v.txt" 2>&1 ||
    pv_fail "the recording does not verify: $(cat "$PV_TMP/v.txt")"
[ "$(sha256sum < "$rec" | cut -d' ' -f1)" = "$sha" ] || pv_fail "recording SHA-256 differs from the row"
"$REPLAY" export --key "$PV_TMP/sec.pem" --format text "$rec" >"$PV_TMP/rec.txt" 2>&1 ||
    pv_fail "export"
grep -q '^tick' "$PV_TMP/rec.txt" || pv_fail "the output before the loss is not recorded"
pvctl audit verify >/dev/null 2>&1 || pv_fail "audit chain does not verify"
kill -0 "$PVD_PID" || pv_fail "provostd died"
pv_log "target killed: ssh exited $rc, $end_ms ms later, with the reason"
exit 0
