#!/bin/sh
# t_ctl_krl.sh: provostctl krl export against a real sshd.  A certificate
# provostd minted for acme's engineer logs in to a target whose RevokedKeys
# is the exported file; after krl export --provider acme the same
# certificate (its serial, signed again with provost's CA over a key the
# test holds) and alice's own key are refused by sshd, and ssh-keygen -Q
# says so, while another provider's engineer and an unrelated key are not.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

MINT="$top_builddir/broker/pv-broker-mint"
[ -x "$MINT" ] || pv_fail "no $MINT"
KRL="$PV_TMP/revoked.krl"
DB="$STATE/provost.db"

# Nothing has ended yet: the list without --provider is empty, and sshd
# starts on it (a missing RevokedKeys file would refuse every key).
out=$(pvctl krl export "$KRL") || pv_fail "krl export (empty): $out"
[ "$out" = "$KRL: 0 certificate serials, 0 keys" ] || pv_fail "empty: $out"
[ "$(stat -c %a "$KRL")" = 644 ] || pv_fail "mode $(stat -c %a "$KRL")"
"$SSH_KEYGEN" -Q -f "$KRL" "$PV_TMP/alice.pub" >/dev/null ||
    pv_fail "alice revoked by the empty list"

# A second target: trusts provost's CA, checks the KRL, and takes alice's
# key and an unrelated one (carl's) as plain keys too.
pv_keygen "$PV_TMP/carl"
mkdir -p "$PV_TMP/krlt"
cat "$PV_TMP/alice.pub" "$PV_TMP/carl.pub" > "$PV_TMP/krlt/authorized_keys"
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
# Another provider's engineer, for what must stay out of acme's list.
pv_keygen "$PV_TMP/dave"
pvctl provider add globex >/dev/null || pv_fail "provider add globex"
pvctl engineer add dave --provider globex >/dev/null || pv_fail "engineer add dave"
pvctl engineer key add dave "$PV_TMP/dave.pub" >/dev/null || pv_fail "key add dave"

# alice logs in through provostd: the certificate provostd mints for the
# session is recorded in the store and accepted by the target.
start_provostd
out=$(pvssh "alice+krl01" 'echo via-broker' </dev/null) || pv_fail "broker login: $out"
[ "$out" = via-broker ] || pv_fail "broker login output: $out"
serial=$(sed -n 's/.*Accepted publickey for .* ID provost:[0-9a-f-]*:alice (serial \([0-9]*\)) CA .*/\1/p' \
    "$PV_TMP/krlt.log" | tail -1)
[ -n "$serial" ] || pv_fail "no serial in the target's log: $(tail -5 "$PV_TMP/krlt.log")"
sqlite3 "$DB" "SELECT count(*) FROM credentials c JOIN engineers e ON
    e.id = c.engineer_id WHERE c.serial = $serial AND e.login = 'alice'" | grep -qx 1 ||
    pv_fail "serial $serial is not alice's in the store"

# The same certificate (serial, principal, source, CA) over a key the test
# holds, and one with a serial provost never minted.
pv_keygen "$PV_TMP/eph"
"$MINT" cert "$STATE/ca" "$PV_TMP/eph.pub" "$ME" 127.0.0.1/32 10m "$serial" pty \
    > "$PV_TMP/eph-cert.pub" || pv_fail "mint serial $serial"
cp "$PV_TMP/eph" "$PV_TMP/eph2" && cp "$PV_TMP/eph.pub" "$PV_TMP/eph2.pub"
"$MINT" cert "$STATE/ca" "$PV_TMP/eph2.pub" "$ME" 127.0.0.1/32 10m 999999 pty \
    > "$PV_TMP/eph2-cert.pub" || pv_fail "mint serial 999999"
direct() { # direct KEY [CERT]: an "echo" on the target, not through provostd
	"$SSH" -F "$PV_TMP/ssh_config" -i "$1" ${2:+-o CertificateFile="$2"} \
	    -p "$KRLT_PORT" "$ME@127.0.0.1" 'echo direct-ok' 2>>"$PV_TMP/direct.err"
}
[ "$(direct "$PV_TMP/eph" "$PV_TMP/eph-cert.pub")" = direct-ok ] ||
    pv_fail "the certificate did not log in before the export"
[ "$(direct "$PV_TMP/alice")" = direct-ok ] || pv_fail "alice's key before the export"

# More of alice's serials, in the shapes the KRL writes: every third
# (a bitmap), a bitmap whose top bit needs a leading zero, bitmaps at sshd's
# size limit, a long run (a range) and lone ones (the list).
aid=$(sqlite3 "$DB" "SELECT id FROM engineers WHERE login = 'alice'")
sqlite3 "$DB" "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 599)
    INSERT INTO credentials(serial, kind, key_id, principals, valid_after, valid_before,
    engineer_id, issued_at) SELECT s, 'cert', 'provost:t:alice', 'root', 1, 2, $aid, 1 FROM
    (SELECT 5000 + 3 * i AS s FROM n WHERE i < 100 UNION SELECT 20000 + i FROM n
     UNION SELECT 40000 + 60 * i FROM n WHERE i < 300
     UNION VALUES (30000), (30001), (30007), (90000), (95000))" || pv_fail "insert serials"
