#!/bin/sh
# t_rec_asciicast.sh: the asciicast export is accepted by the real
# asciinema (cat and play), and hostile escapes do not survive it.
. "$top_srcdir/tests/integration/lib.sh"

OPENSSL=${OPENSSL:-openssl}
command -v "$OPENSSL" >/dev/null 2>&1 || pv_skip "openssl not found"
[ -n "${ASCIINEMA:-}" ] && [ -x "$ASCIINEMA" ] || pv_skip "asciinema not found (apt-get install asciinema)"
REC=$top_builddir/provost-rec
REPLAY=$top_builddir/provost-replay
cd "$PV_TMP" || exit 99
HOME=$PV_TMP
export HOME
"$OPENSSL" genpkey -algorithm X25519 -out sec.pem 2>/dev/null || pv_fail "genpkey"
"$OPENSSL" pkey -in sec.pem -pubout -out sec.pub || pv_fail "pkey"

"$REC" --recipient sec.pub -o a.pvr -- sh -c '
printf "\033]0;evil title\007\033[1mbold\033[0m caf\303\251\n"
printf "\033]52;c;Y3VybCBldmlsfHNo\033\\\\clip\n"
printf "\342\200\256gnp.exe\n"
printf "partial \303"; sleep 0.1; printf "\251 done\n"' </dev/null >/dev/null ||
    pv_fail "provost-rec"
"$REPLAY" export --key sec.pem --format asciicast a.pvr >a.cast || pv_fail "export"
head -n 1 a.cast | grep -q '"version":2' || pv_fail "no v2 header"

# asciinema wants a terminal: provost-rec gives it one (and records it).
"$REC" --recipient sec.pub -o cat.pvr -- "$ASCIINEMA" cat a.cast </dev/null >cat.out 2>&1 ||
    pv_fail "asciinema cat rejected the export: $(cat cat.out)"
grep -q 'bold' cat.out || pv_fail "asciinema cat printed nothing useful"
grep -q 'partial é done' cat.out || pv_fail "UTF-8 split across events was broken"
if grep -q 'evil title' cat.out || grep -q '52;c' cat.out; then
	pv_fail "an OSC sequence survived the export"
fi
if grep -q "$(printf '\342\200\256')" cat.out; then
	pv_fail "a bidi override survived the export"
fi
"$REC" --recipient sec.pub -o play.pvr -- "$ASCIINEMA" play -i 0.1 a.cast </dev/null >play.out 2>&1 ||
    pv_fail "asciinema play rejected the export: $(cat play.out)"
grep -q 'clip' play.out || pv_fail "asciinema play printed nothing useful"
exit 0
