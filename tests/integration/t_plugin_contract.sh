#!/bin/sh
# t_plugin_contract.sh: the contract plugin in provostd and provostctl,
# through stock ssh.  Access inside the contract goes through; a target
# outside its Targets scope and an excluded account are refused with the
# clause and line, even where the policy allows them; the notice period is
# warned in provostd's log; a target outside the contract's Regions (or
# without a region) is refused; an engineer connecting from outside the
# contract's OperateFrom networks is refused; a contract that has ended refuses; a malformed
# contracts file stops provostd -t with FILE:LINE; report contract prints
# the terms and the refusals the audit chain holds under them; exit due
# starts the exit of a provider whose contract has ended.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

SO="$top_builddir/plugins/contract/.libs/contract.so"
[ -f "$SO" ] || pv_fail "no $SO"
day() { date -u -d "@$(($(date +%s) + $1 * 86400))" +%Y-%m-%d; }
CF="$PV_TMP/contracts.conf"
# contracts END: acme's contract from ten days ago to END.
contracts() {
	cat > "$CF" <<EOC
Contract acme-msa
    Provider acme
    Start $(day -10)
    End $1
    Notice 30d
    Targets db01 multi
    Exclude account other@multi
${2:-}
EOC
}

contracts "$(day 2)-x"
write_conf 2222 "Plugin $SO $CF"
"$PROVOSTD" -t -f "$CONF" >/dev/null 2>"$PV_TMP/t.err" && pv_fail "a bad contracts file passed -t"
grep -q "contracts.conf:4: End: not a date YYYY-MM-DD" "$PV_TMP/t.err" || pv_fail "-t: $(cat "$PV_TMP/t.err")"

contracts "$(day 2)"
start_provostd "Plugin $SO $CF"
out=$(pvssh "alice+$ME@db01" 'echo in' </dev/null 2>"$PV_TMP/in.err") ||
    pv_fail "inside the contract: $out $(cat "$PV_TMP/in.err")"
[ "$out" = in ] || pv_fail "inside the contract: $out"
grep -q "contract: provider acme is in its notice period: contract acme-msa ends $(day 2): 2 days left" "$PVD_LOG" ||
    pv_fail "no notice warning"
# files (confidential) is open to alice by a standing rule, not by the contract.
out=$(pvssh "alice+$ME@files" 'echo in' </dev/null 2>&1) && pv_fail "outside the scope: $out"
echo "$out" | grep -q "plugin contract denies: contract acme-msa ($CF:6, Targets): files is outside the service scope" ||
    pv_fail "scope: $out"
out=$(pvssh "alice+other@multi" 'echo in' </dev/null 2>&1) && pv_fail "an excluded account: $out"
echo "$out" | grep -q "($CF:7, Exclude): account other on multi is excluded" || pv_fail "exclude: $out"

pvctl report contract --provider acme >"$PV_TMP/report" || pv_fail "report contract"
grep -q "^contract acme-msa" "$PV_TMP/report" && grep -q "^targets: db01 multi" "$PV_TMP/report" ||
    pv_fail "report: $(cat "$PV_TMP/report")"
# what was refused under it: the two refusals above, from the audit chain
grep -q "^refused under it: 2$" "$PV_TMP/report" || pv_fail "report: refusals: $(cat "$PV_TMP/report")"
grep -Eq "^  [0-9-]+T[0-9:]+Z alice exec $ME@files: \($CF:6, Targets\): files is outside the service scope$" \
    "$PV_TMP/report" || pv_fail "report: the scope refusal: $(cat "$PV_TMP/report")"
grep -Eq "^  [0-9-]+T[0-9:]+Z alice exec other@multi: \($CF:7, Exclude\): account other on multi is excluded$" \
    "$PV_TMP/report" || pv_fail "report: the exclusion: $(cat "$PV_TMP/report")"
pvctl report contract --provider globex >/dev/null 2>"$PV_TMP/rep.err" && pv_fail "a report for no contract"
grep -q "no contract for provider globex" "$PV_TMP/rep.err" || pv_fail "report globex: $(cat "$PV_TMP/rep.err")"

# OperateFrom: alice connects from 127.0.0.1, the address provostd's
# monitor accepted.  A contract that lets acme work only from
# 192.0.2.0/24 and 2001:db8::/32 refuses her login and hides db01 from the
# menu's list, the clause named; provostctl decides from no connection, and
# is refused rather than waved through.  One that names 127.0.0.0/8 lets
# her in, and list shows db01 again.
kill "$PVD_PID"; wait "$PVD_PID" 2>/dev/null
contracts "$(day 2)" "    OperateFrom eu-office 192.0.2.0/24 2001:db8::/32"
start_provostd "Plugin $SO $CF"
out=$(pvssh "alice+$ME@db01" 'echo in' </dev/null 2>&1) && pv_fail "from outside OperateFrom: $out"
echo "$out" | grep -q "plugin contract denies: contract acme-msa ($CF:8, OperateFrom): 127.0.0.1 is outside eu-office" ||
    pv_fail "operate from: $out"
