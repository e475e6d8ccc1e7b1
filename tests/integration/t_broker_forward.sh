#!/bin/sh
# t_broker_forward.sh: ssh -L through provostd to a local echo server works
# where the rule's Channels and ForwardTo allow it (byte-exact, audited,
# bytes each way in the recording) and is refused elsewhere; ssh -R works
# where Channels remote-forward and RemoteForwardListen allow the listen (a
# connection made on the target reaches the engineer's echo server,
# byte-exact, audited with its source and bytes) and is refused elsewhere;
# agent and X11 are refused and audited.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

PY=$(command -v python3 || :)
[ -n "$PY" ] || pv_skip "python3 not found"
W="$PV_TMP/work"
mkdir -p "$W"
peer_serve echo
SRV=$PEER_PORT

RPORT=$(pv_free_port) || pv_fail "no free port"
cat > "$PV_TMP/policy.conf" <<EOC
Levels public internal confidential restricted

Rule remote
    Target rfwd01
    Classification public
    Approval none
    Channels shell exec remote-forward
    RemoteForwardListen 127.0.0.1:$RPORT localhost:$RPORT

Rule forward
    Target fwd01
    Classification public
    Approval none
    Channels shell exec forward
    ForwardTo 127.0.0.1:$SRV localhost:$SRV

Rule plain
    Classification public
    Approval none
    Channels shell exec sftp scp
EOC
hk="$PV_SSHD_DIR/host_ed25519.pub"
pvctl target add fwd01 --host 127.0.0.1 --port "$TARGET_PORT" --classification public \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add fwd01"
pvctl target add rfwd01 --host 127.0.0.1 --port "$TARGET_PORT" --classification public \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add rfwd01"
start_provostd

# fwd L DEST_PORT: ssh -N -L through provostd; sets FPID and LPORT.
fwd() {
	LPORT=$(pv_free_port) || pv_fail "no free port"
	pvssh_bg "$1" -N -o ExitOnForwardFailure=yes -L "$LPORT:127.0.0.1:$2" \
	    </dev/null > "$W/fwd.out" 2>&1
	FPID=$PVSSH_PID
	i=0
	while ! "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $LPORT), 1)" \
	    2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i + 1)); done
}
stop_fwd() { kill "$FPID" 2>/dev/null; wait "$FPID" 2>/dev/null; }

head -c 4194304 /dev/urandom > "$W/blob"
want="$(sha256sum < "$W/blob" | cut -d' ' -f1) 4194304"
# Allowed: byte-exact both ways.
fwd "alice+$ME@fwd01" "$SRV"
got=$("$PY" "$top_srcdir/tests/integration/tcp-peer.py" connect "$LPORT" send "$W/blob" 2>&1) || pv_fail "forwarded connection: $got $(cat "$W/fwd.out")"
[ "$got" = "$want" ] || pv_fail "forwarded bytes changed: $got"
stop_fwd
pv_wait_log "$PVD_LOG" 'sealed' 10 || pv_fail "forward session did not end"
"$top_builddir/provost-replay" files --key "$PV_TMP/sec.pem" "$(last_rec)" > "$W/files" ||
    pv_fail "replay files"
grep -q "$(printf 'other\tupload\t4194304\t')" "$W/files" || pv_fail "forward bytes in: $(cat "$W/files")"
grep -q "$(printf 'other\tdownload\t4194304\t')" "$W/files" || pv_fail "forward bytes out: $(cat "$W/files")"
grep -q "127.0.0.1:$SRV" "$W/files" || pv_fail "forward destination not recorded"

# Refused: a destination ForwardTo does not list; a rule without forward.
OTHER=$(pv_free_port)
fwd "alice+$ME@fwd01" "$OTHER"
"$PY" "$top_srcdir/tests/integration/tcp-peer.py" connect "$LPORT" send "$W/blob" > "$W/c2.out" 2>&1
[ "$(cat "$W/c2.out")" != "$want" ] || pv_fail "forward to an unlisted port worked"
stop_fwd
fwd "alice+$ME@db01" "$SRV"
"$PY" "$top_srcdir/tests/integration/tcp-peer.py" connect "$LPORT" send "$W/blob" > "$W/c3.out" 2>&1
[ "$(cat "$W/c3.out")" != "$want" ] || pv_fail "forward without Channels forward worked"
stop_fwd

# Remote forwarding is refused (ssh exits with ExitOnForwardFailure)
# where the rule has no remote-forward...
pvssh "alice+$ME@fwd01" -N -o ExitOnForwardFailure=yes -R "0:127.0.0.1:$SRV" \
    </dev/null > "$W/r.out" 2>&1 && pv_fail "remote forwarding was accepted"
grep -qi 'forwarding failed' "$W/r.out" || pv_fail "-R: $(cat "$W/r.out")"
# ... and where RemoteForwardListen does not list the port.
RBAD=$(pv_free_port)
pvssh "alice+$ME@rfwd01" -N -o ExitOnForwardFailure=yes -R "127.0.0.1:$RBAD:127.0.0.1:$SRV" \
    </dev/null > "$W/r2.out" 2>&1 && pv_fail "remote forwarding of an unlisted port was accepted"
