#!/bin/sh
# t_pam_broker.sh: end to end, real ssh -> provostd -> a real sshd target
# (UsePAM, keyboard-interactive) whose PAM stack, under pam_wrapper, is the
# built pam_provost.so: the broker's per-connection token logs in and the
# command's output returns; that token replayed directly is refused; after
# provostctl revoke engineer (RevocationList rewritten) the module refuses.
. "$top_srcdir/tests/integration/lib.sh"
pv_serialize pam_wrapper

[ "$(id -u)" -eq 0 ] || pv_skip "sshd with UsePAM needs root to switch users"
PWLIB=
for cand in "${PAM_WRAPPER_LIBDIR:+$PAM_WRAPPER_LIBDIR/libpam_wrapper.so}" \
    /usr/lib/x86_64-linux-gnu/libpam_wrapper.so /usr/lib64/libpam_wrapper.so; do
	[ -f "$cand" ] && { PWLIB=$cand; break; }
done
[ -n "$PWLIB" ] || pv_skip "libpam_wrapper not found (apt-get install libpam-wrapper)"
PAMEXEC=
for d in /lib/x86_64-linux-gnu/security /usr/lib/x86_64-linux-gnu/security \
    /lib64/security /usr/lib64/security /lib/security /usr/lib/security; do
	[ -f "$d/pam_exec.so" ] && { PAMEXEC=$d/pam_exec.so; break; }
done
[ -n "$PAMEXEC" ] || pv_skip "pam_exec.so not found (libpam-modules)"
MOD="$top_builddir/.libs/pam_provost.so"
[ -f "$MOD" ] || pv_fail "module not built: $MOD"

. "$top_srcdir/tests/integration/broker-setup.sh"

# sshd is not built with ASan; a module that is needs its runtime first.
PRELOAD=$PWLIB
if nm -D "$MOD" 2>/dev/null | grep -q '__asan_'; then
	ASANRT=$(${PV_CC:-cc} -print-file-name=libasan.so)
	[ -f "$ASANRT" ] || pv_fail "ASan runtime not found ($ASANRT)"
	PRELOAD="$ASANRT $PWLIB"
fi
T=$PV_TMP
REVLIST="$T/revoked.list"

# The list must exist before the target reads it.
pvctl revocations export "$REVLIST" >/dev/null || pv_fail "revocations export"

# The PAM stack: pam_exec keeps a copy of what the broker answered (the
# test's only way to see the token), then pam_provost checks it.
printf '#!/bin/sh\ntr -d "\\000" >"%s/seen.token"\n' "$T" >"$T/grab"
chmod +x "$T/grab"
mkdir "$T/svc"
opts="key=$STATE/token.pub target=pamt nonce_dir=$T/nonces state_dir=$T/pamstate revoked=$REVLIST"
cat >"$T/svc/sshd" <<EOC
auth requisite $PAMEXEC expose_authtok quiet $T/grab
auth required $MOD $opts
account required $MOD $opts
session required $MOD $opts
EOC
printf 'auth requisite %s/pam_deny.so\n' "$(dirname "$PAMEXEC")" >"$T/svc/other"

pv_keygen "$T/pam_host"
tries=0
while :; do
	pport=$(pv_free_port) || pv_fail "no free port"
	cat >"$T/pam_sshd_config" <<EOC
ListenAddress 127.0.0.1:$pport
HostKey $T/pam_host
PidFile none
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthenticationMethods keyboard-interactive
PermitRootLogin yes
StrictModes no
LogLevel VERBOSE
MaxAuthTries 2
EOC
	"$SSHD" -t -f "$T/pam_sshd_config" || pv_fail "sshd -t rejected the config"
	: >"$T/pam_sshd.log"
	env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0 PAM_WRAPPER=1 \
	    PAM_WRAPPER_SERVICE_DIR="$T/svc" PAM_WRAPPER_DEBUGLEVEL=2 \
	    "$SSHD" -D -e -f "$T/pam_sshd_config" >>"$T/pam_sshd.log" 2>&1 &
	pampid=$!
	pv_track "$pampid"
	pv_wait_log "$T/pam_sshd.log" "Server listening on 127.0.0.1 port $pport" 10 && break
	kill "$pampid" 2>/dev/null
	tries=$((tries + 1))
	[ $tries -lt 5 ] || pv_fail "the PAM sshd did not start"
done
pvctl target add pamt --host 127.0.0.1 --port "$pport" --classification public \
    --accounts "$ME" --hostkey "$T/pam_host.pub" --auth pam-token >/dev/null ||
	pv_fail "target add pamt"
# The same host under another name: its tokens name pamwrong, not pamt.
pvctl target add pamwrong --host 127.0.0.1 --port "$pport" --classification public \
    --accounts "$ME" --hostkey "$T/pam_host.pub" --auth pam-token >/dev/null ||
	pv_fail "target add pamwrong"
start_provostd "RevocationList $REVLIST"

