#!/bin/sh
# t_store_pg.sh: the store on PostgreSQL (issue 17 item 1).  A throwaway
# cluster (pg-cluster.sh: initdb as nobody, a unix socket in the temp dir,
# stopped by pid); the store's unit tests run on it; provostctl init and
# store migrate work on it; bad connection strings and a newer schema are
# one line each (and never print the password); the audit table refuses an
# edit; four provostctl writing at once keep one audit chain.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/pg-cluster.sh"

[ "${PV_HAVE_LIBPQ:-no}" = yes ] || pv_skip "built without PostgreSQL (libpq-dev)"
[ -x "$PG_BINDIR/initdb" ] || pv_skip "no $PG_BINDIR/initdb (apt-get install postgresql-15)"
command -v psql >/dev/null || pv_skip "no psql (postgresql-client-15)"
CTL="$top_builddir/provostctl"
U="$top_builddir/tests/unit"

# nobody must reach the cluster's dir: the test dir may be listed by none
chmod 0711 "$PV_TMP"
pv_pg_start "$PV_TMP/pg" || pv_fail "cannot start a PostgreSQL cluster"
pv_track "$PV_PG_PID"
SOCK="$PV_TMP/pg"
uri() { echo "postgresql:///$1?host=$SOCK&user=provost"; }
psql_db() { db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 "$(uri "$db")" "$@"; }
psql_db postgres -c "CREATE DATABASE unit" -c "CREATE DATABASE ctl" ||
	pv_fail "create databases"

# The store's unit tests, each against an emptied database.
for t in test_store_audit test_store_grants test_store_decide \
    test_store_misc test_store_exit test_store_mfagrace test_store \
    test_store_lease; do
	PV_TEST_STORE=$(uri unit) "$U/$t" > "$PV_TMP/$t.log" 2>&1 ||
		{ cat "$PV_TMP/$t.log"; pv_fail "$t on PostgreSQL"; }
	grep -q 'PASSED' "$PV_TMP/$t.log" || pv_fail "$t ran nothing"
done
pv_log "unit tests pass on PostgreSQL"

S="$PV_TMP/state"
conf() {
	cat > "$PV_TMP/$1.conf" <<EOC
StateDirectory $S
Store $2
PolicyFile $PV_TMP/policy.conf
EOC
}
conf good "$(uri ctl)"
ctl() { "$CTL" -f "$PV_TMP/good.conf" "$@"; }
ctl init > "$PV_TMP/ca.out" 2> "$PV_TMP/init.err" ||
	pv_fail "init: $(cat "$PV_TMP/init.err")"
[ "$(cat "$PV_TMP/ca.out")" = "$(cat "$S/ca.pub")" ] || pv_fail "init printed no CA key"
# the version this provost writes (store/store.h)
V=$(sed -n 's/^#define STORE_SCHEMA_VERSION \([0-9]*\)$/\1/p' "$top_srcdir/store/store.h")
[ -n "$V" ] || pv_fail "no STORE_SCHEMA_VERSION in store/store.h"
[ "$(ctl store migrate)" = "store: schema version $V (up to date)" ] ||
	pv_fail "store migrate: $(ctl store migrate 2>&1)"
[ "$(psql_db ctl -tAc 'SELECT version FROM provost_schema')" = "$V" ] ||
	pv_fail "schema version not in provost_schema"
# a second init on the same store is refused (its keys are new)
rm -rf "$S"
ctl init > /dev/null 2> "$PV_TMP/init2.err" && pv_fail "second init accepted"
grep -q "already initialised" "$PV_TMP/init2.err" || pv_fail "second init: $(cat "$PV_TMP/init2.err")"
rm -rf "$S"
psql_db postgres -c "DROP DATABASE ctl" -c "CREATE DATABASE ctl" || pv_fail "recreate"
ctl init > /dev/null 2>&1 || pv_fail "init after recreate"

# Four writers at once: the advisory lock makes one chain of every row.
for w in 1 2 3 4; do
	(
		i=0
		while [ $i -lt 25 ]; do
			ctl provider add "p$w-$i" > /dev/null 2>> "$PV_TMP/w$w.err" ||
				echo fail >> "$PV_TMP/w$w.err"
			i=$((i + 1))
		done
	) &
