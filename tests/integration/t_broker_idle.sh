#!/bin/sh
# t_broker_idle.sh: an idle session process sleeps until something is
# due (issue 17: thousands of idle sessions on one broker).  Logged in,
# no byte moving, no watcher, it waits on its sockets with no timer
# shorter than its keepalives (30 s): over 10 s it wakes at most twice,
# where it woke every second before (10 or more).  Counted by the kernel:
# the session process's voluntary context switches (/proc/PID/status),
# one per wait that ends.  The session then still works (its output
# comes as an event), and a revocation ends another idle session at once
# (the monitor's order on the link wakes it; no tick is needed).  The
# session process has not kept the monitor's mapping of the store's page
# cache (which it would otherwise keep a copy of, page by page).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

start_provostd
L="alice+$ME@db01"
pvssh "$L" true </dev/null || pv_fail "first login (TOTP)"
W="$PV_TMP/idle"
mkdir -p "$W"
# no ServerAliveInterval: the engineer's ssh sends nothing while idle
pvssh "$L" -o ServerAliveInterval=0 'echo ready; sleep 16; echo done' \
    </dev/null >"$W/out" 2>"$W/err" &
sp=$!
pv_wait_log "$W/out" ready 30 || pv_fail "the session did not start: $(cat "$W/err")"
pids=$(pgrep -P "$PVD_PID")
[ "$(echo "$pids" | wc -w)" -eq 1 ] || pv_fail "session processes: $pids"
# The store's page cache (an anonymous mapping of the monitor's, about
# 2 MiB, between two inaccessible guard pages: under ASan other anonymous
# mappings of that size are inherited as they should be) is not in the
# session process: it unmapped it after the fork.
cache=$(awk '{ split($1, r, "-"); lo[NR] = r[1]; hi[NR] = r[2]; pm[NR] = $2; nm[NR] = $6 }
    END { for (i = 2; i < NR; i++)
	if (pm[i] == "rw-p" && nm[i] == "" && pm[i - 1] == "---p" &&
	    hi[i - 1] == lo[i] && pm[i + 1] == "---p" && lo[i + 1] == hi[i])
		print lo[i] "-" hi[i] }' "/proc/$PVD_PID/maps" |
    while IFS=- read -r lo hi; do
	kb=$(((0x$hi - 0x$lo) / 1024))
	[ "$kb" -gt 1900 ] && [ "$kb" -le 2048 ] && echo "$lo"
    done)
[ -n "$cache" ] || pv_fail "no mapping of the store's page cache in the monitor"
for a in $cache; do
	! grep -q "^$a-" "/proc/$pids/maps" ||
	    pv_fail "the session process still maps the store's page cache at $a"
done
# the recording's first chunk is sealed within 1 s, the byte counts in 0.5
sleep 3
vcs() { awk '/^voluntary_ctxt_switches:/{print $2}' "/proc/$1/status"; }
v0=$(vcs "$pids")
sleep 10
v1=$(vcs "$pids")
n=$((v1 - v0))
pv_log "the idle session process woke $n times in 10 s"
[ "$n" -le 2 ] || pv_fail "the idle session process woke $n times in 10 s (at most 2)"
wait "$sp" || pv_fail "the idle session failed: $(cat "$W/err")"
[ "$(tail -1 "$W/out")" = done ] || pv_fail "the idle session's output: $(cat "$W/out")"

# An idle session ends when its engineer is revoked: the monitor's order
# wakes it, within the monitor's half-second scan.
pvssh "$L" -o ServerAliveInterval=0 'echo ready; sleep 30' \
    </dev/null >"$W/rv.out" 2>"$W/rv.err" &
sp=$!
pv_wait_log "$W/rv.out" ready 30 || pv_fail "the second session did not start"
sleep 3
t0=$(date +%s%N)
pvctl revoke engineer alice >/dev/null || pv_fail "revoke engineer"
wait "$sp"
ms=$((($(date +%s%N) - t0) / 1000000))
pv_log "the idle session ended ${ms} ms after the revocation"
[ "$ms" -lt 1600 ] || pv_fail "the idle session outlived its revocation by $ms ms"
grep -q "access revoked" "$W/rv.err" || pv_fail "no reason given: $(cat "$W/rv.err")"
exit 0
