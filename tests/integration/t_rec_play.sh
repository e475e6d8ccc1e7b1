#!/bin/sh
# t_rec_play.sh: provost-replay play keeps time (--speed, --idle-limit),
# filters escapes unless --raw, and quits on q from a terminal.
. "$top_srcdir/tests/integration/lib.sh"

OPENSSL=${OPENSSL:-openssl}
command -v "$OPENSSL" >/dev/null 2>&1 || pv_skip "openssl not found"
REC=$top_builddir/provost-rec
REPLAY=$top_builddir/provost-replay
cd "$PV_TMP" || exit 99
"$OPENSSL" genpkey -algorithm X25519 -out sec.pem 2>/dev/null || pv_fail "genpkey"
"$OPENSSL" pkey -in sec.pem -pubout -out sec.pub || pv_fail "pkey"

"$REC" --recipient sec.pub -o p.pvr -- sh -c \
    'echo start; sleep 3; printf "\033]0;title\007end\n"' </dev/null >/dev/null ||
    pv_fail "provost-rec"

now() { date +%s%N | cut -c1-13; }

# --idle-limit shortens the 3 s pause; --speed divides it.
t0=$(now)
"$REPLAY" play --key sec.pem --idle-limit 0.2 p.pvr </dev/null >idle.out || pv_fail "play --idle-limit"
t1=$(now)
[ $((t1 - t0)) -lt 2000 ] || pv_fail "--idle-limit 0.2 took $((t1 - t0)) ms"
grep -q end idle.out || pv_fail "play did not reach the end"
if grep -q title idle.out; then pv_fail "play let a title sequence through"; fi
t0=$(now)
"$REPLAY" play --key sec.pem --speed 4 p.pvr </dev/null >/dev/null || pv_fail "play --speed"
t1=$(now)
[ $((t1 - t0)) -ge 600 ] && [ $((t1 - t0)) -lt 2500 ] ||
    pv_fail "--speed 4 of a 3 s pause took $((t1 - t0)) ms"

# --raw passes the bytes unchanged.
"$REPLAY" play --key sec.pem --raw --speed 100 p.pvr </dev/null >raw.out || pv_fail "play --raw"
grep -q "$(printf '\033')]0;title" raw.out || pv_fail "--raw filtered the output"

# On a terminal, q quits at once (provost-rec provides the terminal).
t0=$(now)
(sleep 1; printf q) | "$REC" --recipient sec.pub -o q.pvr -- \
    "$REPLAY" play --key sec.pem p.pvr >q.out 2>&1 || pv_fail "play under a terminal: $(cat q.out)"
t1=$(now)
[ $((t1 - t0)) -lt 2900 ] || pv_fail "q did not quit play ($((t1 - t0)) ms)"
grep -q start q.out || pv_fail "play showed nothing before q"
if grep -q end q.out; then pv_fail "play went on after q"; fi
exit 0
