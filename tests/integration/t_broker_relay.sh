#!/bin/sh
# t_broker_relay.sh: real ssh -> provostd -> real sshd: exec output and exit
# codes, 50 MB out and stdin in byte-exact (and its recording replays to
# the same bytes), stderr apart, env allow-list, a pty shell and resize;
# session rows and audit in the store.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

start_provostd
L="alice+$ME@db01"

# Exit codes and output.
out=$(pvssh "$L" 'echo relay-ok' </dev/null) || pv_fail "exec failed: $out"
[ "$out" = "relay-ok" ] || pv_fail "output: $out"
for code in 0 1 7; do
	pvssh "$L" "exit $code" </dev/null
	rc=$?
	[ $rc -eq $code ] || pv_fail "exit $code came back as $rc"
done
# Killed by a signal: ssh reports 255, as it does talking to sshd directly.
pvssh "$L" 'kill -KILL $$' </dev/null
rc=$?
[ $rc -eq 255 ] || pv_fail "killed by signal came back as $rc"
pv_wait_log "$PVD_LOG" 'status=signal:KILL' 5 || pv_fail "exit-signal not relayed"

# stdout and stderr stay apart.
pvssh "$L" 'echo to-out; echo to-err >&2' </dev/null >"$PV_TMP/o" 2>"$PV_TMP/e"
[ "$(cat "$PV_TMP/o")" = "to-out" ] || pv_fail "stdout: $(cat "$PV_TMP/o")"
grep -qx 'to-err' "$PV_TMP/e" || pv_fail "stderr: $(cat "$PV_TMP/e")"

# 50 MB of output arrives byte-exact, and the recorder saw the same bytes.
head -c 52428800 /dev/urandom > "$PV_TMP/blob50"
want=$(sha256sum < "$PV_TMP/blob50" | cut -d' ' -f1)
got=$(pvssh "$L" "cat $PV_TMP/blob50" </dev/null | sha256sum | cut -d' ' -f1)
[ "$want" = "$got" ] || pv_fail "50 MB output changed on the way"
# Its recording (the last one written) replays to the same bytes.
rec=$(sealed_rec)
[ -f "$rec" ] || pv_fail "no recording file ($rec)"
rec50=$rec
"$top_builddir/provost-replay" verify --key "$PV_TMP/sec.pem" "$rec" >/dev/null ||
    pv_fail "recording does not verify"
got=$("$top_builddir/provost-replay" play --key "$PV_TMP/sec.pem" --raw \
    --speed 1000000 "$rec" </dev/null | sha256sum | cut -d' ' -f1)
[ "$want" = "$got" ] || pv_fail "the recording does not replay to the 50 MB"

# stdin through exec, byte-exact, with EOF passed on.
head -c 8388608 /dev/urandom > "$PV_TMP/blob8"
want=$(sha256sum < "$PV_TMP/blob8" | cut -d' ' -f1)
got=$(pvssh "$L" 'sha256sum' < "$PV_TMP/blob8" | cut -d' ' -f1)
[ "$want" = "$got" ] || pv_fail "8 MB stdin changed on the way ($got)"
rec=$(sealed_rec)
"$top_builddir/provost-replay" export --key "$PV_TMP/sec.pem" --format jsonl "$rec" \
    > "$PV_TMP/in.jsonl" || pv_fail "export"
grep -q '"input"' "$PV_TMP/in.jsonl" || pv_fail "stdin not recorded"
# Both ways at once (cat echoes while it reads).
got=$(pvssh "$L" 'cat' < "$PV_TMP/blob8" | sha256sum | cut -d' ' -f1)
[ "$want" = "$got" ] || pv_fail "8 MB round trip changed"

# env: LANG and LC_* pass; anything else never reaches the target (which
# would accept PV_*).
out=$(pvssh "$L" -o SetEnv="LANG=C.UTF-8 LC_TIME=C PV_SNEAK=1" \
    'echo "$LANG/$LC_TIME/${PV_SNEAK:-none}"' </dev/null)
[ "$out" = "C.UTF-8/C/none" ] || pv_fail "env: $out"

