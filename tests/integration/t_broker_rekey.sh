#!/bin/sh
# t_broker_rekey.sh: key re-exchanges never end a session nor change a byte.
# Every channel kind (exec stdout, stderr and stdin, sftp get and put with and
# without RecordFileContents, scp -O both ways and scp over sftp, -L and -R
# forwards, ControlMaster channels) moves PV_REKEY_MB (default 200) MB each
# way with RekeyLimit 4M on the engineer's client, then on the target's
# sshd, then on both: byte-exact, every recording verifies, file events carry
# the right SHA-256.  Then a re-key while either side's window is full (a
# slow reader), provostd's own RekeyLimit on both its legs, and with
# default settings more than 4 GiB through exec (64-bit counters) and more
# than 1 GiB through sftp get (the client's own re-key at 1 GiB).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

PY=$(command -v python3 || :)
[ -n "$PY" ] || pv_skip "python3 not found"
[ -n "$SFTP" ] && [ -n "$SCP" ] || pv_skip "sftp/scp not found"
REPLAY="$top_builddir/provost-replay"
KEY="$PV_TMP/sec.pem"
W="$PV_TMP/work"
mkdir -p "$W/remote"
MB=${PV_REKEY_MB:-200}
BYTES=$((MB * 1048576))

peer_serve echo
SRV=$PEER_PORT
RPORT=$(pv_free_port) || pv_fail "no free port"

# A second target whose sshd re-keys every 4 MB and every second (its
# RekeyLimit: a 4 MB transfer through it cannot avoid a re-key).
cat > "$PV_TMP/rekey_extra" <<EOC
TrustedUserCAKeys $STATE/ca.pub
AuthorizedPrincipalsFile none
Subsystem sftp internal-sftp
RekeyLimit 4M 1s
EOC
pv_start_sshd rktarget "$PV_TMP/rekey_extra"
cat > "$PV_TMP/policy.conf" <<EOC
Levels public internal confidential restricted

Rule contents
    Target rk01c
    Classification public
    Approval none
    Channels shell exec sftp scp forward remote-forward
    ForwardTo 127.0.0.1:$SRV
    RemoteForwardListen 127.0.0.1:$RPORT
    RecordFileContents yes

Rule all
    Classification public
    Approval none
    Channels shell exec sftp scp forward remote-forward
    ForwardTo 127.0.0.1:$SRV
    RemoteForwardListen 127.0.0.1:$RPORT
    RecordFileContents no
EOC
pvctl target add rk01 --host 127.0.0.1 --port "$PV_SSHD_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add rk01"
pvctl target add rk01c --host 127.0.0.1 --port "$PV_SSHD_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add rk01c"
start_provostd

# The payload: a keystream (incompressible, any reordering shows) on disk.
openssl enc -aes-128-ctr -K 00112233445566778899aabbccddeeff -iv 0 \
    -in /dev/zero 2>/dev/null | head -c "$BYTES" > "$W/src"
SRC=$(sha "$W/src")
[ "$(wc -c < "$W/src")" -eq "$BYTES" ] || pv_fail "payload"
WANT="$SRC $BYTES"

# The recording of the session that just ended, verified.
nsealed=0
verified_rec() {
	nsealed=$((nsealed + 1))
	i=0
	while [ "$(grep -c 'sealed' "$PVD_LOG")" -lt "$nsealed" ] && [ $i -lt 300 ]; do
		sleep 0.2; i=$((i + 1))
	done
	[ "$(grep -c 'sealed' "$PVD_LOG")" -ge "$nsealed" ] || pv_fail "$1: no recording sealed"
	nsealed=$(grep -c 'sealed' "$PVD_LOG")
	rec=$(last_rec)
	"$REPLAY" verify --key "$KEY" "$rec" > "$W/verify.out" 2>&1 ||
	    pv_fail "$1: recording does not verify: $(cat "$W/verify.out")"
}
# rec_stream REC TYPE: the SHA-256 of a recording's output, stderr or input.
rec_stream() {
	"$REPLAY" export --key "$KEY" --format jsonl "$1" | "$PY" -c '
import base64, hashlib, json, sys
h = hashlib.sha256()
for line in sys.stdin:
    e = json.loads(line)
    if e.get("type") == sys.argv[1]:
        h.update(base64.b64decode(e["data_b64"]) if "data_b64" in e else e["data"].encode())
print(h.hexdigest())' "$2"
}
# file_event REC OP SIZE SHA PATH: the recording holds that transfer.
file_event() {
	"$REPLAY" files --key "$KEY" "$1" > "$W/files" || pv_fail "replay files $1"
	awk -F'\t' -v op="$2" -v n="$3" -v h="$4" -v p="$5" \
	    '$2==op && $4==n && $5==h && $6==0 && ($7==p || $8==p) {f=1} END {exit !f}' \
	    "$W/files" || pv_fail "$MODE: no $2 event of $3 bytes with $4 for $5: $(cat "$W/files")"
}
sessions_ended_ok() {
	bad=$(grep -E 'end: (a write to a peer failed|read from a peer failed|recording failed)' "$PVD_LOG")
	[ -z "$bad" ] || pv_fail "$MODE: $bad"
}

