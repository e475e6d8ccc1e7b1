#!/bin/sh
# t_broker_preauth.sh: pre-auth limits with real sockets: 500 idle
# unauthenticated connections (from 127.0.0.2) are capped per source and
# by MaxStartups, provostd stays responsive, an honest engineer gets in
# within seconds, and the idle ones are cut at LoginGraceTime; repeated
# failures from one address are delayed, then refused and audited.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
PYTHON3=${PYTHON3:-$(command -v python3 || :)}
[ -n "$PYTHON3" ] || pv_skip "python3 not found"

# flood.py PORT N SRC SECONDS: opens N idle connections from SRC, sends
# nothing, prints how many the server closed at once and when the last
# held one was closed (seconds after the flood).
cat > "$PV_TMP/flood.py" <<'EOP'
import select, socket, sys, time
port, n, src, limit = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
socks = []
for i in range(n):
    s = socket.socket()
    s.bind((src, 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    socks.append(s)
t0 = time.time()
open_ = set(socks)
banner = {}   # socket -> when provostd's version line came
life = 0.0    # the longest a socket lived after its version line
reported = False
while open_ and time.time() - t0 < limit:
    r, _, _ = select.select(list(open_), [], [], 0.2)
    now = time.time()
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if d:
            banner.setdefault(s, now)
            continue
        open_.discard(s)
        if s in banner:
            life = max(life, now - banner[s])
        s.close()
    if not reported and now - t0 > 1.0:
        reported = True
        print("dropped %d held %d" % (n - len(open_), len(open_)), flush=True)
    # Done once every connection provostd took is closed and the rest
    # (still in the kernel's queue) had time to come through.
    if now - t0 > 12 and not any(s in banner for s in open_):
        break
now = time.time()
still = [s for s in open_ if s in banner]
for s in still:
    life = max(life, now - banner[s])
print("remaining %d longest %.1f" % (len(still), life), flush=True)
EOP
"$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
    pv_skip "cannot bind 127.0.0.2"

mkdir -m 0700 "$PV_TMP/run"
LOGIN_GRACE=6s start_provostd "ControlSocket $PV_TMP/run/control.sock
PerSourceMaxStartups 5
PerSourcePenalty 3:1m"
# The engineer's code is used now, so MFAGrace spares the asking later.
pvssh "alice+$ME@db01" true </dev/null || pv_fail "first login"

"$PYTHON3" "$PV_TMP/flood.py" "$PVD_PORT" 500 127.0.0.2 40 > "$PV_TMP/flood.out" 2>&1 &
fp=$!
pv_wait_log "$PV_TMP/flood.out" '^dropped' 10 || pv_fail "flood: $(cat "$PV_TMP/flood.out")"
t0=$(date +%s%N)
pvctl session list --live --json > "$PV_TMP/l.json" || pv_fail "control socket during the flood"
t1=$(date +%s%N)
list_ms=$(( (t1 - t0) / 1000000 ))
held=$(sed -n 's/.*"unauthenticated": \([0-9]*\).*/\1/p' "$PV_TMP/l.json")
[ -n "$held" ] && [ "$held" -le 5 ] || pv_fail "unauthenticated held: $held"
t0=$(date +%s%N)
out=$(pvssh "alice+$ME@db01" 'echo honest' </dev/null) || pv_fail "honest engineer refused during the flood"
t1=$(date +%s%N)
login_ms=$(( (t1 - t0) / 1000000 ))
[ "$out" = honest ] || pv_fail "honest: $out"
[ $login_ms -lt 5000 ] || pv_fail "honest login took $login_ms ms"
grep -q 'PerSourceMaxStartups 5' "$PVD_LOG" || pv_fail "drops not logged"
wait $fp
grep -q '^remaining 0 ' "$PV_TMP/flood.out" || pv_fail "idle connections not cut: $(cat "$PV_TMP/flood.out")"
last=$(sed -n 's/^remaining 0 longest \([0-9]*\).*/\1/p' "$PV_TMP/flood.out")
[ "$last" -ge 5 ] && [ "$last" -le 9 ] || pv_fail "idle cut after $last s (LoginGraceTime 6s)"

# MaxStartups: many sources' worth of idle connections past FULL are dropped.
LOGIN_GRACE=3s start_provostd "ControlSocket $PV_TMP/run/control.sock
MaxStartups 3:50:6
PerSourceMaxStartups 1000"
"$PYTHON3" "$PV_TMP/flood.py" "$PVD_PORT" 60 127.0.0.2 10 > "$PV_TMP/flood2.out" 2>&1
held=$(sed -n 's/^dropped [0-9]* held \([0-9]*\)/\1/p' "$PV_TMP/flood2.out")
[ -n "$held" ] && [ "$held" -le 6 ] && [ "$held" -ge 3 ] ||
    pv_fail "MaxStartups 3:50:6 held $held: $(cat "$PV_TMP/flood2.out")"
grep -q 'MaxStartups 3:50:6 with' "$PVD_LOG" || pv_fail "MaxStartups drops not logged"

# PerSourcePenalty 3: three failures from 127.0.0.3, then it is refused;
# the engineer from 127.0.0.1 is not.
LOGIN_GRACE=6s start_provostd "ControlSocket $PV_TMP/run/control.sock
PerSourcePenalty 3:1m"
cat > "$PV_TMP/askpass-wrong" <<'EOC'
#!/bin/sh
echo 000000
EOC
chmod +x "$PV_TMP/askpass-wrong"
wrong() {
	SSH_ASKPASS="$PV_TMP/askpass-wrong" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -b 127.0.0.3 -i "$ENG_KEY" -p "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 -l "alice+$ME@db01" 127.0.0.1 true
}
for i in 1 2 3; do
	wrong </dev/null 2>/dev/null && pv_fail "a wrong code got in"
done
sleep 0.5
wrong </dev/null 2>"$PV_TMP/pen.err" && pv_fail "a wrong code got in"
grep -q 'refused connection from 127.0.0.3 port [0-9]*: 3 authentication failures (PerSourcePenalty)' \
    "$PVD_LOG" || pv_fail "penalty not applied: $(cat "$PV_TMP/pen.err")"
out=$(pvssh "alice+$ME@db01" 'echo still-ok' </dev/null) || pv_fail "engineer refused by another's penalty"
pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"
grep '"preauth.penalty"' "$PV_TMP/audit.jsonl" | grep -q 'addr=127.0.0.3 failures=3' ||
    pv_fail "penalty not audited"

pv_log "500 idle: control answered in $list_ms ms, honest login in $login_ms ms, idle cut at ${last}s"
exit 0
