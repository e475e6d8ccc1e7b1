#!/bin/sh
# t_ctl_exit_run.sh: provostctl provider exit NAME, run for real against
# provostd and a real sshd.  acme's engineer has a live session, a
# certificate minted for her earlier still logs in to a target whose
# RevokedKeys is provost's KRL, and acme was shown three secrets: a
# network device's password (a working RotationHook), an API key (a hook
# that fails) and a token (a hook that hangs).  The run is killed with -9
# in the middle of the rotation and resumed: the password is rotated
# exactly once, the new one is readable only with the security team's key,
# the hook's check says the old one fails; the session is ended, the
# certificate and alice's key are refused by sshd, the failing and hanging
# hooks, the sweep and the KRL push end as unresolved items, never done;
# a later login by her is audited exit.violation.
# The certificate verifies with stock ssh-keygen -Y verify and with
# provostctl exit verify; a bundle with one byte changed, a file added or
# a certificate edited does not.  A second exit says it is done.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

MINT="$top_builddir/broker/pv-broker-mint"
REPLAY="$top_builddir/provost-replay"
[ -x "$MINT" ] || pv_fail "no $MINT"
command -v python3 >/dev/null || pv_skip "python3 not found"
KRL="$PV_TMP/revoked.krl"
DB="$STATE/provost.db"
EXITS="$PV_TMP/exits"

# The network device: its password in a file; the hook rotates it once
# per idempotency key and remembers the answer it gave for that key.
echo 'old-fw-password' > "$PV_TMP/fw01.pw"
cat > "$PV_TMP/hook-net" <<EOH
#!/bin/sh
req=\$(cat)
key=\$(printf '%s' "\$req" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("idempotency_key",""))')
echo "\$1 \$key" >> "$PV_TMP/hook.log"
case \$1 in
verify)
	# the old password must no longer be the device's
	if [ "\$(cat "$PV_TMP/fw01.pw")" = old-fw-password ]; then
		echo '{"status":"failed","message":"the old password still works"}'
	else
		echo '{"status":"ok","message":"old password refused by fw01"}'
	fi
	exit 0 ;;
esac
ans="$PV_TMP/answers/\$(printf '%s' "\$key" | sha256sum | cut -c1-16)"
if [ -f "\$ans" ]; then cat "\$ans"; exit 0; fi
[ -f "$PV_TMP/slow" ] && sleep 30
new=\$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
echo "\$new" > "$PV_TMP/fw01.pw"
echo "rotated \$key" >> "$PV_TMP/rotations.log"
mkdir -p "$PV_TMP/answers"
printf '{"status":"rotated","fingerprint":"sha256:%s","secret":"%s"}\n' \
    "\$(printf '%s' "\$new" | sha256sum | cut -c1-16)" "\$new" > "\$ans"
cat "\$ans"
EOH
printf '#!/bin/sh\ncat >/dev/null\necho "{\\"status\\":\\"failed\\",\\"message\\":\\"vault unreachable\\"}"\n' \
    > "$PV_TMP/hook-api"
printf '#!/bin/sh\ncat >/dev/null\nsleep 60\n' > "$PV_TMP/hook-slow"
chmod 755 "$PV_TMP/hook-net" "$PV_TMP/hook-api" "$PV_TMP/hook-slow"

pvctl krl export "$KRL" >/dev/null || pv_fail "krl export (empty)"
mkdir -p "$PV_TMP/krlt"
cp "$PV_TMP/alice.pub" "$PV_TMP/krlt/authorized_keys"
cat > "$PV_TMP/krlt_extra" <<EOC
TrustedUserCAKeys $STATE/ca.pub
RevokedKeys $KRL
EOC
pv_start_sshd krlt "$PV_TMP/krlt_extra"
KRLT_PORT=$PV_SSHD_PORT
pvctl target add krl01 --host 127.0.0.1 --port "$KRLT_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null ||
    pv_fail "target add krl01"
printf '[127.0.0.1]:%s %s\n' "$KRLT_PORT" "$(cat "$PV_SSHD_DIR/host_ed25519.pub")" \
    >> "$PV_TMP/known_hosts"
