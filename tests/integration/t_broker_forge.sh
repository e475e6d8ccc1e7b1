#!/bin/sh
# t_broker_forge.sh: the monitor believes nothing a taken-over session
# process says.  pv-broker-forge stops a live session process, takes its
# monitor socket and speaks the real protocol as an attacker who owns the
# process would (a libssh bug is enough):
# - a certificate for source-address 0.0.0.0/0,::/0 (usable from
#   anywhere), for an address that is not this host's, or for one of this
#   host's addresses that is not the local address of the leg the monitor
#   connected: the process is killed, the refusal logged and audited, no
#   certificate issued (a mint before any leg: test_broker_monsrv);
# - a certificate for the leg's own address: issued, bound to it (checked
#   with ssh-keygen -L);
# - more certificates than a session needs (3 in all): killed;
# - target-get for a target no rule or grant opens to the engineer:
#   answered as for one that does not exist, after authentication and
#   before it; before authentication (a verified key, the code not yet
#   typed) a second target-get, for another target than the login's, is
#   killed;
# - a control-link report that names another session id (so that a kill
#   or revocation of its own id misses it): killed as a malformed report,
#   and the live list shows the monitor's id and engineer throughout;
# - a frame started and never finished: the monitor goes on serving every
#   other session (it never waits for one), and kills the writer 5 s on;
# - a flood of requests before authentication: killed past the bound;
# - a session process that never authenticates and cannot end itself
#   (stopped): killed by the monitor after LoginGraceTime;
# - codes guessed by the process itself: one sooner than the failure delay
#   after a wrong one, or one past MaxAuthTries (3), is killed; each wrong
#   one is audited by the monitor and counts for the per-source penalty;
# - a decision asked with another client address than the connection's
#   (to pass a contract's OperateFrom): decided on the monitor's own;
# - a target.unreachable row (an outage for the sla plugin) appended as
#   any audit row: killed, no row (only the monitor writes that row);
# - any audit action the session side does not write (grant.approve,
#   engineer.revoke, ...): killed, no row; one it does write is taken;
#   an auth.ok that names another engineer than the monitor approved:
#   killed, no row;
# - the target leg's TCP connection, which the monitor opens: for a
#   target its decision refused, or another than the one decided,
#   killed; for the decided target, the socket comes (the monitor's own
#   row's host and port), and a failure told of it makes the
#   target.unreachable row, naming the monitor's target;
# - a certificate for a target stored by host name: only for the address
#   of the leg the monitor connected.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

[ "$(id -u)" -eq 0 ] || pv_skip "needs root (pidfd_getfd on the sandboxed process)"
FORGE="$top_builddir/broker/pv-broker-forge"
[ -x "$FORGE" ] || pv_fail "no $FORGE (make check builds it)"
SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
[ -n "$SQLITE3" ] && [ -x "$SQLITE3" ] || pv_skip "sqlite3 not found"
sql() { "$SQLITE3" -cmd '.timeout 5000' "$STATE/provost.db" "$1"; }

LOGIN_GRACE=8s
start_provostd
L="alice+$ME@db01"

