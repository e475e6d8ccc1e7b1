#!/bin/sh
# t_plugin_sla.sh: the sla plugin in provostd and provostctl.  A malformed
# SLA file stops provostd -t with FILE:LINE; incidents import is all or
# nothing (a bad row named FILE:LINE, nothing kept) and idempotent; a real
# session through provostd under a grant with the incident's ticket is
# the incident's time to engage; report sla gives the figures as
# Markdown, CSV, JSON and one self-contained HTML page; report providers
# puts every provider on one table; targets carry a region; a target
# provost could not reach counts against availability, from the first
# failure to the last of a run that no session ended.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

SO="$top_builddir/plugins/sla/.libs/sla.so"
[ -f "$SO" ] || pv_fail "no $SO"
SF="$PV_TMP/sla.conf"
# INC-1 and the outage are in November 2026, fixed: the figures do not
# depend on when the test runs.  INC-7 is opened a minute ago, in the
# month of MONTH_E, for a real session under its ticket.
MONTH=2026-11
MONTH_E=$(date -u -d "@$(($(date +%s) - 60))" +%Y-%m)
# pyj FILE EXPR: EXPR (Python, the JSON as d) is true.
pyj() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"; }
at() { date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }

printf 'Sla acme-1\n    Provider acme\n    Priority P1 Acknowledge 15m Resolve 4x\n' > "$SF"
write_conf 2222 "Plugin $SO $SF"
"$PROVOSTD" -t -f "$CONF" >/dev/null 2>"$PV_TMP/t.err" && pv_fail "a bad SLA file passed -t"
grep -q "sla.conf:3: Resolve: a duration" "$PV_TMP/t.err" || pv_fail "-t: $(cat "$PV_TMP/t.err")"
cat > "$SF" <<EOC
Sla acme-1
    Provider acme
    Priority P1 Acknowledge 15m Resolve 4h Engage 30m Credit 5%
    Priority P2 Acknowledge 1h Resolve 8h Engage 2h Credit 2%
    Targets db01 jit
    Availability 99.9%
    CreditThreshold 10m
EOC
start_provostd "Plugin $SO $SF"
pvctl provider add globex >/dev/null || pv_fail "provider add globex"

# All or nothing: the third line is bad, the second is not kept either.
cat > "$PV_TMP/bad.csv" <<EOC
id,provider,priority,opened,acknowledged,resolved
INC-1,acme,P1,2026-11-10T10:00:00Z,2026-11-10T10:10:00Z,2026-11-10T10:50:00Z
INC-2,acme,P1,last tuesday,,
EOC
pvctl incidents import "$PV_TMP/bad.csv" >/dev/null 2>"$PV_TMP/imp.err" && pv_fail "a bad row was imported"
grep -q "bad.csv:3: opened: a time is needed" "$PV_TMP/imp.err" || pv_fail "import: $(cat "$PV_TMP/imp.err")"
pvctl report sla --provider acme --month "$MONTH" --format json >"$PV_TMP/r0.json" || pv_fail "report sla"
pyj "$PV_TMP/r0.json" 'd["incidents"] == 0' || pv_fail "half imported: $(cat "$PV_TMP/r0.json")"

# INC-1 acknowledged in 10m and resolved in 50m; INC-7 opened a minute
# ago, engaged below by a session under its ticket.
cat > "$PV_TMP/inc.csv" <<EOC
id,provider,priority,opened,acknowledged,resolved
INC-1,acme,P1,2026-11-10T10:00:00Z,2026-11-10T10:10:00Z,2026-11-10T10:50:00Z
INC-7,acme,P2,$(at -60),$(at -30),
EOC
printf '{"id":"G-1","provider":"globex","priority":"P1","opened":"%s"}\n' "$(at -60)" > "$PV_TMP/g.jsonl"
out=$(pvctl incidents import "$PV_TMP/inc.csv") || pv_fail "import"
[ "$out" = "$PV_TMP/inc.csv: 2 incidents added, 0 updated, 0 already recorded" ] || pv_fail "import: $out"
out=$(pvctl incidents import "$PV_TMP/inc.csv") || pv_fail "import again"
[ "$out" = "$PV_TMP/inc.csv: 0 incidents added, 0 updated, 2 already recorded" ] || pv_fail "again: $out"
pvctl incidents import "$PV_TMP/g.jsonl" >/dev/null || pv_fail "import jsonl"
pvctl audit export --format jsonl | grep -q '"action":"incident.import"' || pv_fail "import not audited"