nrf=0
# kinds TARGET [-o options]: every channel kind through TARGET; the first
# connection's client log is $W/client-$MODE.log.
kinds() {
	tgt=$1; shift
	L="alice+$ME@$tgt"
	# exec: stdout, stderr, stdin
	got=$(pvssh "$L" "$@" -o LogLevel=DEBUG1 -E "$W/client-$MODE.log" "cat $W/src" \
	    </dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$SRC" ] || pv_fail "$MODE: exec stdout changed ($got)"
	verified_rec "$MODE exec stdout"
	got=$(rec_stream "$rec" output)
	[ "$got" = "$SRC" ] || pv_fail "$MODE: the recording's output is not what the engineer got"
	got=$(pvssh "$L" "$@" "cat $W/src >&2" </dev/null 2>&1 >/dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$SRC" ] || pv_fail "$MODE: exec stderr changed ($got)"
	verified_rec "$MODE exec stderr"
	[ "$(rec_stream "$rec" stderr)" = "$SRC" ] ||
	    pv_fail "$MODE: the recording's stderr is not what the engineer got"
	got=$(pvssh "$L" "$@" 'sha256sum' < "$W/src" | cut -d' ' -f1)
	[ "$got" = "$SRC" ] || pv_fail "$MODE: exec stdin changed ($got)"
	verified_rec "$MODE exec stdin"
	[ "$(rec_stream "$rec" input)" = "$SRC" ] ||
	    pv_fail "$MODE: the recording's input is not what the target got"
	# sftp put and get
	rm -f "$W/remote/up" "$W/down"
	printf 'put %s %s\nget %s %s\n' "$W/src" "$W/remote/up" "$W/remote/up" "$W/down" > "$W/batch"
	pvsftp "$L" "$@" -b "$W/batch" > "$W/sftp.out" 2>&1 || pv_fail "$MODE: sftp: $(tail -3 "$W/sftp.out")"
	[ "$(sha "$W/down")" = "$SRC" ] && [ "$(sha "$W/remote/up")" = "$SRC" ] ||
	    pv_fail "$MODE: sftp round trip changed"
	verified_rec "$MODE sftp"
	file_event "$rec" put "$BYTES" "$SRC" "$W/remote/up"
	file_event "$rec" get "$BYTES" "$SRC" "$W/remote/up"
	# scp -O both ways, scp over sftp both ways
	for how in -O -s; do
		rm -f "$W/remote/scp" "$W/scp.got"
		pvscp "$L" "$@" "$how" "$W/src" "127.0.0.1:$W/remote/scp" > "$W/scp.out" 2>&1 ||
		    pv_fail "$MODE: scp $how up: $(cat "$W/scp.out")"
		verified_rec "$MODE scp $how up"
		file_event "$rec" put "$BYTES" "$SRC" "$W/remote/scp"
		pvscp "$L" "$@" "$how" "127.0.0.1:$W/remote/scp" "$W/scp.got" > "$W/scp.out" 2>&1 ||
		    pv_fail "$MODE: scp $how down: $(cat "$W/scp.out")"
		verified_rec "$MODE scp $how down"
		file_event "$rec" get "$BYTES" "$SRC" "$W/remote/scp"
		[ "$(sha "$W/remote/scp")" = "$SRC" ] && [ "$(sha "$W/scp.got")" = "$SRC" ] ||
		    pv_fail "$MODE: scp $how changed"
	done
	# -L: the engineer's bytes to an echo server beside the target and back
	LPORT=$(pv_free_port) || pv_fail "no free port"
	pvssh_bg "$L" "$@" -N -o ExitOnForwardFailure=yes -L "$LPORT:127.0.0.1:$SRV" \
	    </dev/null > "$W/fwd.out" 2>&1
	FPID=$PVSSH_PID
	i=0
	while ! "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $LPORT), 1)" \
	    2>/dev/null && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
	got=$("$PY" "$top_srcdir/tests/integration/tcp-peer.py" connect "$LPORT" send "$W/src" 2>&1)
	[ "$got" = "$WANT" ] || pv_fail "$MODE: -L changed: $got $(cat "$W/fwd.out")"
	kill "$FPID"; wait "$FPID" 2>/dev/null
	verified_rec "$MODE -L"
	# -R: a connection on the target to the engineer's echo server
	pvssh_bg "$L" "$@" -N -o ExitOnForwardFailure=yes -R "127.0.0.1:$RPORT:127.0.0.1:$SRV" \
	    </dev/null > "$W/rfwd.out" 2>&1
	FPID=$PVSSH_PID
	i=0
	while [ "$(grep -c "remote forward from 127.0.0.1:$RPORT" "$PVD_LOG")" -le "$nrf" ] &&
	    [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
	nrf=$((nrf + 1))
	[ "$(grep -c "remote forward from 127.0.0.1:$RPORT" "$PVD_LOG")" -ge "$nrf" ] ||
	    pv_fail "$MODE: no remote forward: $(cat "$W/rfwd.out")"
	got=$("$PY" "$top_srcdir/tests/integration/tcp-peer.py" connect "$RPORT" send "$W/src" 2>&1)
	[ "$got" = "$WANT" ] || pv_fail "$MODE: -R changed: $got $(cat "$W/rfwd.out")"
	kill "$FPID"; wait "$FPID" 2>/dev/null
	verified_rec "$MODE -R"
	# ControlMaster: output and input on channels of one connection
	CM="$W/cm.sock"
	pvssh_bg "$L" "$@" -o ControlMaster=yes -o ControlPath="$CM" -N </dev/null > "$W/cm.out" 2>&1
	CMPID=$PVSSH_PID
	i=0
	while [ ! -S "$CM" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
	[ -S "$CM" ] || pv_fail "$MODE: no control socket: $(cat "$W/cm.out")"
	mux() { "$SSH" -F "$PV_TMP/ssh_config" -o ControlPath="$CM" -o ControlMaster=no -l "$L" 127.0.0.1 "$@"; }
	got=$(mux "cat $W/src" </dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$SRC" ] || pv_fail "$MODE: mux stdout changed"
	got=$(mux 'sha256sum' < "$W/src" | cut -d' ' -f1)
	[ "$got" = "$SRC" ] || pv_fail "$MODE: mux stdin changed"
	mux -O exit >/dev/null 2>&1
	wait "$CMPID" 2>/dev/null
	verified_rec "$MODE ControlMaster"
	sessions_ended_ok
}

# newkeys LOG: how many key exchanges a debug log shows.
newkeys() { grep -c 'SSH2_MSG_NEWKEYS received' "$1" 2>/dev/null; }
for MODE in client target both; do
	t0=$(date +%s)
	case $MODE in
	client) kinds db01 -o RekeyLimit=4M ;;
	target) kinds rk01c ;;
	both) kinds rk01 -o RekeyLimit=4M ;;
	esac
	nc=$(newkeys "$W/client-$MODE.log")
	case $MODE in
	client | both) [ "$nc" -ge $((MB / 8)) ] || pv_fail "$MODE: only $nc client key exchanges in $MB MB" ;;
	esac
	pv_log "$MODE re-keys: every kind, $MB MB each way, $nc key exchanges on the first client connection, $(($(date +%s) - t0)) s"
done

# libssh's own re-keys: provostd's RekeyLimit (applied by a reload) makes
# both of its legs re-key every 4 MB and every second.  The engineer's ssh
# sees them; a target sshd logging at DEBUG1 counts those on the target leg.
PV_SSHD_LOGLEVEL=DEBUG1 pv_start_sshd dbgtarget "$PV_TMP/target_extra"
pvctl target add dbg01 --host 127.0.0.1 --port "$PV_SSHD_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add dbg01"
echo 'RekeyLimit 4M 1s' >> "$CONF"
kill -HUP "$PVD_PID"
pv_wait_log "$PVD_LOG" 'reload: applied' 10 || pv_fail "RekeyLimit reload"
MODE=broker
t0=$(date +%s)
kinds db01
nc=$(newkeys "$W/client-$MODE.log")
[ "$nc" -ge $((MB / 8)) ] || pv_fail "broker: only $nc key exchanges started by provostd on the engineer's leg"
pvssh "alice+$ME@dbg01" "cat $W/src" </dev/null 2>"$W/dbg.err" > "$W/dbg.out"
got=$(sha "$W/dbg.out")
[ "$got" = "$SRC" ] || pv_fail "broker: output through a re-keying target leg changed: $(wc -c < "$W/dbg.out") bytes, $(head -c 300 "$W/dbg.err")"
verified_rec "broker target leg"
nt=$(newkeys "$PV_TMP/dbgtarget.log")
[ "$nt" -ge $((MB / 8)) ] || pv_fail "broker: only $nt key exchanges on the target leg"
pv_log "broker re-keys (RekeyLimit 4M 1s): every kind, $MB MB each way, $nc key exchanges on the engineer's leg of the first connection, $nt on a target leg, $(($(date +%s) - t0)) s"

# A re-key while the engineer's window is full: the client re-keys every
# second while its reader sleeps; the same with the target's window full.
MODE=slow
got=$(pvssh "alice+$ME@db01" -o 'RekeyLimit=default 1' -o LogLevel=DEBUG1 -E "$W/client-slow.log" \
    "cat $W/src" </dev/null | (sleep 5; sha256sum) | cut -d' ' -f1)
[ "$got" = "$SRC" ] || pv_fail "slow engineer reader: output changed ($got)"
n=$(newkeys "$W/client-slow.log")
[ "$n" -ge 3 ] || pv_fail "slow engineer reader: only $n key exchanges"
verified_rec "slow engineer reader"
got=$(pvssh "alice+$ME@rk01" 'sleep 4; sha256sum' < "$W/src" | cut -d' ' -f1)
[ "$got" = "$SRC" ] || pv_fail "slow target reader: input changed ($got)"
verified_rec "slow target reader"
sessions_ended_ok

# Past the client's default re-key (1 GiB with chacha20-poly1305), default
# settings: exec output past 4 GiB (every counter on the way is 64-bit: the
# session row, the recording's totals, libssh's windows), and an sftp get
# of a sparse file past 1 GiB.
sed -i '/^RekeyLimit /d' "$CONF"
kill -HUP "$PVD_PID"
MODE=default
BIG=$((4 * 1073741824 + 100 * 1048576))
t0=$(date +%s)
n=$(pvssh "alice+$ME@db01" "head -c $BIG /dev/zero" </dev/null | wc -c)
[ "$n" -eq "$BIG" ] || pv_fail "default settings: $n of $BIG bytes through exec"
verified_rec "4 GiB exec"
tot=$("$REPLAY" verify --key "$KEY" --json "$rec" | sed -n 's/.*"output_bytes": *\([0-9]*\).*/\1/p')
[ "$tot" = "$BIG" ] || pv_fail "the recording's output total is $tot, not $BIG"
if [ -n "${SQLITE3:-}" ] && [ -x "$SQLITE3" ]; then
	row=$("$SQLITE3" "$STATE/provost.db" "select bytes_out from sessions where recording_path = '$rec'")
	[ "$row" = "$BIG" ] || pv_fail "the session row counts $row bytes out, not $BIG"
fi
GB=$((1024 * 1048576 + 64 * 1048576))
truncate -s "$GB" "$W/remote/sparse"
zsha=$(head -c "$GB" /dev/zero | sha256sum | cut -d' ' -f1)
printf 'get %s %s\n' "$W/remote/sparse" "$W/sparse.got" > "$W/batch"
pvsftp "alice+$ME@db01" -b "$W/batch" > "$W/sftp.out" 2>&1 ||
    pv_fail "default settings: sftp get: $(tail -3 "$W/sftp.out")"
[ "$(wc -c < "$W/sparse.got")" -eq "$GB" ] && [ "$(sha "$W/sparse.got")" = "$zsha" ] ||
    pv_fail "default settings: sftp get of $GB bytes changed"
rm -f "$W/sparse.got"
verified_rec "1 GiB sftp get"
file_event "$rec" get "$GB" "$zsha" "$W/remote/sparse"
sessions_ended_ok
pv_log "default settings: $BIG bytes through exec, $GB through sftp get, $(($(date +%s) - t0)) s"
# The monitor hashed every recording as it grew: no large recording had
# more than half of it left to hash at its end, which stops every session
# while it is done (before: 1.37 of 1.5 GB, 2.2 s).
grep -o 'recording hashed: [0-9]* bytes, [0-9]* of them at the end' "$PVD_LOG" |
    awk '$3 > 64 * 1048576 && $5 * 2 > $3 { print; bad = 1 } END { exit bad }' ||
    pv_fail "a recording was mostly hashed at its end"
[ "$(grep -c 'recording hashed: ' "$PVD_LOG")" -ge 2 ] || pv_fail "too few recordings hashed"
pvctl audit verify >/dev/null || pv_fail "audit chain does not verify"