pvssh alice list </dev/null >"$PV_TMP/list" 2>&1
grep -q "^alice+$ME@db01" "$PV_TMP/list" && pv_fail "list from outside OperateFrom: $(cat "$PV_TMP/list")"
pvctl policy explain alice db01 "$ME" >"$PV_TMP/explain" || pv_fail "explain db01"
grep -q "($CF:8, OperateFrom): the engineer's address is not known here" "$PV_TMP/explain" ||
    pv_fail "explain, no address: $(cat "$PV_TMP/explain")"
pvctl report contract --provider acme | grep -q "^operate from: eu-office 192.0.2.0/24 2001:db8::/32$" ||
    pv_fail "report: no operate from"
kill "$PVD_PID"; wait "$PVD_PID" 2>/dev/null
contracts "$(day 2)" "    OperateFrom lab 127.0.0.0/8"
start_provostd "Plugin $SO $CF"
out=$(pvssh "alice+$ME@db01" 'echo in' </dev/null 2>"$PV_TMP/in.err") ||
    pv_fail "from inside OperateFrom: $out $(cat "$PV_TMP/in.err")"
[ "$out" = in ] || pv_fail "from inside OperateFrom: $out"
pvssh alice list </dev/null >"$PV_TMP/list" 2>&1 || pv_fail "list: $(cat "$PV_TMP/list")"
grep -q "^alice+$ME@db01" "$PV_TMP/list" || pv_fail "list from inside OperateFrom: $(cat "$PV_TMP/list")"

# Regions: db01 is in eu-west (target set --region), multi has none; the
# plugin asks the store for the target's region at each decision.
contracts "$(day 2)" "    Regions eu-west"
pvctl target set db01 --region eu-west >/dev/null || pv_fail "target set --region"
pvctl policy explain alice db01 "$ME" >"$PV_TMP/explain" || pv_fail "explain db01"
grep -q "^note: refused" "$PV_TMP/explain" && pv_fail "db01 in eu-west refused: $(cat "$PV_TMP/explain")"
pvctl policy explain alice multi "$ME" >"$PV_TMP/explain" || pv_fail "explain multi"
grep -q "^note: refused by the plugins: plugin contract denies: contract acme-msa ($CF:8, Regions): multi has no region" \
    "$PV_TMP/explain" || pv_fail "no region: $(cat "$PV_TMP/explain")"
pvctl target set db01 --region us-east >/dev/null || pv_fail "target set --region us-east"
pvctl token issue alice db01 "$ME" >/dev/null 2>"$PV_TMP/tok.err" && pv_fail "a token outside the regions"
grep -q "db01 is in region us-east, outside the scope" "$PV_TMP/tok.err" || pv_fail "region: $(cat "$PV_TMP/tok.err")"
pvctl report contract --provider acme | grep -q "^regions: eu-west" || pv_fail "report: no regions"

# The contract ended yesterday: provostctl's own host reads the file anew.
contracts "$(day -1)"
pvctl policy explain alice db01 "$ME" >"$PV_TMP/explain" || pv_fail "explain"
grep -q "^note: refused by the plugins: plugin contract denies: contract acme-msa ($CF:4, End): it ended on $(day -1)" \
    "$PV_TMP/explain" || pv_fail "explain after the end: $(cat "$PV_TMP/explain")"
pvctl token issue alice db01 "$ME" >/dev/null 2>"$PV_TMP/tok.err" && pv_fail "a token after the end"
grep -q "it ended on" "$PV_TMP/tok.err" || pv_fail "token: $(cat "$PV_TMP/tok.err")"

# The ended contract is the exit's cue (provost-exit.timer's exit due),
# though acme's provider row has no --contract-end.  ExitOnContractEnd no:
# said and audited, no exit; a contract for a provider the store does not
# know is an error line.  ExitOnContractEnd yes: acme's exit starts.
cat >> "$CF" <<EOC
Contract ghost-msa
    Provider ghostco
    Start $(day -10)
    End $(day -2)
EOC
pvctl exit due >"$PV_TMP/due.out" 2>&1 && pv_fail "exit due with a contract for no provider: $(cat "$PV_TMP/due.out")"
grep -q "^provider acme: plugin contract: contract acme-msa ($CF:4, End) ended on $(day -1)$" "$PV_TMP/due.out" &&
    grep -q "^provider acme: ExitOnContractEnd is no: run provostctl provider exit acme$" "$PV_TMP/due.out" &&
    grep -q "plugin contract asks for the exit of ghostco, not a provider" "$PV_TMP/due.out" ||
    pv_fail "exit due, ExitOnContractEnd no: $(cat "$PV_TMP/due.out")"
sqlite3 "$STATE/provost.db" "SELECT count(*) FROM exits" | grep -qx 0 || pv_fail "an exit without ExitOnContractEnd"
pvctl audit export --format jsonl | grep '"action":"exit.due"' | grep -q '"object":"provider:acme"' ||
    pv_fail "exit.due not audited"
echo "ExitOnContractEnd yes" >> "$CONF"
pvctl exit due >"$PV_TMP/due.out" 2>&1
grep -q "^provider acme: exit .* started$" "$PV_TMP/due.out" || pv_fail "exit due, ExitOnContractEnd yes: $(cat "$PV_TMP/due.out")"
sqlite3 "$STATE/provost.db" "SELECT p.name FROM exits x JOIN providers p ON p.id = x.provider_id" | grep -qx acme ||
    pv_fail "no exit for acme"
pv_log "ok"
