#!/bin/sh
# t_broker_moderate.sh: a rule that says Moderated GROUP, end to end with
# stock ssh through provostd and two provostctl watchers: the session
# waits (the engineer told why) and its input is held until a member of
# GROUP watches, proving who she is with her own code (session watch
# --as); a watcher who is not one (an approver of another group, root as
# itself, root naming sam without sam's code) starts nothing, and a wrong
# code is refused; input is held again while no moderator is attached,
# and passes when one comes back; the moderator ends it with session
# kill.  A taken-over session process gets no certificate while
# no moderator watches (pv-broker-forge).  Each step is audited (session.moderation, session.watch
# moderator=, channel.held, session.kill by the moderator).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

# A rule before the others (the first match decides) for target mod01.
{
	sed -n 1p "$PV_TMP/policy.conf"
	printf '\nRule moderated\n    Target mod01\n    Classification public\n'
	printf '    Approval none\n    Moderated soc\n    Channels shell exec\n'
	sed -n '2,$p' "$PV_TMP/policy.conf"
} > "$PV_TMP/policy.new" && mv "$PV_TMP/policy.new" "$PV_TMP/policy.conf"
pvctl policy check "$PV_TMP/policy.conf" >/dev/null || pv_fail "policy check"
pvctl target add mod01 --host 127.0.0.1 --port "$TARGET_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null ||
    pv_fail "target add mod01"
pvctl approver add sam --group soc --not-engineer >/dev/null || pv_fail "approver sam"
pvctl approver add eve --group audit --not-engineer >/dev/null || pv_fail "approver eve"
approver_totp sam
approver_totp eve
# code APPROVER [STEPS]: her code STEPS (0) time steps from now.
code() {
	"$OATHTOOL" --totp -b "$(cat "$PV_TMP/ap-$1.totp")" \
	    -N "$(date -u -d "@$(($(date +%s) + ${2:-0} * 30))" '+%Y-%m-%d %H:%M:%S UTC')"
}
mkdir -m 0700 "$PV_TMP/run"
start_provostd

