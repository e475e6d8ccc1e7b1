#!/bin/sh
# t_broker_approve.sh: approvers prove who they are (issue 18 item 8), end
# to end with stock ssh through provostd.  Approvers sam and kim have their
# own keys and TOTP (provostctl approver key add, approver totp) and use
# the broker's menu: pending lists what waits for their group, approve
# and deny decide as themselves, audited with the address the monitor saw.
# - an approval through the menu counts; two of them activate the grant
#   and the engineer gets in;
# - the same approver approving twice counts once;
# - an engineer's key cannot approve: engineer bob, who shares his name
#   with approver bob, gets the engineers' menu, where approve is unknown;
# - root's provostctl grant approve --as is refused under a rule without
#   break-glass (the grant stays shut; the refusal audited) and counts
#   under one with it, the audit saying it was not authenticated by the
#   approver;
# - a taken-over session process (pv-broker-forge) cannot make the monitor
#   count an approval: as engineer alice its menu has no approve, and with
#   sam's public key but not his code it is killed before any menu.
# Approvers type a code every time (no MFAGrace, which is on here for the
# engineers); each login takes the next unused 30 s step, waiting for it.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
[ -n "$SQLITE3" ] && [ -x "$SQLITE3" ] || pv_skip "sqlite3 not found"
sql() { "$SQLITE3" -cmd '.timeout 5000' "$STATE/provost.db" "$1"; }

# Two rules before the others (the first match decides).
{
	sed -n 1p "$PV_TMP/policy.conf"
	printf '\nRule strict\n    Target apr01\n    Classification internal\n'
	printf '    Approval 2 group soc\n    Channels shell exec\n'
	printf '\nRule glass\n    Target apr02\n    Classification internal\n'
	printf '    Approval 1 group soc break-glass\n    Channels shell exec\n'
	sed -n '2,$p' "$PV_TMP/policy.conf"
} > "$PV_TMP/policy.new" && mv "$PV_TMP/policy.new" "$PV_TMP/policy.conf"
pvctl policy check "$PV_TMP/policy.conf" >/dev/null || pv_fail "policy check"
for t in apr01 apr02; do
	pvctl target add $t --host 127.0.0.1 --port "$TARGET_PORT" --classification internal \
	    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null ||
	    pv_fail "target add $t"
done
# carl, an engineer who never signs in before step 8 (no MFAGrace yet)
pv_keygen "$PV_TMP/carl"
pvctl engineer add carl --provider acme >/dev/null &&
    pvctl engineer key add carl "$PV_TMP/carl.pub" >/dev/null &&
    pvctl engineer totp carl >/dev/null 2>&1 || pv_fail "engineer carl"
for a in sam kim bob; do
	pvctl approver add $a --group soc --not-engineer >/dev/null || pv_fail "approver $a"
done
for a in sam kim; do
	pv_keygen "$PV_TMP/ap-$a"
	pvctl approver key add $a "$PV_TMP/ap-$a.pub" >"$PV_TMP/ka.out" 2>&1 ||
	    pv_fail "approver key add $a: $(cat "$PV_TMP/ka.out")"
	grep -q "^key SHA256:.* added for $a\$" "$PV_TMP/ka.out" || pv_fail "key add: $(cat "$PV_TMP/ka.out")"
	approver_totp "$a"
done
pvctl approver key list sam | grep -q '^ssh-ed25519 SHA256:' || pv_fail "approver key list"
# engineer alice's key is not approver sam's
pvctl approver key add sam "$PV_TMP/alice.pub" >/dev/null || pv_fail "second key"
fp=$(pvctl approver key list sam --json | sed -n 's/.*"fingerprint": *"\(SHA256:[^"]*\)".*/\1/p' | tail -1)
[ -n "$fp" ] || fp=$("$SSH_KEYGEN" -lf "$PV_TMP/alice.pub" | cut -d' ' -f2)
pvctl approver key remove sam "$fp" >/dev/null || pv_fail "approver key remove $fp"
pvctl approver key remove sam "$fp" 2>"$PV_TMP/rm.err" && pv_fail "removed twice"
grep -q "has no key" "$PV_TMP/rm.err" || pv_fail "remove twice: $(cat "$PV_TMP/rm.err")"
[ "$(pvctl approver key list sam | wc -l)" -eq 1 ] || pv_fail "keys of sam: $(pvctl approver key list sam)"
start_provostd