# forge REQUEST...: against the live session's process; its output in $out.
forge() { out=$("$FORGE" "$SP" "$MFD" "$@" 2>&1); }
# killed_for WHY: the forged process was killed, logged and audited.
killed_for() {
	echo "$out" | tail -1 | grep -q '^closed' || pv_fail "not refused: $out"
	pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: $1 (mint-cert)" 5 ||
	    pv_fail "no kill logged for: $1"
	# the log line comes before the round's store batch commits
	i=0
	while :; do
		n=$(sql "select count(*) from audit where action = 'session.monitor_violation'
		    and object = 'session:$SID'")
		[ "$n" -eq 0 ] && [ $i -lt 50 ] || break
		sleep 0.1
		i=$((i + 1))
	done
	[ "$n" -eq 1 ] || pv_fail "violation audited $n times"
	kill -CONT "$SP" 2>/dev/null
	wait "$LP"
}

# 1. Usable from anywhere.
live_session a
forge "decide alice db01 $ME shell" "mint-cert $SID db01 $ME 0.0.0.0/0,::/0 $PV_TMP/any-cert.pub"
echo "$out" | head -1 | grep -q '^decision allow' || pv_fail "decision: $out"
[ -s "$PV_TMP/any-cert.pub" ] && pv_fail "a certificate for 0.0.0.0/0 was issued: $("$SSH_KEYGEN" -L -f "$PV_TMP/any-cert.pub" | grep -A1 source)"
killed_for "a certificate for an address that is not the leg's"

# 2. Another host's address.
live_session b
forge "decide alice db01 $ME shell" "mint-cert $SID db01 $ME 192.0.2.7/32 $PV_TMP/other-cert.pub"
[ -s "$PV_TMP/other-cert.pub" ] && pv_fail "a certificate for 192.0.2.7 was issued"
killed_for "a certificate for an address that is not the leg's"

# 3. This host's, but not the leg's (the monitor reached 127.0.0.1 from
# 127.0.0.1).
other=$(ip -o -4 addr show scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
if [ -n "$other" ]; then
	live_session c
	forge "decide alice db01 $ME shell" "mint-cert $SID db01 $ME $other/32 $PV_TMP/route-cert.pub"
	[ -s "$PV_TMP/route-cert.pub" ] && pv_fail "a certificate for $other (not the leg's address) was issued"
	killed_for "a certificate for an address that is not the leg's"
	pv_log "this host's $other, not the leg's: refused"
fi

# 4. The leg's own address: issued and bound to it; two more would make
# four credentials for one session: the fourth is refused.
live_session d
forge "decide alice db01 $ME shell" "mint-cert $SID db01 $ME 127.0.0.1/32 $PV_TMP/own-cert.pub" \
    "decide alice db01 $ME shell" "mint-cert $SID db01 $ME 127.0.0.1/32 $PV_TMP/own2-cert.pub" \
    "decide alice db01 $ME shell" "mint-cert $SID db01 $ME 127.0.0.1/32 $PV_TMP/own3-cert.pub"
echo "$out" | sed -n 2p | grep -q '^cert serial' || pv_fail "own address: $out"
"$SSH_KEYGEN" -L -f "$PV_TMP/own-cert.pub" >"$PV_TMP/own.txt" || pv_fail "ssh-keygen -L"
grep -A1 'source-address' "$PV_TMP/own.txt" | grep -q '127\.0\.0\.1/32' ||
    pv_fail "source-address: $(cat "$PV_TMP/own.txt")"
echo "$out" | sed -n 4p | grep -q '^cert serial' || pv_fail "the third credential: $out"
[ -s "$PV_TMP/own3-cert.pub" ] && pv_fail "a fourth credential was issued"
out=$(echo "$out" | tail -1)
killed_for "more credentials than one session needs"

# 5. After authentication: nothing of vault (above alice's clearance).
live_session e
forge "target-get alice vault" "target-get alice db01"
echo "$out" | sed -n 1p | grep -qx 'target none' || pv_fail "vault was described: $out"
echo "$out" | sed -n 2p | grep -q '^target db01 host 127.0.0.1 ' || pv_fail "db01: $out"
kill -CONT "$SP"
kill "$LP" 2>/dev/null
wait "$LP"

# preauth_bob: bob's key verified, his code still being typed (the
# askpass waits; bob has no MFAGrace yet); sets WP (his ssh), SID, SP, MFD.
cat > "$PV_TMP/askpass-wait" <<'EOC'
#!/bin/sh
sleep 30
echo 000000
EOC
chmod +x "$PV_TMP/askpass-wait"
preauth_bob() {
	pre=$(grep -c 'pre-opening the target leg to db01' "$PVD_LOG")
	SSH_ASKPASS="$PV_TMP/askpass-wait" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/bob" -p "$PVD_PORT" -o BatchMode=no \
	    -o NumberOfPasswordPrompts=1 -l "bob+$ME@db01" 127.0.0.1 true >/dev/null 2>&1 </dev/null &
	WP=$!
	pv_track "$WP"
	i=0
	while [ "$(grep -c 'pre-opening the target leg to db01' "$PVD_LOG")" -le "$pre" ]; do
		i=$((i + 1))
		[ $i -lt 150 ] || pv_fail "no leg pre-opened"
		sleep 0.1
	done
	SID=$(sed -n 's/.*session \([0-9a-f-]*\): pre-opening the target leg to db01.*/\1/p' "$PVD_LOG" | tail -1)
	SP=$(sed -n "s/.*session $SID: session process \([0-9]*\) runs as uid .*/\1/p" "$PVD_LOG")
	MFD=$(sed -n "s/.*session $SID: session process [0-9]* runs as uid [0-9]*, monitor socket fd \([0-9]*\), .*/\1/p" "$PVD_LOG")
	[ -n "$SP" ] && [ -n "$MFD" ] || pv_fail "no pre-auth session process for $SID"
}
# preauth_done: the forged pre-auth process is gone; its ssh too.
preauth_done() {
	kill -CONT "$SP" 2>/dev/null
	kill "$WP" 2>/dev/null
	wait "$WP"
}

# 6. Before authentication, the login's own target was asked for (the
# leg is pre-opened); a second target-get is a lie.
preauth_bob
forge "target-get bob vault"
echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a second target before the code: $out"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a request out of order (target-get)" 5 ||
    pv_fail "the pre-auth target-get was not refused"
preauth_done

# 7. Who a session is comes from the monitor, not from the process.
live_session f
pvctl session list --live >"$PV_TMP/list.txt" 2>&1 || pv_fail "session list: $(cat "$PV_TMP/list.txt")"
grep "$SID" "$PV_TMP/list.txt" | grep -q alice || pv_fail "live list: $(cat "$PV_TMP/list.txt")"
FAKE=00000000-0000-4000-8000-000000000001
"$FORGE" "$SP" "$LFD" "report I $FAKE" "report A bob" >"$PV_TMP/rep.out" 2>&1 ||
    pv_fail "report: $(cat "$PV_TMP/rep.out")"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a malformed report" 5 ||
    pv_fail "a forged identity report was taken"
pvctl session list --live >"$PV_TMP/list.txt" 2>&1
grep -q "$FAKE" "$PV_TMP/list.txt" && pv_fail "the forged id is listed: $(cat "$PV_TMP/list.txt")"
n=$(sql "select count(*) from audit where action = 'session.monitor_violation'
    and object = 'session:$SID'")
[ "$n" -ge 1 ] || pv_fail "the malformed report was not audited"
kill -CONT "$SP" 2>/dev/null
wait "$LP"
# the row is marked in the monitor's next store batch: not before ssh ends
i=0
while [ "$(sql "select state from sessions where id = '$SID'")" != aborted ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(sql "select state from sessions where id = '$SID'")" = aborted ] ||
    pv_fail "row after the malformed report: $(sql "select state, end_reason from sessions where id = '$SID'")"

# 8. A frame begun and never finished: nobody else waits for it.
live_session g
forge "partial"
t0=$(date +%s%N)
pvctl session list --live >"$PV_TMP/list.txt" 2>&1 || pv_fail "session list during a slow frame"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -lt 3500 ] || pv_fail "the monitor waited on a slow frame: session list took $ms ms"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: an unfinished frame" 10 ||
    pv_fail "the slow writer was not killed"
kill -CONT "$SP" 2>/dev/null
wait "$LP"
pv_log "a frame left unfinished: session list answered in $ms ms meanwhile; the writer killed"

# 9. A flood before authentication.
preauth_bob
forge "audit-flood $SID 200"
echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a pre-auth flood was taken: $out"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: too many requests before authentication" 5 ||
    pv_fail "the pre-auth flood: $(tail -3 "$PVD_LOG")"
preauth_done

# 10. A pre-auth process that cannot end itself (stopped): the monitor
# ends it after LoginGraceTime (8 s here, and 2 s of slack).
preauth_bob
kill -STOP "$SP"
t0=$(date +%s)
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: not authenticated within LoginGraceTime" 20 ||
    pv_fail "a stopped pre-auth process outlived LoginGraceTime"
pv_log "a stopped pre-auth process killed by the monitor $(( $(date +%s) - t0 )) s after it was stopped"
preauth_done

# 11. Guessing codes from inside: too fast, then too many.
preauth_bob
forge "totp bob 000000" "totp bob 111111"
echo "$out" | sed -n 1p | grep -qx 'code wrong' || pv_fail "first guess: $out"
echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a code right after a wrong one was taken: $out"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a code sooner than the failure delay" 5 ||
    pv_fail "fast guesses: $(tail -3 "$PVD_LOG")"
n=$(sql "select count(*) from audit where action = 'auth.fail' and object = 'session:$SID'")
[ "$n" -eq 1 ] || pv_fail "wrong codes audited $n times, want 1"
preauth_done
preauth_bob
forge "totp bob 000000" "sleep 800" "totp bob 111111" "sleep 800" "totp bob 222222" "sleep 800" "totp bob 333333"
[ "$(echo "$out" | grep -c '^code wrong')" -eq 3 ] || pv_fail "three guesses: $out"
echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a fourth code was taken: $out"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a code after MaxAuthTries wrong ones" 5 ||
    pv_fail "a fourth guess: $(tail -3 "$PVD_LOG")"
n=$(sql "select count(*) from audit where action = 'auth.fail' and object = 'session:$SID'")
[ "$n" -eq 3 ] || pv_fail "wrong codes audited $n times, want 3"
preauth_done

# 12. The bounds leave honest clients alone: one that offers 30 other keys
# from its agent before the right one gets in.
ids=""
i=1
while [ $i -le 30 ]; do
	"$SSH_KEYGEN" -q -t ed25519 -N '' -f "$PV_TMP/k$i" || pv_fail "keygen"
	ids="$ids -i $PV_TMP/k$i"
	i=$((i + 1))
done
# shellcheck disable=SC2086
out=$(SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    "$SSH" -F "$PV_TMP/ssh_config" $ids -i "$ENG_KEY" -o IdentitiesOnly=yes -p "$PVD_PORT" \
    -l "$L" 127.0.0.1 'echo many-keys' </dev/null 2>&1) || pv_fail "31 keys offered: $out"
echo "$out" | grep -qx many-keys || pv_fail "31 keys offered: $out"

# 13. Where the engineer connects from is the monitor's to say.  Under a
# contract that lets acme work from 127.0.0.0/8 a session opens; the
# contract then narrows to 192.0.2.0/24 (the plugin host, killed, is
# restarted by a later decision and reads it anew).  The taken-over
# session process asks for a channel and says it comes from 192.0.2.7: the
# monitor decides on the address it accepted, 127.0.0.1, and refuses.
SO="$top_builddir/plugins/contract/.libs/contract.so"
[ -f "$SO" ] || pv_fail "no $SO"
CF="$PV_TMP/contracts.conf"
contract_from() {
	printf 'Contract acme-msa\nProvider acme\nStart 2020-01-01\nEnd 2099-12-31\nOperateFrom %s\n' \
	    "$1" > "$CF"
}
contract_from "lab 127.0.0.0/8"
kill "$PVD_PID"; wait "$PVD_PID" 2>/dev/null
start_provostd "Plugin $SO $CF"
live_session e
contract_from "office 192.0.2.0/24"
HOST=$(pgrep -P "$PVD_PID" | grep -vx "$SP" | head -1)
[ -n "$HOST" ] || pv_fail "no plugin host process"
kill -9 "$HOST"
# (the first decision finds the host gone; the second restarts it)
forge "decide alice db01 $ME exec 192.0.2.7" "decide alice db01 $ME exec 192.0.2.7"
echo "$out" | sed -n 2p | grep -q "^decision deny .*OperateFrom): 127.0.0.1 is outside office" ||
    pv_fail "a forged client address was believed: $out"
kill -CONT "$SP" 2>/dev/null

# 14. An unreachable target counts against the provider's availability
# (the sla plugin): only the monitor writes that row; a process that
# appends one as any audit row is killed, and no row is written.
kill "$PVD_PID"; wait "$PVD_PID" 2>/dev/null
start_provostd
live_session f
forge "audit $SID target.unreachable cannot reach target vault: Connection refused"
echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a forged unreachable row was taken: $out"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: an audit action the session side does not write (audit-append)" 5 ||
    pv_fail "the forged unreachable row was not refused"
kill -CONT "$SP" 2>/dev/null
wait "$LP"
n=$(sql "select count(*) from audit where action = 'target.unreachable' and object = 'session:$SID'")
[ "$n" -eq 0 ] || pv_fail "a forged unreachable row was written: $n"

# 15. The target leg's socket comes from the monitor, for the target it
# decided: the process asks for it (the leg's own, then a failure told),
# and the row names db01 whatever the process says.
live_session g
forge "target-connect alice db01" "target-failed 1 Connection refused by vault"
echo "$out" | sed -n 1p | grep -q "^socket db01 127.0.0.1 $TARGET_PORT\$" || pv_fail "target-connect: $out"
echo "$out" | sed -n 2p | grep -q '^answer target-failed-ack' || pv_fail "target-failed: $out"
kill -CONT "$SP" 2>/dev/null
kill "$LP" 2>/dev/null
wait "$LP"
d=$(sql "select details from audit where action = 'target.unreachable' and object = 'session:$SID'")
case "$d" in
*'"detail":"target=db01 cannot reach target db01: Connection refused by vault"'*) ;;
*) pv_fail "the unreachable row: $d" ;;
esac

# 16. A taken-over process cannot have the monitor connect it anywhere
# else: vault, which its decision refused (beyond alice's clearance), or
# which it never asked a decision for, is killed and audited.
for how in "decide alice vault $ME shell" ""; do
	live_session h
	if [ -n "$how" ]; then
		forge "$how" "target-connect alice vault"
	else
		forge "target-connect alice vault"
	fi
	echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a leg to vault: $out"
	pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a request out of order (target-connect)" 5 ||
	    pv_fail "the forged leg to vault was not refused ($how)"
	# the log line comes before the round's store batch commits
	i=0
	while :; do
		n=$(sql "select count(*) from audit where action = 'session.monitor_violation'
		    and object = 'session:$SID' and details like '%target-connect%'")
		[ "$n" -eq 0 ] && [ $i -lt 50 ] || break
		sleep 0.1
		i=$((i + 1))
	done
	[ "$n" -ge 1 ] || pv_fail "the forged leg to vault was not audited"
	kill -CONT "$SP" 2>/dev/null
	wait "$LP"
done

# 17. A target stored by host name (localhost): the monitor resolves and
# connects it, so the certificate is bound to the leg it made; this
# host's other address is refused, where before only the route of a
# target given by address was checked.
if [ -n "$other" ] && [ "$(getent ahosts localhost | awk 'NR == 1 { print $1 }')" = 127.0.0.1 ]; then
	pvctl target add named --host localhost --port "$TARGET_PORT" --classification public \
	    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add named"
	L="alice+$ME@named"
	live_session i
	forge "decide alice named $ME shell" "mint-cert $SID named $ME $other/32 $PV_TMP/named-cert.pub"
	[ -s "$PV_TMP/named-cert.pub" ] && pv_fail "a certificate for $other (not the leg's address) was issued for a by-name target"
	killed_for "a certificate for an address that is not the leg's"
	L="alice+$ME@db01"
	pv_log "by-name target: $other (not the leg's 127.0.0.1) refused"
fi

# 18. The audit rows a session process may append are the ones the
# session side writes (protocol.h's table): one of them is taken; a
# grant's approval or an engineer's revocation, as the session's, kills
# the process and writes nothing; so does an auth.ok for bob, whose key
# the monitor never approved in this session.
live_session j
forge "audit $SID channel.refused agent forwarding" \
    "audit $SID grant.approve grant=g1 by=secops" "audit $SID engineer.revoke engineer=bob"
echo "$out" | sed -n 1p | grep -q '^answer audit-ack' || pv_fail "an allowed row was refused: $out"
echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a forged grant.approve row was taken: $out"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: an audit action the session side does not write (audit-append)" 5 ||
    pv_fail "the forged grant.approve row was not refused"
kill -CONT "$SP" 2>/dev/null
wait "$LP"
i=0
while [ "$(sql "select count(*) from audit where action = 'session.monitor_violation' and object = 'session:$SID'")" -eq 0 ] &&
    [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
n=$(sql "select count(*) from audit where object = 'session:$SID' and action in ('grant.approve', 'engineer.revoke')")
[ "$n" -eq 0 ] || pv_fail "forged grant/revoke rows were written: $n"
n=$(sql "select count(*) from audit where object = 'session:$SID' and action = 'channel.refused'
    and details like '%agent forwarding%'")
[ "$n" -eq 1 ] || pv_fail "the allowed row was not written: $n"
n=$(sql "select count(*) from audit where action = 'session.monitor_violation' and object = 'session:$SID'
    and details like '%an audit action the session side does not write%'")
[ "$n" -eq 1 ] || pv_fail "the forged row's violation was audited $n times"
live_session k
forge "audit $SID auth.ok engineer=bob from=127.0.0.1 login=bob+$ME@db01 by=key and code"
echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a forged auth.ok was taken: $out"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: an audit detail the monitor's own record contradicts (audit-append)" 5 ||
    pv_fail "the forged auth.ok was not refused"
kill -CONT "$SP" 2>/dev/null
wait "$LP"
n=$(sql "select count(*) from audit where action = 'auth.ok' and object = 'session:$SID'")
[ "$n" -eq 1 ] || pv_fail "auth.ok rows for the session: $n (want the real one only)"
n=$(sql "select count(*) from audit where action = 'auth.ok' and details like '%engineer=bob%'")
[ "$n" -eq 0 ] || pv_fail "a forged auth.ok for bob was written"
pv_log "forged audit rows: grant.approve and engineer.revoke refused, an auth.ok for bob refused, channel.refused taken"

# 19. MFAGrace and a taken-over pre-auth process.  The monitor cannot
# check a key's signature (libssh 0.10 verifies it in the session
# process), so a process that names alice's public key (public) passes
# the key step as alice; alice passed codes from 127.0.0.1 above.  With
# MFAGrace off (the default) the grace is refused whatever the store
# holds, and a decision without a code is a request in the wrong phase:
# killed and audited.  With MFAGrace on, the same claim gets the grace
# and an allow decision as alice, with neither her private key nor a
# code: the limit docs/threat-model.md states ("Any engineer's key").
# (MaxAuthTries 6: bob's real key step and the forged one both count.)
grace_claim() {
	kill "$PVD_PID"; wait "$PVD_PID" 2>/dev/null
	PVD_MAX_AUTH_TRIES=6 start_provostd "$1"
	preauth_bob
	forge "pubkey alice $PV_TMP/alice.pub" "grace alice $PV_TMP/alice.pub" \
	    "decide alice db01 $ME shell"
	echo "$out" | sed -n 1p | grep -qx 'key ok' || pv_fail "alice's public key, claimed: $out"
}
n=$(sql "select count(*) from mfa_grace g join engineers e on e.id = g.engineer_id where e.login = 'alice'")
[ "$n" -ge 1 ] || pv_fail "alice earned no grace in the store above"
grace_claim "# MFAGrace: the default"
grep -qi '^MFAGrace' "$CONF" && pv_fail "the config sets MFAGrace: $(grep -i mfagrace "$CONF")"
echo "$out" | sed -n 2p | grep -qx 'grace refused' || pv_fail "MFAGrace off: the grace was granted: $out"
echo "$out" | tail -1 | grep -q '^closed' || pv_fail "MFAGrace off: a decision without a code: $out"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a request in the wrong phase (decide-channel)" 5 ||
    pv_fail "MFAGrace off: the decision without a code was not refused"
i=0
while :; do # the log line comes before the round's store batch commits
	n=$(sql "select count(*) from audit where action = 'session.monitor_violation'
	    and object = 'session:$SID' and details like '%decide-channel%'")
	[ "$n" -eq 0 ] && [ $i -lt 50 ] || break
	sleep 0.1
	i=$((i + 1))
done
[ "$n" -eq 1 ] || pv_fail "MFAGrace off: the violation audited $n times"
preauth_done
grace_claim "MFAGrace 10m"
echo "$out" | sed -n 2p | grep -qx 'grace granted' || pv_fail "MFAGrace on: $out"
echo "$out" | sed -n 3p | grep -q '^decision allow' || pv_fail "MFAGrace on: the documented limit changed: $out"
preauth_done
pv_log "MFAGrace off: a claimed key gets no grace and no decision; on: the documented limit (in as alice)"

pv_log "forged certificate requests: anywhere, elsewhere and a fourth refused and killed; the leg's own address bound"
exit 0
