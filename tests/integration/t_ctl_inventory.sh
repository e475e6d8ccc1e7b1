#!/bin/sh
# t_ctl_inventory.sh: providers, engineers, keys (fingerprints as ssh-keygen
# prints them), TOTP enrolment (the otpauth URI works with oathtool and the
# secret is sealed in the store), and targets added or imported from JSON
# all or nothing, with errors that name the entry and the field.
. "$top_srcdir/tests/integration/lib.sh"

CTL="$top_builddir/provostctl"
S="$PV_TMP/state"
printf 'StateDirectory %s\nPolicyFile %s/policy.conf\nControlSocket %s/run/control.sock\n' "$S" "$PV_TMP" "$PV_TMP" > "$PV_TMP/provostd.conf"
cat > "$PV_TMP/policy.conf" <<'EOC'
Levels public internal confidential restricted
Rule standing
    Classification public
    Approval none
EOC
ctl() { "$CTL" -f "$PV_TMP/provostd.conf" "$@"; }
ctl init > /dev/null 2>&1 || pv_fail "init"

ctl provider add acme --contract-start 2026-01-01 --contract-end 2027-01-01 > /dev/null || pv_fail "provider add"
ctl provider add acme > /dev/null 2>&1
[ $? -eq 4 ] || pv_fail "duplicate provider not exit 4"
ctl --json provider show acme > "$PV_TMP/p.json" || pv_fail "provider show"
grep -q '"contract_end": 1798761600' "$PV_TMP/p.json" || pv_fail "contract end: $(cat "$PV_TMP/p.json")"
ctl engineer add alice --provider acme --clearance confidential > /dev/null || pv_fail "engineer add"
ctl engineer add bob --provider acme --clearance secret > /dev/null 2>"$PV_TMP/err"
[ $? -eq 2 ] || pv_fail "unknown clearance accepted"
grep -q "clearance secret is not a level" "$PV_TMP/err" || pv_fail "clearance message"
ctl engineer add carol --provider nope > /dev/null 2>&1
[ $? -eq 3 ] || pv_fail "unknown provider not exit 3"

pv_keygen "$PV_TMP/alice"
out=$(ctl engineer key add alice "$PV_TMP/alice.pub") || pv_fail "key add"
want=$("$SSH_KEYGEN" -l -f "$PV_TMP/alice.pub" | cut -d' ' -f2)
case "$out" in *"$want"*) ;; *) pv_fail "fingerprint $out, ssh-keygen says $want" ;; esac
"$SSH_KEYGEN" -q -t rsa -b 3072 -N '' -f "$PV_TMP/rsa" || pv_fail "rsa keygen"
ctl engineer key add alice "$PV_TMP/rsa.pub" > /dev/null || pv_fail "rsa key add"
ctl engineer key add alice "$PV_TMP/alice.pub" > /dev/null 2>&1
[ $? -eq 4 ] || pv_fail "duplicate key not exit 4"
echo "not a key" > "$PV_TMP/junk.pub"
ctl engineer key add alice "$PV_TMP/junk.pub" > /dev/null 2>&1
[ $? -eq 2 ] || pv_fail "junk key not exit 2"

# TOTP: the URI's secret makes codes with oathtool; the store keeps it sealed.
[ -n "${OATHTOOL:-}" ] && [ -x "$OATHTOOL" ] || pv_skip "oathtool not found (apt-get install oathtool)"
ctl engineer totp alice > "$PV_TMP/uri" 2>/dev/null || pv_fail "engineer totp"
grep -q '^otpauth://totp/provost:alice?secret=[A-Z2-7]*&issuer=provost&algorithm=SHA1&digits=6&period=30$' "$PV_TMP/uri" ||
    pv_fail "URI: $(cat "$PV_TMP/uri")"
