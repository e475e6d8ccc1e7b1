#!/bin/sh
# t_broker_cert.sh: certificates minted by provost's code, checked with
# ssh-keygen -L and against a real sshd that trusts only provost's CA.
. "$top_srcdir/tests/integration/lib.sh"

MINT="$top_builddir/broker/pv-broker-mint"
[ -x "$MINT" ] || pv_fail "no $MINT"
me=$(id -un)

# CA keys in OpenSSH's format, as provostctl init writes them.
pv_keygen "$PV_TMP/ca.pem"
pv_keygen "$PV_TMP/other-ca.pem"
"$MINT" capub "$PV_TMP/ca.pem" > "$PV_TMP/ca.pub" || pv_fail "capub"
pv_keygen "$PV_TMP/eph"

# 1. The fields, exactly.
"$MINT" cert "$PV_TMP/ca.pem" "$PV_TMP/eph.pub" "$me" 127.0.0.1/32 2m 4242 pty \
    > "$PV_TMP/eph-cert.pub" || pv_fail "mint"
"$SSH_KEYGEN" -L -f "$PV_TMP/eph-cert.pub" > "$PV_TMP/L" || pv_fail "ssh-keygen -L"
grep -q 'Type: ssh-ed25519-cert-v01@openssh.com user certificate' "$PV_TMP/L" ||
    pv_fail "type: $(cat "$PV_TMP/L")"
grep -q 'Serial: 4242$' "$PV_TMP/L" || pv_fail "serial"
grep -Eq 'Key ID: "provost:[0-9a-f-]{36}:tester"' "$PV_TMP/L" || pv_fail "key id"
cafp=$("$SSH_KEYGEN" -l -f "$PV_TMP/ca.pub" | cut -d' ' -f2)
grep -q "Signing CA: ED25519 $cafp" "$PV_TMP/L" || pv_fail "signing CA"
# Principals: exactly one line, ours; options and extensions exactly.
awk '/Principals:/{p=1;next} /Critical Options:/{p=0} p' "$PV_TMP/L" |
    sed 's/^ *//' > "$PV_TMP/princ"
[ "$(cat "$PV_TMP/princ")" = "$me" ] || pv_fail "principals: $(cat "$PV_TMP/princ")"
awk '/Critical Options:/{p=1;next} /Extensions:/{p=0} p' "$PV_TMP/L" |
    sed 's/^ *//' > "$PV_TMP/crit"
[ "$(cat "$PV_TMP/crit")" = "source-address 127.0.0.1/32" ] ||
    pv_fail "critical options: $(cat "$PV_TMP/crit")"
awk '/Extensions:/{p=1;next} p' "$PV_TMP/L" | sed 's/^ *//' > "$PV_TMP/ext"
[ "$(cat "$PV_TMP/ext")" = "permit-pty" ] || pv_fail "extensions: $(cat "$PV_TMP/ext")"
# Valid from now-30s to now+2m: 150 s apart.
valid=$(sed -n 's/.*Valid: from \([^ ]*\) to \([^ ]*\)$/\1 \2/p' "$PV_TMP/L")
from=$(date -u -d "${valid% *}" +%s) && to=$(date -u -d "${valid#* }" +%s) ||
    pv_fail "valid: $valid"
[ $((to - from)) -eq 150 ] || pv_fail "validity span $((to - from))"
now=$(date +%s)
[ "$from" -le $((now - 29)) ] && [ "$from" -ge $((now - 40)) ] || pv_fail "valid from $from now $now"
# Without pty: no extensions at all.
"$MINT" cert "$PV_TMP/ca.pem" "$PV_TMP/eph.pub" "$me" 127.0.0.1/32 2m 1 nopty |
    "$SSH_KEYGEN" -L -f /dev/stdin | awk '/Extensions:/{p=1;next} p' |
    grep -q . && pv_fail "nopty certificate has extensions"
# Refused principals.
for bad in '' '*' 'ro*t' 'r?ot' 'a,b' '[ab]' '!root' 'Root'; do
	if "$MINT" cert "$PV_TMP/ca.pem" "$PV_TMP/eph.pub" "$bad" 127.0.0.1/32 2m 1 pty \
	    >/dev/null 2>&1; then
		pv_fail "minted for principal '$bad'"
	fi
done

# 2. A real sshd trusting the CA.
cat > "$PV_TMP/extra" <<EOC
TrustedUserCAKeys $PV_TMP/ca.pub
AuthorizedPrincipalsFile none
EOC
pv_start_sshd target "$PV_TMP/extra"
printf '[127.0.0.1]:%s %s\n' "$PV_SSHD_PORT" "$(cat "$PV_SSHD_DIR/host_ed25519.pub")" \
    > "$PV_TMP/known_hosts"
pv_ssh_config "$PV_TMP/ssh_config"
try() { # try USER CERTFILE -> exit status of a remote "echo ok"
	"$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/eph" -o CertificateFile="$2" \
	    -p "$PV_SSHD_PORT" "$1@127.0.0.1" 'echo cert-ok' 2>>"$PV_TMP/ssh.err"
}
out=$(try "$me" "$PV_TMP/eph-cert.pub") || pv_fail "sshd refused a good certificate"
[ "$out" = "cert-ok" ] || pv_fail "output $out"
# Another account: the principal does not match.
other=nobody; [ "$me" = nobody ] && other=root
try "$other" "$PV_TMP/eph-cert.pub" >/dev/null && pv_fail "accepted for account $other"
# Expired: minted an hour ago for 2 minutes.
"$MINT" cert "$PV_TMP/ca.pem" "$PV_TMP/eph.pub" "$me" 127.0.0.1/32 2m 2 pty -3600 \
    > "$PV_TMP/expired-cert.pub" || pv_fail "mint expired"
try "$me" "$PV_TMP/expired-cert.pub" >/dev/null && pv_fail "expired certificate accepted"
# Signed by another CA.
"$MINT" cert "$PV_TMP/other-ca.pem" "$PV_TMP/eph.pub" "$me" 127.0.0.1/32 2m 3 pty \
    > "$PV_TMP/other-cert.pub" || pv_fail "mint other"
try "$me" "$PV_TMP/other-cert.pub" >/dev/null && pv_fail "foreign CA accepted"
# Wrong source address.
"$MINT" cert "$PV_TMP/ca.pem" "$PV_TMP/eph.pub" "$me" 192.0.2.1/32 2m 4 pty \
    > "$PV_TMP/src-cert.pub" || pv_fail "mint src"
try "$me" "$PV_TMP/src-cert.pub" >/dev/null && pv_fail "wrong source-address accepted"
# Each refusal for its own reason, in sshd's words.
for why in 'name is not a listed principal' 'Certificate invalid: expired' \
    'not from a permitted source address'; do
	grep -q "$why" "$PV_TMP/target.log" || pv_fail "sshd never said: $why"
done
grep -q "Failed publickey.*serial 3) CA ED25519 $("$SSH_KEYGEN" -l -f "$PV_TMP/ca.pub" | cut -d' ' -f2)" \
    "$PV_TMP/target.log" && pv_fail "foreign CA logged as ours"
pv_log "fields, sshd acceptance and four refusals ok"
exit 0
