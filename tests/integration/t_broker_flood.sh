#!/bin/sh
# t_broker_flood.sh: engineers keep getting in under a flood.  alice logged
# in from her address yesterday (her session row is moved 20 hours back in
# the store) and provostd has been restarted since, so nothing of her is
# in its memory: only the store's recent sources (store_recent_sources)
# can tell it her address is known.  Then 1,000 idle pre-authentication
# connections from 250 addresses (127.0.1.1-250) hold provostd's start
# capacity (MaxStartups 10:30:100), and alice still gets in within 5 s.
# Then a burst of 30 logins at once from her one control host to 30
# targets (ansible -f 30 through the broker) all get in, past
# PerSourceMaxStartups 10.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
command -v python3 >/dev/null 2>&1 || pv_skip "python3 not found"
[ -z "${PV_STORE:-}" ] || pv_skip "moves rows back with sqlite3"
command -v sqlite3 >/dev/null 2>&1 || pv_skip "sqlite3 not found"

# 30 targets on the one sshd, for the burst
i=1
while [ $i -le 30 ]; do
	pvctl target add "$(printf 'web%02d' $i)" --host 127.0.0.1 \
	    --port "$TARGET_PORT" --classification public --accounts "$ME" \
	    --hostkey "$hk" >/dev/null || pv_fail "target add web$i"
	i=$((i + 1))
done

LOGIN_GRACE=60s start_provostd
L="alice+$ME@db01"
out=$(pvssh "$L" 'echo before' </dev/null 2>&1) || pv_fail "first login: $out"

# Yesterday: provostd stops, her session, her grace and the last code
# step used (30 s steps) move 20 hours back.
kill "$PVD_PID"
wait "$PVD_PID" 2>/dev/null
moved=$(sqlite3 "$STATE/provost.db" "UPDATE sessions SET
    started_at = started_at - 72000, ended_at = ended_at - 72000;
    UPDATE mfa_grace SET accepted_at = accepted_at - 72000;
    UPDATE totp SET last_step = last_step - 2400 WHERE last_step > 0;
    SELECT count(*) FROM sessions WHERE client_addr = '127.0.0.1' AND
    started_at < strftime('%s', 'now') - 71000;") || pv_fail "sqlite3"
[ "$moved" -ge 1 ] || pv_fail "no session of alice's to move back"
# a new process, nothing in memory
LOGIN_GRACE=60s start_provostd

# The flood: 4 connections from each of 250 addresses, held open, idle.
cat > "$PV_TMP/flood.py" <<'EOP'
import resource, socket, sys, time
port, hold, ready = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
socks, opened = [], 0
for a in range(1, 251):
    for _ in range(4):
        s = socket.socket()
        try:
            s.bind(("127.0.1.%d" % a, 0))
            s.connect(("127.0.0.1", port))
            socks.append(s)
            opened += 1
        except OSError:
            s.close()
open(ready, "w").write("%d\n" % opened)
time.sleep(hold)
EOP
python3 "$PV_TMP/flood.py" "$PVD_PORT" 40 "$PV_TMP/flood.ready" &
FP=$!
pv_track "$FP"
i=0
while [ ! -s "$PV_TMP/flood.ready" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$PV_TMP/flood.ready" ] || pv_fail "the flood did not start"
sleep 1
held=$(pvctl session list --live --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["unauthenticated"])')
[ "$held" -ge 90 ] || pv_fail "the flood holds only $held unauthenticated connections"
# An unknown address is turned away now, as sshd would...
newaddr=$(python3 -c "
import socket
s = socket.socket(); s.bind(('127.0.2.1', 0)); s.connect(('127.0.0.1', $PVD_PORT)); s.settimeout(5)
try:
    print('banner' if s.recv(64).startswith(b'SSH-') else 'closed')
except OSError:
    print('closed')" 2>&1)
# ...(random early drop: full at 100, so closed), but alice is not.
t0=$(date +%s%N)
out=$(pvssh "$L" 'echo in' </dev/null 2>&1) || pv_fail "alice under the flood: $out"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$out" = in ] || pv_fail "alice: $out"
[ $ms -lt 5000 ] || pv_fail "alice got in after $ms ms"
pv_log "after a restart, alice's last login 20 h ago; flood of $(cat "$PV_TMP/flood.ready") connections from 250 addresses ($held held); a new address: $newaddr; alice in after $ms ms"
kill "$FP" 2>/dev/null
wait "$FP" 2>/dev/null

# A burst of 30 logins at once from her host, one to each of 30 targets.
i=1
while [ $i -le 30 ]; do
	pvssh "$(printf "alice+$ME@web%02d" $i)" "echo burst-$i" </dev/null \
	    >"$PV_TMP/b$i.out" 2>&1 &
	echo $! >>"$PV_TMP/burst.pids"
	i=$((i + 1))
done
for p in $(cat "$PV_TMP/burst.pids"); do wait "$p"; done
ok=0
i=1
while [ $i -le 30 ]; do
	grep -qx "burst-$i" "$PV_TMP/b$i.out" && ok=$((ok + 1))
	i=$((i + 1))
done
[ $ok -eq 30 ] || pv_fail "a burst of 30 from one known host: $ok got in ($(grep -l -v burst "$PV_TMP"/b*.out | head -3 | xargs cat))"
pv_log "a burst of 30 logins from one known host to 30 targets: 30 of 30 in"
exit 0
