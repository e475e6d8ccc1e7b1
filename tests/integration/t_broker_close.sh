#!/bin/sh
# t_broker_close.sh: EOF and close travel both ways, in either order, on
# every channel kind, with the real ssh and sshd: -L and -R forwards whose
# far end closes first, whose near end closes first, that half-close with
# data still flowing the other way, and that close at once; exec channels
# closed by either side first; sftp; more channels over one ControlMaster
# connection than may be open at once.  Each time the engineer's ssh exits
# as it does against sshd directly and the session leaves the live list.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

PY=$(command -v python3 || :)
[ -n "$PY" ] || pv_skip "python3 not found"
PEER="$top_srcdir/tests/integration/tcp-peer.py"
W="$PV_TMP/work"
mkdir -p "$W"
peer_serve banner; PB=$PEER_PORT
peer_serve echo; PE=$PEER_PORT
peer_serve sink; PS=$PEER_PORT
peer_serve drop; PD=$PEER_PORT
RPORT=$(pv_free_port) || pv_fail "no free port"
cat > "$PV_TMP/policy.conf" <<EOC
Levels public internal confidential restricted

Rule all
    Classification public
    Approval none
    Channels shell exec sftp scp forward remote-forward
    ForwardTo 127.0.0.1:$PB 127.0.0.1:$PE 127.0.0.1:$PS 127.0.0.1:$PD
    RemoteForwardListen 127.0.0.1:$RPORT
EOC
start_provostd
L="alice+$ME@db01"
head -c 4194304 /dev/urandom > "$W/blob"
BLOB="$(sha "$W/blob") 4194304"

# gone SECONDS PID: the process exits within SECONDS.
gone() {
	i=0
	while kill -0 "$2" 2>/dev/null && [ $i -lt $(($1 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
	! kill -0 "$2" 2>/dev/null
}
# no_live: the live list empties within 15 s of the engineer's ssh exiting.
no_live() {
	i=0
	while [ $i -lt 150 ]; do
		[ "$(pvctl session list --live --json | grep -c '"id"')" -eq 0 ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	pv_fail "$1: the session is still live: $(pvctl session list --live)"
}
# through PORT CLIENTMODE [FILE]: a connection to PORT; prints its result.
through() { "$PY" "$PEER" connect "$@" 2>&1; }

# -L: the engineer's ssh runs 'sleep 5; echo done' with a forward to each
# far end; a connection through it must not keep ssh from exiting.
for case in server-first client-first half-close both-at-once; do
	LP=$(pv_free_port) || pv_fail "no free port"
	case $case in
	server-first) DEST=$PB ;;
	client-first) DEST=$PE ;;
	half-close) DEST=$PS ;;
	both-at-once) DEST=$PD ;;
	esac
	t0=$(date +%s)
	pvssh_bg "$L" -o ExitOnForwardFailure=yes -L "$LP:127.0.0.1:$DEST" 'sleep 5; echo done' \
	    </dev/null > "$W/l.out" 2>&1
	i=0
	while ! "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $LP), 1).close()" \
	    2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	case $case in
	server-first) got=$(through "$LP" read); want=BANNER ;;
	client-first) got=$(through "$LP" drop); want=dropped ;;
	half-close) got=$(through "$LP" tell "$W/blob"); want=4194304 ;;
	both-at-once) got=$(through "$LP" drop); want=dropped ;;
	esac
	[ "$got" = "$want" ] || pv_fail "-L $case: got '$got', want '$want'"
	gone 10 "$PVSSH_PID" || pv_fail "-L $case: ssh did not exit ($(cat "$W/l.out"))"
	grep -qx done "$W/l.out" || pv_fail "-L $case: $(cat "$W/l.out")"
	no_live "-L $case"
	pv_log "-L $case: ssh exited after $(($(date +%s) - t0)) s"
done
# The echo with data both ways and a half-close, to a lasting forward.
LP=$(pv_free_port)
pvssh_bg "$L" -N -o ExitOnForwardFailure=yes -L "$LP:127.0.0.1:$PE" </dev/null > "$W/l.out" 2>&1
i=0
while ! "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $LP), 1).close()" \
    2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
got=$(through "$LP" send "$W/blob")
[ "$got" = "$BLOB" ] || pv_fail "-L half-close with echo: $got"
kill "$PVSSH_PID"; gone 10 "$PVSSH_PID" || pv_fail "-L: ssh did not end on SIGTERM"
no_live "-L echo"