# The export for acme: serials and keys of alice and bob, not dave's.
out=$(pvctl krl export "$KRL" --provider acme) || pv_fail "krl export: $out"
n=$(sqlite3 "$DB" "SELECT count(*) FROM credentials c JOIN engineers e ON
    e.id = c.engineer_id JOIN providers p ON p.id = e.provider_id WHERE
    p.name = 'acme' AND c.kind = 'cert'")
pl=s; [ "$n" = 1 ] && pl=
[ "$out" = "$KRL: $n certificate serial$pl, 2 keys" ] || pv_fail "export said: $out (want $n serials)"
[ "$(stat -c %a "$KRL")" = 644 ] || pv_fail "mode $(stat -c %a "$KRL")"
"$SSH_KEYGEN" -Q -f "$KRL" "$PV_TMP/eph-cert.pub" "$PV_TMP/alice.pub" "$PV_TMP/bob.pub" \
    > "$PV_TMP/Q" 2>&1 && pv_fail "ssh-keygen -Q found nothing revoked: $(cat "$PV_TMP/Q")"
[ "$(grep -c ': REVOKED$' "$PV_TMP/Q")" = 3 ] || pv_fail "ssh-keygen -Q: $(cat "$PV_TMP/Q")"
# ssh-keygen reads back exactly the store's serials.
"$SSH_KEYGEN" -Q -l -f "$KRL" | sed -n 's/^serial: //p' | while IFS=- read -r lo hi; do
	seq "$lo" "${hi:-$lo}"
done > "$PV_TMP/krl.serials"
sqlite3 "$DB" "SELECT c.serial FROM credentials c JOIN engineers e ON e.id = c.engineer_id
    JOIN providers p ON p.id = e.provider_id WHERE p.name = 'acme' AND c.kind = 'cert'
    ORDER BY 1" > "$PV_TMP/db.serials"
cmp -s "$PV_TMP/krl.serials" "$PV_TMP/db.serials" ||
    pv_fail "ssh-keygen -Ql reads other serials: $(diff "$PV_TMP/db.serials" "$PV_TMP/krl.serials" | head -5)"
"$SSH_KEYGEN" -Q -l -f "$KRL" | grep -q '^serial: 20000-20599$' || pv_fail "no range"
for k in carl.pub dave.pub eph2-cert.pub; do
	"$SSH_KEYGEN" -Q -f "$KRL" "$PV_TMP/$k" | grep -q ': ok$' ||
	    pv_fail "$k revoked by acme's list"
done

# sshd refuses the certificate and alice's key; the rest still get in.
direct "$PV_TMP/eph" "$PV_TMP/eph-cert.pub" >/dev/null &&
    pv_fail "sshd accepted a revoked certificate"
grep -q "Authentication key ED25519-CERT .* revoked by file $KRL" "$PV_TMP/krlt.log" ||
    pv_fail "sshd never said the certificate was revoked: $(tail -5 "$PV_TMP/krlt.log")"
direct "$PV_TMP/alice" >/dev/null && pv_fail "sshd accepted alice's revoked key"
[ "$(direct "$PV_TMP/carl")" = direct-ok ] || pv_fail "an unrelated key was refused"
[ "$(direct "$PV_TMP/eph2" "$PV_TMP/eph2-cert.pub")" = direct-ok ] ||
    pv_fail "a certificate with another serial was refused"

# Audited; an unknown provider is one line and leaves the file alone.
pvctl audit export --format jsonl | grep '"action":"krl.export"' |
    grep -q '"provider":"acme"' || pv_fail "no krl.export audit row"
sum=$(sha "$KRL")
pvctl krl export "$KRL" --provider nope > "$PV_TMP/nope.out" 2>&1 &&
    pv_fail "an unknown provider exported"
[ "$(wc -l < "$PV_TMP/nope.out")" = 1 ] && grep -q 'provider nope: not found' "$PV_TMP/nope.out" ||
    pv_fail "unknown provider: $(cat "$PV_TMP/nope.out")"
[ "$(sha "$KRL")" = "$sum" ] || pv_fail "a failed export changed the file"

# Without --provider: nothing of acme's until acme is revoked, then all.
pvctl krl export "$PV_TMP/ended.krl" >/dev/null || pv_fail "krl export (ended)"
"$SSH_KEYGEN" -Q -f "$PV_TMP/ended.krl" "$PV_TMP/eph-cert.pub" | grep -q ': ok$' ||
    pv_fail "an active provider's certificate in the ended list"
pvctl revoke provider acme >/dev/null || pv_fail "revoke provider"
pvctl krl export "$PV_TMP/ended.krl" >/dev/null || pv_fail "krl export (ended)"
"$SSH_KEYGEN" -Q -f "$PV_TMP/ended.krl" "$PV_TMP/eph-cert.pub" "$PV_TMP/alice.pub" \
    "$PV_TMP/dave.pub" > "$PV_TMP/Q2" 2>&1
[ "$(grep -c ': REVOKED$' "$PV_TMP/Q2")" = 2 ] && grep -q 'dave.pub.*: ok$' "$PV_TMP/Q2" ||
    pv_fail "ended list: $(cat "$PV_TMP/Q2")"
pv_log "serial $serial and alice's key refused by sshd after krl export; others still in"
exit 0
