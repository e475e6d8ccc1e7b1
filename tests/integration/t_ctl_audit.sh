#!/bin/sh
# t_ctl_audit.sh: the audit chain against tampering with the real sqlite3
# CLI on a copy of the store: an edited, deleted, inserted or reordered row
# is named; a truncated tail shows against the signed checkpoint; export.
. "$top_srcdir/tests/integration/lib.sh"

CTL="$top_builddir/provostctl"
S="$PV_TMP/state"
[ -n "${SQLITE3:-}" ] && [ -x "$SQLITE3" ] || pv_skip "sqlite3 not found (apt-get install sqlite3)"
printf 'StateDirectory %s\nPolicyFile %s/none.conf\nControlSocket %s/run/control.sock\n' "$S" "$PV_TMP" "$PV_TMP" > "$PV_TMP/provostd.conf"
printf 'StateDirectory %s\nStore sqlite:%s/copy.db\nPolicyFile %s/none.conf\n' \
    "$S" "$PV_TMP" "$PV_TMP" > "$PV_TMP/copy.conf"
ctl() { "$CTL" -f "$PV_TMP/provostd.conf" "$@"; }
ctl init > /dev/null 2>&1 || pv_fail "init"
i=1
while [ $i -le 20 ]; do
	ctl provider add "p$i" > /dev/null || pv_fail "provider $i"
	i=$((i + 1))
done
# Row 22 records the checkpoint over row 21.
ctl audit checkpoint | grep -q "checkpoint signed at row 21" || pv_fail "checkpoint"
i=21
while [ $i -le 25 ]; do
	ctl provider add "p$i" > /dev/null || pv_fail "provider $i"
	i=$((i + 1))
done
ctl audit verify | grep -q "27 rows, 1 checkpoints: intact" || pv_fail "verify: $(ctl audit verify)"

# The append-only triggers stop casual edits even with the CLI.
"$SQLITE3" "$S/provost.db" "UPDATE audit SET actor = 'x' WHERE seq = 3" 2>"$PV_TMP/err" &&
    pv_fail "the CLI could update an audit row"
grep -q "append-only" "$PV_TMP/err" || pv_fail "trigger message: $(cat "$PV_TMP/err")"

DROP="DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;
DROP TRIGGER checkpoint_no_update; DROP TRIGGER checkpoint_no_delete;"
# tamper NAME SQL WANT: on a fresh copy, verify must fail naming WANT.
tamper() {
	rm -f "$PV_TMP/copy.db" "$PV_TMP/copy.db-wal" "$PV_TMP/copy.db-shm"
	"$SQLITE3" "$S/provost.db" ".backup '$PV_TMP/copy.db'" || pv_fail "$1: backup"
	"$SQLITE3" "$PV_TMP/copy.db" "$DROP $2" || pv_fail "$1: sqlite3 refused the tampering"
	"$CTL" -f "$PV_TMP/copy.conf" audit verify > "$PV_TMP/out" 2> "$PV_TMP/err"
	rc=$?
	[ $rc -eq 7 ] || pv_fail "$1: verify exit $rc, want 7 ($(cat "$PV_TMP/out" "$PV_TMP/err"))"
	grep -q "TAMPERED: $3" "$PV_TMP/err" || pv_fail "$1: got \"$(cat "$PV_TMP/err")\", want \"$3\""
	[ "$(wc -l < "$PV_TMP/err")" -eq 1 ] || pv_fail "$1: more than one line"
	pv_log "$1: $(cat "$PV_TMP/err")"
}
tamper edit "UPDATE audit SET details = '{\"contract_end\":0,\"contract_start\":1}' WHERE seq = 5" \
    "row 5 edited"
tamper edit-actor "UPDATE audit SET actor = 'admin:mallory' WHERE seq = 9" "row 9 edited"
tamper delete "DELETE FROM audit WHERE seq = 5" "row 5 deleted"
tamper insert "UPDATE audit SET seq = -seq WHERE seq >= 5;
UPDATE audit SET seq = -seq + 1 WHERE seq < 0;
INSERT INTO audit SELECT 5, ts, 'admin:mallory', 'grant.approve', 'grant:x', '{}', hash,
    '0000000000000000000000000000000000000000000000000000000000000001', 2 FROM audit WHERE seq = 4" \
    "row 5 inserted"
tamper reorder "UPDATE audit SET seq = -5 WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = 6;
UPDATE audit SET seq = 6 WHERE seq = -5" "row 5 reordered"
tamper truncate "DELETE FROM audit WHERE seq > 15" \
    "log truncated: it ends at row 15 but a signed checkpoint covers row 21"
tamper checkpoint "UPDATE audit_checkpoints SET ts = ts + 1000" \
    "checkpoint at row 21 has a bad signature"