# -R: the far ends are on the engineer's side, the connections on the target's.
nrf=0
for case in server-first client-first half-close both-at-once; do
	case $case in
	server-first) DEST=$PB ;;
	client-first) DEST=$PE ;;
	half-close) DEST=$PE ;;
	both-at-once) DEST=$PD ;;
	esac
	pvssh_bg "$L" -o ExitOnForwardFailure=yes -R "127.0.0.1:$RPORT:127.0.0.1:$DEST" \
	    'sleep 5; echo done' </dev/null > "$W/r.out" 2>&1
	nrf=$((nrf + 1))
	i=0
	while [ "$(grep -c "remote forward from 127.0.0.1:$RPORT" "$PVD_LOG")" -lt "$nrf" ] &&
	    [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	case $case in
	server-first) got=$(through "$RPORT" read); want=BANNER ;;
	client-first) got=$(through "$RPORT" drop); want=dropped ;;
	half-close) got=$(through "$RPORT" send "$W/blob"); want=$BLOB ;;
	both-at-once) got=$(through "$RPORT" drop); want=dropped ;;
	esac
	[ "$got" = "$want" ] || pv_fail "-R $case: got '$got', want '$want'"
	gone 10 "$PVSSH_PID" || pv_fail "-R $case: ssh did not exit ($(cat "$W/r.out"))"
	grep -qx done "$W/r.out" || pv_fail "-R $case: $(cat "$W/r.out")"
	no_live "-R $case"
done
pv_log "-R: far end first, near end first, half-close, both at once"

# exec: the target's side closes first while the engineer's stdin stays
# open; the engineer's EOF first; a half-close with output still flowing.
t0=$(date +%s)
sleep 30 | pvssh "$L" 'echo hi' > "$W/e1.out" 2>&1 &
EP=$!
i=0
while [ ! -s "$W/e1.out" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
i=0
while [ "$(pvctl session list --live --json | grep -c '"id"')" -gt 0 ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
[ $(($(date +%s) - t0)) -lt 15 ] || pv_fail "exec, target first: the session outlived its command"
[ "$(cat "$W/e1.out")" = hi ] || pv_fail "exec, target first: $(cat "$W/e1.out")"
kill "$EP" 2>/dev/null
got=$(printf 'data' | pvssh "$L" 'cat; echo after')
[ "$got" = "dataafter" ] || pv_fail "exec, engineer first: $got"
got=$(pvssh "$L" 'cat; seq 1 100000' < "$W/blob" | sha256sum | cut -d' ' -f1)
want=$( (cat "$W/blob"; seq 1 100000) | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || pv_fail "exec, half-close with output flowing"
no_live "exec"

# sftp: the engineer's side ends the channel.
printf 'put %s %s\nget %s %s\n' "$W/blob" "$W/up" "$W/up" "$W/down" > "$W/batch"
pvsftp "$L" -b "$W/batch" > "$W/sftp.out" 2>&1 || pv_fail "sftp: $(cat "$W/sftp.out")"
cmp -s "$W/blob" "$W/down" || pv_fail "sftp round trip"
no_live "sftp"

# ControlMaster: more channels over one connection, one after another and
# three at a time, than may be open at once (10); then the master leaves.
CM="$W/cm.sock"
pvssh_bg "$L" -o ControlMaster=yes -o ControlPath="$CM" -N </dev/null > "$W/cm.out" 2>&1
CMPID=$PVSSH_PID
i=0
while [ ! -S "$CM" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mux() { "$SSH" -F "$PV_TMP/ssh_config" -o ControlPath="$CM" -o ControlMaster=no -l "$L" 127.0.0.1 "$@"; }
n=1
while [ $n -le 24 ]; do
	out=$(mux "echo ch$n" </dev/null 2>&1)
	[ "$out" = "ch$n" ] || pv_fail "ControlMaster channel $n: $out"
	n=$((n + 1))
done
for b in 1 2 3 4; do
	mux 'sleep 1; echo a' </dev/null > "$W/m1" 2>&1 &
	m1=$!
	mux 'sleep 1; echo b' </dev/null > "$W/m2" 2>&1 &
	m2=$!
	mux 'sleep 1; echo c' </dev/null > "$W/m3" 2>&1 &
	wait $m1 $! $m2
	[ "$(cat "$W/m1" "$W/m2" "$W/m3" | tr -d '\n')" = abc ] || pv_fail "ControlMaster batch $b"
done
LP=$(pv_free_port)
mux -O forward -L "$LP:127.0.0.1:$PB" </dev/null >/dev/null 2>&1 || pv_fail "mux forward"
for n in 1 2 3 4 5 6 7 8 9 10 11 12; do
	got=$(through "$LP" read)
	[ "$got" = BANNER ] || pv_fail "ControlMaster forward $n: $got"
done
mux -O exit </dev/null >/dev/null 2>&1
gone 10 "$CMPID" || pv_fail "the master did not exit"
no_live "ControlMaster"
pv_log "ControlMaster: 36 exec channels and 12 forwarded connections on one connection"
grep -q 'a write to a peer failed' "$PVD_LOG" && pv_fail "a session ended on a failed write"
pvctl audit verify >/dev/null || pv_fail "audit chain does not verify"
