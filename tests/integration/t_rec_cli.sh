#!/bin/sh
# t_rec_cli.sh: provost-rec ends as provost-rec(1) says: the end of a piped
# stdin reaches the command; the recording is sealed and verifies.
. "$top_srcdir/tests/integration/lib.sh"

OPENSSL=${OPENSSL:-openssl}
command -v "$OPENSSL" >/dev/null 2>&1 || pv_skip "openssl not found"
[ -x /bin/bash ] || pv_skip "/bin/bash not found"
command -v timeout >/dev/null 2>&1 || pv_skip "timeout not found"
REC=$top_builddir/provost-rec
REPLAY=$top_builddir/provost-replay
cd "$PV_TMP" || exit 99
"$OPENSSL" genpkey -algorithm X25519 -out sec.pem 2>/dev/null || pv_fail "genpkey"
"$OPENSSL" pkey -in sec.pem -pubout -out sec.pub || pv_fail "pkey"

# verify FILE: the recording is complete and sealed.
verify() {
	"$REPLAY" verify --key sec.pem "$1" >"$1.v" 2>&1 ||
	    pv_fail "$1 does not verify: $(cat "$1.v")"
	"$REPLAY" export --key sec.pem --format jsonl "$1" >"$1.jsonl" ||
	    pv_fail "$1: export jsonl"
}

# The man page's example with a piped stdin: an interactive login shell
# (the pty makes it one) runs the line, sees the end of input and logs out.
# timeout stops a hang (with SIGKILL: provost-rec only forwards SIGTERM).
echo 'echo rec-test' | HOME=$PV_TMP timeout -k 5 20 "$REC" \
    --recipient sec.pub -o ex.pvr -- /bin/bash -l >ex.out 2>ex.err
rc=$?
[ $rc -eq 0 ] || pv_fail "bash -l with a piped stdin: exit $rc, not 0 (124 or 137: it did not end): $(cat ex.err)"
verify ex.pvr
"$REPLAY" export --key sec.pem --format text ex.pvr >ex.txt || pv_fail "export text"
grep -qx 'rec-test' ex.txt || pv_fail "the command's output was not recorded: $(cat ex.txt)"
grep -q '"type":"input","data":"echo rec-test\\n"' ex.pvr.jsonl ||
    pv_fail "the piped input was not recorded as it came: $(grep input ex.pvr.jsonl)"
grep -q '"type":"exit","status":0' ex.pvr.jsonl || pv_fail "no exit 0 in ex.pvr"

# More input than the pty holds, to a command that echoes it all back: the
# input is taken as the command reads it, while its output is copied.
seq 100000 >seq.txt
timeout -k 5 30 "$REC" --recipient sec.pub -o seq.pvr -- sh -c 'cat; echo cat-done' \
    <seq.txt >seq.out 2>seq.err
rc=$?
[ $rc -eq 0 ] || pv_fail "100000 lines to cat: exit $rc, not 0: $(cat seq.err)"
verify seq.pvr
grep -q cat-done seq.out || pv_fail "cat did not see the end of its input"
grep -q "\"type\":\"end\",.*\"input_bytes\":$(wc -c <seq.txt)," seq.pvr.jsonl ||
    pv_fail "not all input recorded: $(tail -n 1 seq.pvr.jsonl)"

# A closed stdin is one at its end, and a closed stdout loses what is shown,
# not the recording: no file provost-rec opens takes their place.
timeout -k 5 20 "$REC" --recipient sec.pub -o closed0.pvr -- sh -c 'read x; echo "read-$?"' \
    <&- >closed0.out 2>closed0.err
rc=$?
[ $rc -eq 0 ] || pv_fail "closed stdin: exit $rc, not 0: $(cat closed0.err)"
verify closed0.pvr
grep -q '"type":"output","data":"read-1' closed0.pvr.jsonl ||
    pv_fail "closed stdin: $(grep output closed0.pvr.jsonl)"
timeout -k 5 20 "$REC" --recipient sec.pub -o closed1.pvr -- echo shown-nowhere \
    </dev/null >&- 2>closed1.err
rc=$?
[ $rc -eq 0 ] || pv_fail "closed stdout: exit $rc, not 0: $(cat closed1.err)"
verify closed1.pvr
grep -q '"type":"output","data":"shown-nowhere' closed1.pvr.jsonl ||
    pv_fail "closed stdout: $(grep output closed1.pvr.jsonl)"

exit 0