# The approver's code: that of the next 30 s step not used yet (waited
# for before ssh starts, LoginGraceTime being shorter than a step), given
# to ssh by askpass.
next_code() { pv_approver_code "$1"; }
# apssh NAME COMMAND...: approver NAME through provostd, own key and code.
apssh() { pv_apssh "$PVD_PORT" "$@"; }
approvals() { sql "select count(*) from grant_approvals where grant_id = '$1' and decision = 'approve'"; }
state() { sql "select state from grants where id = '$1'"; }
request() {
	pvssh alice request "$1" --account "$ME" --for 1h --reason "disk full on $1" \
	    </dev/null >"$PV_TMP/req.out" 2>&1 || pv_fail "request $1: $(cat "$PV_TMP/req.out")"
	G=$(sed -n 1p "$PV_TMP/req.out")
	echo "$G" | grep -Eq '^[0-9a-f-]{36}$' || pv_fail "no grant id: $(cat "$PV_TMP/req.out")"
}

# 1. A grant under "Approval 2 group soc": shut until two approvers say yes.
request apr01
G1=$G
pvssh "alice+$ME@apr01" 'echo in' </dev/null >"$PV_TMP/in.out" 2>&1 && pv_fail "in without approval"
out=$(apssh sam pending 2>&1) || pv_fail "pending: $out"
echo "$out" | grep -q "^$G1	alice+$ME@apr01	for 1h, 0 of 2 approvals from soc, rule strict" ||
    pv_fail "pending: $out"