# Long command lines (ssh ... "$(cat big-script.sh)"): 100 KB, and the
# longest one argument a Linux target runs (128 KiB with its NUL), run and
# are recorded whole (EXEC and EXEC_MORE events); 250 KB in two arguments
# (sshd takes the request, its kernel refuses the exec as it would without
# provost) is recorded whole too and ends with bash's own error.
# exec_cmd REC: the SHA-256 of the command a recording holds.
exec_cmd() {
	"$top_builddir/provost-replay" export --key "$PV_TMP/sec.pem" --format jsonl "$1" |
	    python3 -c '
import hashlib, json, sys
h = hashlib.sha256()
for line in sys.stdin:
    e = json.loads(line)
    if e.get("type") in ("exec", "exec_more"):
        h.update(e["data"].encode())
print(h.hexdigest())'
}
for n in 102400 131071; do
	python3 -c "import sys; sys.stdout.write('echo start; : ' + 'x' * ($n - 24) + '; echo end')" \
	    > "$PV_TMP/cmd"
	[ "$(wc -c < "$PV_TMP/cmd")" -eq "$n" ] || pv_fail "command size"
	out=$(pvssh "$L" "$(cat "$PV_TMP/cmd")" </dev/null 2>&1 | tr '\n' ' ')
	[ "$out" = "start end " ] || pv_fail "a $n-byte command: $(echo "$out" | cut -c1-200)"
	rec=$(sealed_rec)
	[ "$(exec_cmd "$rec")" = "$(sha256sum < "$PV_TMP/cmd" | cut -d' ' -f1)" ] ||
	    pv_fail "the $n-byte command is not recorded whole"
done
python3 -c "import sys; sys.stdout.write(': ' + 'y' * 128000)" > "$PV_TMP/half"
pvssh "$L" "$(cat "$PV_TMP/half")" "$(cat "$PV_TMP/half")" </dev/null > "$PV_TMP/big.out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q 'Argument list too long' "$PV_TMP/big.out" ||
    pv_fail "a 250 KB command: $rc $(cut -c1-200 "$PV_TMP/big.out")"
rec=$(sealed_rec)
[ "$(exec_cmd "$rec")" = "$( (cat "$PV_TMP/half"; printf ' '; cat "$PV_TMP/half") | sha256sum | cut -d' ' -f1)" ] ||
    pv_fail "the 250 KB command is not recorded whole"

# An interactive shell under a pty.
printf 'echo pty-$((6*7)); tty; stty size\nexit 5\n' > "$PV_TMP/typed"
pvssh "$L" -tt < "$PV_TMP/typed" > "$PV_TMP/pty.out" 2>&1
rc=$?
[ $rc -eq 5 ] || pv_fail "pty shell exit $rc: $(cat "$PV_TMP/pty.out")"
grep -q 'pty-42' "$PV_TMP/pty.out" || pv_fail "pty shell: $(cat "$PV_TMP/pty.out")"
grep -q '/dev/pts/' "$PV_TMP/pty.out" || pv_fail "no pty on the target"

# Resize: drive a real terminal with tmux, change its size, ask stty.
if command -v tmux >/dev/null 2>&1; then
	sock="$PV_TMP/tmux.sock"
	cat > "$PV_TMP/tmux-ssh" <<EOC
#!/bin/sh
SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
exec "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" -o BatchMode=no \
    -tt -l "$L" 127.0.0.1
EOC
	chmod +x "$PV_TMP/tmux-ssh"
	tmux -S "$sock" new-session -d -x 100 -y 30 "$PV_TMP/tmux-ssh" ||
	    pv_fail "tmux"
	n=0
	until tmux -S "$sock" capture-pane -p | grep -q '[$#] *$'; do
		n=$((n + 1)); [ $n -lt 100 ] || pv_fail "no prompt in tmux: $(tmux -S "$sock" capture-pane -p)"
		sleep 0.1
	done
	tmux -S "$sock" send-keys 'stty size > '"$PV_TMP"'/size1' Enter
	sleep 0.5
	tmux -S "$sock" resize-window -x 120 -y 40 2>/dev/null ||
	    tmux -S "$sock" resize-pane -x 120 -y 40
	sleep 0.5
	tmux -S "$sock" send-keys 'stty size > '"$PV_TMP"'/size2; exit' Enter
	n=0
	while tmux -S "$sock" has-session 2>/dev/null && [ $n -lt 50 ]; do
		sleep 0.1; n=$((n + 1))
	done
	tmux -S "$sock" kill-server 2>/dev/null
	[ "$(cat "$PV_TMP/size1" 2>/dev/null)" = "30 100" ] ||
	    pv_fail "initial size: $(cat "$PV_TMP/size1" 2>/dev/null)"
	[ "$(cat "$PV_TMP/size2" 2>/dev/null)" = "40 120" ] ||
	    pv_fail "after resize: $(cat "$PV_TMP/size2" 2>/dev/null)"