tamper checkpoint-deleted "DELETE FROM audit_checkpoints" \
    "checkpoint at row 21 deleted"
# An untouched copy still verifies.
rm -f "$PV_TMP/copy.db"
"$SQLITE3" "$S/provost.db" ".backup '$PV_TMP/copy.db'" || pv_fail "backup"
"$CTL" -f "$PV_TMP/copy.conf" audit verify > /dev/null || pv_fail "clean copy fails to verify"
"$CTL" -f "$PV_TMP/copy.conf" --json audit verify | grep -q '"intact": true' || pv_fail "json verify"

# Anchors: the signed checkpoints, kept off the host.  A tail cut back
# before the last checkpoint, with the checkpoints gone too, leaves a chain
# that holds together (the limit without anchors); the anchors name it.
ctl audit anchors export > "$PV_TMP/anchors.jsonl" || pv_fail "anchors export"
[ "$(wc -l < "$PV_TMP/anchors.jsonl")" -ge 1 ] || pv_fail "no anchors"
grep -q '^{"hash":"[0-9a-f]\{64\}","key":"SHA256:[^"]*","seq":21,"sig":"[0-9a-f]\{128\}","ts":[0-9]*}$' \
    "$PV_TMP/anchors.jsonl" || pv_fail "anchor: $(cat "$PV_TMP/anchors.jsonl")"
ctl audit verify --anchors "$PV_TMP/anchors.jsonl" >"$PV_TMP/out" || pv_fail "verify --anchors: $(cat "$PV_TMP/out")"
grep -q '1 anchors held' "$PV_TMP/out" || pv_fail "verify --anchors: $(cat "$PV_TMP/out")"
rm -f "$PV_TMP/copy.db" "$PV_TMP/copy.db-wal" "$PV_TMP/copy.db-shm"
"$SQLITE3" "$S/provost.db" ".backup '$PV_TMP/copy.db'" || pv_fail "backup"
"$SQLITE3" "$PV_TMP/copy.db" "$DROP DELETE FROM audit WHERE seq > 15; DELETE FROM audit_checkpoints" ||
    pv_fail "sqlite3 refused the tampering"
"$CTL" -f "$PV_TMP/copy.conf" audit verify >/dev/null || pv_fail "the cut chain should hold together alone"
"$CTL" -f "$PV_TMP/copy.conf" audit verify --anchors "$PV_TMP/anchors.jsonl" >/dev/null 2>"$PV_TMP/err"
[ $? -eq 7 ] || pv_fail "verify --anchors on a cut chain: $(cat "$PV_TMP/err")"
grep -q 'TAMPERED: row 21 is gone' "$PV_TMP/err" || pv_fail "anchors: $(cat "$PV_TMP/err")"
printf 'a log line\n{"seq":21}\n' > "$PV_TMP/bad.jsonl"
ctl audit verify --anchors "$PV_TMP/bad.jsonl" >/dev/null 2>"$PV_TMP/err" && pv_fail "a bad anchors file was taken"
grep -q "bad.jsonl:2: not an anchor" "$PV_TMP/err" || pv_fail "bad anchors file: $(cat "$PV_TMP/err")"
printf 'a log line\n' > "$PV_TMP/none.log"
ctl audit verify --anchors "$PV_TMP/none.log" >/dev/null 2>"$PV_TMP/err" && pv_fail "a file with no anchors was taken"
grep -q "none.log: no anchors in it" "$PV_TMP/err" || pv_fail "no anchors: $(cat "$PV_TMP/err")"

# Export: one JSON object per line, --since filters.
ctl audit export --format jsonl > "$PV_TMP/all.jsonl" || pv_fail "export"
[ "$(wc -l < "$PV_TMP/all.jsonl")" -eq 27 ] || pv_fail "export has $(wc -l < "$PV_TMP/all.jsonl") lines"
head -n 1 "$PV_TMP/all.jsonl" | grep -q '^{"action":"store.init","actor":"admin:[a-z0-9._-]*",.*"seq":1,' ||
    pv_fail "first line: $(head -n 1 "$PV_TMP/all.jsonl")"
[ "$(ctl audit export --format jsonl --since 1h | wc -l)" -eq 27 ] || pv_fail "--since 1h"
[ "$(ctl audit export --format jsonl --since 2099-01-01T00:00:00Z | wc -l)" -eq 0 ] || pv_fail "--since future"
ctl audit export > /dev/null 2>&1
[ $? -eq 2 ] || pv_fail "export without --format"
ctl audit export --format csv > /dev/null 2>&1
[ $? -eq 2 ] || pv_fail "export --format csv"
pv_log "edit, delete, insert, reorder, truncation and checkpoint tampering detected"
exit 0
