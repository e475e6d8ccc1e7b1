#!/bin/sh
# t_broker_reload.sh: SIGHUP reloads provostd.conf and the policy with
# sessions live.  A reload that tightens the policy ends the session it no
# longer allows (the engineer reads why) and leaves the others running; one
# that loosens it lets a new session in; a bad policy or config file is
# refused with one line and the running ones stay; a keyword that needs a
# restart is named; a reloaded MaxSessions applies; every reload is audited
# (config.reload, session.policy) and a session outlives all of them.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

W="$PV_TMP/work"
mkdir -p "$W"
start_provostd
cp "$PV_TMP/policy.conf" "$W/policy.orig"
hup() {
	n=$(grep -c "$1" "$PVD_LOG")
	kill -HUP "$PVD_PID" || pv_fail "kill -HUP"
	i=0
	while [ "$(grep -c "$1" "$PVD_LOG")" -le "$n" ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ "$(grep -c "$1" "$PVD_LOG")" -gt "$n" ] || pv_fail "no '$1' after SIGHUP: $(tail -5 "$PVD_LOG")"
	kill -0 "$PVD_PID" || pv_fail "provostd is gone after SIGHUP"
}

# Two live sessions: db01 (public, standing rule) and files (confidential).
pvssh "alice+$ME@db01" 'echo up; i=0; while [ $i -lt 20 ]; do sleep 0.5; echo tick$i; i=$((i+1)); done; echo finished' \
    </dev/null > "$W/keep.out" 2>"$W/keep.err" &
KEEP=$!
pv_wait_log "$W/keep.out" up 15 || pv_fail "db01 session: $(cat "$W/keep.err")"
pvssh "alice+$ME@files" 'echo up; sleep 30; echo not-ended' </dev/null > "$W/cut.out" 2>"$W/cut.err" &
CUT=$!
pv_wait_log "$W/cut.out" up 15 || pv_fail "files session: $(cat "$W/cut.err")"

# 1. Tighten: confidential loses its rule.
sed '/^Rule files$/,/^$/d' "$W/policy.orig" > "$PV_TMP/policy.conf"
grep -q '^Rule files' "$PV_TMP/policy.conf" && pv_fail "test policy edit"
hup 'reload: 2 live session(s) checked, 1 ended'
i=0
while kill -0 "$CUT" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$CUT" 2>/dev/null && pv_fail "the session the new policy refuses goes on"
grep -q 'provost: the reloaded policy no longer allows exec: no rule allows alice' "$W/cut.err" ||
    pv_fail "the engineer was not told why: $(cat "$W/cut.err")"
grep -q not-ended "$W/cut.out" && pv_fail "the refused session's command ran on"
kill -0 "$KEEP" || pv_fail "the allowed session ended: $(cat "$W/keep.err")"
pvssh "alice+$ME@files" 'echo in' </dev/null > "$W/n1.out" 2>&1 && pv_fail "a new session to files was allowed"
grep -q 'access to files denied' "$W/n1.out" || pv_fail "refusal: $(cat "$W/n1.out")"

# 2. Loosen: internal needs no grant any more; jit lets a new session in.
sed 's/^    Approval auto$/    Approval none/' "$PV_TMP/policy.conf" > "$W/p2" && cp "$W/p2" "$PV_TMP/policy.conf"
pvssh "alice+$ME@jit" 'echo in' </dev/null > "$W/n2.out" 2>&1 && pv_fail "jit without a grant before the reload"
hup 'reload: 1 live session(s) checked, 0 ended'
out=$(pvssh "alice+$ME@jit" 'echo in' </dev/null 2>&1) || pv_fail "jit after loosening: $out"
[ "$out" = in ] || pv_fail "jit: $out"

# 3. A bad policy, then a bad config: refused with one line, nothing changes.
cp "$PV_TMP/policy.conf" "$W/p3"
printf 'Rule broken\n    Classification nosuchlevel\n' >> "$PV_TMP/policy.conf"
hup 'reload refused'
grep 'reload refused' "$PVD_LOG" | tail -1 | grep -q "policy.conf:[0-9]*: " ||
    pv_fail "no file:line: $(grep 'reload refused' "$PVD_LOG" | tail -1)"
out=$(pvssh "alice+$ME@jit" 'echo in' </dev/null 2>&1) || pv_fail "jit after a refused reload: $out"
cp "$W/p3" "$PV_TMP/policy.conf"
cp "$CONF" "$W/conf.orig"
echo 'NoSuchKeyword yes' >> "$CONF"
hup 'reload refused'
grep 'reload refused' "$PVD_LOG" | tail -1 | grep -q "provostd.conf:[0-9]*: .*NoSuchKeyword" ||
    pv_fail "bad config: $(grep 'reload refused' "$PVD_LOG" | tail -1)"

# 4. A restart-only keyword is named (with the default BrokerName, which
# follows the port); MaxSessions applies at once.
NEWPORT=$(pv_free_port)
sed -e "s/^ListenAddress .*/ListenAddress 127.0.0.1:$NEWPORT/" "$W/conf.orig" > "$CONF"
echo 'MaxSessions 1' >> "$CONF"
hup 'reload: applied'
grep -q 'reload: ListenAddress, BrokerName change only on a restart' "$PVD_LOG" || pv_fail "ListenAddress not named"
pvssh "alice+$ME@db01" 'echo second' </dev/null > "$W/n4.out" 2>&1 && pv_fail "MaxSessions 1 let a second session in"
grep -q 'MaxSessions 1 reached' "$PVD_LOG" || pv_fail "MaxSessions not applied"
cp "$W/conf.orig" "$CONF"
hup 'reload: 1 live session(s) checked, 0 ended'

# The db01 session lived through every reload.
wait "$KEEP" || pv_fail "the db01 session failed: $(cat "$W/keep.err")"
grep -q finished "$W/keep.out" || pv_fail "db01 output: $(cat "$W/keep.out")"
[ "$(grep -c '^tick' "$W/keep.out")" -eq 20 ] || pv_fail "db01 lost output: $(cat "$W/keep.out")"
grep -q 'provostd is stopping' "$W/keep.err" && pv_fail "SIGHUP stopped provostd"

pvctl audit verify >/dev/null || pv_fail "audit chain does not verify"
pvctl audit export --format jsonl > "$W/audit.jsonl" || pv_fail "audit export"
[ "$(grep -c '"config.reload"' "$W/audit.jsonl")" -eq 6 ] || pv_fail "config.reload rows: $(grep -c config.reload "$W/audit.jsonl")"
[ "$(grep '"config.reload"' "$W/audit.jsonl" | grep -c 'refused')" -eq 2 ] || pv_fail "refused reloads not audited"
grep '"session.policy"' "$W/audit.jsonl" | grep -q 'no longer allows' || pv_fail "no session.policy row"
pv_log "reloads: tighten ended 1 of 2, loosen let jit in, bad policy/config refused, ListenAddress named, MaxSessions applied"
