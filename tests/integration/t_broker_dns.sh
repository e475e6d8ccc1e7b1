#!/bin/sh
# t_broker_dns.sh: a target stored by host name whose DNS server never
# answers holds nobody but its own engineer.  provostd runs in a mount
# namespace of its own (unshare --mount, root only) where /etc/resolv.conf
# is a private bind mount naming a loopback address on which a small UDP
# server takes every query and answers none (glibc reads /etc/resolv.conf
# only; /etc/hosts cannot hang, and the host's /etc is never touched: the
# mount dies with provostd's namespace).  While one engineer's login waits
# on that name, another's to a numeric target completes at once and the
# control socket answers; the hung one fails after the monitor's 10 s
# deadline with "name lookup timed out" and a target.unreachable row.  The
# resolver process killed with a lookup in flight fails that lookup at
# once (fail closed), and the next by-name lookup works again.  A forged
# session process that speaks while its lookup is in flight is killed.
. "$top_srcdir/tests/integration/lib.sh"

[ "$(id -u)" -eq 0 ] || pv_skip "needs root (unshare --mount)"
command -v unshare >/dev/null || pv_skip "unshare not found"
command -v python3 >/dev/null || pv_skip "python3 not found"
unshare --mount true 2>/dev/null || pv_skip "unshare --mount is not allowed here"
[ "$(getent ahosts localhost | awk 'NR == 1 { print $1 }')" = 127.0.0.1 ] ||
    pv_skip "localhost is not 127.0.0.1 first here"

# The silent DNS server, on a loopback address of its own (port 53 is the
# only one resolv.conf can name).
DNS_LOG="$PV_TMP/dns.log"
: > "$DNS_LOG"
tries=0
while :; do
	DNS_ADDR="127.53.$(($$ % 250 + 1)).$((tries + 1))"
	python3 - "$DNS_ADDR" "$DNS_LOG" > "$PV_TMP/dns.out" 2>&1 <<'EOP' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
log = open(sys.argv[2], "a", buffering=1)
log.write("listening\n")
while True:
    data, peer = s.recvfrom(4096)
    log.write("query %d bytes from %s (not answered)\n" % (len(data), peer[0]))
EOP
	DNS_PID=$!
	pv_track "$DNS_PID"
	pv_wait_log "$DNS_LOG" listening 5 && break
	kill "$DNS_PID" 2>/dev/null
	tries=$((tries + 1))
	[ $tries -lt 5 ] || pv_fail "the silent DNS server did not start: $(cat "$PV_TMP/dns.out")"
done
# glibc would give up after 2 x 5 s, about the monitor's deadline: 30 s
printf 'nameserver %s\noptions timeout:30 attempts:1\n' "$DNS_ADDR" > "$PV_TMP/resolv.conf"
cat > "$PV_TMP/provostd-ns" <<EOC
#!/bin/sh
# provostd with its own /etc/resolv.conf (the same pid: unshare and sh exec)
exec unshare --mount sh -c 'mount --bind "\$0" /etc/resolv.conf && exec "\$@"' \
    "$PV_TMP/resolv.conf" "${PV_DNS_PROVOSTD:-$top_builddir/provostd}" "\$@"
EOC
chmod +x "$PV_TMP/provostd-ns"
PV_PROVOSTD_WRAP="$PV_TMP/provostd-ns"
. "$top_srcdir/tests/integration/broker-setup.sh"
grep -q "^nameserver 127.0.0.1" /etc/resolv.conf 2>/dev/null &&
    grep -q "$DNS_ADDR" /etc/resolv.conf && pv_fail "the host's /etc/resolv.conf was changed"

start_provostd
# no resolver until a name is looked up (every target so far is numeric)
grep -q "resolver process [0-9]* started" "$PVD_LOG" && pv_fail "a resolver started with no name to look up"
pvctl target add hang01 --host db-hang.pv-test.example --port "$TARGET_PORT" \
    --classification public --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add hang01"
pvctl target add name01 --host localhost --port "$TARGET_PORT" --classification public \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add name01"
ms() { date +%s%3N; }

