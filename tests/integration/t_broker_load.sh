#!/bin/sh
# t_broker_load.sh: bench/load at a size the suite affords: concurrent
# sessions through provostd, each printing 1 MB in 4 KiB writes, every
# output byte-exact (SHA-256), every recording verified and replayed to
# the same bytes, every session row closed, the audit chain intact.
# 30 sessions (10 in a sanitizer build): on the shared 2-core machine 20
# logins already take over a minute, each session committing its store
# rows with an fsync; PROVOST_LOAD_N overrides (bench/load's default is
# the full 200).
. "$top_srcdir/tests/integration/lib.sh"
BASH=${BASH:-$(command -v bash || :)}
[ -n "$BASH" ] || pv_skip "bash not found"
n=30
grep -q '^#define PV_SANITIZERS 1' "$top_builddir/config.h" 2>/dev/null && n=10
N=${PROVOST_LOAD_N:-$n}
LOAD_N=$N LOAD_IDLE_S=0 LOAD_JSON="$PV_TMP/load.json" TMPDIR="$PV_TMP" \
    "$BASH" "$top_srcdir/bench/load" >"$PV_TMP/load.out" 2>&1 ||
    pv_fail "bench/load with $N sessions: $(grep '^load: \|^provostd: \(error\|warning\)' "$PV_TMP/load.out" | head -40)"
grep "\"sessions\":$N,\"ok\":$N," "$PV_TMP/load.json" >/dev/null || pv_fail "json: $(cat "$PV_TMP/load.json")"
sed -n '/^provostd under load/,/^(/p' "$PV_TMP/load.out"
exit 0