done
wait
cat "$PV_TMP"/w?.err 2>/dev/null | grep -q . && pv_fail "a writer failed: $(cat "$PV_TMP"/w?.err | head -n 3)"
n=$(ctl provider list --json | grep -o '"name"' | wc -l)
[ "$n" -eq 100 ] || pv_fail "$n providers, want 100"
ctl audit verify > "$PV_TMP/verify.out" || pv_fail "audit verify: $(cat "$PV_TMP/verify.out")"
grep -q "102 rows.*intact" "$PV_TMP/verify.out" || pv_fail "verify: $(cat "$PV_TMP/verify.out")"
pv_log "4 concurrent writers: $(cat "$PV_TMP/verify.out")"

# The insider with SQL but without dropping the triggers: refused.
psql_db ctl -c "UPDATE audit SET actor = 'x' WHERE seq = 1" 2> "$PV_TMP/upd.err" &&
	pv_fail "audit row updated"
grep -q "audit is append-only" "$PV_TMP/upd.err" || pv_fail "update: $(cat "$PV_TMP/upd.err")"
psql_db ctl -c "DELETE FROM audit" 2> /dev/null && pv_fail "audit rows deleted"
psql_db ctl -c "TRUNCATE audit_checkpoints" 2> /dev/null && pv_fail "checkpoints truncated"

# provostctl store copy: a SQLite store (with a key blob, accounts in
# their order, a checkpoint) into an empty PostgreSQL database, verified.
Q="$PV_TMP/q"
mkdir -p "$Q"
printf 'StateDirectory %s\nPolicyFile %s/policy.conf\n' "$Q/state" "$PV_TMP" > "$PV_TMP/sq.conf"
sq() { "$CTL" -f "$PV_TMP/sq.conf" "$@"; }
sq init > /dev/null 2>&1 || pv_fail "sqlite init"
"$SSH_KEYGEN" -q -t ed25519 -N '' -f "$PV_TMP/ek" || pv_fail "keygen"
"$SSH_KEYGEN" -q -t ed25519 -N '' -f "$PV_TMP/hk" || pv_fail "keygen"
sq provider add acme > /dev/null && sq engineer add alice --provider acme > /dev/null &&
	sq engineer key add alice "$PV_TMP/ek.pub" > /dev/null &&
	sq target add db01 --host 127.0.0.1 --classification internal \
	    --accounts zed,app --hostkey "$PV_TMP/hk.pub" > /dev/null ||
	pv_fail "sqlite store setup"
i=0
while [ $i -lt 100 ]; do sq provider add "q$i" > /dev/null || pv_fail "add q$i"; i=$((i + 1)); done
psql_db postgres -c "CREATE DATABASE copy" || pv_fail "create copy"
printf 'StateDirectory %s\nPolicyFile %s/policy.conf\nStore %s\n' "$Q/state" "$PV_TMP" "$(uri copy)" > "$PV_TMP/cp.conf"
pgc() { "$CTL" -f "$PV_TMP/cp.conf" "$@"; }
sq store copy "$Q/state/provost.db" "$(uri copy)" > "$PV_TMP/copy.out" 2>&1 ||
	pv_fail "store copy: $(cat "$PV_TMP/copy.out")"
grep -q "the copy's 106 rows, 1 checkpoints: intact" "$PV_TMP/copy.out" || pv_fail "copy: $(cat "$PV_TMP/copy.out")"
pgc audit verify | grep -q "106 rows, 1 checkpoints: intact" || pv_fail "copy's audit verify"
[ "$(pgc target show db01 | grep accounts | tr -d ' ')" = "accounts:zed,app" ] || pv_fail "accounts order: $(pgc target show db01)"
pgc engineer list | grep -q "alice .* 1 " || pv_fail "alice's key not copied: $(pgc engineer list)"
# ids go on after the copied ones
pgc provider add after > /dev/null || pv_fail "add after the copy: $(pgc provider add after2 2>&1)"
pgc audit verify > /dev/null || pv_fail "verify after adding"
# never into a store that has rows; never from a chain that was edited
sq store copy "$Q/state/provost.db" "$(uri copy)" > "$PV_TMP/copy2.out" 2>&1 && pv_fail "copy into a used store"
grep -q "must be empty" "$PV_TMP/copy2.out" || pv_fail "copy2: $(cat "$PV_TMP/copy2.out")"
if [ -n "${SQLITE3:-}" ]; then
	"$SQLITE3" "$Q/state/provost.db" "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' WHERE seq = 3" ||
		pv_fail "sqlite3 edit"
	psql_db postgres -c "CREATE DATABASE copy3" || pv_fail "create copy3"
	sq store copy "$Q/state/provost.db" "$(uri copy3)" > "$PV_TMP/copy3.out" 2>&1 && pv_fail "edited chain copied"
	grep -q "the source's audit chain: row 3" "$PV_TMP/copy3.out" || pv_fail "copy3: $(cat "$PV_TMP/copy3.out")"
	[ "$(psql_db copy3 -tAc "SELECT to_regclass('audit') IS NULL OR (SELECT count(*) FROM audit) = 0")" = t ] ||
		pv_fail "rows of an edited chain were copied"