# alice's login to hang01 waits on the silent DNS server.
t0=$(ms)
pvssh "alice+$ME@hang01" 'echo hung' </dev/null >"$PV_TMP/hang.out" 2>"$PV_TMP/hang.err" &
HANG=$!
pv_track "$HANG"
pv_wait_log "$DNS_LOG" "not answered" 15 || pv_fail "hang01: no query reached the DNS server"
pv_log "hang01's name lookup is in flight (the DNS server got a query)"
RES_PID=$(sed -n 's/.*resolver process \([0-9]*\) started$/\1/p' "$PVD_LOG" | head -n 1)
[ -n "$RES_PID" ] && [ -d "/proc/$RES_PID" ] || pv_fail "no resolver process logged"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$RES_PID/status")" -eq "$(id -u nobody)" ] ||
    pv_fail "the resolver process runs as $(awk '/^Uid:/ { print $2 }' "/proc/$RES_PID/status"), not the SandboxUser"
# nothing of the monitor's but its socket and stdio (and, a lookup being
# in flight, the query's own socket)
nfd=$(find "/proc/$RES_PID/fd" -mindepth 1 -lname 'socket:*' -prune -o -print | wc -l)
[ "$nfd" -le 3 ] || pv_fail "the resolver process holds $nfd descriptors besides sockets: $(ls -l "/proc/$RES_PID/fd")"
nsk=$(find "/proc/$RES_PID/fd" -mindepth 1 -lname 'socket:*' | wc -l)
[ "$nsk" -le 3 ] || pv_fail "the resolver process holds $nsk sockets: $(ls -l "/proc/$RES_PID/fd")"

# Meanwhile bob logs in to a numeric target, and the control socket answers.
t1=$(ms)
out=$(ENG_KEY="$PV_TMP/bob" TOTP_OF=bob pvssh "bob+$ME@db01" 'echo quick' </dev/null 2>"$PV_TMP/bob.err") ||
    pv_fail "db01 during the hang: $(cat "$PV_TMP/bob.err")"
t2=$(ms)
[ "$out" = quick ] || pv_fail "db01 said: $out"
pvctl session list > "$PV_TMP/list.out" 2>&1 || pv_fail "session list: $(cat "$PV_TMP/list.out")"
t3=$(ms)
pv_log "during the hang: bob's login to db01 took $((t2 - t1)) ms, session list $((t3 - t2)) ms"
[ $((t2 - t1)) -lt 2500 ] || pv_fail "bob's login took $((t2 - t1)) ms while hang01's lookup hung"
[ $((t3 - t2)) -lt 1000 ] || pv_fail "session list took $((t3 - t2)) ms while hang01's lookup hung"
kill -0 "$HANG" 2>/dev/null || pv_fail "hang01's login ended before its deadline: $(cat "$PV_TMP/hang.err")"

# The hung login fails after the deadline (the pre-opened leg's lookup,
# then the decision's), with the reason, and the chain has the row.
i=0
while kill -0 "$HANG" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 600 ] || pv_fail "hang01's login never ended"
	sleep 0.1
done
t4=$(ms)
wait "$HANG" && pv_fail "hang01 let in: $(cat "$PV_TMP/hang.out")"
grep -q 'cannot reach target hang01: name lookup timed out' "$PV_TMP/hang.err" ||
    pv_fail "hang01: the engineer was told: $(cat "$PV_TMP/hang.err")"
pv_log "hang01 failed after $((t4 - t0)) ms: $(grep -m 1 'cannot reach' "$PV_TMP/hang.err")"
[ $((t4 - t0)) -ge 10000 ] || pv_fail "hang01 failed before the 10 s deadline ($((t4 - t0)) ms)"
pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"
grep '"target.unreachable"' "$PV_TMP/audit.jsonl" |
    grep -q 'target=hang01 cannot reach target hang01: name lookup timed out' ||
    pv_fail "no target.unreachable row for hang01"

# A by-name target from /etc/hosts goes through the resolver too.
out=$(pvssh "alice+$ME@name01" 'echo named' </dev/null 2>"$PV_TMP/name.err") ||
    pv_fail "name01: $(cat "$PV_TMP/name.err")"
[ "$out" = named ] || pv_fail "name01 said: $out"
pv_log "$(grep -h 'resolving localhost for name01' "$PVD_LOG" | head -n 1)"