secret=$(sed -n 's/.*secret=\([A-Z2-7]*\)&.*/\1/p' "$PV_TMP/uri")
code=$("$OATHTOOL" --totp -b "$secret") || pv_fail "oathtool rejects the secret"
echo "$code" | grep -Eq '^[0-9]{6}$' || pv_fail "oathtool code $code"
hexsecret=$("$OATHTOOL" --totp -v -b "$secret" | sed -n 's/^Hex secret: //p')
[ -n "$hexsecret" ] || pv_fail "no hex secret from oathtool"
if [ -n "${SQLITE3:-}" ] && [ -x "$SQLITE3" ]; then
	sealed=$("$SQLITE3" "$S/provost.db" "SELECT lower(hex(sealed)) FROM totp")
	[ ${#sealed} -eq 96 ] || pv_fail "sealed secret has ${#sealed} hex digits"
	case "$sealed" in *"$hexsecret"*) pv_fail "TOTP secret stored in the clear" ;; esac
	"$SQLITE3" "$S/provost.db" .dump | grep -qi "$hexsecret" && pv_fail "secret in the dump"
fi
# With libqrencode the URI also comes as a terminal QR code.
if grep -q "define HAVE_QRENCODE 1" "$top_builddir/config.h"; then
	ctl engineer add dave --provider acme > /dev/null || pv_fail "engineer add dave"
	ctl engineer totp dave --qr > "$PV_TMP/qr" 2>/dev/null || pv_fail "totp --qr"
	[ "$(grep -c '█' "$PV_TMP/qr")" -ge 10 ] || pv_fail "no QR code printed"
fi
ctl --json engineer show alice > "$PV_TMP/e.json" || pv_fail "engineer show"
grep -q '"totp": true' "$PV_TMP/e.json" || pv_fail "totp not enrolled"
grep -q "$secret" "$PV_TMP/e.json" && pv_fail "engineer show printed the secret"
ctl audit export --format jsonl | grep -q "$secret" && pv_fail "audit holds the secret"

# Targets.
pv_keygen "$PV_TMP/hk"
ctl target add db01 --host 10.0.0.5 --port 2200 --classification confidential \
    --accounts postgres,root --hostkey "$PV_TMP/hk.pub" > /dev/null || pv_fail "target add"
ctl target add x1 --host 10.0.0.6 --classification topsecret --accounts root \
    --hostkey "$PV_TMP/hk.pub" > /dev/null 2>&1
[ $? -eq 2 ] || pv_fail "unknown classification accepted"
ctl target show db01 > "$PV_TMP/t" || pv_fail "target show"
grep -q "$("$SSH_KEYGEN" -l -f "$PV_TMP/hk.pub" | cut -d' ' -f2)" "$PV_TMP/t" || pv_fail "pinned key fingerprint"
hk=$(cut -d' ' -f1,2 "$PV_TMP/hk.pub")
cat > "$PV_TMP/inv.json" <<EOJ
[
 {"name": "web1", "host": "10.0.1.1", "classification": "public", "accounts": ["www"], "hostkey": "$hk"},
 {"name": "web2", "host": "10.0.1.2", "port": 2222, "classification": "internal", "accounts": ["www", "deploy"], "hostkey": "$hk", "auth": "pam-token"}
]
EOJ
cat > "$PV_TMP/bad.json" <<EOJ
[
 {"name": "app1", "host": "10.0.2.1", "classification": "public", "accounts": ["a"], "hostkey": "$hk"},
 {"name": "app2", "host": "10.0.2.2", "classification": "public", "accounts": ["a"], "hostkey": "$hk"},
 {"name": "app3", "host": "10.0.2.3", "port": "22", "classification": "public", "accounts": ["a"], "hostkey": "$hk"}
]
EOJ
ctl target import "$PV_TMP/bad.json" > /dev/null 2>"$PV_TMP/err"
[ $? -eq 2 ] || pv_fail "bad inventory accepted"
grep -q "entry 2: port: must be 1..65535 (nothing imported)" "$PV_TMP/err" || pv_fail "import error: $(cat "$PV_TMP/err")"
ctl target show app1 > /dev/null 2>&1 && pv_fail "partial import: app1 exists"
sed 's/"classification": "internal"/"classification": "secret"/' "$PV_TMP/inv.json" > "$PV_TMP/lvl.json"
ctl target import "$PV_TMP/lvl.json" > /dev/null 2>"$PV_TMP/err"
grep -q "entry 1: classification: not a level of the policy" "$PV_TMP/err" || pv_fail "level error: $(cat "$PV_TMP/err")"
out=$(ctl target import "$PV_TMP/inv.json") || pv_fail "import"
[ "$out" = "2 targets imported" ] || pv_fail "import said: $out"
ctl --json target list > "$PV_TMP/tl.json" || pv_fail "target list"
[ "$(grep -c '"name":' "$PV_TMP/tl.json")" -eq 3 ] || pv_fail "target count"
grep -q '"auth": "pam-token"' "$PV_TMP/tl.json" || pv_fail "auth not imported"
ctl target import "$PV_TMP/inv.json" > /dev/null 2>"$PV_TMP/err"
[ $? -eq 4 ] || pv_fail "re-import not exit 4"
grep -q "entry 0: name: target already exists" "$PV_TMP/err" || pv_fail "re-import error: $(cat "$PV_TMP/err")"

ctl approver add sec1 --group security > /dev/null || pv_fail "approver add"
ctl approver add sec1 --group change > /dev/null || pv_fail "second group"
ctl approver add alice-sec --group security --engineer alice > /dev/null || pv_fail "linked approver"
[ "$(ctl --json approver list | grep -c '"group"')" -eq 3 ] || pv_fail "approver list"
ctl engineer disable alice > /dev/null || pv_fail "disable"
ctl --json engineer show alice | grep -q '"disabled_at": 0' && pv_fail "not disabled"

# --json, one convention (provostctl(8)): a list is one JSON array of
# objects, [] when empty; every other command prints one object.
PYTHON3=${PYTHON3:-$(command -v python3 || :)}
if [ -n "$PYTHON3" ]; then
	while IFS='|' read -r want args; do
		# shellcheck disable=SC2086 # the arguments are words
		ctl --json $args > "$PV_TMP/j.json" 2>"$PV_TMP/j.err" ||
		    pv_fail "--json $args: $(cat "$PV_TMP/j.err")"
		out=$("$PYTHON3" -c 'import json, sys
j = json.load(open(sys.argv[1]))
want = sys.argv[2]
if want == "object":
    assert isinstance(j, dict), j
else:
    assert isinstance(j, list) and all(isinstance(o, dict) for o in j), j
    assert (len(j) == 0) == (want == "empty"), j' "$PV_TMP/j.json" "$want" 2>&1) ||
		    pv_fail "--json $args is not $want: $out"
	done <<EOT
array|provider list
array|engineer list
array|engineer list --provider acme
array|approver list
array|target list
empty|grant list
empty|grant list --pending
object|provider add globex
object|provider show acme
object|engineer add erin --provider globex
object|engineer show alice
object|approver add sec2 --group security
object|target show db01
object|engineer disable erin
object|policy check $PV_TMP/policy.conf
object|policy explain alice web1 www
object|grant expire
object|audit checkpoint
object|audit verify
EOT
else
	pv_log "no python3: --json shapes not parsed"
fi
ctl audit verify > /dev/null || pv_fail "audit verify"
pv_log "providers, engineers, keys, TOTP, targets, import ok"
exit 0