pvctl grant request alice jit --account "$ME" --duration 1h --ticket INC-7 >/dev/null || pv_fail "grant"
out=$(pvssh "alice+$ME@jit" 'echo in' </dev/null 2>&1) || pv_fail "session under INC-7: $out"
[ "$out" = in ] || pv_fail "session: $out"

# An outage of db01 (in scope) an hour long; a row naming no target of
# the inventory refuses the file.
printf 'target,start,end,note\ndb01,%s,%s,disk\nnope,%s,%s,\n' 2026-11-20T10:00Z 2026-11-20T11:00Z \
    2026-11-20T10:00Z 2026-11-20T11:00Z >"$PV_TMP/bad-out.csv"
pvctl outages import "$PV_TMP/bad-out.csv" >/dev/null 2>"$PV_TMP/out.err" && pv_fail "an unknown target imported"
grep -q "bad-out.csv:3: target nope" "$PV_TMP/out.err" || pv_fail "outages: $(cat "$PV_TMP/out.err")"
printf 'target,start,end,note\ndb01,%s,%s,disk\n' 2026-11-20T10:00Z 2026-11-20T11:00Z >"$PV_TMP/out.csv"
pvctl outages import "$PV_TMP/out.csv" >/dev/null || pv_fail "outages import"
out=$(pvctl outages import "$PV_TMP/out.csv") || pv_fail "outages again"
[ "$out" = "$PV_TMP/out.csv: 0 outages added, 0 updated, 1 already recorded" ] || pv_fail "outages again: $out"

pvctl report sla --provider acme --month "$MONTH" --format json >"$PV_TMP/r.json" || pv_fail "report json"
p='d["priorities"]'
# db01 and jit in scope, 30 days each: 100000 * (5184000 - 3600) / 5184000
# = 99930.6, 99.930% (rounded down)
pyj "$PV_TMP/r.json" "d['incidents'] == 1 and $p[0]['incidents'] == 1 and
    $p[0]['MTTA']['mean_s'] == 600 and $p[0]['MTTR']['mean_s'] == 3000 and
    d['availability']['targets'] == 2 and d['availability']['outage_s'] == 3600 and
    d['availability']['mpct'] == 99930 and d['credit']['total_mpct'] == 0" ||
    pv_fail "figures: $(cat "$PV_TMP/r.json")"
# INC-7: engaged by the session a minute or so after it was opened
pvctl report sla --provider acme --month "$MONTH_E" --format json >"$PV_TMP/e.json" || pv_fail "report $MONTH_E"
pyj "$PV_TMP/e.json" "$p[1]['incidents'] == 1 and $p[1]['MTTR']['pending'] == 1 and
    $p[1]['engage']['measured'] == 1 and 60 <= $p[1]['engage']['mean_s'] < 600" ||
    pv_fail "engage: $(cat "$PV_TMP/e.json")"
pvctl report sla --provider acme --month "$MONTH" >"$PV_TMP/r.md" || pv_fail "report md"
grep -q "^| P1 | 24x7 | 1 | 1 | 10m | 10m | 50m | 50m | - | - | 0 |" "$PV_TMP/r.md" ||
    pv_fail "md: $(cat "$PV_TMP/r.md")"
pvctl report sla --provider acme --month "$MONTH" --format csv >"$PV_TMP/r.csv" || pv_fail "report csv"
grep -q "^acme,$MONTH,P1,1,1,600,600,3000,3000,,,0,\"\",," "$PV_TMP/r.csv" || pv_fail "csv: $(cat "$PV_TMP/r.csv")"
pvctl report sla --provider acme --month "$MONTH" --format html >"$PV_TMP/r.html" || pv_fail "report html"
grep -q "<h1>SLA report: acme, $MONTH</h1>" "$PV_TMP/r.html" || pv_fail "html: no title"
grep -Eq 'https?:|src=|<script|<link' "$PV_TMP/r.html" && pv_fail "html: an external resource"
pvctl report sla --provider globex --month "$MONTH" >/dev/null 2>"$PV_TMP/g.err" && pv_fail "a report without an SLA"
grep -q "no SLA for provider globex" "$PV_TMP/g.err" || pv_fail "globex: $(cat "$PV_TMP/g.err")"
pvctl report sla --provider acme --month 2026-13 >/dev/null 2>&1 && pv_fail "month 13"