fi
pv_log "store copy: $(cat "$PV_TMP/copy.out")"

# Bad connection strings and an unreachable server: one line, no password.
check_bad() {
	conf bad "$1"
	"$CTL" -f "$PV_TMP/bad.conf" provider list > "$PV_TMP/bad.out" 2>&1 &&
		pv_fail "Store $1 accepted"
	[ "$(wc -l < "$PV_TMP/bad.out")" -eq 1 ] || pv_fail "Store $1: $(cat "$PV_TMP/bad.out")"
	grep -q "$2" "$PV_TMP/bad.out" || pv_fail "Store $1: $(cat "$PV_TMP/bad.out")"
	grep -q sekrit "$PV_TMP/bad.out" && pv_fail "password printed: $(cat "$PV_TMP/bad.out")"
	return 0
}
check_bad "postgresql:///ctl?host=$PV_TMP/nowhere&user=provost&password=sekrit" \
	"postgresql: cannot connect: .*No such file or directory"
check_bad "postgresql://provost:sekrit@%zz/ctl" "cannot connect: invalid percent-encoded"
check_bad "postgresql:///ctl?host=$SOCK&user=provost&bogus=1" "invalid URI query parameter"
check_bad "postgresql:///nodb?host=$SOCK&user=provost" 'database "nodb" does not exist'
# Store postgresql: takes libpq's environment
conf env "postgresql:"
PGHOST=$SOCK PGUSER=provost PGDATABASE=ctl "$CTL" -f "$PV_TMP/env.conf" provider list > "$PV_TMP/env.out" 2>&1 ||
	pv_fail "Store postgresql: with PGHOST: $(cat "$PV_TMP/env.out")"
grep -q "p1-0" "$PV_TMP/env.out" || pv_fail "env store lists $(cat "$PV_TMP/env.out")"

# A store of a newer schema: refused with one line.
psql_db ctl -c "UPDATE provost_schema SET version = 99" || pv_fail "set version"
ctl provider list > "$PV_TMP/new.out" 2>&1 && pv_fail "newer schema opened"
[ "$(wc -l < "$PV_TMP/new.out")" -eq 1 ] || pv_fail "newer schema: $(cat "$PV_TMP/new.out")"
grep -q "store schema version 99 is newer than this program ($V)" "$PV_TMP/new.out" ||
	pv_fail "newer schema: $(cat "$PV_TMP/new.out")"
# provostd on a store of a newer schema: refused (fails closed), without
# the password (t_broker_pg.sh runs provostd on PostgreSQL).
printf 'Levels public internal\n\nRule standing-public\n    Classification public\n    Approval none\n' > "$PV_TMP/policy.conf"
printf 'StateDirectory %s\nPolicyFile %s/policy.conf\nStore %s&password=sekrit\nListenAddress 127.0.0.1:1\n' \
	"$S" "$PV_TMP" "$(uri ctl)" > "$PV_TMP/pd.conf"
"$top_builddir/provostd" -f "$PV_TMP/pd.conf" -t > "$PV_TMP/pd.out" 2>&1 && pv_fail "provostd took a newer store"
grep -q "store schema version 99 is newer than this program ($V)" "$PV_TMP/pd.out" ||
	pv_fail "provostd: $(cat "$PV_TMP/pd.out")"
grep -q sekrit "$PV_TMP/pd.out" && pv_fail "provostd printed the password"
pv_log "bad stores refused with one line"
exit 0
