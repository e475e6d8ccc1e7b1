#!/bin/sh
# t_broker_approver_watch.sh: approvers who sign in to the broker (their
# own key and code) watch and moderate live sessions from the approvers'
# menu, end to end with stock ssh through provostd (issue 18 items 3, 4, 8):
# - engineer alice's session under "Moderated soc" waits; approver eve
#   (group audit) watching it through `ssh eve@broker watch ID` starts
#   nothing, though she sees it; approver sam (group soc) watching it starts
#   it, sees its output as it comes, and ends it with a key (x), which
#   eve's x does not; the engineer is told who ended it;
# - engineer alice's own key cannot watch: `watch` is not in her menu;
# - a slow approver (kim, group soc, her ssh stopped) never slows the
#   session: 20 MB of output runs through while she reads nothing, and
#   she is cut off with a notice;
# - the audit names the approvers (session.watch approver= from= and
#   moderator=soc for sam only, session.moderation by approver:sam,
#   session.kill by approver:sam, session.watch_end with the seconds).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

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
for a in sam:soc eve:audit kim:soc; do
	n=${a%%:*}
	pvctl approver add "$n" --group "${a#*:}" --not-engineer >/dev/null || pv_fail "approver $n"
	pv_keygen "$PV_TMP/ap-$n"
	pvctl approver key add "$n" "$PV_TMP/ap-$n.pub" >/dev/null 2>&1 || pv_fail "key $n"
	approver_totp "$n"
done
mkdir -m 0700 "$PV_TMP/run"
start_provostd

