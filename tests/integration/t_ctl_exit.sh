#!/bin/sh
# t_ctl_exit.sh: provostctl provider exit NAME --dry-run prints the plan of
# a provider's exit from a real store (a session through provostd, grants,
# a pending request, a PAM token, exposures) and changes nothing: the audit
# chain's head and every table's count are the same after it; what only
# the run takes is refused in one line, also changing nothing (the run
# itself: t_ctl_exit_run.sh).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
command -v python3 >/dev/null || pv_skip "python3 not found"
DB="$STATE/provost.db"

# appr01 needs one approval of group security: a request stays pending.
sed -i '/^Levels /a\
\
Rule approved\
    Target appr01\
    Classification internal\
    Approval 1 group security\
    Channels shell exec' "$PV_TMP/policy.conf"
pvctl target add appr01 --host 127.0.0.1 --port "$TARGET_PORT" --classification internal \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add appr01"
pvctl approver add sec1 --group security >/dev/null || pv_fail "approver add"
pvctl provider add globex >/dev/null || pv_fail "provider add globex"
pvctl engineer add dave --provider globex >/dev/null || pv_fail "engineer add dave"
pvctl exposure add --provider globex --system fw01 --kind net-password --reference v:fw01 \
    >/dev/null || pv_fail "globex exposure"

start_provostd
out=$(pvssh "alice+db01" 'echo via-broker' </dev/null) || pv_fail "broker login: $out"
pending=$(pvctl grant request bob appr01 --account "$ME" --duration 1h --ticket INC-9) ||
    pv_fail "request: $pending"
active=$(pvctl grant request alice jit --account "$ME" --duration 1h) || pv_fail "jit: $active"
pvctl token issue alice db01 "$ME" >/dev/null || pv_fail "token issue"
pvctl exposure add --provider acme --target db01 --account root --kind unix-password \
    --reference vault:db01/root --engineer alice >/dev/null || pv_fail "exposure add"

snap() { # the audit head and every table's row count
	for t in $(sqlite3 "$DB" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"); do
		printf '%s=%s ' "$t" "$(sqlite3 "$DB" "SELECT count(*) FROM \"$t\"")"
	done
	sqlite3 "$DB" 'SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'
}
before=$(snap)
echo "$before" | grep -q 'exposures=2 ' || pv_fail "snapshot: $before"

pvctl provider exit acme --dry-run > "$PV_TMP/plan.txt" 2>"$PV_TMP/plan.err" ||
    pv_fail "dry run: $(cat "$PV_TMP/plan.err")"
pvctl --json provider exit acme --dry-run > "$PV_TMP/plan.json" || pv_fail "dry run --json"
[ "$(snap)" = "$before" ] || pv_fail "a dry run changed the store: $before -> $(snap)"

grep -q '^exit plan for provider acme (dry run: nothing was changed)$' "$PV_TMP/plan.txt" ||
    pv_fail "plan: $(head -3 "$PV_TMP/plan.txt")"
grep -q "^  request   $pending $ME@appr01 pending since " "$PV_TMP/plan.txt" ||
    pv_fail "no pending request in: $(cat "$PV_TMP/plan.txt")"
grep -q "^  grant     $active $ME@jit active until " "$PV_TMP/plan.txt" ||
    pv_fail "no active grant in: $(cat "$PV_TMP/plan.txt")"
grep -q "^  target    db01 as $ME$" "$PV_TMP/plan.txt" || pv_fail "no target touched"
grep -q '^  recorded root@db01 unix-password vault:db01/root: no rotation hook' "$PV_TMP/plan.txt" ||
    pv_fail "no recorded exposure"
grep -q "^  session $ME@db01 account sessions: no rotation hook" "$PV_TMP/plan.txt" ||
    pv_fail "no session exposure"
grep -q '^sweep targets: db01$' "$PV_TMP/plan.txt" || pv_fail "sweep: $(grep sweep "$PV_TMP/plan.txt")"
grep -q 'globex\|dave\|fw01' "$PV_TMP/plan.txt" && pv_fail "another provider in the plan"

# The JSON says the same as the store.
certs=$(sqlite3 "$DB" "SELECT group_concat(serial) FROM (SELECT c.serial FROM credentials c
    JOIN engineers e ON e.id = c.engineer_id WHERE e.login = 'alice' AND c.kind = 'cert' ORDER BY 1)")