# 1. Through provostd: the token logs in, the command's output returns.
out=$(pvssh "alice+$ME@pamt" 'echo pam-ok-$PROVOST_SESSION' </dev/null 2>"$T/ssh1.err") ||
	{ cat "$T/pam_sshd.log"; pv_fail "exec through provostd failed: $out $(cat "$T/ssh1.err")"; }
case $out in
pam-ok-????????-????-4???-????-????????????) ;;
*) pv_fail "output: $out" ;;
esac
sid=${out#pam-ok-}
grep -q "Accepted keyboard-interactive/pam for $ME from 127.0.0.1" "$T/pam_sshd.log" ||
	pv_fail "the target did not log the token login"
grep -q "session $sid: target leg up" "$PVD_LOG" || pv_fail "provostd's session id is not $sid"
tok=$(cat "$T/seen.token")
case $tok in pvt1.*.*) ;; *) pv_fail "the target saw no token: $tok" ;; esac
grep -q "$tok" "$PVD_LOG" && pv_fail "the token reached provostd's log"
pvctl audit export --format jsonl >"$T/audit.jsonl" || pv_fail "audit export"
grep -q "$tok" "$T/audit.jsonl" && pv_fail "the token reached the audit log"
grep -q 'kind=token' "$T/audit.jsonl" || pv_fail "token credential not audited"
pv_log "ok: ssh -> provostd -> pam_provost target, output back, PROVOST_SESSION=$sid"

# A second connection gets a fresh token.
out=$(pvssh "alice+$ME@pamt" 'echo again' </dev/null 2>/dev/null) || pv_fail "second exec failed"
[ "$out" = again ] || pv_fail "second output: $out"
[ "$(cat "$T/seen.token")" != "$tok" ] || pv_fail "the broker reused a token"

# A token the target refuses: the engineer is told, nothing runs.
pvssh "alice+$ME@pamwrong" 'echo should-not-run' </dev/null >"$T/w.out" 2>"$T/w.err" &&
	pv_fail "a token for another target logged in: $(cat "$T/w.out")"
grep -q "should-not-run" "$T/w.out" && pv_fail "command ran on a refused login"
grep -q "the target pamwrong refused provost's token for $ME" "$T/w.err" ||
	pv_fail "refusal not reported: $(cat "$T/w.err")"
pv_log "ok: a token the target refuses ends the login with a message"

# direct TOKEN: the real ssh client straight to the target answering TOKEN.
cat >"$T/direct_askpass" <<'EOC'
#!/bin/sh
cat "$PV_TOKEN_FILE"
EOC
chmod +x "$T/direct_askpass"
printf '[127.0.0.1]:%s %s\n' "$pport" "$(cut -d' ' -f1,2 "$T/pam_host.pub")" >"$T/pam_known"
direct() {
	printf '%s\n' "$1" >"$T/tokfile"
	env -u LD_PRELOAD SSH_ASKPASS="$T/direct_askpass" SSH_ASKPASS_REQUIRE=force \
	    PV_TOKEN_FILE="$T/tokfile" DISPLAY=none \
	    "$SSH" -F /dev/null -o UserKnownHostsFile="$T/pam_known" \
	    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
	    -o BatchMode=no -o PreferredAuthentications=keyboard-interactive \
	    -o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 -o LogLevel=ERROR \
	    -p "$pport" "$ME@127.0.0.1" 'echo direct-ok' </dev/null 2>"$T/direct.err"
}
accepted() { grep -c "Accepted keyboard-interactive/pam for $ME" "$T/pam_sshd.log"; }

# 2. The broker's token replayed straight at the target.
n0=$(accepted)
out=$(direct "$tok") && pv_fail "replayed token logged in: $out"
pv_wait_log "$T/pam_sshd.log" "Failed keyboard-interactive/pam for $ME" 10 ||
	pv_fail "replay not refused"
[ "$(accepted)" -eq "$n0" ] || pv_fail "replay was accepted"
pv_log "ok: the broker's token replayed directly is refused"

# 3. Break-glass tokens work directly, until the engineer is revoked.
bg1=$(pvctl token issue alice pamt "$ME") || pv_fail "token issue"
out=$(direct "$bg1") || pv_fail "break-glass token refused: $(cat "$T/direct.err")"
[ "$out" = direct-ok ] || pv_fail "direct output: $out"
bg2=$(pvctl token issue alice pamt "$ME") || pv_fail "token issue"
pvctl revoke engineer alice >/dev/null || pv_fail "revoke engineer"
grep -qx 'engineer alice' "$REVLIST" || pv_fail "RevocationList does not name alice"
n0=$(accepted)
out=$(direct "$bg2") && pv_fail "revoked engineer's token logged in: $out"
[ "$(accepted)" -eq "$n0" ] || pv_fail "revoked token accepted"
# And the broker no longer lets alice in at all.
out=$(pvssh "alice+$ME@pamt" 'echo no' </dev/null 2>/dev/null) && pv_fail "revoked alice got through: $out"
if grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' "$T/pam_sshd.log" "$PVD_LOG"; then
	pv_fail "sanitizer report"
fi
pv_log "ok: after revoke engineer + list rewrite the module refuses"
