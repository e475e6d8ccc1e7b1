#!/bin/sh
# t_broker_preconnect.sh: the target leg is pre-opened while the engineer
# types the code, and the ordering rules hold, read off the target sshd's
# own log: no connection at all for a client whose key is not accepted (or
# only offered, never signed); a connection but no authentication for one
# whose code is wrong or whose decision is a refusal; exactly one
# connection, authenticated after the decision, for one that is allowed.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

start_provostd "MFAGrace 0"
TLOG="$PV_TMP/target.log"
conns() { grep -c '^Connection from 127.0.0.1 port' "$TLOG"; }
accepts() { grep -c 'Accepted publickey for' "$TLOG"; }
# ends N: wait until provostd has logged N session ends.
ends() {
	i=0
	while [ "$(grep -c 'session [0-9a-f-]*: end: ' "$PVD_LOG")" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || pv_fail "provostd logged fewer than $1 session ends"
		sleep 0.1
	done
}
# settle: wait until the target's count of connections has been still for
# 1.5 s; a leg pre-opened by a session that already ended may be logged by
# the target's sshd a moment later.
settle() {
	i=0; last=$(conns); still=0
	while [ $still -lt 15 ]; do
		sleep 0.1
		now=$(conns)
		if [ "$now" -eq "$last" ]; then still=$((still + 1)); else still=0; last=$now; fi
		i=$((i + 1))
		[ $i -lt 200 ] || pv_fail "the target's connection count never settled"
	done
}
nend=0

# Nothing reaches the target for a key that is not accepted: a stranger's
# key, an unknown engineer, a valid key only offered (no signature) with a
# good code after it (libssh client probe).
c0=$(conns); a0=$(accepts)
pv_keygen "$PV_TMP/stranger"
for case in "stranger:alice+$ME@db01" "alice:mallory+$ME@db01" "bob:alice+$ME@db01"; do
	key=${case%%:*}; login=${case#*:}
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/$key" -p "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 -l "$login" 127.0.0.1 true \
	    2>"$PV_TMP/refused.err" </dev/null && pv_fail "$key as $login got in"
	grep -q 'Permission denied (publickey)' "$PV_TMP/refused.err" ||
	    pv_fail "$key as $login: $(cat "$PV_TMP/refused.err")"
	nend=$((nend + 1)); ends $nend
done
"$top_builddir/broker/pv-broker-probe" "$PVD_PORT" "alice+$ME@db01" "$ENG_KEY.pub" \
    "$("$OATHTOOL" --totp -b "$(cat "$PV_TMP/alice.totp")")" > "$PV_TMP/probe.out" 2>&1 ||
    pv_fail "unsigned key probe: $(cat "$PV_TMP/probe.out")"
grep -q 'server would accept the key' "$PV_TMP/probe.out" ||
    pv_fail "probe never got PK_OK: $(cat "$PV_TMP/probe.out")"
nend=$((nend + 1)); ends $nend
sleep 0.5 # a connect would have been logged by now
[ "$(conns)" -eq "$c0" ] ||
    pv_fail "the target saw $(($(conns) - c0)) connection(s) for clients whose key was not accepted"
grep -q 'pre-opening the target leg' "$PVD_LOG" && pv_fail "a leg was pre-opened before a key verified"

# A verified key but a wrong code: the leg may be pre-opened, but nothing
# authenticates at the target.
cat > "$PV_TMP/askpass-wrong" <<'EOC'
#!/bin/sh
echo 000000
EOC
chmod +x "$PV_TMP/askpass-wrong"
SSH_ASKPASS="$PV_TMP/askpass-wrong" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" -o BatchMode=no \
    -o NumberOfPasswordPrompts=1 -l "alice+$ME@db01" 127.0.0.1 true 2>/dev/null </dev/null &&
    pv_fail "a wrong code got in"
nend=$((nend + 1)); ends $nend
[ "$(accepts)" -eq "$a0" ] || pv_fail "the target authenticated a session whose code was wrong"
grep -q 'pre-opening the target leg to db01' "$PVD_LOG" ||
    pv_fail "no leg was pre-opened after the key verified"

# A target no rule opens to alice (vault is above her clearance): a
# session process holding only her verified key learns nothing of it (no
# host, port or host key), so no leg is pre-opened while the (here wrong)
# code is typed.  After a good code it reads as a target that does not
# exist (t_broker_auth).
settle; c0=$(conns)
SSH_ASKPASS="$PV_TMP/askpass-wrong" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" -o BatchMode=no \
    -o NumberOfPasswordPrompts=1 -l "alice+$ME@vault" 127.0.0.1 true 2>/dev/null </dev/null &&
    pv_fail "a wrong code got in"
nend=$((nend + 1)); ends $nend
settle
[ "$(conns)" -eq "$c0" ] || pv_fail "vault: the target saw $(($(conns) - c0)) connection(s) for a target alice may not see"
grep -q 'pre-opening the target leg to vault' "$PVD_LOG" && pv_fail "a leg to vault was pre-opened"

# A refused decision (jit needs a grant bob does not hold): the pre-opened
# leg is closed without authenticating, and the refusal is audited.  (bob: a
# code is good once, and alice's comes next.)
settle; c1=$(conns)
(ENG_KEY="$PV_TMP/bob"; TOTP_OF=bob; export TOTP_OF
    pvssh "bob+$ME@jit" true </dev/null >/dev/null 2>"$PV_TMP/deny.err") &&
    pv_fail "jit let in without a grant"
grep -q 'provost: access denied: ' "$PV_TMP/deny.err" || pv_fail "jit: $(cat "$PV_TMP/deny.err")"
nend=$((nend + 1)); ends $nend
settle
[ "$(conns)" -eq $((c1 + 1)) ] ||
    pv_fail "jit: the target saw $(($(conns) - c1)) connections, want the one pre-opened"
[ "$(accepts)" -eq "$a0" ] || pv_fail "the target authenticated a refused session"
grep -q 'pre-opened leg to jit closed unauthenticated: the decision refused' "$PVD_LOG" ||
    pv_fail "the refused leg's close was not logged"
pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"
sid=$(sed -n 's/.*session \([0-9a-f-]*\): decision for bob as .*@jit.*deny.*/\1/p' "$PVD_LOG" | tail -n 1)
[ -n "$sid" ] || pv_fail "no logged decision for jit"
grep "$sid" "$PV_TMP/audit.jsonl" | grep '"decision"' | grep -q 'deny engineer=bob target=jit' ||
    pv_fail "the jit refusal was not audited"
grep "$sid" "$PV_TMP/audit.jsonl" | grep -q '"credential.issued"' &&
    pv_fail "a credential was minted for a refused session"

# Allowed: one connection (the pre-opened one), authenticated with the
# certificate only after the decision allowed it.
settle; c2=$(conns)
out=$(pvssh "alice+$ME@db01" 'echo through' </dev/null) || pv_fail "db01 refused: $out"
[ "$out" = through ] || pv_fail "db01 said: $out"
nend=$((nend + 1)); ends $nend
[ "$(conns)" -eq $((c2 + 1)) ] ||
    pv_fail "db01: the target saw $(($(conns) - c2)) connections, want the pre-opened one only"
[ "$(accepts)" -eq $((a0 + 1)) ] || pv_fail "db01: no certificate login at the target"
sid=$(sed -n 's/.*session \([0-9a-f-]*\): target leg up: .*@db01 .*, pre-opened$/\1/p' "$PVD_LOG" | tail -n 1)
[ -n "$sid" ] || pv_fail "the allowed session did not use the pre-opened leg"
# the monitor made that leg on the key alone: its row says so
pvctl audit export --format jsonl | grep '"target.connect"' | grep "$sid" |
    grep -q "target=db01 127.0.0.1:$TARGET_PORT pre-opened" || pv_fail "no target.connect row for $sid"
# In the session's own log lines: key, pre-open, code, decision, then auth.
line() { grep -n "session $sid: $1" "$PVD_LOG" | head -n 1 | cut -d: -f1; }
k=$(line 'public key ok for alice'); p=$(line 'pre-opening the target leg to db01')
c=$(line 'authenticated alice .*(key and code)'); d=$(line 'decision for alice as .*: allow')
u=$(line 'target leg up: ')
for v in "$k" "$p" "$c" "$d" "$u"; do [ -n "$v" ] || pv_fail "session $sid: a log line is missing"; done
[ "$k" -lt "$p" ] && [ "$p" -lt "$c" ] && [ "$c" -lt "$d" ] && [ "$d" -lt "$u" ] ||
    pv_fail "session $sid: order key $k, pre-open $p, code $c, decision $d, auth $u"

# A target stored by host name: the monitor resolves it (its loop waits
# for the resolver: logged with the time it took) and connects; the
# session process, which has no socket or resolver of its own, gets the
# socket, and the certificate is for the leg's own address.
if [ "$(getent ahosts localhost | awk 'NR == 1 { print $1 }')" = 127.0.0.1 ]; then
	pvctl target add name01 --host localhost --port "$TARGET_PORT" --classification public \
	    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add name01"
	# alice's code is the next step's: her last one (db01, above) may
	# still be the current step, and a step is good once.
	cat > "$PV_TMP/askpass-next" <<EOC
#!/bin/sh
exec "$OATHTOOL" --totp -b -N "now + 30 seconds" "\$(cat "$PV_TMP/alice.totp")"
EOC
	chmod +x "$PV_TMP/askpass-next"
	out=$(SSH_ASKPASS="$PV_TMP/askpass-next" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/alice" -p "$PVD_PORT" -o BatchMode=no \
	    -o NumberOfPasswordPrompts=1 -l "alice+$ME@name01" 127.0.0.1 'echo named' </dev/null) ||
	    pv_fail "name01 refused: $out"
	[ "$out" = named ] || pv_fail "name01 said: $out"
	nend=$((nend + 1)); ends $nend
	grep -q "target leg up: $ME@name01 (localhost:$TARGET_PORT), pre-opened" "$PVD_LOG" ||
	    pv_fail "name01: no pre-opened leg by name"
	grep -q 'monitor: resolving localhost for name01 took [0-9]* ms' "$PVD_LOG" ||
	    pv_fail "name01: the monitor's resolution was not logged"
	pv_log "$(grep -h 'resolving localhost for name01' "$PVD_LOG" | head -n 1)"
else
	pv_log "localhost is not 127.0.0.1 first here: the by-name target is not tried"
fi

# A pre-opened leg the target drops while the code is typed (its
# LoginGraceTime is 2 s, the code takes 4): the decision connects again.
# bob's code is the next step's: his last one (vault, above) may still be
# the current step, and a step is good once.
cp "$PV_TMP/target_extra" "$PV_TMP/short_extra"
echo "LoginGraceTime 2" >> "$PV_TMP/short_extra"
pv_start_sshd short "$PV_TMP/short_extra"
pvctl target add short01 --host 127.0.0.1 --port "$PV_SSHD_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add short01"
cat > "$PV_TMP/askpass-slow" <<EOC
#!/bin/sh
sleep 4
exec "$OATHTOOL" --totp -b -N "now + 30 seconds" "\$(cat "$PV_TMP/bob.totp")"
EOC
chmod +x "$PV_TMP/askpass-slow"
out=$(SSH_ASKPASS="$PV_TMP/askpass-slow" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/bob" -p "$PVD_PORT" -o BatchMode=no \
    -o NumberOfPasswordPrompts=1 -l "bob+$ME@short01" 127.0.0.1 'echo again' </dev/null) ||
    pv_fail "short01 after a dropped pre-opened leg: $out"
[ "$out" = again ] || pv_fail "short01 said: $out"
grep -q 'the pre-opened leg to short01 is gone: connecting again' "$PVD_LOG" ||
    grep -q 'the pre-opened leg to short01 failed' "$PVD_LOG" ||
    pv_fail "the dropped leg was not noticed"
pv_log "$(grep -h "pre-opened leg to short01" "$PVD_LOG")"
[ "$(grep -c '^Connection from 127.0.0.1 port' "$PV_TMP/short.log")" -eq 2 ] ||
    pv_fail "short01: want two connections (the dropped one and the new one)"
pv_log "ok"