tokens=$(sqlite3 "$DB" "SELECT group_concat(serial) FROM (SELECT c.serial FROM credentials c
    JOIN engineers e ON e.id = c.engineer_id WHERE e.login = 'alice' AND c.kind = 'token' ORDER BY 1)")
[ -n "$certs" ] && [ -n "$tokens" ] || pv_fail "no credentials in the store"
python3 - "$PV_TMP/plan.json" "$certs" "$tokens" "$pending" "$active" "$ME" <<'EOP' || pv_fail "plan JSON"
import json, sys
p = json.load(open(sys.argv[1]))
certs = [int(x) for x in sys.argv[2].split(",")]
tokens = [int(x) for x in sys.argv[3].split(",")]
pending, active, me = sys.argv[4], sys.argv[5], sys.argv[6]
assert p["provider"] == "acme" and p["dry_run"] is True, p
e = {x["login"]: x for x in p["engineers"]}
assert sorted(e) == ["alice", "bob"], e
a, b = e["alice"], e["bob"]
assert a["serials"] == certs, (a["serials"], certs)
assert a["tokens"] == tokens, (a["tokens"], tokens)
assert [g["id"] for g in a["grants"]] == [active], a["grants"]
assert [g["id"] for g in b["requests"]] == [pending], b["requests"]
assert b["requests"][0]["ticket"] == "INC-9", b["requests"]
assert a["targets"] == {"db01": [me]}, a["targets"]
assert a["sessions"] == 1 and a["live_sessions"] == 0, a
x = {(x["source"], x.get("account"), x.get("target")): x for x in p["exposures"]}
assert set(x) == {("recorded", "root", "db01"), ("session", me, "db01")}, x
assert all(v["rotation"] is None and v["unresolved"].startswith("no rotation hook")
           for v in x.values()), x
assert p["sweep"] == ["db01"], p["sweep"]
steps = {s["step"]: s for s in p["steps"]}
assert list(steps) == ["freeze", "end-sessions", "krl", "rotate", "sweep", "verify",
                       "evidence", "certificate"], list(steps)
assert steps["freeze"]["pending_requests"] == 1 and steps["freeze"]["active_grants"] == 1, steps
assert steps["freeze"]["engineers"] == 2, steps
assert steps["krl"]["serials"] == len(certs) and steps["krl"]["keys"] == 2, steps
assert steps["rotate"]["exposures"] == 2, steps
items = [u["item"] for u in p["unresolved"]]
assert "exposure root@db01 unix-password vault:db01/root" in items, items
assert "sweep db01" in items and "krl push db01" in items, items
assert "pam revocation list" in items, items
EOP
[ "$(snap)" = "$before" ] || pv_fail "the store changed"

# What only the run takes, with --dry-run, and a resume of no exit: one
# line, nothing done.
for args in "--resume:3:no exit to resume" "--dry-run --reverify:2:--dry-run changes nothing" \
    "--resume --reverify:2:--resume or --reverify, not both" "--dry-run --contract-end x:2:not a time"; do
	a=${args%%:*}; rest=${args#*:}; want=${rest%%:*}; msg=${rest#*:}
	# shellcheck disable=SC2086
	pvctl provider exit acme $a > "$PV_TMP/run.out" 2> "$PV_TMP/run.err"
	rc=$?
	[ $rc -eq "$want" ] || pv_fail "provider exit $a: exit $rc"
	[ ! -s "$PV_TMP/run.out" ] && grep -q -- "$msg" "$PV_TMP/run.err" ||
	    pv_fail "provider exit $a said: $(cat "$PV_TMP/run.out" "$PV_TMP/run.err")"
done
[ "$(snap)" = "$before" ] || pv_fail "a refused exit changed the store"
pvctl provider exit nope --dry-run > /dev/null 2>&1
[ $? -eq 3 ] || pv_fail "unknown provider not exit 3"
# alice still gets in: the dry run froze nothing.
out=$(pvssh "alice+db01" 'echo still-in' </dev/null) || pv_fail "alice after the dry run: $out"
pv_log "plan of $(grep -c . "$PV_TMP/plan.txt") lines, store unchanged, the run refused"
exit 0
