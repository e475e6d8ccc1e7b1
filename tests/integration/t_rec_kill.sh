#!/bin/sh
# t_rec_kill.sh: provost-rec killed with SIGKILL mid-stream leaves a file
# whose every event up to the last flush verifies and replays.
. "$top_srcdir/tests/integration/lib.sh"

OPENSSL=${OPENSSL:-openssl}
command -v "$OPENSSL" >/dev/null 2>&1 || pv_skip "openssl not found"
REC=$top_builddir/provost-rec
REPLAY=$top_builddir/provost-replay
cd "$PV_TMP" || exit 99
"$OPENSSL" genpkey -algorithm X25519 -out sec.pem 2>/dev/null || pv_fail "genpkey"
"$OPENSSL" pkey -in sec.pem -pubout -out sec.pub || pv_fail "pkey"

"$REC" --recipient sec.pub -o k.pvr -- sh -c \
    'i=0; while :; do echo "line $i"; i=$((i+1)); sleep 0.02; done' \
    </dev/null >shown.txt 2>&1 &
pid=$!
pv_track "$pid"
sleep 3.3
kill -KILL "$pid"
wait "$pid" 2>/dev/null

"$REPLAY" verify --key sec.pem k.pvr >v.txt && pv_fail "a killed recording verified as complete"
grep -q '^k.pvr: FAILED: incomplete: [0-9]* chunks, no end event; last event at 00:00:0[0-9]' v.txt ||
    pv_fail "verify: $(cat v.txt)"
"$REPLAY" export --key sec.pem --format text k.pvr >got.txt 2>err.txt &&
    pv_fail "export of an incomplete recording exited 0"
grep -q 'incomplete' err.txt || pv_fail "export gave no reason: $(cat err.txt)"
n=$(grep -c '^line ' got.txt)
# Chunks are sealed every second: at least 2 s of lines survived.
[ "$n" -ge 30 ] || pv_fail "only $n lines survived"
# Every line is there, in order, with no gap: exactly the first n shown.
tr -d '\r' <shown.txt | head -n "$n" >want.txt
cmp -s want.txt got.txt || pv_fail "recorded lines differ from what was shown"
i=0
while read -r w v; do
	[ "$w $v" = "line $i" ] || pv_fail "line $i missing (got $w $v)"
	i=$((i + 1))
done <got.txt
# And it replays and greps.
"$REPLAY" play --key sec.pem --speed 1000 k.pvr >play.txt 2>/dev/null
grep -q "^line $((n - 1))" play.txt || pv_fail "play did not replay to the last flush"
"$REPLAY" grep --key sec.pem "^line $((n - 1))\$" k.pvr >g.txt 2>/dev/null
grep -q "^k.pvr:00:00:0[0-9]:output:line $((n - 1))\$" g.txt || pv_fail "grep: $(cat g.txt)"
exit 0