out=$(apssh sam approve "$G1" --reason "disk is full, go" 2>&1) || pv_fail "sam approves: $out"
echo "$out" | grep -qx "grant $G1 approved: 1 of 2 approvals" || pv_fail "sam approves: $out"
[ "$(approvals "$G1")" -eq 1 ] || pv_fail "approvals after sam: $(approvals "$G1")"
n=$(sql "select count(*) from audit where action = 'grant.approve' and actor = 'approver:sam'
    and object = 'grant:$G1' and json_extract(details, '\$.authenticated') = 1
    and json_extract(details, '\$.addr') = '127.0.0.1'
    and json_extract(details, '\$.reason') = 'disk is full, go'")
[ "$n" -eq 1 ] || pv_fail "sam's approval audited $n times with his address"
n=$(sql "select count(*) from audit where action = 'approver.login'
    and json_extract(details, '\$.detail') like 'approver=sam from=127.0.0.1 %'")
[ "$n" -ge 1 ] || pv_fail "sam's login not audited"

# 2. The same approver twice counts once.
out=$(apssh sam approve "$G1" 2>&1) && pv_fail "sam approved twice: $out"
echo "$out" | grep -q "approval refused: approver sam already decided on grant $G1" ||
    pv_fail "sam twice: $out"
[ "$(approvals "$G1")" -eq 1 ] || pv_fail "approvals after sam twice: $(approvals "$G1")"
[ "$(state "$G1")" = pending ] || pv_fail "active after one approver twice"

# 3. An engineer's key cannot approve, even under an approver's name.
out=$(ENG_KEY="$PV_TMP/bob" TOTP_OF=bob pvssh bob approve "$G1" </dev/null 2>&1) &&
    pv_fail "engineer bob's menu took approve: $out"
echo "$out" | grep -q "unknown command; try help" || pv_fail "engineer bob: $out"
[ "$(approvals "$G1")" -eq 1 ] || pv_fail "an engineer's key approved"
# nor does an engineer's key sign in as an approver of another name
next_code sam
out=$(SSH_ASKPASS="$PV_TMP/askpass-appr" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/alice" -o IdentitiesOnly=yes -p "$PVD_PORT" \
    -o BatchMode=no -o NumberOfPasswordPrompts=1 -l sam 127.0.0.1 approve "$G1" </dev/null 2>&1) &&
    pv_fail "alice's key signed in as sam: $out"
[ "$(approvals "$G1")" -eq 1 ] || pv_fail "alice's key approved as sam"

# 4. Root's --as under a rule without break-glass: refused, nothing counted.
pvctl grant approve "$G1" --as kim >"$PV_TMP/as.out" 2>&1 && pv_fail "--as counted: $(cat "$PV_TMP/as.out")"
grep -q "does not accept break-glass approvals" "$PV_TMP/as.out" || pv_fail "--as: $(cat "$PV_TMP/as.out")"
[ "$(approvals "$G1")" -eq 1 ] && [ "$(state "$G1")" = pending ] || pv_fail "--as changed the grant"
n=$(sql "select count(*) from audit where action = 'grant.approve.refused' and actor = 'approver:kim'
    and object = 'grant:$G1' and json_extract(details, '\$.authenticated') = 0")
[ "$n" -eq 1 ] || pv_fail "the refused --as is not on the record ($n rows)"
pvssh "alice+$ME@apr01" 'echo in' </dev/null >"$PV_TMP/in.out" 2>&1 && pv_fail "in after --as"
grep -q "has 1 of 2 approvals" "$PV_TMP/in.out" || pv_fail "refusal: $(cat "$PV_TMP/in.out")"

# 5. kim through the menu: the second approver activates the grant.
out=$(apssh kim approve "$G1" 2>&1) || pv_fail "kim approves: $out"
echo "$out" | grep -qx "grant $G1 approved: active now" || pv_fail "kim approves: $out"
out=$(pvssh "alice+$ME@apr01" 'echo in' </dev/null 2>&1) || pv_fail "alice after two approvals: $out"
echo "$out" | grep -qx in || pv_fail "alice after two approvals: $out"

# 6. Under "Approval 1 group soc break-glass" root's --as counts, marked.
request apr02
G2=$G
pvctl grant approve "$G2" --as sam >"$PV_TMP/as2.out" 2>&1 || pv_fail "--as under break-glass: $(cat "$PV_TMP/as2.out")"
out=$(pvssh "alice+$ME@apr02" 'echo in2' </dev/null 2>&1) || pv_fail "alice after break-glass: $out"
echo "$out" | grep -qx in2 || pv_fail "alice after break-glass: $out"
n=$(sql "select count(*) from audit where action = 'grant.approve' and object = 'grant:$G2'
    and json_extract(details, '\$.authenticated') = 0
    and json_extract(details, '\$.via') like '%break-glass, not authenticated by the approver%'")
[ "$n" -eq 1 ] || pv_fail "the break-glass approval is not marked in the audit"
n=$(sql "select count(*) from grant_approvals where grant_id = '$G2' and authenticated = 0")
[ "$n" -eq 1 ] || pv_fail "the break-glass approval row"

# 7. Deny through the menu: a reason is required; the grant is closed.
request apr01
G3=$G
out=$(apssh sam deny "$G3" 2>&1) && pv_fail "deny without a reason: $out"
echo "$out" | grep -q "usage: deny ID --reason R" || pv_fail "deny without reason: $out"
out=$(apssh sam deny "$G3" --reason "not during the freeze" 2>&1) || pv_fail "deny: $out"
echo "$out" | grep -qx "grant $G3 denied" || pv_fail "deny: $out"
[ "$(state "$G3")" = denied ] || pv_fail "state after deny: $(state "$G3")"
n=$(sql "select count(*) from audit where action = 'grant.deny' and actor = 'approver:sam'
    and object = 'grant:$G3' and json_extract(details, '\$.authenticated') = 1
    and json_extract(details, '\$.reason') = 'not during the freeze'")
[ "$n" -eq 1 ] || pv_fail "the denial is not audited as sam's"
# sam signed in five times, each time with a code (MFAGrace is on here,
# for engineers only)
n=$(sql "select count(*) from audit where action = 'totp.accept' and actor = 'approver:sam'")
[ "$n" -eq 5 ] || pv_fail "sam typed $n codes in five sign-ins"

# 8. A taken-over session process cannot make the monitor count one.
FORGE="$top_builddir/broker/pv-broker-forge"
if [ "$(id -u)" -eq 0 ] && [ -x "$FORGE" ]; then
	request apr01
	G4=$G
	forge() { out=$("$FORGE" "$SP" "$MFD" "$@" 2>&1); }
	# 8a. alice's live, authenticated session process asks to approve.
	L="alice+$ME@db01"
	live_session f
	forge "menu approve $G4" "menu pending"
	kill -CONT "$SP"
	echo "$out" | sed -n 1p | grep -q '^menu status 2: unknown command' ||
	    pv_fail "forged approve as alice: $out"
	echo "$out" | sed -n 2p | grep -q '^menu status 2: unknown command' ||
	    pv_fail "forged pending as alice: $out"
	# ... or claims sam's key after signing in as alice: killed.
	forge "pubkey sam $PV_TMP/ap-sam.pub" "menu approve $G4"
	kill -CONT "$SP" 2>/dev/null
	echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a second key after sign-in: $out"
	kill "$LP" 2>/dev/null
	wait "$LP" 2>/dev/null
	# 8b. before sign-in (carl's key verified, his code being typed):
	# sam's public key is public, his code is not.
	cat > "$PV_TMP/askpass-wait" <<'EOC'
#!/bin/sh
sleep 30
echo 000000
EOC
	chmod +x "$PV_TMP/askpass-wait"
	pre=$(grep -c 'pre-opening the target leg to db01' "$PVD_LOG")
	SSH_ASKPASS="$PV_TMP/askpass-wait" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/carl" -p "$PVD_PORT" -o BatchMode=no \
	    -o NumberOfPasswordPrompts=1 -l "carl+$ME@db01" 127.0.0.1 true >/dev/null 2>&1 </dev/null &
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
	[ -n "$SP" ] && [ -n "$MFD" ] || pv_fail "no pre-auth session process"
	forge "pubkey sam $PV_TMP/ap-sam.pub" "totp sam 000000" "sleep 800" "menu approve $G4"
	kill -CONT "$SP" 2>/dev/null
	echo "$out" | sed -n 1p | grep -qx "key ok" ||
	    pv_fail "sam's public key: $out; $(grep "session $SID" "$PVD_LOG" | tail -3)"
	echo "$out" | sed -n 2p | grep -qx 'code wrong' || pv_fail "a guessed code of sam's: $out"
	echo "$out" | tail -1 | grep -q '^closed' || pv_fail "a menu before sign-in: $out"
	pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a request in the wrong phase (menu)" 5 ||
	    pv_fail "the menu before sign-in was not refused: $(tail -3 "$PVD_LOG")"
	kill "$WP" 2>/dev/null
	wait "$WP" 2>/dev/null
	[ "$(approvals "$G4")" -eq 0 ] || pv_fail "a forged process got an approval counted"
	[ "$(state "$G4")" = pending ] || pv_fail "the forged grant is $(state "$G4")"
	pv_log "forged approvals: refused as alice, killed with sam's key and no code"
else
	pv_log "not root: the forged session process part is skipped"
fi

pv_log "approvals by signed-in approvers count (twice once), an engineer's key and root's --as do not, break-glass does where the rule says so"
exit 0