wait_for() {
	i=0
	while ! grep -qF -- "$2" "$1" 2>/dev/null; do
		[ $i -ge $(($3 * 20)) ] && return 1
		sleep 0.05
		i=$((i + 1))
	done
}
absent() { ! grep -qF -- "$2" "$1" 2>/dev/null; }
cat > "$PV_TMP/askpass-appr" <<EOC
#!/bin/sh
case "\$1" in *[Cc]ode*) exec "$OATHTOOL" --totp -b "\$(cat "$PV_TMP/ap-\$AP.totp")" ;; esac
exit 1
EOC
chmod +x "$PV_TMP/askpass-appr"
# apwatch NAME: approver NAME runs `watch $SID` through provostd, in the
# background, keys from the fifo NAME.in (fd 7 is its writer... opened by
# the caller), output in NAME.out; AWP its ssh's pid.  Each approver signs
# in once here, so each code is one not used before.
apwatch() {
	mkfifo "$PV_TMP/$1.in"
	AP=$1 SSH_ASKPASS="$PV_TMP/askpass-appr" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/ap-$1" -p "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
	    -o PreferredAuthentications=publickey,keyboard-interactive \
	    -l "$1" 127.0.0.1 watch "$SID" <"$PV_TMP/$1.in" >"$PV_TMP/$1.out" \
	    2>"$PV_TMP/$1.err" 7>&- 8>&- 9>&- &
	AWP=$!
	pv_track "$AWP"
}
audit() { pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"; }
session_id() { sed -n 's/.*session \([0-9a-f-]*\): recording to .*/\1/p' "$PVD_LOG" | tail -1; }

# 1. alice's moderated session waits.
mkfifo "$PV_TMP/m.in"
exec 8<>"$PV_TMP/m.in"
pvssh "alice+$ME@mod01" 'echo started; cat' <"$PV_TMP/m.in" >"$PV_TMP/m.out" \
    2>"$PV_TMP/m.err" 8>&- &
SSHP=$!
pv_track "$SSHP"
wait_for "$PV_TMP/m.err" "provost: this session is moderated" 15 ||
    pv_fail "no waiting message: $(cat "$PV_TMP/m.err")"
SID=$(session_id)
[ -n "$SID" ] || pv_fail "no session id"
printf 'typed-early\n' >&8

# 2. An engineer's key cannot watch: alice's menu has no watch.
pvssh alice watch "$SID" </dev/null >"$PV_TMP/aw.out" 2>&1 && pv_fail "engineer alice watched"
grep -q "unknown command" "$PV_TMP/aw.out" || pv_fail "alice's watch: $(cat "$PV_TMP/aw.out")"

# 3. eve (group audit) watches: she sees it, it does not start.
apwatch eve
exec 7<>"$PV_TMP/eve.in"
WEVE=$AWP
wait_for "$PV_TMP/eve.out" "provost: watching session $SID (alice as $ME on mod01), read-only" 20 ||
    pv_fail "eve: no header: $(cat "$PV_TMP/eve.out" "$PV_TMP/eve.err")"
sleep 1
absent "$PV_TMP/m.out" started || pv_fail "an approver of another group started the session"

# 4. sam (group soc) watches: it starts; he sees its output as it comes.
apwatch sam
exec 9<>"$PV_TMP/sam.in"
WSAM=$AWP
wait_for "$PV_TMP/sam.out" "provost: watching session $SID" 20 ||
    pv_fail "sam: no header: $(cat "$PV_TMP/sam.out" "$PV_TMP/sam.err")"
wait_for "$PV_TMP/m.out" typed-early 10 || pv_fail "sam's watch started nothing: $(cat "$PV_TMP/m.err")"
wait_for "$PV_TMP/sam.out" typed-early 5 || pv_fail "sam does not see the output"
printf 'typed-moderated\n' >&8
wait_for "$PV_TMP/sam.out" typed-moderated 5 || pv_fail "sam does not see new output"
wait_for "$PV_TMP/eve.out" typed-moderated 5 || pv_fail "eve does not see new output"

# 5. eve's x ends nothing; sam's does.
printf 'x\n' >&7
wait_for "$PV_TMP/eve.out" "you cannot end this session" 5 || pv_fail "eve's x: $(cat "$PV_TMP/eve.out")"
printf 'typed-after-eve\n' >&8
wait_for "$PV_TMP/m.out" typed-after-eve 5 || pv_fail "the session did not go on after eve's x"
printf 'x\n' >&9
i=0
while kill -0 "$SSHP" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$SSHP" 2>/dev/null && pv_fail "sam's x did not end the session"
grep -q "session ended by moderator sam" "$PV_TMP/m.err" ||
    pv_fail "the engineer was not told: $(cat "$PV_TMP/m.err")"
wait "$WSAM"
rc=$?
[ $rc -eq 0 ] || pv_fail "sam's ssh exited $rc"
grep -q "provost: the watch ended" "$PV_TMP/sam.out" || pv_fail "sam: $(cat "$PV_TMP/sam.out")"
wait "$WEVE" || pv_fail "eve's ssh failed"
exec 7>&- 8>&- 9>&-

# 6. A slow approver: kim's ssh is stopped once she watches; 20 MB of
# output (from 2 s after she attached) runs through all the same, and she
# is cut off with a notice, which she reads once she reads again.
pvssh "alice+$ME@mod01" 'sleep 2; head -c 15000000 /dev/zero | base64; echo output-done; sleep 5' </dev/null \
    >"$PV_TMP/s.out" 2>"$PV_TMP/s.err" &
SSHP=$!
pv_track "$SSHP"
wait_for "$PV_TMP/s.err" "provost: this session is moderated" 15 || pv_fail "slow: no waiting message"
SID=$(session_id)
apwatch kim
exec 7<>"$PV_TMP/kim.in"
WKIM=$AWP
wait_for "$PV_TMP/kim.out" "provost: watching session $SID" 20 ||
    pv_fail "kim: no header: $(cat "$PV_TMP/kim.out" "$PV_TMP/kim.err")"
kill -STOP "$WKIM"
t0=$(date +%s)
# the output runs to its end while kim reads nothing (the session then
# sleeps 5 s: she gets her notice when she reads again)
wait_for "$PV_TMP/s.out" output-done 60 || {
	kill -CONT "$WKIM"
	pv_fail "the session waited for the stopped approver: $(wc -c < "$PV_TMP/s.out") bytes out"
}
t1=$(date +%s)
kill -CONT "$WKIM"
[ "$(wc -c < "$PV_TMP/s.out")" -gt 20000000 ] || pv_fail "the engineer's output: $(wc -c < "$PV_TMP/s.out") bytes"
wait_for "$PV_TMP/kim.out" "fell too far behind the session and was cut off" 20 ||
    pv_fail "kim was not told she was cut off: $(tail -c 300 "$PV_TMP/kim.out")"
wait "$WKIM"
wait "$SSHP" || pv_fail "the engineer's session failed: $(cat "$PV_TMP/s.err")"
exec 7>&-
pv_log "20 MB ran through in $((t1 - t0)) s with kim's ssh stopped"

# 7. The audit names the approvers.
i=0
while ! pvctl audit export --format jsonl | grep '"session.watch_end"' | grep -q 'approver=kim' &&
    [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
audit
grep '"session.watch"' "$PV_TMP/audit.jsonl" | grep 'watcher=approver:sam approver=sam from=127.0.0.1' |
    grep -q 'moderator=soc' || pv_fail "sam's watch: $(grep '"session.watch"' "$PV_TMP/audit.jsonl")"
grep '"session.watch"' "$PV_TMP/audit.jsonl" | grep -q 'watcher=approver:eve approver=eve from=127.0.0.1' ||
    pv_fail "eve's watch not audited"
grep '"session.watch"' "$PV_TMP/audit.jsonl" | grep 'approver=eve' | grep -q 'moderator=' &&
    pv_fail "eve's watch marked moderator"
grep '"session.moderation"' "$PV_TMP/audit.jsonl" | grep -q 'state=watched group=soc moderator=approver:sam' ||
    pv_fail "no session.moderation row for sam"
grep '"session.kill"' "$PV_TMP/audit.jsonl" | grep -q 'admin=approver:sam(from 127.0.0.1)' ||
    pv_fail "the end is not audited as sam's: $(grep '"session.kill"' "$PV_TMP/audit.jsonl")"
grep '"session.watch_end"' "$PV_TMP/audit.jsonl" | grep 'approver=sam from=127.0.0.1' |
    grep -q 'seconds=[0-9]' || pv_fail "sam's watch_end: $(grep watch_end "$PV_TMP/audit.jsonl")"
grep '"session.watch_end"' "$PV_TMP/audit.jsonl" | grep 'approver=kim' | grep -q 'why=cut off' ||
    grep -q "session .*: watcher approver:kim fell" "$PVD_LOG" ||
    pv_fail "kim's cut-off: $(grep watch_end "$PV_TMP/audit.jsonl")"
grep '"session.watch"' "$PV_TMP/audit.jsonl" | grep -q 'watcher=admin:alice\|approver=alice' &&
    pv_fail "alice's watch audited"
pv_log "ok"