pvctl provider add globex >/dev/null || pv_fail "provider add globex"
pvctl engineer add dave --provider globex >/dev/null || pv_fail "engineer add dave"
echo 'old-app-secret' > "$PV_TMP/app.secret"
for e in "net-password v:fw01" "api-key v:billing" "slow-key v:ci" \
    "file-secret file:$PV_TMP/app.secret"; do
	set -- $e
	pvctl exposure add --provider acme --system "$(echo "${2#*:}" | tr -c 'a-z0-9\n' x)" \
	    --kind "$1" --reference "$2" \
	    >/dev/null || pv_fail "exposure $1"
done

export ROTATION_HOOK_STATE="$PV_TMP/hook-state"
start_provostd "RevokedKeys $KRL
ExitDirectory $EXITS
RotationHook net-password $PV_TMP/hook-net
RotationHook api-key $PV_TMP/hook-api
RotationHook slow-key $PV_TMP/hook-slow
RotationHook file-secret $top_srcdir/docs/examples/rotation-hook-file
RotationHookTimeout 10s
ExitOnContractEnd yes
RevocationList $PV_TMP/revoked.list"
pvctl --json provider exit acme --dry-run | grep -q "\"rotation\": \"$PV_TMP/hook-net\"" ||
    pv_fail "the plan does not name the hook"

# A certificate of alice's from a login through provostd, re-signed over
# a key the test holds; it logs in directly before the exit.
out=$(pvssh "alice+krl01" 'echo via-broker' </dev/null) || pv_fail "broker login: $out"
serial=$(sed -n 's/.*Accepted publickey for .* ID provost:[0-9a-f-]*:alice (serial \([0-9]*\)) CA .*/\1/p' \
    "$PV_TMP/krlt.log" | tail -1)
[ -n "$serial" ] || pv_fail "no serial in the target's log"
pv_keygen "$PV_TMP/eph"
"$MINT" cert "$STATE/ca" "$PV_TMP/eph.pub" "$ME" 127.0.0.1/32 10m "$serial" pty \
    > "$PV_TMP/eph-cert.pub" || pv_fail "mint serial $serial"
direct() {
	"$SSH" -F "$PV_TMP/ssh_config" -i "$1" ${2:+-o CertificateFile="$2"} \
	    -p "$KRLT_PORT" "$ME@127.0.0.1" 'echo direct-ok' 2>>"$PV_TMP/direct.err"
}
[ "$(direct "$PV_TMP/eph" "$PV_TMP/eph-cert.pub")" = direct-ok ] ||
    pv_fail "the certificate did not log in before the exit"

# A PAM token of alice's: the exit's verify finds it in RevocationList.
pvctl token issue alice db01 "$ME" > "$PV_TMP/token" || pv_fail "token issue"
# A live session of alice's, to be ended by the exit.
L="alice+db01"
live_session exit1

# The run, killed -9 while the device's hook is rotating.
touch "$PV_TMP/slow"
"$PROVOSTCTL" -f "$CONF" provider exit acme --contract-end 2026-12-31T00:00:00Z \
    > "$PV_TMP/run1.out" 2>&1 &
RUN=$!
pv_wait_log "$PV_TMP/hook.log" "rotate " 20 || { cat "$PV_TMP/run1.out" >&2; pv_fail "the hook never ran"; }
kill -9 "$RUN"
wait "$RUN" 2>/dev/null
kill -0 "$RUN" 2>/dev/null && pv_fail "provostctl outlived kill -9"
pkill -9 -f "$PV_TMP/hook-net" 2>/dev/null
rm -f "$PV_TMP/slow"
[ ! -s "$PV_TMP/rotations.log" ] || pv_fail "rotated before the kill"
grep -q '^freeze .*1 done' "$PV_TMP/run1.out" || pv_fail "run 1: $(cat "$PV_TMP/run1.out")"
sqlite3 "$DB" "SELECT state FROM exit_items WHERE step = 'rotate' AND item LIKE 'exposure:%'
    AND detail LIKE '%hook-net%'" | grep -qx started || pv_fail "the rotation was not recorded started"
# The session ended and the provider is frozen already.
gone() { i=0; while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; ! kill -0 "$1" 2>/dev/null; }
gone "$LP" || pv_fail "the live session outlived the exit's end-sessions step"
out=$(pvssh "alice+db01" 'echo in' </dev/null 2>&1) && pv_fail "alice logged in during the exit: $out"

# Without --resume: refused in one line.  With it: completes.
pvctl provider exit acme > "$PV_TMP/again.out" 2>&1 && pv_fail "a second run without --resume"
grep -q 'did not finish; --resume continues it' "$PV_TMP/again.out" || pv_fail "$(cat "$PV_TMP/again.out")"
pvctl provider exit acme --resume > "$PV_TMP/run2.out" 2>&1 || pv_fail "resume: $(cat "$PV_TMP/run2.out")"
[ "$(wc -l < "$PV_TMP/rotations.log")" = 1 ] || pv_fail "rotated $(wc -l < "$PV_TMP/rotations.log") times"
[ "$(grep -c '^rotate ' "$PV_TMP/hook.log")" = 2 ] || pv_fail "hook calls: $(cat "$PV_TMP/hook.log")"
[ "$(grep '^rotate ' "$PV_TMP/hook.log" | sort -u | wc -l)" = 1 ] ||
    pv_fail "the resumed call had another idempotency key: $(cat "$PV_TMP/hook.log")"
sqlite3 "$DB" "SELECT state FROM exit_items WHERE step = 'verify' AND
    item = 'rotated:exposure:4'" | grep -qx done || pv_fail "the example hook's verify"
sqlite3 "$DB" "SELECT state, detail FROM exit_items WHERE step = 'verify' AND item = 'pam-tokens'" |
    grep -q '^done|.*"revoked":1' || pv_fail "pam-tokens: $(sqlite3 "$DB" "SELECT * FROM exit_items
    WHERE item = 'pam-tokens'")"
grep -q "^verify " "$PV_TMP/hook.log" || { cat "$PV_TMP/run2.out" "$PV_TMP/hook.log" >&2; pv_fail "the hook was never asked to verify"; }
grep -q '^freeze .*1 done' "$PV_TMP/run2.out" || pv_fail "run 2: $(cat "$PV_TMP/run2.out")"
grep -q '^rotate .*2 done, 4 unresolved' "$PV_TMP/run2.out" || pv_fail "rotate: $(cat "$PV_TMP/run2.out")"
# docs/examples/rotation-hook-file: the file's secret replaced, sealed,
# and verified gone (the example hook, as docs/rotation-hooks.md shows it).
[ "$(cat "$PV_TMP/app.secret")" != old-app-secret ] || pv_fail "the example hook rotated nothing"

BUNDLE=$(sqlite3 "$DB" "SELECT bundle FROM exits")
[ -d "$BUNDLE" ] || pv_fail "no bundle: $BUNDLE"
[ -f "$BUNDLE.tar" ] || pv_fail "no tar of the bundle"
sqlite3 "$DB" "SELECT status FROM providers WHERE name = 'acme'" | grep -qx exited ||
    pv_fail "acme is not exited"
# Each step audited; the rotation done once.
[ "$(pvctl audit export --format jsonl | grep '"action":"exit.item"' | grep '"state":"done"' |
    grep -c 'hook-net')" = 1 ] || pv_fail "the rotation's done row is not there exactly once"
pvctl audit verify >/dev/null || pv_fail "audit chain does not verify"

# The new password: sealed to the security team, the one the device has.
sealed="$BUNDLE/secrets/1.pvrec"
[ -f "$sealed" ] || pv_fail "no sealed secret"
got=$("$REPLAY" export --key "$PV_TMP/sec.pem" --format text "$sealed" 2>&1) ||
    pv_fail "open the sealed secret: $got"
echo "$got" | grep -qxF "$(cat "$PV_TMP/fw01.pw")" || pv_fail "the sealed secret is not the device's: $got"
grep -rqF "$(cat "$PV_TMP/fw01.pw")" "$BUNDLE" "$DB" && pv_fail "the new secret in clear text"
pvctl exit secrets "$BUNDLE" --key "$PV_TMP/sec.pem" > "$PV_TMP/secrets.out" 2>/dev/null ||
    pv_fail "exit secrets"
grep -qx "exposure:4: $(cat "$PV_TMP/app.secret")" "$PV_TMP/secrets.out" ||
    pv_fail "exit secrets (file): $(cat "$PV_TMP/secrets.out")"
grep -qx "exposure:1: $(cat "$PV_TMP/fw01.pw")" "$PV_TMP/secrets.out" ||
    pv_fail "exit secrets: $(cat "$PV_TMP/secrets.out")"
"$OPENSSL" genpkey -algorithm X25519 -out "$PV_TMP/other.pem" 2>/dev/null
"$REPLAY" export --key "$PV_TMP/other.pem" --format text "$sealed" >/dev/null 2>&1 &&
    pv_fail "opened with another key"
pvctl exit secrets "$BUNDLE" --key "$PV_TMP/other.pem" >/dev/null 2>&1 &&
    pv_fail "exit secrets opened them with another key"

# The verify step tried her last certificate serial at each target: krl01
# refuses it (its sshd reads provost's KRL); db01's sshd has no
# RevokedKeys and takes it, which is unresolved (checked below).
sqlite3 "$DB" "SELECT state FROM exit_items WHERE step = 'verify' AND item = 'certificate:krl01'" |
    grep -qx done || pv_fail "certificate:krl01 is not done"
# sshd refuses the old certificate and alice's key through the KRL.
direct "$PV_TMP/eph" "$PV_TMP/eph-cert.pub" >/dev/null && pv_fail "sshd accepted a certificate minted before the exit"
direct "$PV_TMP/alice" >/dev/null && pv_fail "sshd accepted alice's key after the exit"
"$SSH_KEYGEN" -Q -f "$KRL" "$PV_TMP/eph-cert.pub" | grep -q ': REVOKED$' || pv_fail "ssh-keygen -Q"
# A login by the provider's engineer after the exit is on the record.
n0=$(pvctl audit export --format jsonl | grep -c '"action":"exit.violation"')
out=$(pvssh "alice+db01" 'echo in' </dev/null 2>&1) && pv_fail "alice logged in after the exit: $out"
[ "$(pvctl audit export --format jsonl | grep '"action":"exit.violation"' |
    grep -c '"engineer":"alice"')" -gt "$n0" ] || pv_fail "no exit.violation row for alice's login"
grep -q 'login by alice of provider acme after its exit' "$PVD_LOG" || pv_fail "no exit.violation log line"

# Unresolved, never done: the failing and the hanging hook, sweep, push.
for pat in "rotate.*vault unreachable" "rotate.*RotationHookTimeout" "sweep target:db01" "krl push:krl01" \
    "verify certificate:db01: sshd accepted a certificate with serial"; do
	grep -q "$pat" "$BUNDLE/certificate.md" || pv_fail "certificate.md lacks '$pat'"
done

# The certificate: stock ssh-keygen, then provostctl exit verify.
(cd "$BUNDLE" && "$SSH_KEYGEN" -Y verify -f allowed_signers -I provost-audit -n provost-exit \
    -s certificate.json.sig < certificate.json) > "$PV_TMP/ykv.out" 2>&1 ||
    pv_fail "ssh-keygen -Y verify: $(cat "$PV_TMP/ykv.out")"
(cd "$BUNDLE" && sha256sum -c --quiet manifest.sha256) || pv_fail "sha256sum -c"
pvctl exit verify "$BUNDLE/certificate.json" "$BUNDLE" > "$PV_TMP/ev.out" 2>&1 ||
    pv_fail "exit verify: $(cat "$PV_TMP/ev.out")"
grep -q 'signature good' "$PV_TMP/ev.out" || pv_fail "$(cat "$PV_TMP/ev.out")"
grep -q '"action":"session.open"' "$BUNDLE/audit-provider.jsonl" || pv_fail "no sessions in the slice"
grep -q '"dave"\|engineer:dave' "$BUNDLE/audit-provider.jsonl" && pv_fail "globex's rows in acme's slice"
[ "$(grep -c . "$BUNDLE/sessions.jsonl")" -ge 2 ] || pv_fail "sessions.jsonl"
ls "$BUNDLE/recordings/"*.pvrec >/dev/null 2>&1 || pv_fail "no recordings in the bundle"

# Tampering: one byte of a recording; a file added; the certificate.
cp -a "$BUNDLE" "$PV_TMP/t1"
rec=$(ls "$PV_TMP/t1/recordings/" | head -1)
printf 'X' | dd of="$PV_TMP/t1/recordings/$rec" bs=1 seek=100 conv=notrunc 2>/dev/null
pvctl exit verify "$PV_TMP/t1/certificate.json" "$PV_TMP/t1" > "$PV_TMP/t1.out" 2>&1 &&
    pv_fail "a changed recording verified"
grep -q "recordings/$rec: changed" "$PV_TMP/t1.out" || pv_fail "t1: $(cat "$PV_TMP/t1.out")"
cp -a "$BUNDLE" "$PV_TMP/t2"
echo planted > "$PV_TMP/t2/recordings/extra.pvrec"
pvctl exit verify "$PV_TMP/t2/certificate.json" "$PV_TMP/t2" > "$PV_TMP/t2.out" 2>&1 &&
    pv_fail "an added file verified"
grep -q "extra.pvrec: not in the manifest" "$PV_TMP/t2.out" || pv_fail "t2: $(cat "$PV_TMP/t2.out")"
cp -a "$BUNDLE" "$PV_TMP/t3"
sed -i 's/"provider": "acme"/"provider": "acmf"/' "$PV_TMP/t3/certificate.json"
pvctl exit verify "$PV_TMP/t3/certificate.json" "$PV_TMP/t3" > "$PV_TMP/t3.out" 2>&1 &&
    pv_fail "an edited certificate verified"
grep -q 'signature does not verify' "$PV_TMP/t3.out" || pv_fail "t3: $(cat "$PV_TMP/t3.out")"
(cd "$PV_TMP/t3" && "$SSH_KEYGEN" -Y verify -f allowed_signers -I provost-audit -n provost-exit \
    -s certificate.json.sig < certificate.json) >/dev/null 2>&1 && pv_fail "ssh-keygen accepted the edit"
cp -a "$BUNDLE" "$PV_TMP/t4"
python3 - "$PV_TMP/t4/audit.jsonl" <<'EOP'
import sys
p = sys.argv[1]
lines = open(p).read().splitlines(True)
lines[3] = lines[3].replace('"actor":"', '"actor":"x', 1)
open(p, 'w').writelines(lines)
EOP
(cd "$PV_TMP/t4" && sha256sum audit.jsonl | sed 's/ .*//') > /dev/null
pvctl exit verify "$PV_TMP/t4/certificate.json" "$PV_TMP/t4" > "$PV_TMP/t4.out" 2>&1 &&
    pv_fail "an edited audit row verified"
grep -q "audit.jsonl: changed" "$PV_TMP/t4.out" || pv_fail "t4: $(cat "$PV_TMP/t4.out")"

# A second exit says it is done and where the certificate is.
out=$(pvctl provider exit acme) || pv_fail "second exit: $out"
echo "$out" | grep -q "exit .* finished at .*certificate: $BUNDLE/certificate.md" || pv_fail "second: $out"
# --reverify appends; the hold can be lifted, audited.
pvctl provider exit acme --reverify > "$PV_TMP/rv.out" 2>&1 || pv_fail "reverify: $(cat "$PV_TMP/rv.out")"
sqlite3 "$DB" "SELECT count(*) FROM exit_items WHERE step LIKE 'reverify-%' AND state = 'done'" |
    grep -qvx 0 || pv_fail "reverify recorded nothing"
pvctl exit hold acme --lift --reason "claims settled" >/dev/null || pv_fail "hold lift"
pvctl audit export --format jsonl | grep -q '"action":"exit.hold"' || pv_fail "hold not audited"
# exit due (provost-exit.timer): a provider whose contract has ended gets
# its exit; one whose has not, and acme (verified again just now), not.
pvctl provider add initech --contract-end 2026-01-01T00:00:00Z >/dev/null || pv_fail "initech"
pvctl provider add hooli --contract-end 2099-01-01T00:00:00Z >/dev/null || pv_fail "hooli"
nrv=$(sqlite3 "$DB" "SELECT count(*) FROM exit_items WHERE step LIKE 'reverify-%'")
pvctl exit due > "$PV_TMP/due.out" 2>&1 || pv_fail "exit due: $(cat "$PV_TMP/due.out")"
sqlite3 "$DB" "SELECT p.name, p.status FROM providers p JOIN exits x ON x.provider_id = p.id
    ORDER BY 1" | tr '\n' ' ' | grep -qx 'acme|exited initech|exited ' ||
    pv_fail "exits after exit due: $(sqlite3 "$DB" "SELECT provider_id, finished_at FROM exits")"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM exit_items WHERE step LIKE 'reverify-%'")" = "$nrv" ] ||
    pv_fail "acme verified again within the week"
grep -q 'provider initech: exit .* started' "$PV_TMP/due.out" || pv_fail "due: $(cat "$PV_TMP/due.out")"
pv_log "exit: killed in rotation, resumed, rotated once; certificate verifies; tampering named"
exit 0
