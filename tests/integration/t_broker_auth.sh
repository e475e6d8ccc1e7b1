#!/bin/sh
# t_broker_auth.sh: what provostd refuses, with real ssh: a wrong or reused
# code, an unknown key or engineer, a malformed login, too many tries, the
# grace time, a disabled engineer; after login: unknown target, wrong
# account, classification above clearance, changed host key, subsystems and
# forwarding.  Each with the right message, log line and audit row.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

# provostd -t: a bad line is one FILE:LINE error and exit 1.
printf 'ListenAddress 127.0.0.1:2222\nMaxAuthTries lots\n' > "$PV_TMP/bad.conf"
"$PROVOSTD" -t -f "$PV_TMP/bad.conf" 2>"$PV_TMP/bad.err" && pv_fail "provostd -t passed a bad file"
grep -q "$PV_TMP/bad.conf:2: " "$PV_TMP/bad.err" || pv_fail "provostd -t: $(cat "$PV_TMP/bad.err")"
printf 'Colour blue\n' > "$PV_TMP/bad.conf"
"$PROVOSTD" -t -f "$PV_TMP/bad.conf" 2>"$PV_TMP/bad.err" && pv_fail "unknown keyword passed"
grep -q "$PV_TMP/bad.conf:1: " "$PV_TMP/bad.err" || pv_fail "provostd -t: $(cat "$PV_TMP/bad.err")"

start_provostd "MFAGrace 0"
L="alice+$ME@db01"

# A wrong code (before any right one): refused like any other failure.
cat > "$PV_TMP/askpass-wrong" <<'EOC'
#!/bin/sh
echo 000000
EOC
chmod +x "$PV_TMP/askpass-wrong"
SSH_ASKPASS="$PV_TMP/askpass-wrong" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" -o BatchMode=no \
    -o NumberOfPasswordPrompts=1 -l "$L" 127.0.0.1 true 2>"$PV_TMP/wrong.err" &&
    pv_fail "a wrong code got in"
grep -q 'Permission denied' "$PV_TMP/wrong.err" || pv_fail "wrong code: $(cat "$PV_TMP/wrong.err")"
grep -q 'auth failed for "alice+.*(code' "$PVD_LOG" || pv_fail "no log of the failed code"

# The right code works; the same code again does not (MFAGrace 0).
cat > "$PV_TMP/askpass-keep" <<EOC
#!/bin/sh
if [ -s "$PV_TMP/kept" ]; then cat "$PV_TMP/kept"; exit 0; fi
"$OATHTOOL" --totp -b "$(cat "$PV_TMP/alice.totp")" | tee "$PV_TMP/kept"
EOC
chmod +x "$PV_TMP/askpass-keep"
keep_ssh() {
	SSH_ASKPASS="$PV_TMP/askpass-keep" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 -l "$L" 127.0.0.1 "$@"
}
out=$(keep_ssh 'echo first' </dev/null) || pv_fail "right code refused"
[ "$out" = first ] || pv_fail "output $out"
keep_ssh true </dev/null 2>/dev/null && pv_fail "a used code was accepted again"

# A key offered without a signature (a query) proves nothing: with a good
# code after it, the client is still not let in (libssh client probe).
"$top_builddir/broker/pv-broker-probe" "$PVD_PORT" "$L" "$ENG_KEY.pub" \
    "$("$OATHTOOL" --totp -b "$(cat "$PV_TMP/alice.totp")" -N "now + 30 seconds")" \
    > "$PV_TMP/probe.out" 2>&1
rc=$?
[ $rc -eq 0 ] || pv_fail "unsigned key probe: exit $rc: $(cat "$PV_TMP/probe.out")"
grep -q 'server would accept the key' "$PV_TMP/probe.out" ||
    pv_fail "probe never got PK_OK: $(cat "$PV_TMP/probe.out")"

