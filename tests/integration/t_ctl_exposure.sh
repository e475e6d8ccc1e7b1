#!/bin/sh
# t_ctl_exposure.sh: provostctl exposure add|list|import.  Adding or
# importing the same exposure twice records it once; a file with one bad
# row is refused with FILE:LINE and leaves the store as it was; every
# change is audited and the chain still verifies.
. "$top_srcdir/tests/integration/lib.sh"

CTL="$top_builddir/provostctl"
S="$PV_TMP/state"
printf 'StateDirectory %s\nPolicyFile %s/policy.conf\nControlSocket %s/run/control.sock\n' "$S" "$PV_TMP" "$PV_TMP" > "$PV_TMP/provostd.conf"
ctl() { "$CTL" -f "$PV_TMP/provostd.conf" "$@"; }
ctl init > /dev/null 2>&1 || pv_fail "init"
pv_keygen "$PV_TMP/hk"
ctl provider add acme > /dev/null || pv_fail "provider add"
ctl provider add globex > /dev/null || pv_fail "provider add globex"
ctl engineer add alice --provider acme > /dev/null || pv_fail "engineer add"
ctl engineer add gina --provider globex > /dev/null || pv_fail "engineer add gina"
ctl target add db01 --host 127.0.0.1 --classification public --accounts root,postgres \
    --hostkey "$PV_TMP/hk.pub" > /dev/null || pv_fail "target add"
rows() { sqlite3 "$S/provost.db" 'SELECT count(*) FROM exposures'; }
audit() { ctl audit export --format jsonl | grep -c "\"action\":\"exposure\.$1\""; }

# add: once, then "already recorded"; refusals are one line.
out=$(ctl exposure add --provider acme --target db01 --account root --kind unix-password \
    --reference vault:db01/root --engineer alice) || pv_fail "add: $out"
[ "$out" = "exposure added: root@db01, unix-password, vault:db01/root" ] || pv_fail "add said: $out"
out=$(ctl exposure add --provider acme --target db01 --account root --kind unix-password \
    --reference vault:db01/root) || pv_fail "add again: $out"
[ "$out" = "exposure already recorded: root@db01, unix-password, vault:db01/root" ] ||
    pv_fail "add again said: $out"
[ "$(rows)" = 1 ] && [ "$(audit add)" = 1 ] || pv_fail "rows $(rows), audit $(audit add)"
expect_fail() { # expect_fail CODE PATTERN ARGS...: exit CODE, the first line
	# matching (then, for a bad command line, the usage only)
	code=$1 pat=$2; shift 2
	ctl "$@" > "$PV_TMP/o" 2> "$PV_TMP/e"
	rc=$?
	[ $rc -eq "$code" ] || pv_fail "$*: exit $rc, want $code ($(cat "$PV_TMP/e"))"
	head -n 1 "$PV_TMP/e" | grep -q -- "$pat" && { [ "$(wc -l < "$PV_TMP/e")" = 1 ] ||
	    sed 1d "$PV_TMP/e" | grep -q '^usage: provostctl exposure'; } ||
	    pv_fail "$*: $(cat "$PV_TMP/e")"
}
expect_fail 2 'exactly one of target and system' exposure add --provider acme --kind k --reference r
expect_fail 2 'kind: 1-32 of' exposure add --provider acme --system fw --kind 'Bad Kind' --reference r
expect_fail 3 'target db02: not found' exposure add --provider acme --target db02 --kind k --reference r
expect_fail 2 'engineer gina: not of provider acme' exposure add --provider acme --system fw \
    --kind k --reference r --engineer gina
[ "$(rows)" = 1 ] || pv_fail "a refused add was stored"

# import: CSV, then JSON lines, each twice.
cat > "$PV_TMP/x.csv" <<'EOC'
# exposures from the handover sheet
provider,engineer,target,system,account,kind,reference,note
acme,alice,db01,,root,unix-password,vault:db01/root,
acme,,db01,,postgres,db-password,"vault:db01/postgres, main",shown in INC-7
globex,gina,,"fw01.mgmt",admin,net-password,vault:net/fw01,
EOC
out=$(ctl exposure import "$PV_TMP/x.csv") || pv_fail "import csv: $out"
[ "$out" = "$PV_TMP/x.csv: 2 exposures added, 1 already recorded" ] || pv_fail "import said: $out"
out=$(ctl exposure import "$PV_TMP/x.csv") || pv_fail "import csv again: $out"
[ "$out" = "$PV_TMP/x.csv: 0 exposures added, 3 already recorded" ] || pv_fail "again: $out"
printf '%s\n' '{"provider":"acme","system":"aws:123456789012","account":"deploy","kind":"api-key","reference":"vault:aws/deploy"}' \
    > "$PV_TMP/x.jsonl"
ctl exposure import "$PV_TMP/x.jsonl" | grep -q ': 1 exposure added, 0 already' || pv_fail "import jsonl"
[ "$(rows)" = 4 ] && [ "$(audit import)" = 3 ] || pv_fail "rows $(rows), import audits $(audit import)"

# A bad row anywhere: FILE:LINE, exit 2, and nothing of the file stored.
cp "$PV_TMP/x.csv" "$PV_TMP/bad.csv"
echo 'acme,,db01,,www,unix-password,vault:db01/www,' >> "$PV_TMP/bad.csv"
echo 'acme,,db01,,www,unix-password' >> "$PV_TMP/bad.csv"
head=$(sqlite3 "$S/provost.db" 'SELECT max(seq) FROM audit')
expect_fail 2 "bad.csv:7: 6 fields, the header has 8" exposure import "$PV_TMP/bad.csv"
printf '%s\n' '{"provider":"acme","system":"s","kind":"k","reference":"r"}' \
    '{"provider":"nope","system":"s","kind":"k","reference":"r"}' > "$PV_TMP/bad.jsonl"
expect_fail 2 "bad.jsonl:2: provider nope: not found" exposure import "$PV_TMP/bad.jsonl"
[ "$(rows)" = 4 ] || pv_fail "a refused import stored rows: $(rows)"
[ "$(sqlite3 "$S/provost.db" 'SELECT max(seq) FROM audit')" = "$head" ] ||
    pv_fail "a refused import was audited"

# list: per provider, and as JSON.
ctl exposure list --provider acme > "$PV_TMP/l" || pv_fail "list"
[ "$(wc -l < "$PV_TMP/l")" = 4 ] || pv_fail "list: $(cat "$PV_TMP/l")"
grep -q '^recorded acme .*postgres@db01 .*db-password .*vault:db01/postgres, main' "$PV_TMP/l" ||
    pv_fail "list: $(cat "$PV_TMP/l")"
grep -q 'globex' "$PV_TMP/l" && pv_fail "globex in acme's list"
ctl --json exposure list > "$PV_TMP/l.json" || pv_fail "list --json"
python3 -c 'import json, sys
l = json.load(open(sys.argv[1]))
assert len(l) == 4, l
fw = [x for x in l if x.get("system") == "fw01.mgmt"][0]
assert fw["provider"] == "globex" and fw["engineer"] == "gina" and fw["target"] is None, fw
assert all(x["source"] == "recorded" for x in l), l' "$PV_TMP/l.json" || pv_fail "list --json"
ctl exposure list --provider nope > /dev/null 2>&1
[ $? -eq 3 ] || pv_fail "unknown provider not exit 3"
ctl audit verify > /dev/null || pv_fail "audit verify"
pv_log "add, import (CSV, JSON lines) idempotent, bad rows refused whole, list ok"
exit 0
