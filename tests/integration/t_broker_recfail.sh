#!/bin/sh
# t_broker_recfail.sh: fail closed: when the recording cannot be written
# (a file size limit, as a full disk would) the session ends with "session
# ended: recording failed" and output stops at what could be recorded;
# a killed session process's row is marked aborted by the monitor, and a
# killed monitor's by the next start.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

# 8 MB per file (ulimit -f counts 512-byte blocks) for provostd and its
# children only: the store stays far below it, a random 40 MB recording
# cannot.
LIMIT=8388608
REAL_PROVOSTD=$PROVOSTD
cat > "$PV_TMP/provostd-limited" <<EOC
#!/bin/sh
ulimit -f $((LIMIT / 512)) || exit 1
exec "$REAL_PROVOSTD" "\$@"
EOC
chmod +x "$PV_TMP/provostd-limited"
PROVOSTD="$PV_TMP/provostd-limited"
start_provostd
L="alice+$ME@db01"

got=$(pvssh "$L" 'head -c 41943040 /dev/urandom' </dev/null 2>"$PV_TMP/err" | wc -c)
grep -q 'provost: session ended: recording failed' "$PV_TMP/err" ||
    pv_fail "no message to the engineer: $(cat "$PV_TMP/err")"
# At most the recording's size plus what the recorder had sealed and
# queued but not yet written (its queue of 8 chunks and the one being
# filled, 64 KiB each): the recorder writes asynchronously.
[ "$got" -lt 41943040 ] || pv_fail "everything passed"
[ "$got" -le $((LIMIT + 9 * 65536)) ] ||
    pv_fail "$got bytes passed, the recording holds at most $LIMIT"
pv_wait_log "$PVD_LOG" 'end: session ended: recording failed' 10 || pv_fail "end not logged"
if [ -n "${SQLITE3:-}" ] && [ -x "$SQLITE3" ]; then
	n=0
	while :; do
		st=$("$SQLITE3" "$STATE/provost.db" "select state, end_reason from sessions")
		[ "$st" = "aborted|session ended: recording failed" ] && break
		n=$((n + 1)); [ $n -lt 50 ] || pv_fail "session row: $st"
		sleep 0.1
	done
fi

# A session process killed mid-session (kill -9, as seccomp's SIGSYS would):
# the monitor reaps it and marks its row aborted at once.  provostd itself
# killed (the monitor): the session process ends, saying why, its row stays
# open, and the next start marks it aborted.
if [ -n "${SQLITE3:-}" ] && [ -x "$SQLITE3" ]; then
	PROVOSTD=$REAL_PROVOSTD
	# one name across the restart on another port (provost.conf(5))
	start_provostd "BrokerName recfail"
	pvssh "$L" 'echo up; sleep 30' </dev/null >"$PV_TMP/k.out" 2>&1 &
	kp=$!
	pv_wait_log "$PV_TMP/k.out" up 10 || pv_fail "long session did not start"
	for p in $(pgrep -P "$PVD_PID"); do kill -9 "$p"; done
	wait $kp
	pv_wait_log "$PVD_LOG" 'killed by signal 9.*marked aborted\|marked aborted (session process killed by signal 9)' 10 ||
	    pv_fail "killed session not marked aborted"
	n=$("$SQLITE3" "$STATE/provost.db" "select count(*) from sessions where state = 'open'")
	[ "$n" -eq 0 ] || pv_fail "$n open rows after kill -9 of a session process"

	pvssh "$L" 'echo up; sleep 30' </dev/null >"$PV_TMP/m.out" 2>&1 &
	kp=$!
	pv_wait_log "$PV_TMP/m.out" up 10 || pv_fail "long session did not start"
	kill -9 "$PVD_PID"
	t0=$(date +%s)
	wait $kp
	[ $(($(date +%s) - t0)) -le 5 ] || pv_fail "the session outlived its monitor"
	grep -q "no session runs unsupervised" "$PV_TMP/m.out" ||
	    pv_fail "no message to the engineer: $(cat "$PV_TMP/m.out")"
	n=$("$SQLITE3" "$STATE/provost.db" "select count(*) from sessions where state = 'open'")
	[ "$n" -eq 1 ] || pv_fail "$n open rows after kill -9 of provostd"
	start_provostd "BrokerName recfail"
	n=$("$SQLITE3" "$STATE/provost.db" "select count(*) from sessions where state = 'open'")
	[ "$n" -eq 0 ] || pv_fail "restart left $n rows open"
	grep -q 'left open by a crash marked aborted' "$PVD_LOG" || pv_fail "recovery not logged"
fi
# A recording directory someone else could write (then swap the month for
# a link to anywhere): no session starts, the log says why; the same for
# a month that is a link.  Back to 0700, sessions start again.
M="$PV_TMP/rec/$(date -u +%Y)/$(date -u +%m)"
pvssh "$L" true </dev/null >/dev/null 2>&1 || pv_fail "a session before the checks"
[ -d "$M" ] || pv_fail "no month directory $M"
chmod 0777 "$M"
pvssh "$L" 'echo in' </dev/null >"$PV_TMP/w.out" 2>&1 && pv_fail "recorded under a world-writable directory: $(cat "$PV_TMP/w.out")"
grep -q "$M: writable by group or others: refusing to record under it" "$PVD_LOG" ||
    pv_fail "no refusal logged for a writable directory"
chmod 0700 "$M"
mv "$M" "$M.real"
mkdir -m 0700 "$PV_TMP/elsewhere"
ln -s "$PV_TMP/elsewhere" "$M"
pvssh "$L" 'echo in' </dev/null >"$PV_TMP/w.out" 2>&1 && pv_fail "recorded through a link: $(cat "$PV_TMP/w.out")"
grep -q "$M: not a directory (a link?): refusing" "$PVD_LOG" || pv_fail "no refusal logged for a link"
[ -z "$(ls "$PV_TMP/elsewhere")" ] || pv_fail "a recording was made through the link"
rm "$M"
mv "$M.real" "$M"
out=$(pvssh "$L" 'echo in' </dev/null 2>&1) || pv_fail "after the directory was fixed: $out"

pv_log "recording failure ends the session; $got bytes out (file limit $LIMIT)"
exit 0
