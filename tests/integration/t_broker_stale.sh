#!/bin/sh
# t_broker_stale.sh: StoreStaleness fails closed: with the store unreadable
# for longer than the window, a confidential session ends with a message,
# a public one goes on, and new connections are refused with a clear
# message; once the store is back, connections are accepted again.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

mkdir -m 0700 "$PV_TMP/run"
start_provostd "ControlSocket $PV_TMP/run/control.sock
StoreStaleness 2s"

pvssh "alice+$ME@files" 'echo conf; sleep 60' </dev/null >"$PV_TMP/c.out" 2>"$PV_TMP/c.err" &
cp=$!
pv_wait_log "$PV_TMP/c.out" conf 10 || pv_fail "confidential session: $(cat "$PV_TMP/c.err")"
pvssh "alice+$ME@db01" 'echo pub; sleep 12; echo still-here' </dev/null \
    >"$PV_TMP/p.out" 2>"$PV_TMP/p.err" &
pp=$!
pv_wait_log "$PV_TMP/p.out" pub 10 || pv_fail "public session: $(cat "$PV_TMP/p.err")"

# The store goes away (root ignores file modes, so the directory moves).
mv "$STATE" "$STATE.away"
t0=$(date +%s)
wait $cp
took=$(( $(date +%s) - t0 ))
grep -q "provost: session ended: the governance store cannot be read (fail closed)" \
    "$PV_TMP/c.err" || pv_fail "confidential session: $(cat "$PV_TMP/c.err")"
[ $took -le 6 ] || pv_fail "the confidential session outlived the window by far ($took s)"
kill -0 $pp 2>/dev/null || pv_fail "the public session ended too"
# (The reason is a userauth banner: ssh shows it at its default LogLevel.)
pvssh "alice+$ME@db01" -o LogLevel=INFO true </dev/null >/dev/null 2>"$PV_TMP/new.err" &&
    pv_fail "a new connection was accepted with a stale store"
grep -q "the governance store cannot be read; new sessions are refused" "$PV_TMP/new.err" ||
    pv_fail "refusal message: $(cat "$PV_TMP/new.err")"
grep -q 'StoreStaleness' "$PVD_LOG" || pv_fail "staleness not logged"

# Back: the public session finished normally, new ones get in.
mv "$STATE.away" "$STATE"
wait $pp || pv_fail "public session: exit $?: $(cat "$PV_TMP/p.err")"
grep -q still-here "$PV_TMP/p.out" || pv_fail "public session cut"
pv_wait_log "$PVD_LOG" "the store can be read again" 5 || pv_fail "recovery not logged"
out=$(pvssh "alice+$ME@db01" 'echo back' </dev/null) || pv_fail "after recovery"
[ "$out" = back ] || pv_fail "after recovery: $out"
pv_log "stale store: confidential session ended after $took s, public kept"
exit 0
