#!/bin/sh
# t_broker_fault_disk.sh: the recording disk fills (a small tmpfs as
# RecordingDirectory).  A live session ends with a message when a write
# fails (fail closed); new sessions are refused with a clear message
# while less than RecordingMinFree is free; they work again once space
# returns.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
[ -n "$SQLITE3" ] && [ -x "$SQLITE3" ] || pv_skip "sqlite3 not found"
REPLAY="$top_builddir/provost-replay"
sql() { "$SQLITE3" -cmd '.timeout 5000' "$STATE/provost.db" "$1"; }

MNT="$PV_TMP/rec"
mkdir -p "$MNT"
mount -t tmpfs -o size=8m,mode=0700 provost-test "$MNT" 2>"$PV_TMP/mount.err" ||
    pv_skip "cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): $(cat "$PV_TMP/mount.err")"
# Detached before lib.sh's cleanup removes the temp dir (lazily: provostd
# may still hold a file open there).
trap 'rc=$?; umount -l "$MNT" 2>/dev/null; (exit $rc); pv_cleanup' EXIT

start_provostd "RecordingMinFree 1M"
L="alice+$ME@db01"
out=$(pvssh "$L" 'echo ok' </dev/null 2>&1) || pv_fail "first session: $out"

# Leave about 3 MB, then a session whose output (random: it does not
# compress) cannot all be recorded.
head -c $((5 * 1024 * 1024)) /dev/zero > "$MNT/filler" || pv_fail "filler"
got=$(pvssh "$L" 'head -c 41943040 /dev/urandom' </dev/null 2>"$PV_TMP/err" | wc -c)
grep -q 'provost: session ended: recording failed' "$PV_TMP/err" ||
    pv_fail "no message to the engineer: $(cat "$PV_TMP/err")"
# Output stops near what could be recorded (plus the recorder's queue).
[ "$got" -lt $((8 * 1024 * 1024)) ] || pv_fail "$got bytes passed a full disk"
n=0
while :; do
	st=$(sql "select state || '|' || end_reason from sessions order by started_at desc, rowid desc limit 1")
	[ "$st" = "aborted|session ended: recording failed" ] && break
	n=$((n + 1)); [ $n -lt 50 ] || pv_fail "session row: $st"
	sleep 0.1
done
full_id=$(sql "select id from sessions order by started_at desc, rowid desc limit 1")
full_rec=$(sql "select recording_path from sessions where id = '$full_id'")
# What reached the disk verifies up to the failure, reported incomplete.
"$REPLAY" verify --key "$PV_TMP/sec.pem" "$full_rec" >"$PV_TMP/v.txt" 2>&1
grep -q 'FAILED: incomplete' "$PV_TMP/v.txt" || pv_fail "full recording: $(cat "$PV_TMP/v.txt")"
avail=$(df -B1 --output=avail "$MNT" | tail -1 | tr -d ' ')
[ "$avail" -lt $((1024 * 1024)) ] || pv_fail "the disk is not full: $avail bytes free"

# Refused while the disk is full: the engineer is told why, no row opens.
rows=$(sql "select count(*) from sessions")
out=$(pvssh "$L" 'echo should-not-run' </dev/null 2>&1) &&
    pv_fail "a session started on a full disk: $out"
echo "$out" | grep -q 'session refused: the recording disk is full; try again later' ||
    pv_fail "refusal message: $out"
echo "$out" | grep -q should-not-run && pv_fail "the command ran unrecorded"
grep -q "bytes free (RecordingMinFree 1048576): new sessions refused until space returns" \
    "$PVD_LOG" || pv_fail "refusal not logged"
[ "$(sql "select count(*) from sessions")" -eq "$rows" ] || pv_fail "a refused session opened a row"

# Space returns: sessions work again and are recorded in full.
rm -f "$MNT/filler"
out=$(pvssh "$L" 'echo back' </dev/null 2>&1) || pv_fail "after space returned: $out"
[ "$out" = back ] || pv_fail "after space returned: $out"
rec=$(sql "select recording_path from sessions order by started_at desc, rowid desc limit 1")
n=0
until "$REPLAY" verify --key "$PV_TMP/sec.pem" "$rec" >"$PV_TMP/v2.txt" 2>&1; do
	n=$((n + 1)); [ $n -lt 30 ] || pv_fail "new recording: $(cat "$PV_TMP/v2.txt")"
	sleep 0.1
done
[ "$(sql 'pragma integrity_check')" = ok ] || pv_fail "store integrity"
pvctl audit verify >/dev/null 2>&1 || pv_fail "audit chain does not verify"
pv_log "disk full: live session ended after $got bytes, new ones refused, back after space returned"
exit 0