# Unknown key, unknown engineer, malformed login: the same refusal.
pv_keygen "$PV_TMP/stranger"
for case in "stranger:$L" "alice:mallory+$ME@db01" "alice:Alice+$ME@db01" \
    "alice:alice+$ME@db01@x" "alice:alice+*@db01"; do
	key=${case%%:*}; login=${case#*:}
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/$key" -p "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 -l "$login" 127.0.0.1 true \
	    2>"$PV_TMP/refused.err" </dev/null && pv_fail "$key as $login got in"
	grep -q 'Permission denied (publickey)' "$PV_TMP/refused.err" ||
	    pv_fail "$key as $login: $(cat "$PV_TMP/refused.err")"
done
grep -q 'login string refused before any lookup' "$PVD_LOG" ||
    pv_fail "malformed login not logged"

# Too many wrong codes: the connection is dropped after MaxAuthTries.
SSH_ASKPASS="$PV_TMP/askpass-wrong" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" -o BatchMode=no \
    -o NumberOfPasswordPrompts=5 -l "$L" 127.0.0.1 true 2>/dev/null </dev/null &&
    pv_fail "wrong codes got in"
pv_wait_log "$PVD_LOG" 'end: too many authentication failures' 5 ||
    pv_fail "MaxAuthTries not enforced"

# From here on, MFAGrace lets one code serve the rest of the test.
LOGIN_GRACE=3s start_provostd
pvssh "$L" true </dev/null || pv_fail "login for the rest"

# MFAGrace skips the code for db01, but a FreshMFA rule asks again.
cat > "$PV_TMP/askpass-count" <<EOC
#!/bin/sh
echo asked >> "$PV_TMP/asked"
exec "$OATHTOOL" --totp -b "\$(cat "$PV_TMP/alice.totp")" -N "now + 30 seconds"
EOC
chmod +x "$PV_TMP/askpass-count"
count_ssh() {
	SSH_ASKPASS="$PV_TMP/askpass-count" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 -l "$1" 127.0.0.1 true
}
: > "$PV_TMP/asked"
count_ssh "alice+$ME@db01" </dev/null || pv_fail "db01 within grace"
[ ! -s "$PV_TMP/asked" ] || pv_fail "a code was asked within MFAGrace"
count_ssh "alice+$ME@fresh01" </dev/null || pv_fail "fresh01 with a fresh code"
[ -s "$PV_TMP/asked" ] || pv_fail "FreshMFA target let MFAGrace skip the code"

# What the engineer may not do after login, with the reason printed.
check_refusal() { # LOGIN MESSAGE [COMMAND]
	pvssh "$1" "${3:-true}" </dev/null >/dev/null 2>"$PV_TMP/deny.err"
	rc=$?
	[ $rc -eq 1 ] || pv_fail "$1: exit $rc, $(cat "$PV_TMP/deny.err")"
	grep -q "$2" "$PV_TMP/deny.err" || pv_fail "$1: $(cat "$PV_TMP/deny.err")"
}
check_refusal "alice+$ME@nosuch" "provost: access to nosuch denied"
check_refusal "alice+other@db01" "provost: access denied: db01 has no account other"
# A target no rule opens to her (above her clearance) reads like one that
# does not exist: nothing to tell the two apart.
check_refusal "alice+$ME@vault" "provost: access to vault denied"
check_refusal "alice+multi" "provost: name the account: log in as alice+ACCOUNT@multi"
grep -q 'decision for alice as other@db01 (exec): deny' "$PVD_LOG" ||
    pv_fail "deny not logged"
# ENGINEER+TARGET works when the target has one account.
out=$(pvssh "alice+db01" 'echo one-account' </dev/null) || pv_fail "alice+db01"
[ "$out" = one-account ] || pv_fail "alice+db01: $out"

# Menu mode (plain "alice"): list shows what a rule opens and why, and
# nothing of targets no rule opens; request makes a grant; status shows it.
out=$(pvssh alice list </dev/null) || pv_fail "menu list: $out"
echo "$out" | grep -q "^alice+$ME@db01	open: " || pv_fail "list lacks db01: $out"
echo "$out" | grep -q "^alice+$ME@jit	needs a grant: " || pv_fail "list lacks jit: $out"
echo "$out" | grep -q "vault" && pv_fail "list shows a target above clearance: $out"
out=$(pvssh alice help </dev/null) || pv_fail "menu help"
echo "$out" | grep -q "request TARGET --account A --for 2h" || pv_fail "help: $out"
out=$(pvssh alice -tt </dev/null 2>/dev/null)
echo "$out" | grep -q "provost menu commands" || pv_fail "menu shell: $out"
echo "$out" | grep -q "alice+$ME@db01	open" || pv_fail "menu shell lacks the list: $out"
pvssh alice bogus </dev/null >/dev/null 2>&1
[ $? -eq 2 ] || pv_fail "unknown menu command did not exit 2"
out=$(pvssh alice "request jit --account $ME --for 30m --ticket T-1 --reason \"disk full\"" </dev/null) ||
    pv_fail "menu request: $out"
mgid=$(echo "$out" | head -1)
echo "$out" | grep -q "active now" || pv_fail "request: $out"
out=$(pvssh alice status </dev/null) || pv_fail "menu status"
echo "$out" | grep -q "^$mgid	$ME@jit	active, 30 min left" || pv_fail "status: $out"
pvctl grant revoke "$mgid" >/dev/null || pv_fail "revoke menu grant"
pvctl grant show --json "$mgid" | grep -q '"reason": "disk full"' || pv_fail "the reason is not 'disk full'"
# The menu's line is split as sh would: README's example as typed (ssh
# joins the words: --reason disk full), quoting twice, a backslash.
out=$(pvssh alice request jit --account "$ME" --for 30m --ticket INC-42 --reason "disk full" </dev/null) ||
    pv_fail "README's request: $out"
gid=$(echo "$out" | head -1)
pvctl grant show --json "$gid" | grep -q '"reason": "disk full"' || pv_fail "README's request: reason"
pvctl grant revoke "$gid" >/dev/null
out=$(pvssh alice request jit --account "$ME" --for 30m --reason "'disk full; see --force, 99%'" </dev/null) ||
    pv_fail "a quoted reason: $out"
gid=$(echo "$out" | head -1)
pvctl grant show --json "$gid" | grep -q '"reason": "disk full; see --force, 99%"' ||
    pv_fail "quoted reason: $(pvctl grant show --json "$gid")"
pvctl grant revoke "$gid" >/dev/null
out=$(pvssh alice 'request jit --account '"$ME"' --for 30m --reason it\'"'"'s full' </dev/null) ||
    pv_fail "a backslash: $out"
gid=$(echo "$out" | head -1)
pvctl grant show --json "$gid" | grep -q "\"reason\": \"it's full\"" || pv_fail "backslash reason"
pvctl grant revoke "$gid" >/dev/null
out=$(pvssh alice "request jit --account $ME --for 30m --reason 'open quote" </dev/null 2>&1) &&
    pv_fail "an open quote was taken: $out"

# A target that needs a grant: refused without one, allowed with one,
# refused again once it has expired or been revoked.
check_refusal "alice+$ME@jit" "provost: access denied: "
gid=$(pvctl grant request alice jit --account "$ME" --duration 1h --reason test | head -1)
[ -n "$gid" ] || pv_fail "grant request"
out=$(pvssh "alice+$ME@jit" 'echo granted' </dev/null) || pv_fail "refused with a grant"
[ "$out" = granted ] || pv_fail "with grant: $out"
grep -q "decision for alice as $ME@jit (exec): allow, rule internal-jit" "$PVD_LOG" ||
    pv_fail "grant decision not logged"
pvctl grant revoke "$gid" >/dev/null || pv_fail "grant revoke"
check_refusal "alice+$ME@jit" "provost: access denied: "
pvctl grant request alice jit --account "$ME" --duration 1s --reason test >/dev/null ||
    pv_fail "short grant"
sleep 2
check_refusal "alice+$ME@jit" "provost: access denied: "
# A grant that ends during a session: warned, then ended.
pvctl grant request alice jit --account "$ME" --duration 6s --reason test >/dev/null ||
    pv_fail "6s grant"
start=$(date +%s)
pvssh "alice+$ME@jit" 'echo started; sleep 30' </dev/null >"$PV_TMP/exp.out" 2>"$PV_TMP/exp.err"
rc=$?
took=$(( $(date +%s) - start ))
[ $rc -eq 255 ] || pv_fail "expiring grant: exit $rc"
[ $took -lt 15 ] || pv_fail "the session outlived its grant ($took s)"
grep -q 'provost: your grant ends in 1 minute' "$PV_TMP/exp.err" ||
    pv_fail "no warning: $(cat "$PV_TMP/exp.err")"
grep -q 'provost: your grant has expired' "$PV_TMP/exp.err" ||
    pv_fail "no end message: $(cat "$PV_TMP/exp.err")"

# Revocation: revoking the grant of a live session ends it within a
# second or so, with the reason printed.
gid=$(pvctl grant request alice jit --account "$ME" --duration 1h --reason live | head -1)
pvssh "alice+$ME@jit" 'echo live; sleep 30' </dev/null >"$PV_TMP/rv.out" 2>"$PV_TMP/rv.err" &
rp=$!
pv_wait_log "$PV_TMP/rv.out" live 10 || pv_fail "live session did not start"
t0=$(date +%s%N)
pvctl grant revoke "$gid" >/dev/null || pv_fail "grant revoke"
wait $rp
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
grep -q "provost: access revoked (grant.revoke grant:$gid)" "$PV_TMP/rv.err" ||
    pv_fail "revoked session: $(cat "$PV_TMP/rv.err")"
[ $ms -lt 3000 ] || pv_fail "revocation took $ms ms"
pv_log "grant revocation ended the live session in $ms ms"

# A target whose host key is not the pinned one: refused, both fingerprints.
pinned=$("$SSH_KEYGEN" -l -f "$PV_TMP/wrongpin.pub" | cut -d' ' -f2)
real=$("$SSH_KEYGEN" -l -f "$PV_SSHD_DIR/host_ed25519.pub" | cut -d' ' -f2)
check_refusal "alice+$ME@badpin" \
    "host key of target badpin does not match the pinned key: pinned $pinned, presented $real"
pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"
grep -q '"target.hostkey_mismatch"' "$PV_TMP/audit.jsonl" || pv_fail "mismatch not audited"
grep '"decision"' "$PV_TMP/audit.jsonl" | grep -q 'deny engineer=alice target=db01 account=other' ||
    pv_fail "deny not audited"
grep -q 'Accepted certificate' "$PV_TMP/target.log" || pv_fail "no certificate ever used"
n=$(grep -c 'Accepted certificate' "$PV_TMP/target.log")

# Subsystems (sftp) and forwarding are refused and logged.
pvssh "$L" -s sftp </dev/null >/dev/null 2>"$PV_TMP/sftp.err" &&
    pv_fail "sftp allowed where the rule does not list it"
grep -q "provost: access denied: rule standing-public does not allow sftp" "$PV_TMP/sftp.err" ||
    pv_fail "sftp refusal: $(cat "$PV_TMP/sftp.err")"
pvssh "$L" -s nosuch </dev/null >/dev/null 2>&1 && pv_fail "unknown subsystem allowed"
grep -q 'refused subsystem nosuch' "$PVD_LOG" || pv_fail "subsystem refusal not logged"
pvssh "$L" -W "127.0.0.1:$TARGET_PORT" </dev/null >/dev/null 2>&1 &&
    pv_fail "direct-tcpip allowed"
grep -q "forward to 127.0.0.1:$TARGET_PORT refused: access denied: rule standing-public does not allow forward" "$PVD_LOG" ||
    pv_fail "forwarding refusal not logged"
# The refused ones never reached the target with a certificate.
[ "$(grep -c 'Accepted certificate' "$PV_TMP/target.log")" -eq "$n" ] ||
    pv_fail "a refused request still logged in to the target"

# LoginGraceTime: a client that never answers the code is cut off.
cat > "$PV_TMP/askpass-slow" <<'EOC'
#!/bin/sh
sleep 8
echo 000000
EOC
chmod +x "$PV_TMP/askpass-slow"
SSH_ASKPASS="$PV_TMP/askpass-slow" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/bob" -p "$PVD_PORT" -o BatchMode=no \
    -o NumberOfPasswordPrompts=1 -l "bob+$ME@db01" 127.0.0.1 true 2>/dev/null </dev/null &&
    pv_fail "slow client got in"
pv_wait_log "$PVD_LOG" 'end: login grace time exceeded' 10 ||
    pv_fail "LoginGraceTime not enforced"

# A disabled engineer fails like a stranger, key and all.
pvctl engineer disable bob >/dev/null || pv_fail "engineer disable"
TOTP_OF=bob SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/bob" -p "$PVD_PORT" -o BatchMode=no \
    -o NumberOfPasswordPrompts=1 -l "bob+$ME@db01" 127.0.0.1 true \
    2>"$PV_TMP/disabled.err" </dev/null && pv_fail "a disabled engineer got in"
grep -q 'Permission denied (publickey)' "$PV_TMP/disabled.err" ||
    pv_fail "disabled: $(cat "$PV_TMP/disabled.err")"
# MaxSessions: with one session held, the next connection is turned away.
start_provostd "MaxSessions 1"
pvssh "$L" 'echo holding; sleep 5' </dev/null >"$PV_TMP/hold.out" 2>&1 &
hp=$!
pv_wait_log "$PV_TMP/hold.out" holding 10 || pv_fail "first session did not start"
pvssh "$L" true </dev/null 2>/dev/null && pv_fail "MaxSessions 1 let a second session in"
grep -q 'MaxSessions 1 reached' "$PVD_LOG" || pv_fail "MaxSessions refusal not logged"
wait $hp
# The held session's process finishes its bookkeeping before the slot frees.
n=0
while [ -n "$(pgrep -P "$PVD_PID")" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
# Revoking the engineer ends their live sessions too.
pvssh "$L" 'echo live; sleep 30' </dev/null >"$PV_TMP/re.out" 2>"$PV_TMP/re.err" &
rp=$!
pv_wait_log "$PV_TMP/re.out" live 10 || pv_fail "live session did not start"
pvctl revoke engineer alice >/dev/null || pv_fail "revoke engineer"
wait $rp
grep -q "provost: access revoked (engineer" "$PV_TMP/re.err" ||
    pv_fail "engineer revocation: $(cat "$PV_TMP/re.err")"

pv_log "refusals ok"
exit 0
