#!/bin/sh
# t_broker_watch.sh: provostctl session watch on real ssh sessions through
# provostd: a watcher sees typed output within 1 s; two at once; the
# engineer reads a line when each joins and leaves (none with
# NotifyWatchers no); session.watch and session.watch_end rows; a stopped
# watcher is cut off while the session moves 50 MB byte-exact at full
# speed; --follow-engineer takes her next session; a watcher that writes
# is cut off and reaches nothing; nobody else may watch (socket mode,
# then SO_PEERCRED with the mode opened).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
PYTHON3=${PYTHON3:-$(command -v python3 || :)}
[ -n "$PYTHON3" ] || pv_skip "python3 not found"

mkdir -m 0700 "$PV_TMP/run"
SOCK="$PV_TMP/run/control.sock"
start_provostd
now_ms() { date +%s%3N; }
# wait_for FILE TEXT SECONDS: FILE holds TEXT (fixed string) in time.
wait_for() {
	i=0
	while ! grep -qF -- "$2" "$1" 2>/dev/null; do
		[ $i -ge $(($3 * 20)) ] && return 1
		sleep 0.05
		i=$((i + 1))
	done
}
# session_start TAG COMMAND: alice's session running COMMAND, its stdin the
# fifo $PV_TMP/TAG.in (held open on fd 8/9 by the caller); sets SID, SSHP.
session_start() {
	# (no copy of the fifo's write end in ssh: closing ours ends its stdin)
	pvssh "alice+$ME@db01" "$2" <"$PV_TMP/$1.in" >"$PV_TMP/$1.out" \
	    2>"$PV_TMP/$1.err" 8>&- 9>&- &
	SSHP=$!
	pv_track "$SSHP"
	n0=$(grep -c 'recording to' "$PVD_LOG")
	i=0
	while [ "$(grep -c 'recording to' "$PVD_LOG")" -le "$n0" ] && [ $i -lt 300 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	SID=$(sed -n 's/.*session \([0-9a-f-]*\): recording to .*/\1/p' "$PVD_LOG" | tail -1)
	[ -n "$SID" ] || pv_fail "$1: no session id in the log"
}
# watcher TAG ARGS...: provostctl session watch ARGS in the background;
# WP its pid, output in TAG.wout and TAG.werr.
watcher() {
	tag=$1
	shift
	"$PROVOSTCTL" -f "$CONF" session watch "$@" >"$PV_TMP/$tag.wout" \
	    2>"$PV_TMP/$tag.werr" 8>&- 9>&- &
	WP=$!
	pv_track "$WP"
}

# 1. Typed output reaches a watcher within 1 s; a second watcher at once.
mkfifo "$PV_TMP/a.in"
exec 8<>"$PV_TMP/a.in"
session_start a cat
printf 'before\n' >&8
wait_for "$PV_TMP/a.out" before 10 || pv_fail "session a: $(cat "$PV_TMP/a.err")"
watcher w1 "$SID"
W1=$WP
wait_for "$PV_TMP/w1.werr" "watching session $SID" 5 || pv_fail "w1: $(cat "$PV_TMP/w1.werr")"
t0=$(now_ms)
printf 'typed-one\n' >&8
wait_for "$PV_TMP/w1.wout" typed-one 5 || pv_fail "w1 never saw typed-one: $(cat "$PV_TMP/w1.wout")"
dt=$(($(now_ms) - t0))
pv_log "a watcher saw typed output after $dt ms"
[ "$dt" -le 1000 ] || pv_fail "typed output took $dt ms to reach the watcher"
grep -q before "$PV_TMP/w1.wout" && pv_fail "w1 saw output from before it attached"
watcher w2 "$(echo "$SID" | cut -c1-8)"
W2=$WP
wait_for "$PV_TMP/w2.werr" "watching session $SID" 5 || pv_fail "w2: $(cat "$PV_TMP/w2.werr")"
printf 'typed-two\n' >&8
wait_for "$PV_TMP/w1.wout" typed-two 5 || pv_fail "w1 missed typed-two"
wait_for "$PV_TMP/w2.wout" typed-two 5 || pv_fail "w2 missed typed-two"
# The engineer read one line per join; the watchers never see input.
wait_for "$PV_TMP/a.err" "provost: admin:$ME is watching this session" 5 ||
    pv_fail "no join line: $(cat "$PV_TMP/a.err")"
[ "$(grep -c 'is watching this session' "$PV_TMP/a.err")" = 2 ] ||
    pv_fail "join lines: $(cat "$PV_TMP/a.err")"
grep -q 'watching' "$PV_TMP/a.out" && pv_fail "a notice went into the session's stdout"
# A watcher that leaves: the engineer reads it, the audit says how long.
kill "$W2"
wait_for "$PV_TMP/a.err" "provost: admin:$ME stopped watching this session" 5 ||
    pv_fail "no leave line: $(cat "$PV_TMP/a.err")"
i=0
while ! pvctl audit export --format jsonl | grep '"session.watch_end"' | grep -q "$SID" &&
    [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"
[ "$(grep '"session.watch"' "$PV_TMP/audit.jsonl" | grep -c "$SID")" = 2 ] ||
    pv_fail "session.watch rows: $(grep watch "$PV_TMP/audit.jsonl")"
grep '"session.watch"' "$PV_TMP/audit.jsonl" | grep "$SID" |
    grep -q "watcher=admin:$ME uid=0 pid=[0-9]* engineer=alice target=db01 account=$ME" ||
    pv_fail "session.watch row: $(grep watch "$PV_TMP/audit.jsonl")"
grep '"session.watch_end"' "$PV_TMP/audit.jsonl" | grep "$SID" |
    grep -q "watcher=admin:$ME uid=0 pid=$W2 seconds=[0-9]* why=detached" ||
    pv_fail "session.watch_end row: $(grep watch "$PV_TMP/audit.jsonl")"

# 2. A watcher that writes is cut off, and what it wrote reaches nothing.
cat > "$PV_TMP/writer.py" <<'EOP'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
s.settimeout(10)
f = s.makefile("rb")
print(f.readline().decode().strip(), flush=True)
time.sleep(0.5)
s.sendall(b"injected-by-watcher\n")
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    print("EOF", flush=True)
except socket.timeout:
    print("TIMEOUT", flush=True)
EOP
"$PYTHON3" "$PV_TMP/writer.py" "$SOCK" "{\"cmd\":\"watch\",\"id\":\"$SID\"}" \
    >"$PV_TMP/writer.out" 2>&1 || pv_fail "writer: $(cat "$PV_TMP/writer.out")"
grep -q '"watching"' "$PV_TMP/writer.out" || pv_fail "writer: $(cat "$PV_TMP/writer.out")"
grep -q '^EOF$' "$PV_TMP/writer.out" || pv_fail "a watcher that wrote was not cut off"
printf 'after-writer\n' >&8
wait_for "$PV_TMP/a.out" after-writer 5 || pv_fail "session a stalled"
grep -q injected "$PV_TMP/a.out" && pv_fail "a watcher's bytes reached the session"
grep -q 'it sent bytes (watchers only read)' "$PVD_LOG" || pv_fail "no log of the writer"

# 3. Nobody else may watch: the socket's mode, then SO_PEERCRED.
NPY=/usr/bin/python3
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ -x "$NPY" ] &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$NPY" -c pass 2>/dev/null; then
	chmod 0711 "$PV_TMP" "$PV_TMP/run"
	chmod 0644 "$PV_TMP/writer.py"
	np() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$NPY" \
	    "$PV_TMP/writer.py" "$SOCK" "{\"cmd\":\"watch\",\"id\":\"$SID\",\"actor\":\"root\"}" 2>&1; }
	out=$(np) && pv_fail "nobody connected to a 0600 socket: $out"
	echo "$out" | grep -q 'PermissionError' || pv_fail "nobody: $out"
	chmod 0666 "$SOCK"
	out=$(np)
	chmod 0600 "$SOCK"
	chmod 0700 "$PV_TMP" "$PV_TMP/run"
	echo "$out" | grep -q '"error":"permission denied"' || pv_fail "peercred: $out"
	echo "$out" | grep -q typed && pv_fail "nobody saw output: $out"
	pvctl audit export --format jsonl | grep '"session.watch"' | grep -q 'uid=65534' &&
	    pv_fail "nobody's watch was audited as a watch"
	pv_log "nobody: refused by the socket's mode, then by SO_PEERCRED"
else
	pv_log "setpriv or root missing: the nobody check is skipped"
fi

# 4. The session ends: the watcher is told and exits 0.
exec 8>&-
wait "$SSHP" 2>/dev/null
wait_for "$PV_TMP/w1.wout" "provost: session ended" 10 ||
    pv_fail "w1 not told of the end: $(tail -c 300 "$PV_TMP/w1.wout")"
wait "$W1" || pv_fail "watch exited $? at the session's end"
grep -q 'the watch ended' "$PV_TMP/w1.werr" || pv_fail "w1: $(cat "$PV_TMP/w1.werr")"

# 5. 50 MB with no watcher, then with a stopped one (--follow-engineer
# attaches it to alice's next session): byte-exact, not slowed.
BIG=52428800
yes provost-watch-throughput | head -c $BIG > "$PV_TMP/big.expect"
EXP=$(sha "$PV_TMP/big.expect")
bigrun() { # TAG: one session; the 50 MB after a line on its stdin
	mkfifo "$PV_TMP/$1.in"
	exec 9<>"$PV_TMP/$1.in"
	session_start "$1" "read go; yes provost-watch-throughput | head -c $BIG; read done"
}
bigtime() { # TAG: ms from go to the 50 MB out
	t0=$(now_ms)
	printf 'go\n' >&9
	i=0
	while [ "$(stat -c %s "$PV_TMP/$1.out")" -lt $BIG ] && [ $i -lt 1200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	T=$(($(now_ms) - t0))
	[ "$(sha "$PV_TMP/$1.out")" = "$EXP" ] || pv_fail "$1: 50 MB not byte-exact ($(stat -c %s "$PV_TMP/$1.out") bytes)"
}
bigrun base
sleep 1
bigtime base
TBASE=$T
printf 'done\n' >&9
exec 9>&-
wait "$SSHP" 2>/dev/null
watcher slow --follow-engineer alice
WS=$WP
wait_for "$PV_TMP/slow.werr" "waiting for alice's next session" 5 ||
    pv_fail "follow: $(cat "$PV_TMP/slow.werr")"
bigrun slow
wait_for "$PV_TMP/slow.werr" "watching session $SID" 10 ||
    pv_fail "--follow-engineer did not attach: $(cat "$PV_TMP/slow.werr")"
kill -STOP "$WS"
bigtime slow
TSLOW=$T
pv_log "50 MB: $TBASE ms with no watcher, $TSLOW ms with a stopped one"
[ "$TSLOW" -le $((TBASE * 2 + 1500)) ] || pv_fail "a stopped watcher slowed the session: $TSLOW ms against $TBASE ms"
grep -q "session $SID: watcher admin:$ME fell 1024 KiB behind: cut off" "$PVD_LOG" ||
    pv_fail "the stopped watcher was not cut off"
# Woken, it reads what its socket held, the notice, and the end.
kill -CONT "$WS"
wait_for "$PV_TMP/slow.wout" "fell too far behind the session and was cut off" 10 ||
    pv_fail "no cut-off notice: $(tail -c 300 "$PV_TMP/slow.wout")"
wait "$WS" || pv_fail "the cut-off watcher exited $?"
wait_for "$PV_TMP/slow.err" "stopped watching (cut off: too slow)" 5 ||
    pv_fail "the engineer was not told of the cut: $(cat "$PV_TMP/slow.err")"
printf 'done\n' >&9
exec 9>&-
wait "$SSHP" 2>/dev/null

# 6. NotifyWatchers no: the watcher still sees, the engineer reads nothing.
kill "$PVD_PID"
wait "$PVD_PID" 2>/dev/null
start_provostd "NotifyWatchers no"
mkfifo "$PV_TMP/q.in"
exec 8<>"$PV_TMP/q.in"
session_start q cat
watcher wq "$SID"
wait_for "$PV_TMP/wq.werr" "watching session $SID" 5 || pv_fail "wq: $(cat "$PV_TMP/wq.werr")"
printf 'quiet-one\n' >&8
wait_for "$PV_TMP/wq.wout" quiet-one 5 || pv_fail "wq missed quiet-one"
kill "$WP"
sleep 0.5
printf 'quiet-two\n' >&8
wait_for "$PV_TMP/q.out" quiet-two 5 || pv_fail "session q stalled"
grep -q watching "$PV_TMP/q.err" && pv_fail "NotifyWatchers no, yet: $(cat "$PV_TMP/q.err")"
exec 8>&-
wait "$SSHP" 2>/dev/null
pvctl audit export --format jsonl | grep '"session.watch"' | grep -q "$SID" ||
    pv_fail "a quiet watch was not audited"
pv_log "ok"