# The resolver killed with a lookup in flight: that lookup fails at once,
# the resolver is started again, and the next lookup works.
n0=$(grep -c 'monitor: looking up db-hang.pv-test.example for hang01' "$PVD_LOG")
pvssh "alice+$ME@hang01" 'echo hung' </dev/null >/dev/null 2>"$PV_TMP/hang2.err" &
HANG2=$!
pv_track "$HANG2"
i=0
while [ "$(grep -c 'monitor: looking up db-hang.pv-test.example for hang01' "$PVD_LOG")" -le "$n0" ]; do
	i=$((i + 1))
	[ $i -lt 150 ] || pv_fail "the second hang01 login never asked for its leg"
	sleep 0.1
done
k0=$(ms)
kill -9 "$RES_PID" || pv_fail "cannot kill the resolver process $RES_PID"
pv_wait_log "$PVD_LOG" "cannot reach target hang01 (db-hang.pv-test.example:$TARGET_PORT): the resolver process ended" 5 ||
    pv_fail "the lookup in flight did not fail when the resolver died"
k1=$(ms)
pv_log "resolver killed: the lookup in flight failed after $((k1 - k0)) ms"
grep -q "resolver process $RES_PID: it ended; its lookups in flight fail" "$PVD_LOG" ||
    pv_fail "the resolver's end was not logged"
out=$(ENG_KEY="$PV_TMP/bob" TOTP_OF=bob pvssh "bob+$ME@name01" 'echo again' </dev/null 2>"$PV_TMP/again.err") ||
    pv_fail "name01 after the resolver's death: $(cat "$PV_TMP/again.err")"
[ "$out" = again ] || pv_fail "name01 said: $out"
NEW_PID=$(sed -n 's/.*resolver process restarted (pid \([0-9]*\))$/\1/p' "$PVD_LOG" | head -n 1)
[ -n "$NEW_PID" ] && [ "$NEW_PID" != "$RES_PID" ] && [ -d "/proc/$NEW_PID" ] ||
    pv_fail "no new resolver process"
pv_log "a new resolver process ($NEW_PID) answered name01"
# started while the monitor's store was open: none of it is left there
grep -q 'provost\.db' "/proc/$NEW_PID/maps" &&
    pv_fail "the new resolver process maps the store: $(grep 'provost\.db' "/proc/$NEW_PID/maps")"
ls -l "/proc/$NEW_PID/fd" | grep -q 'provost\.db' && pv_fail "the new resolver process holds the store open"
# beyond stdio only sockets: its own, and a lookup's UDP socket to the DNS
# server (hang01's second login asks while this one runs)
for f in /proc/"$NEW_PID"/fd/*; do
	n=${f##*/}
	[ "$n" -le 2 ] && continue
	case "$(readlink "$f")" in socket:*) ;; *) pv_fail "the new resolver process holds fd $n: $(readlink "$f")" ;; esac
done
kill "$HANG2" 2>/dev/null

# A taken-over session process that speaks while its lookup is in flight
# (it must wait for its answer) is killed and audited, and the monitor
# goes on serving; the lookup's late answer is dropped.
FORGE="$top_builddir/broker/pv-broker-forge"
[ -x "$FORGE" ] || pv_fail "no $FORGE"
L="alice+$ME@db01"
live_session f
out=$("$FORGE" "$SP" "$MFD" "decide alice hang01 $ME shell" \
    "nowait target-connect alice hang01" "sleep 300" "target-get alice db01" 2>&1)
echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a request while the lookup was in flight was answered: $out"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a request while its target's name lookup is in flight (target-connect)" 5 ||
    pv_fail "the request during the lookup was not refused"
kill -CONT "$SP" 2>/dev/null
wait "$LP" 2>/dev/null
i=0
until pvctl audit export --format jsonl | grep '"session.monitor_violation"' | grep -q "$SID"; do
	i=$((i + 1))
	[ $i -lt 50 ] || pv_fail "the violation was not audited"
	sleep 0.1
done
t5=$(ms)
pvctl session list > "$PV_TMP/list2.out" 2>&1 || pv_fail "session list after the violation"
t6=$(ms)
[ $((t6 - t5)) -lt 1000 ] || pv_fail "session list took $((t6 - t5)) ms"
pv_log "a request during the lookup: the process killed and audited"
pv_log "ok"
