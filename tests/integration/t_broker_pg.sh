#!/bin/sh
# t_broker_pg.sh: provostd on a PostgreSQL store (issue 17 item 1).  A
# throwaway cluster (pg-cluster.sh), provostctl init on it, provostd on
# it, a real ssh login through it to a real sshd; provostctl revoke ends
# the live session; with the server stopped mid-session the confidential
# session ends after StoreStaleness and a new login is refused with one
# clear line; with the server back, new logins get in again.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/pg-cluster.sh"

pv_pg_test_store
. "$top_srcdir/tests/integration/broker-setup.sh"
[ ! -e "$STATE/provost.db" ] || pv_fail "a SQLite file was made beside PostgreSQL"

mkdir -m 0700 "$PV_TMP/run"
start_provostd "StoreStaleness 2s"
grep -q "provostd .* started (backend: store" "$PVD_LOG" || pv_fail "not started: $(cat "$PVD_LOG")"

# A login through it, and the session and its audit in PostgreSQL.
out=$(pvssh "alice+$ME@db01" 'echo hello') || pv_fail "login: $out"
[ "$out" = hello ] || pv_fail "login printed: $out"
# (the row is closed as the session ends: a moment after ssh returns)
i=0
while :; do
	n=$(psql -X -tA "$PV_PG_URI" -c "SELECT count(*) FROM sessions s JOIN engineers e ON e.id = s.engineer_id WHERE e.login = 'alice' AND s.state = 'closed'") ||
		pv_fail "psql: sessions"
	[ "$n" -eq 1 ] && break
	i=$((i + 1))
	[ $i -lt 50 ] || pv_fail "$n closed session rows for alice in PostgreSQL, want 1"
	sleep 0.1
done
pvctl audit verify >"$PV_TMP/verify.out" 2>&1 || pv_fail "audit verify: $(cat "$PV_TMP/verify.out")"

# Revocation ends a live session within a second.
ENG_KEY="$PV_TMP/bob" TOTP_OF=bob pvssh "bob+$ME@db01" 'echo live; sleep 30' \
    </dev/null >"$PV_TMP/r.out" 2>"$PV_TMP/r.err" &
rp=$!
pv_wait_log "$PV_TMP/r.out" live 15 || pv_fail "bob's session: $(cat "$PV_TMP/r.err")"
t0=$(date +%s%N)
pvctl revoke engineer bob --reason "left the company" >/dev/null || pv_fail "revoke engineer"
wait $rp
rev_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q "provost: access revoked (engineer.revoke engineer:bob): left the company" "$PV_TMP/r.err" ||
	pv_fail "revocation message: $(cat "$PV_TMP/r.err")"
[ $rev_ms -lt 1000 ] || pv_fail "revoke to close took $rev_ms ms"
pv_log "revoke to close: $rev_ms ms"

# The server goes away mid-session: the confidential session ends after
# StoreStaleness (2 s), the public one goes on, new logins are refused.
pvssh "alice+$ME@files" 'echo conf; sleep 60' </dev/null >"$PV_TMP/c.out" 2>"$PV_TMP/c.err" &
cp=$!
pv_wait_log "$PV_TMP/c.out" conf 15 || pv_fail "confidential session: $(cat "$PV_TMP/c.err")"
pvssh "alice+$ME@db01" 'echo pub; sleep 12; echo still-here' </dev/null \
    >"$PV_TMP/p.out" 2>"$PV_TMP/p.err" &
pp=$!
pv_wait_log "$PV_TMP/p.out" pub 15 || pv_fail "public session: $(cat "$PV_TMP/p.err")"
t0=$(date +%s%N)
pv_pg_stop "$PV_TMP/pg"
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait $cp
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
took=$(( took_ms / 1000 ))
grep -q "provost: session ended: the governance store cannot be read (fail closed)" \
	"$PV_TMP/c.err" || pv_fail "confidential session: $(cat "$PV_TMP/c.err")"
[ $took -le 6 ] || pv_fail "the confidential session outlived the window by far ($took s)"
# not before StoreStaleness: the last good read was at most 1 s before
[ $took_ms -ge 1000 ] || pv_fail "the confidential session ended after $took_ms ms, before StoreStaleness"
kill -0 $pp 2>/dev/null || pv_fail "the public session ended too"
pvssh "alice+$ME@db01" -o LogLevel=INFO true </dev/null >/dev/null 2>"$PV_TMP/new.err" &&
	pv_fail "a new login was accepted with the store away"
grep -q "the governance store cannot be read; new sessions are refused" "$PV_TMP/new.err" ||
	pv_fail "refusal message: $(cat "$PV_TMP/new.err")"
grep -q "connection to the server was lost; reconnecting" "$PVD_LOG" ||
	pv_fail "the lost connection is not in the log"
grep -q "host=$PV_TMP/pg" "$PVD_LOG" && pv_fail "the connection string was logged"
pv_log "server stopped (in $stop_ms ms): confidential session ended $took_ms ms after the stop began, new login refused"

# The server is back: provostd reconnects and lets new logins in.
pv_pg_run "$PV_TMP/pg" || pv_fail "cannot start the cluster again"
pv_track "$PV_PG_PID"
pv_wait_log "$PVD_LOG" "the store can be read again" 10 || pv_fail "recovery not logged"
wait $pp || pv_fail "public session: exit $?: $(cat "$PV_TMP/p.err")"
grep -q still-here "$PV_TMP/p.out" || pv_fail "public session cut"
out=$(pvssh "alice+$ME@db01" 'echo back' </dev/null) || pv_fail "after recovery: $out"
[ "$out" = back ] || pv_fail "after recovery: $out"
pvctl audit verify >"$PV_TMP/verify.out" 2>&1 || pv_fail "audit verify after: $(cat "$PV_TMP/verify.out")"

# A PostgreSQL database that provostctl init never made is refused.
psql -X -q "$PV_PG_URI" -c "CREATE DATABASE empty" || pv_fail "create database"
sed "s|^Store .*|Store postgresql:///empty?host=$PV_TMP/pg\&user=provost|" "$CONF" >"$PV_TMP/empty.conf"
"$PROVOSTD" -t -f "$PV_TMP/empty.conf" >"$PV_TMP/empty.out" 2>&1 && pv_fail "an empty database accepted"
grep -q "Store postgresql: no store (run provostctl init first)" "$PV_TMP/empty.out" ||
	pv_fail "empty database: $(cat "$PV_TMP/empty.out")"
pv_log "server back: new login works"
exit 0
