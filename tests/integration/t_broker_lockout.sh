#!/bin/sh
# t_broker_lockout.sh: wrong codes lock the engineer out, whatever the
# connection, source or broker: after 5 in a row (each connection allows
# MaxAuthTries) the right code is refused too, provostctl engineer show
# says locked, the lock is audited; provostctl engineer unlock lets the
# right code in again.  Another engineer is not affected.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

start_provostd "MFAGrace 0"
cat > "$PV_TMP/askpass-wrong" <<'EOC'
#!/bin/sh
echo 000000
EOC
chmod +x "$PV_TMP/askpass-wrong"
# wrong_login N: one connection offering N wrong codes.
wrong_login() {
	SSH_ASKPASS="$PV_TMP/askpass-wrong" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/bob" -p "$PVD_PORT" -o BatchMode=no \
	    -o NumberOfPasswordPrompts="$1" -l "bob+$ME@db01" 127.0.0.1 true </dev/null >/dev/null 2>&1 &&
	    pv_fail "a wrong code got in"
}
# A wrong code is 000000 unless that is the right one now: then wait.
while [ "$("$OATHTOOL" --totp -b "$(cat "$PV_TMP/bob.totp")")" = 000000 ]; do sleep 1; done
wrong_login 3
wrong_login 2
pvctl engineer show bob >"$PV_TMP/show.txt" || pv_fail "engineer show"
grep -q '^locked: *until .*(5 wrong codes)' "$PV_TMP/show.txt" || pv_fail "show: $(cat "$PV_TMP/show.txt")"
# The right code now: refused, it is not even looked at.
out=$(ENG_KEY="$PV_TMP/bob" TOTP_OF=bob pvssh "bob+$ME@db01" 'echo in' </dev/null 2>&1) &&
    pv_fail "a locked engineer got in: $out"
grep -q 'engineer bob is locked out after 6 wrong codes' "$PVD_LOG" || pv_fail "no lockout logged"
# alice is not affected.
out=$(pvssh "alice+$ME@db01" 'echo in' </dev/null 2>&1) || pv_fail "alice: $out"
pvctl engineer unlock bob --reason "checked with bob" >/dev/null || pv_fail "unlock"
pvctl engineer show --json bob | grep -q '"wrong_codes": *0' || pv_fail "count after unlock"
# The refused right code was never accepted: it still works once.
out=$(ENG_KEY="$PV_TMP/bob" TOTP_OF=bob pvssh "bob+$ME@db01" 'echo in' </dev/null 2>&1) ||
    pv_fail "bob after unlock: $out"
pvctl audit export --format jsonl >"$PV_TMP/audit.jsonl" || pv_fail "audit export"
grep '"engineer.locked"' "$PV_TMP/audit.jsonl" | grep -q '"engineer:bob"' || pv_fail "lock not audited"
grep '"engineer.unlock"' "$PV_TMP/audit.jsonl" | grep -q 'checked with bob' || pv_fail "unlock not audited"
[ "$(grep -c '"auth.fail"' "$PV_TMP/audit.jsonl")" -ge 6 ] || pv_fail "wrong codes not audited"
pvctl audit verify >/dev/null || pv_fail "audit chain"
pv_log "5 wrong codes over 2 connections locked bob; the right code refused while locked; unlock let him in"
exit 0
