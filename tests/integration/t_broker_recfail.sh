#!/bin/sh
# t_broker_recfail.sh: fail closed: when the recorder hook fails mid-stream
# the session ends with "session ended: recording failed" and no byte the
# recorder did not take reaches the engineer.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

LIMIT=1000000
write_backend "" "RecorderFailAfter $LIMIT"
start_provostd
L="alice+$ME@db01"

got=$(pvssh "$L" 'head -c 20000000 /dev/zero' </dev/null 2>"$PV_TMP/err" | wc -c)
rc=$?
grep -q 'provost: session ended: recording failed' "$PV_TMP/err" ||
    pv_fail "no message to the engineer: $(cat "$PV_TMP/err")"
[ "$got" -le "$LIMIT" ] || pv_fail "$got bytes passed, the recorder took at most $LIMIT"
grep -q 'end: session ended: recording failed' "$PVD_LOG" || pv_fail "end not logged"
# Input is recorded first too: a big stdin is cut the same way.
head -c 5000000 /dev/zero > "$PV_TMP/in"
n=$(pvssh "$L" 'wc -c' < "$PV_TMP/in" 2>/dev/null)
[ "${n:-0}" -le "$LIMIT" ] 2>/dev/null || pv_fail "target received $n bytes of input"
pv_log "recording failure ends the session; $got bytes out (limit $LIMIT)"
exit 0
