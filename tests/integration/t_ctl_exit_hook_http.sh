#!/bin/sh
# t_ctl_exit_hook_http.sh: docs/examples/rotation-hook-http, the example
# hook for a cloud API, end to end in a provider's exit against a small
# HTTP API the test starts (python3 http.server): it checks the bearer
# token, keeps each secret, answers GET with the SHA-256 of the value it
# holds, and fails the PUT of one secret with HTTP 500.  After the exit
# the API holds the secret provost sealed for the security team (exit
# secrets opens it), the verify step asked the API, the failing PUT is an
# unresolved item named in the certificate, never done; neither the token
# nor the new secret is on curl's or jq's command line (wrappers log them)
# or in the bundle.  The hook called again with
# the same idempotency key answers the first rotation without a second
# PUT; its verify fails once the API holds another value, cannot tell for
# a secret the API does not know, and it refuses a token file others can
# read.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

for p in python3 curl jq; do
	command -v $p >/dev/null || pv_skip "$p not found (apt-get install $p)"
done
HOOK="$top_srcdir/docs/examples/rotation-hook-http"
DB="$STATE/provost.db"
TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
printf '%s\n' "$TOKEN" > "$PV_TMP/api.token"
chmod 600 "$PV_TMP/api.token"

cat > "$PV_TMP/api.py" <<'EOP'
import hashlib, http.server, json, sys
port, token, log = int(sys.argv[1]), open(sys.argv[2]).read().strip(), sys.argv[3]
store = {"billing": "old-billing-secret", "broken": "old-broken-secret"}
keys = {}

class H(http.server.BaseHTTPRequestHandler):
    def reply(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def ok(self):
        good = self.headers.get("Authorization") == "Bearer " + token
        with open(log, "a") as f:
            f.write("%s %s %s %s\n" % (self.command, self.path, "auth-ok" if good else "auth-bad",
                                       self.headers.get("Idempotency-Key", "-")))
        if not good:
            self.reply(401, {"error": "bad token"})
        return good

    def name(self):
        n = self.path[len("/v1/secrets/"):] if self.path.startswith("/v1/secrets/") else ""
        if n not in store:
            self.reply(404, {"error": "no such secret"})
            return None
        return n

    def do_GET(self):
        if self.ok() and (n := self.name()):
            self.reply(200, {"sha256": hashlib.sha256(store[n].encode()).hexdigest()})

    def do_PUT(self):
        if not self.ok() or not (n := self.name()):
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if n == "broken":
            return self.reply(500, {"error": "backend down"})
        key = self.headers.get("Idempotency-Key")
        if key not in keys:  # the API's own idempotency: a replay changes nothing
            store[n] = body["value"]
            keys[key] = len(keys) + 1
        self.reply(200, {"version": keys[key]})

    def log_message(self, *a):
        pass

http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOP
PORT=$(pv_free_port) || pv_fail "no free port"
python3 "$PV_TMP/api.py" "$PORT" "$PV_TMP/api.token" "$PV_TMP/api.log" 2>"$PV_TMP/api.err" &
pv_track $!
API="http://127.0.0.1:$PORT/v1/secrets"
i=0
until curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$API/billing" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || pv_fail "the API did not start: $(cat "$PV_TMP/api.err")"
	sleep 0.1
done
# The API checks its token: without it, 401 and nothing changes.
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary '{"value":"x"}' "$API/billing")
[ "$code" = 401 ] || pv_fail "the API took a PUT without the token: $code"
sha_api() { curl -s -H @"$PV_TMP/auth.hdr" "$API/$1" | jq -r .sha256; }
printf 'Authorization: Bearer %s\n' "$TOKEN" > "$PV_TMP/auth.hdr"
OLD=$(sha_api billing)
[ "$OLD" = "$(printf old-billing-secret | sha256sum | cut -c1-64)" ] || pv_fail "the API's GET: $OLD"

for s in billing broken; do
	pvctl exposure add --provider acme --system "$s-api" --kind cloud-secret \
	    --reference "url:$API/$s" >/dev/null || pv_fail "exposure $s"
done
xid() { sqlite3 "$DB" "SELECT id FROM exposures WHERE secret_ref = 'url:$API/$1'"; }
item() { sqlite3 "$DB" "SELECT state, detail FROM exit_items WHERE step = '$1' AND item = '$2'"; }
export ROTATION_HOOK_TOKEN_FILE="$PV_TMP/api.token" ROTATION_HOOK_STATE="$PV_TMP/hook-state"
write_conf 2222 "RotationHook cloud-secret $HOOK
ExitDirectory $PV_TMP/exits"
# curl and jq as the hook runs them, their command lines logged.
mkdir -p "$PV_TMP/bin"
for p in curl jq; do
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >> "%s/argv.log"\nexec %s "$@"\n' \
	    "$PV_TMP" "$(command -v $p)" > "$PV_TMP/bin/$p"
	chmod 755 "$PV_TMP/bin/$p"
done
WPATH="$PV_TMP/bin:$PATH"
env PATH="$WPATH" "$PROVOSTCTL" -f "$CONF" provider exit acme > "$PV_TMP/exit.out" 2>&1 ||
    pv_fail "exit: $(cat "$PV_TMP/exit.out")"
grep -q -- '-X PUT' "$PV_TMP/argv.log" || pv_fail "the wrappers saw no PUT: $(cat "$PV_TMP/argv.log")"
BUNDLE=$(sqlite3 "$DB" "SELECT bundle FROM exits")
EXIT=$(sqlite3 "$DB" "SELECT id FROM exits")
B=$(xid billing)
K=$(xid broken)

