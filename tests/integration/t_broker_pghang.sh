#!/bin/sh
# t_broker_pghang.sh: a PostgreSQL server that stops answering with its
# connections up (SIGSTOP of the postmaster and every backend: no RST, no
# keepalive fires) must not hold provostd's monitor (issue 17).  Every
# round trip to the server has a bound (half of StoreStaleness, at least
# 1 s); past it the query fails and the connection is dropped.  With the
# server stopped mid-session: the control socket keeps answering, the
# confidential session ends after StoreStaleness, a new login is refused
# with one line; with the server continued, logins work again and the
# audit chain verifies.  Without the bound provostd hangs in its first
# query and every step below times out.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/pg-cluster.sh"

pv_pg_test_store
. "$top_srcdir/tests/integration/broker-setup.sh"

# The server's processes, stopped and continued by pid (the postmaster
# first, so it forks no backend in between).
pg_pids() { echo "$PV_PG_PID $(ps -o pid= --ppid "$PV_PG_PID" | tr '\n' ' ')"; }
PG_STOPPED=""
pg_signal() {
	for p in $(pg_pids); do kill "-$1" "$p" 2>/dev/null; done
}
# a failing test must not leave a stopped server behind (cleanup's TERM
# waits for a CONT)
trap 'rc=$?; [ -z "$PG_STOPPED" ] || pg_signal CONT; (exit $rc); pv_cleanup' EXIT

mkdir -m 0700 "$PV_TMP/run"
start_provostd "StoreStaleness 2s"

out=$(pvssh "alice+$ME@db01" 'echo hello' </dev/null) || pv_fail "login: $out"
[ "$out" = hello ] || pv_fail "login printed: $out"

pvssh "alice+$ME@files" 'echo conf; sleep 60' </dev/null >"$PV_TMP/c.out" 2>"$PV_TMP/c.err" &
cp=$!
pv_track $cp
pv_wait_log "$PV_TMP/c.out" conf 15 || pv_fail "confidential session: $(cat "$PV_TMP/c.err")"
pvssh "alice+$ME@db01" 'echo pub; sleep 14; echo still-here' </dev/null \
    >"$PV_TMP/p.out" 2>"$PV_TMP/p.err" &
pp=$!
pv_track $pp
pv_wait_log "$PV_TMP/p.out" pub 15 || pv_fail "public session: $(cat "$PV_TMP/p.err")"

# The server stops answering.
PG_STOPPED=1
pg_signal STOP
t0=$(date +%s%N)
sleep 1
# the monitor answers its control socket (one or two rounds of the bound
# at most), on each of several asks
for i in 1 2 3; do
	t1=$(date +%s%N)
	timeout 8 "$PROVOSTCTL" -f "$CONF" session list >"$PV_TMP/list.out" 2>&1
	rc=$?
	ms=$(( ($(date +%s%N) - t1) / 1000000 ))
	[ $rc -ne 124 ] || pv_fail "provostctl session list hung (${ms} ms) with the server stopped"
	[ $ms -le 4000 ] || pv_fail "provostctl session list took $ms ms"
	pv_log "session list with the server stopped: exit $rc in $ms ms"
done
grep -q "ending\|cannot be read\|alice" "$PV_TMP/list.out" || pv_fail "session list: $(cat "$PV_TMP/list.out")"

# The confidential session ends after StoreStaleness, the public goes on.
i=0
while kill -0 $cp 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || pv_fail "the confidential session outlived the stopped server by 10 s"
	sleep 0.1
done
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q "provost: session ended: the governance store cannot be read (fail closed)" \
	"$PV_TMP/c.err" || pv_fail "confidential session: $(cat "$PV_TMP/c.err")"
# not before StoreStaleness: the last good read was at most 1 s before
[ $took_ms -ge 1000 ] || pv_fail "the confidential session ended after $took_ms ms, before StoreStaleness"
kill -0 $pp 2>/dev/null || pv_fail "the public session ended too"

# A new login is refused with one line, within a few seconds.
t1=$(date +%s%N)
SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    timeout 20 "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" \
    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
    -o PreferredAuthentications=publickey,keyboard-interactive -o LogLevel=INFO \
    -l "alice+$ME@db01" 127.0.0.1 true </dev/null >/dev/null 2>"$PV_TMP/new.err"
rc=$?
new_ms=$(( ($(date +%s%N) - t1) / 1000000 ))
[ $rc -ne 124 ] || pv_fail "a new login hung with the server stopped"
[ $rc -ne 0 ] || pv_fail "a new login was accepted with the server stopped"
grep -q "the governance store cannot be read; new sessions are refused" "$PV_TMP/new.err" ||
	pv_fail "refusal message: $(cat "$PV_TMP/new.err")"
grep -q "the server did not answer within 1000 ms" "$PVD_LOG" ||
	pv_fail "the bound is not in the log"
grep -q "host=$PV_TMP/pg" "$PVD_LOG" && pv_fail "the connection string was logged"
pv_log "server stopped: confidential session ended after $took_ms ms, new login refused in $new_ms ms"

# The server continues: logins work again, the chain verifies.
pg_signal CONT
PG_STOPPED=""
pv_wait_log "$PVD_LOG" "the store can be read again" 15 || pv_fail "recovery not logged"
wait $pp || pv_fail "public session: exit $?: $(cat "$PV_TMP/p.err")"
grep -q still-here "$PV_TMP/p.out" || pv_fail "public session cut"
out=$(pvssh "alice+$ME@db01" 'echo back' </dev/null) || pv_fail "after the server continued: $out"
[ "$out" = back ] || pv_fail "after the server continued: $out"
pv_log "server continued: new login works"

# The reopened connection listens again: a revoke made where provostd's
# control socket is not known (only the store's announcement or the scan
# can tell it) ends bob's session as fast as the announcement.
sed "s|^ControlSocket .*|ControlSocket $PV_TMP/run/elsewhere.sock|" "$CONF" >"$PV_TMP/other.conf"
grep -q "^ControlSocket $PV_TMP/run/elsewhere.sock" "$PV_TMP/other.conf" || pv_fail "other.conf"
ENG_KEY="$PV_TMP/bob" TOTP_OF=bob pvssh "bob+$ME@db01" 'echo live; sleep 30' \
    </dev/null >"$PV_TMP/r.out" 2>"$PV_TMP/r.err" &
rp=$!
pv_track $rp
pv_wait_log "$PV_TMP/r.out" live 15 || pv_fail "bob's session: $(cat "$PV_TMP/r.err")"
t1=$(date +%s%N)
"$PROVOSTCTL" -f "$PV_TMP/other.conf" revoke engineer bob --reason "gone" >/dev/null 2>"$PV_TMP/rev.err" ||
	pv_fail "revoke: $(cat "$PV_TMP/rev.err")"
wait $rp
rev_ms=$(( ($(date +%s%N) - t1) / 1000000 ))
grep -q "provost: access revoked (engineer.revoke engineer:bob): gone" "$PV_TMP/r.err" ||
	pv_fail "revocation message: $(cat "$PV_TMP/r.err")"
[ $rev_ms -lt "${PV_PG2_REVOKE_MAX_MS:-400}" ] || pv_fail "revoke to close took $rev_ms ms after the reconnect"
pvctl audit verify >"$PV_TMP/verify.out" 2>&1 || pv_fail "audit verify: $(cat "$PV_TMP/verify.out")"
pv_log "after the reconnect: an announced revoke ended a session in $rev_ms ms; audit verify passes"
exit 0