# wait_for FILE TEXT SECONDS / absent FILE TEXT: fixed strings.
wait_for() {
	i=0
	while ! grep -qF -- "$2" "$1" 2>/dev/null; do
		[ $i -ge $(($3 * 20)) ] && return 1
		sleep 0.05
		i=$((i + 1))
	done
}
absent() { ! grep -qF -- "$2" "$1" 2>/dev/null; }
# watcher TAG APPROVER [CODE]: provostctl session watch as root acting for
# APPROVER (sudo's SUDO_USER; "" for root as itself), with CODE proving
# it (--as APPROVER, the code on standard input); WP its pid.
watcher() {
	if [ -n "${3:-}" ]; then
		echo "$3" | SUDO_USER=$2 "$PROVOSTCTL" -f "$CONF" session watch "$SID" \
		    --as "$2" >"$PV_TMP/$1.wout" 2>"$PV_TMP/$1.werr" 8>&- &
	elif [ -n "$2" ]; then
		SUDO_USER=$2 "$PROVOSTCTL" -f "$CONF" session watch "$SID" \
		    >"$PV_TMP/$1.wout" 2>"$PV_TMP/$1.werr" 8>&- &
	else
		env -u SUDO_USER "$PROVOSTCTL" -f "$CONF" session watch "$SID" \
		    >"$PV_TMP/$1.wout" 2>"$PV_TMP/$1.werr" 8>&- &
	fi
	WP=$!
	pv_track "$WP"
	wait_for "$PV_TMP/$1.werr" "watching session $SID" 5 ||
	    pv_fail "$1: $(cat "$PV_TMP/$1.werr")"
}
audit() { pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"; }

# 0. Playing the session process taken over (pv-broker-forge stops it and
# speaks on its monitor socket): no certificate while no moderator
# watches, whatever the process does with the hold.
FORGE="$top_builddir/broker/pv-broker-forge"
if [ "$(id -u)" -eq 0 ] && [ -x "$FORGE" ]; then
	pvssh "alice+$ME@mod01" 'echo forged' </dev/null >"$PV_TMP/f.out" 2>"$PV_TMP/f.err" &
	FP=$!
	pv_track "$FP"
	wait_for "$PV_TMP/f.err" "provost: this session is moderated" 15 ||
	    pv_fail "f: no waiting message: $(cat "$PV_TMP/f.err")"
	FSID=$(sed -n 's/.*session \([0-9a-f-]*\): recording to .*/\1/p' "$PVD_LOG" | tail -1)
	SP=$(sed -n "s/.*session $FSID: session process \([0-9]*\) runs as uid .*/\1/p" "$PVD_LOG")
	MFD=$(sed -n "s/.*session $FSID: session process [0-9]* runs as uid [0-9]*, monitor socket fd \([0-9]*\), .*/\1/p" "$PVD_LOG")
	[ -n "$SP" ] && [ -n "$MFD" ] || pv_fail "no session process in the log"
	out=$("$FORGE" "$SP" "$MFD" "decide alice mod01 $ME shell" \
	    "mint-cert $FSID mod01 $ME 127.0.0.1/32 $PV_TMP/forged-cert.pub" 2>&1)
	kill -CONT "$SP"
	echo "$out" | sed -n 1p | grep -q '^decision allow' || pv_fail "forged decide: $out"
	echo "$out" | sed -n 2p | grep -q 'moderated: no moderator watches the session' ||
	    pv_fail "a certificate with no moderator: $out"
	[ -s "$PV_TMP/forged-cert.pub" ] && pv_fail "a certificate was issued with no moderator"
	kill "$FP" 2>/dev/null
	wait "$FP" 2>/dev/null
	absent "$PV_TMP/f.out" forged || pv_fail "the forged session ran its command"
	pv_log "forged: no certificate without a moderator"
else
	pv_log "not root or no pv-broker-forge: the forged request is skipped"
fi

# 1. The session waits, told why; what is typed goes nowhere yet.
mkfifo "$PV_TMP/m.in"
exec 8<>"$PV_TMP/m.in"
pvssh "alice+$ME@mod01" 'echo started; cat' <"$PV_TMP/m.in" >"$PV_TMP/m.out" \
    2>"$PV_TMP/m.err" 8>&- &
SSHP=$!
pv_track "$SSHP"
wait_for "$PV_TMP/m.err" "provost: this session is moderated: it starts when a moderator (group soc) watches it" 15 ||
    pv_fail "no waiting message: $(cat "$PV_TMP/m.err")"
SID=$(sed -n 's/.*session \([0-9a-f-]*\): recording to .*/\1/p' "$PVD_LOG" | tail -1)
[ -n "$SID" ] || pv_fail "no session id"
printf 'typed-early\n' >&8
sleep 1
absent "$PV_TMP/m.out" started || pv_fail "the command ran with no moderator"
absent "$PV_TMP/m.out" typed-early || pv_fail "input passed with no moderator"

# 2. Watchers who are not moderators start nothing: eve (group audit,
# with her code), root as itself, and root naming sam (sudo's SUDO_USER)
# without sam's code: a name on the control socket is not proof.  A wrong
# code for sam is refused.  Two provostctl watchers at once.
watcher eve eve "$(code eve)"
WEVE=$WP
watcher root ""
WROOT=$WP
watcher claim sam
WCLAIM=$WP
sleep 1
absent "$PV_TMP/m.out" started || pv_fail "a non-moderator started the session"
kill "$WROOT" "$WCLAIM"
wrong=$(code sam 4)
echo "$wrong" | SUDO_USER=sam "$PROVOSTCTL" -f "$CONF" session watch "$SID" --as sam \
    >/dev/null 2>"$PV_TMP/wrong.err" 8>&- && pv_fail "a wrong code watched"
grep -q "provostd: approver sam: the code was refused" "$PV_TMP/wrong.err" ||
    pv_fail "wrong code: $(cat "$PV_TMP/wrong.err")"
absent "$PV_TMP/m.out" started || pv_fail "a wrong code started the session"

# 3. sam (group soc) watches with her code: the command starts, the held
# input passes.
watcher sam sam "$(code sam)"
WSAM=$WP
wait_for "$PV_TMP/m.out" typed-early 5 || pv_fail "the moderator's watch started nothing: $(cat "$PV_TMP/m.err")"
grep -q '^started$' "$PV_TMP/m.out" || pv_fail "m.out: $(cat "$PV_TMP/m.out")"
wait_for "$PV_TMP/sam.wout" typed-early 5 || pv_fail "the moderator does not see the output"
wait_for "$PV_TMP/eve.wout" typed-early 5 || pv_fail "eve does not see the output"
printf 'typed-moderated\n' >&8
wait_for "$PV_TMP/m.out" typed-moderated 5 || pv_fail "input does not pass under a moderator"

# 4. sam leaves: input is held again (eve still watches), the engineer
# is told; sam back: it passes.
kill "$WSAM"
wait_for "$PV_TMP/m.err" "provost: no moderator watches this session: input is held until one does" 5 ||
    pv_fail "no held message: $(cat "$PV_TMP/m.err")"
printf 'typed-away\n' >&8
sleep 1
absent "$PV_TMP/m.out" typed-away || pv_fail "input passed after the moderator left"
watcher sam2 sam "$(code sam 1)"
wait_for "$PV_TMP/m.out" typed-away 5 || pv_fail "held input lost or still held"
wait_for "$PV_TMP/m.err" "provost: a moderator watches this session: input passes" 5 ||
    pv_fail "no resume message: $(cat "$PV_TMP/m.err")"

# 5. The moderator ends it.
SUDO_USER=sam pvctl session kill "$SID" --reason "ended by the moderator" >/dev/null ||
    pv_fail "session kill"
i=0
while kill -0 "$SSHP" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$SSHP" 2>/dev/null && pv_fail "the session did not end"
grep -q "session killed by the security team: ended by the moderator" "$PV_TMP/m.err" ||
    pv_fail "the engineer was not told: $(cat "$PV_TMP/m.err")"
exec 8>&-
i=0
while ! pvctl audit export --format jsonl | grep '"session.watch_end"' | grep -q "$SID" &&
    [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
audit
grep '"channel.held"' "$PV_TMP/audit.jsonl" | grep -q 'group=soc' || pv_fail "no channel.held row"
grep '"session.moderation"' "$PV_TMP/audit.jsonl" | grep "$SID" |
    grep -q 'state=watched group=soc moderator=admin:sam(via admin:root)' ||
    pv_fail "no session.moderation watched row: $(grep moderation "$PV_TMP/audit.jsonl")"
grep '"session.moderation"' "$PV_TMP/audit.jsonl" | grep "$SID" | grep -q 'state=held' ||
    pv_fail "no session.moderation held row"
grep '"session.watch"' "$PV_TMP/audit.jsonl" | grep "$SID" |
    grep 'watcher=admin:sam(via admin:root)' | grep -q 'moderator=soc' ||
    pv_fail "sam's watch not marked moderator"
grep '"session.watch"' "$PV_TMP/audit.jsonl" | grep "$SID" |
    grep 'watcher=admin:eve(via admin:root)' | grep -q 'moderator=' &&
    pv_fail "eve's watch marked moderator"
grep '"session.watch_refused"' "$PV_TMP/audit.jsonl" | grep "$SID" |
    grep -q 'approver=sam reason=the code was refused' || pv_fail "the wrong code is not audited"
grep '"session.kill"' "$PV_TMP/audit.jsonl" | grep -q 'admin=admin:sam(via admin:root)' ||
    pv_fail "the kill is not audited as sam's"
pv_log "ok"