# billing: rotated through the API, sealed, the API holds the new secret.
item rotate "exposure:$B" | grep -q '^done|.*"message":"PUT http://127.0.0.1:[0-9]*/v1/secrets/billing: HTTP 200"' ||
    pv_fail "billing: $(item rotate "exposure:$B")"
pvctl exit secrets "$BUNDLE" --key "$PV_TMP/sec.pem" > "$PV_TMP/secrets.out" 2>/dev/null || pv_fail "exit secrets"
new=$(sed -n "s/^exposure:$B: //p" "$PV_TMP/secrets.out")
[ ${#new} -ge 32 ] || pv_fail "no new secret for billing: $(cat "$PV_TMP/secrets.out")"
[ "$(sha_api billing)" = "$(printf '%s' "$new" | sha256sum | cut -c1-64)" ] ||
    pv_fail "the API does not hold the sealed secret"
[ "$(sha_api billing)" != "$OLD" ] || pv_fail "the API still holds the old secret"
[ "$(grep -c "^PUT /v1/secrets/billing auth-ok $EXIT/exposure:$B\$" "$PV_TMP/api.log")" = 1 ] ||
    pv_fail "not one authorised PUT with the idempotency key: $(cat "$PV_TMP/api.log")"
item verify "rotated:exposure:$B" | grep -q '^done|.*the API holds the rotated value' ||
    pv_fail "verify billing: $(item verify "rotated:exposure:$B")"
grep -q "^GET /v1/secrets/billing auth-ok" "$PV_TMP/api.log" || pv_fail "the verify step did not ask the API"
grep -rqF "$new" "$BUNDLE" "$DB" "$PV_TMP/exit.out" "$PV_TMP/hook-state" && pv_fail "the new secret in clear"
grep -rqF "$TOKEN" "$BUNDLE" "$DB" "$PV_TMP/exit.out" "$PV_TMP/hook-state" && pv_fail "the token in the record"
# neither on a command line (ps would show it)
grep -qF "$TOKEN" "$PV_TMP/argv.log" && pv_fail "the token on curl's or jq's command line"
grep -qF "$new" "$PV_TMP/argv.log" && pv_fail "the new secret on a command line"

# broken: the API's 500 is an unresolved item, in the certificate.
item rotate "exposure:$K" | grep -q '^unresolved|.*the hook failed: HTTP 500 from http://127.0.0.1:[0-9]*/v1/secrets/broken: {\\"error\\": \\"backend down\\"}' ||
    pv_fail "broken: $(item rotate "exposure:$K")"
grep -q "rotate exposure:$K: the hook failed: HTTP 500" "$BUNDLE/certificate.md" ||
    pv_fail "certificate.md lacks the failed rotation"
grep -q '^rotate .*1 done, 1 unresolved' "$PV_TMP/exit.out" || pv_fail "$(cat "$PV_TMP/exit.out")"
pvctl exit verify "$BUNDLE/certificate.json" "$BUNDLE" >/dev/null 2>&1 || pv_fail "exit verify"

# A resumed run's call: the first answer, no second PUT, the same secret.
req=$(jq -cn --arg k "$EXIT/exposure:$B" --arg r "url:$API/billing" \
    '{action: "rotate", idempotency_key: $k, attempt: 2, exposure: {reference: $r, kind: "cloud-secret"}}')
again=$(printf '%s' "$req" | "$HOOK" rotate) || pv_fail "the hook again"
[ "$(printf '%s' "$again" | jq -r .status)" = rotated ] || pv_fail "again: $again"
[ "$(printf '%s' "$again" | jq -r '.secret // "none"')" = none ] || pv_fail "the secret answered twice"
[ "$(printf '%s' "$again" | jq -r .fingerprint)" = "sha256:$(printf '%s' "$new" | sha256sum | cut -c1-16)" ] ||
    pv_fail "another fingerprint: $again"
[ "$(grep -c '^PUT /v1/secrets/billing auth-ok' "$PV_TMP/api.log")" = 1 ] || pv_fail "a second PUT"
[ "$(sha_api billing)" = "$(printf '%s' "$new" | sha256sum | cut -c1-64)" ] || pv_fail "the secret changed again"
# verify: another value at the API fails; a secret it does not know
# cannot be told.
vreq() { jq -cn --arg r "url:$API/$1" --arg f "$2" '{action: "verify", fingerprint: $f, exposure: {reference: $r}}'; }
fp="sha256:$(printf '%s' "$new" | sha256sum | cut -c1-16)"
code=$(curl -s -o /dev/null -w '%{http_code}' -H @"$PV_TMP/auth.hdr" -H 'Idempotency-Key: by-hand' \
    -X PUT --data-binary '{"value":"set-back-by-hand"}' "$API/billing")
[ "$code" = 200 ] || pv_fail "PUT by hand: $code"
vreq billing "$fp" | "$HOOK" verify | jq -e '.status == "failed"' >/dev/null || pv_fail "verify after a change"
vreq nosuch "$fp" | "$HOOK" verify | jq -e '.status == "unsupported" and (.message | test("HTTP 404"))' >/dev/null ||
    pv_fail "verify of an unknown secret: $(vreq nosuch "$fp" | "$HOOK" verify)"
# A token file others can read is refused before any request.
chmod 644 "$PV_TMP/api.token"
n=$(wc -l < "$PV_TMP/api.log")
out=$(printf '%s' "$req" | jq -c '.idempotency_key = "other"' | "$HOOK" rotate)
printf '%s' "$out" | jq -e '.status == "failed" and (.message | test("readable by group or others"))' \
    >/dev/null || pv_fail "a readable token file: $out"
[ "$(wc -l < "$PV_TMP/api.log")" = "$n" ] || pv_fail "a request with a readable token file"
pv_log "cloud API hook: rotated and sealed, verified against the API, HTTP 500 unresolved"
exit 0