pvctl report providers --month "$MONTH" >"$PV_TMP/p.md" || pv_fail "report providers"
grep -q "^| acme | acme-1 | 1 | 0 |" "$PV_TMP/p.md" && grep -q "^| globex | (none) |" "$PV_TMP/p.md" ||
    pv_fail "providers: $(cat "$PV_TMP/p.md")"

# Availability provost saw itself (in MONTH_E): jit's sshd stopped, two
# logins over a second apart cannot reach it (one run, down from the first
# failure to the last); it comes back and a session starts there, which
# ends the run; one more failure after that is a run of one instant: not
# counted, provost does not probe.  The monitor names the target.
TCONF="$PV_TMP/target/sshd_config"
[ -f "$TCONF" ] || pv_fail "no $TCONF"
kill "$PV_SSHD_PID"; wait "$PV_SSHD_PID" 2>/dev/null
pvssh "alice+$ME@jit" true </dev/null >"$PV_TMP/u1" 2>&1 && pv_fail "jit reached with its sshd stopped"
grep -q "cannot reach target jit" "$PV_TMP/u1" || pv_fail "unreachable: $(cat "$PV_TMP/u1")"
sleep 2.2
pvssh "alice+$ME@jit" true </dev/null >/dev/null 2>&1 && pv_fail "jit reached with its sshd stopped (2)"
"$SSHD" -D -e -f "$TCONF" >>"$PV_TMP/target.log" 2>&1 &
TPID=$!
pv_track "$TPID"
i=0
until out=$(pvssh "alice+$ME@jit" 'echo back' </dev/null 2>&1) && [ "$out" = back ]; do
	[ $i -lt 50 ] || pv_fail "jit did not come back: $out"
	sleep 0.2; i=$((i + 1))
done
sleep 1.1
kill "$TPID"; wait "$TPID" 2>/dev/null
pvssh "alice+$ME@jit" true </dev/null >/dev/null 2>&1 && pv_fail "jit reached with its sshd stopped (3)"
# provost's own connections count too (the exit's, a baseline): a second
# later provostctl cannot reach jit either, which makes the third failure
# the start of a second run.
pvctl target admin jit --account "$ME" >/dev/null || pv_fail "target admin jit"
sleep 1.1
pvctl target baseline jit >"$PV_TMP/bl.out" 2>&1 && pv_fail "a baseline of jit with its sshd stopped"
pvctl audit export --format jsonl | grep '"target.unreachable"' >"$PV_TMP/unreach.jsonl"
[ "$(wc -l < "$PV_TMP/unreach.jsonl")" = 4 ] || pv_fail "unreachable rows: $(cat "$PV_TMP/unreach.jsonl")"
grep -c '"detail":"target=jit cannot reach target jit' "$PV_TMP/unreach.jsonl" | grep -qx 3 ||
    pv_fail "rows do not name jit: $(cat "$PV_TMP/unreach.jsonl")"
tail -n 1 "$PV_TMP/unreach.jsonl" | grep -q '"detail":"target=jit baseline: ssh: connect to host .*Connection refused' ||
    pv_fail "provostctl's row: $(tail -n 1 "$PV_TMP/unreach.jsonl")"
want=$(python3 -c 'import json,sys; t=[json.loads(l)["ts_ms"] // 1000 for l in open(sys.argv[1])]; print(t[1] - t[0] + t[3] - t[2])' \
    "$PV_TMP/unreach.jsonl")
[ "$want" -ge 3 ] || pv_fail "the failures are $want s apart"
pvctl report sla --provider acme --month "$MONTH_E" --format json >"$PV_TMP/a.json" || pv_fail "report $MONTH_E"
pyj "$PV_TMP/a.json" "d['availability']['outage_s'] == $want" ||
    pv_fail "observed outage, want $want s: $(cat "$PV_TMP/a.json")"

# Regions: set, shown, offered to plugins with the target.
pvctl target set db01 --region eu-west >/dev/null || pv_fail "target set --region"
pvctl target list | grep -Eq "^db01 +127.0.0.1 +[0-9]+ +public +eu-west " || pv_fail "list: no region"
pvctl target show db01 --json >"$PV_TMP/db01.json" && pyj "$PV_TMP/db01.json" 'd["region"] == "eu-west"' || pv_fail "show --json: no region"
pvctl target set db01 --region 'EU West' >/dev/null 2>&1 && pv_fail "a region with a space"
pv_log "ok"