fi

# sftp where the rule allows it: put and get byte-exact, recorded.
if command -v sftp >/dev/null 2>&1; then
	head -c 4194304 /dev/urandom > "$PV_TMP/up"
	printf 'put %s %s\nget %s %s\n' "$PV_TMP/up" "$PV_TMP/up.remote" \
	    "$PV_TMP/up.remote" "$PV_TMP/down" > "$PV_TMP/batch"
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    sftp -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -P "$PVD_PORT" -o BatchMode=no \
	    -b "$PV_TMP/batch" "alice+$ME@files@127.0.0.1" >/dev/null 2>"$PV_TMP/sftp.err" ||
	    pv_fail "sftp: $(cat "$PV_TMP/sftp.err")"
	cmp -s "$PV_TMP/up" "$PV_TMP/up.remote" || pv_fail "sftp put changed the file"
	cmp -s "$PV_TMP/up" "$PV_TMP/down" || pv_fail "sftp get changed the file"
	grep -q "decision for alice as $ME@files (sftp): allow" "$PVD_LOG" ||
	    pv_fail "sftp decision not logged"
fi

# The target dies mid-session: the engineer is told, with exit status 255.
pvssh "$L" 'echo started; sleep 30' </dev/null >"$PV_TMP/dead.out" 2>"$PV_TMP/dead.err" &
sp=$!
pv_wait_log "$PV_TMP/dead.out" started 10 || pv_fail "long command did not start"
for p in $(pgrep -P "$TARGET_PID"); do kill -9 "$p"; done
wait $sp
rc=$?
[ $rc -eq 255 ] || pv_fail "dead target: exit $rc"
grep -q 'provost: the connection to the target was lost' "$PV_TMP/dead.err" ||
    pv_fail "dead target: $(cat "$PV_TMP/dead.err")"

# One line per connection, auth, decision, start and end.
for what in 'connection from' 'authenticated alice' 'decision for alice' \
    'exec started' 'end: the engineer disconnected'; do
	grep -q "$what" "$PVD_LOG" || pv_fail "log lacks: $what"
done
# The store: the 50 MB session's row names its sealed recording, its hash
# and size; every session is closed; the audit chain verifies.
if [ -n "${SQLITE3:-}" ] && [ -x "$SQLITE3" ]; then
	row=$("$SQLITE3" "$STATE/provost.db" "select state, bytes_out, recording_sha256, \
	    recording_size from sessions where recording_path = '$rec50'")
	fsha=$(sha256sum < "$rec50" | cut -d' ' -f1)
	fsize=$(wc -c < "$rec50")
	[ "$row" = "closed|52428800|$fsha|$fsize" ] || pv_fail "session row: $row (file $fsha $fsize)"
	k=0
	while :; do
		n=$("$SQLITE3" "$STATE/provost.db" "select count(*) from sessions where state = 'open'")
		[ "$n" -eq 0 ] && break
		k=$((k + 1)); [ $k -lt 50 ] || pv_fail "$n sessions left open"
		sleep 0.1
	done
	k=0
	while :; do
		n=$("$SQLITE3" "$STATE/provost.db" "select count(*) from sessions where \
		    state = 'aborted' and end_reason = 'the connection to the target was lost'")
		[ "$n" -eq 1 ] && break
		k=$((k + 1)); [ $k -lt 50 ] || pv_fail "the dead target's session is not marked aborted"
		sleep 0.1
	done
fi
pvctl audit verify >/dev/null || pv_fail "audit chain does not verify"
pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"
for a in auth.ok decision credential.issued channel.start channel.end session.end; do
	grep -q "\"$a\"" "$PV_TMP/audit.jsonl" || pv_fail "no $a in the audit log"
done
pv_log "exec, exit codes, signal, 50 MB (+replay), stdin, env, pty, resize, audit ok"
exit 0