grep -qi "forwarding failed for listen port $RBAD" "$W/r2.out" || pv_fail "-R unlisted: $(cat "$W/r2.out")"
"$PY" -c "import socket; socket.create_connection(('127.0.0.1', $RBAD), 1)" 2>/dev/null &&
    pv_fail "the target listens on the refused port"
# Allowed: the target listens on RPORT; a connection there reaches the
# engineer's echo server through both legs, byte-exact.
pvssh_bg "alice+$ME@rfwd01" -N -o ExitOnForwardFailure=yes \
    -R "127.0.0.1:$RPORT:127.0.0.1:$SRV" </dev/null > "$W/rfwd.out" 2>&1
FPID=$PVSSH_PID
pv_wait_log "$PVD_LOG" "remote forward from 127.0.0.1:$RPORT" 20 ||
    pv_fail "no remote forward: $(cat "$W/rfwd.out")"
got=$("$PY" "$top_srcdir/tests/integration/tcp-peer.py" connect "$RPORT" send "$W/blob" 2>&1) || pv_fail "remote-forwarded connection: $got $(cat "$W/rfwd.out")"
[ "$got" = "$want" ] || pv_fail "remote-forwarded bytes changed: $got"
got=$("$PY" "$top_srcdir/tests/integration/tcp-peer.py" connect "$RPORT" send "$W/blob" 2>&1) || pv_fail "second remote-forwarded connection: $got"
[ "$got" = "$want" ] || pv_fail "second remote-forwarded connection changed: $got"
stop_fwd
nseal=$(grep -c 'sealed' "$PVD_LOG")
i=0
while [ "$(grep -c 'sealed' "$PVD_LOG")" -le "$nseal" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
"$top_builddir/provost-replay" files --key "$PV_TMP/sec.pem" "$(last_rec)" > "$W/rfiles" ||
    pv_fail "replay files (-R)"
[ "$(grep -c "$(printf 'other\tupload\t4194304\t.*127.0.0.1:%s\t127.0.0.1:' "$RPORT")" "$W/rfiles")" -eq 2 ] ||
    pv_fail "remote forward bytes in: $(cat "$W/rfiles")"
[ "$(grep -c "$(printf 'other\tdownload\t4194304\t')" "$W/rfiles")" -eq 2 ] ||
    pv_fail "remote forward bytes out: $(cat "$W/rfiles")"
# Agent and X11 forwarding: the session runs, the requests are refused.
eval "$(ssh-agent -s)" >/dev/null
pv_track "$SSH_AGENT_PID"
out=$(pvssh "alice+$ME@db01" -A -X 'echo ${SSH_AUTH_SOCK:-noagent} ${DISPLAY:-nox}' </dev/null 2>"$W/ax.err") ||
    pv_fail "session with -A -X: $(cat "$W/ax.err")"
[ "$out" = "noagent nox" ] || pv_fail "agent or X11 reached the target: $out"
kill "$SSH_AGENT_PID" 2>/dev/null

pvctl audit verify >/dev/null || pv_fail "audit chain does not verify"
pvctl audit export --format jsonl > "$W/audit.jsonl" || pv_fail "audit export"
grep -q "forward.start.*127.0.0.1:$SRV" "$W/audit.jsonl" || pv_fail "no forward.start"
grep -q "forward.end.*in=4194304 out=4194304" "$W/audit.jsonl" || pv_fail "no forward.end with bytes"
grep -q "forward.refused.*127.0.0.1:$OTHER" "$W/audit.jsonl" || pv_fail "unlisted port not audited"
grep -q "forward.refused.*does not allow forward" "$W/audit.jsonl" || pv_fail "no-forward rule not audited"
grep -q "forward.refused.*kind=remote.*does not allow remote-forward" "$W/audit.jsonl" ||
    pv_fail "-R without remote-forward not audited"
grep -q "forward.refused.*kind=remote listen=127.0.0.1:$RBAD.*does not allow remote forwarding" \
    "$W/audit.jsonl" || pv_fail "-R of an unlisted port not audited"
grep -q "rforward.listen.*listen=127.0.0.1:$RPORT" "$W/audit.jsonl" || pv_fail "no rforward.listen"
[ "$(grep -c "rforward.start.*listen=127.0.0.1:$RPORT source=127.0.0.1:" "$W/audit.jsonl")" -eq 2 ] ||
    pv_fail "rforward.start rows (source)"
[ "$(grep -c "rforward.end.*listen=127.0.0.1:$RPORT source=127.0.0.1:[0-9]* in=4194304 out=4194304" \
    "$W/audit.jsonl")" -eq 2 ] || pv_fail "rforward.end rows with bytes"
grep -q "agent forwarding" "$W/audit.jsonl" || pv_fail "agent not audited"
grep -q 'channel.refused.*request type' "$W/audit.jsonl" || pv_fail "X11 not audited"
pv_log "ssh -L allowed/refused by ForwardTo, -R by RemoteForwardListen, agent/X11 refused, all audited"
