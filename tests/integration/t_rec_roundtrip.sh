#!/bin/sh
# t_rec_roundtrip.sh: provost-rec records a real command in a pty for two
# recipients; provost-replay info/verify/export/grep read it back.
. "$top_srcdir/tests/integration/lib.sh"

OPENSSL=${OPENSSL:-openssl}
command -v "$OPENSSL" >/dev/null 2>&1 || pv_skip "openssl not found"
REC=$top_builddir/provost-rec
REPLAY=$top_builddir/provost-replay
PYTHON3=${PYTHON3:-$(command -v python3 || :)}
cd "$PV_TMP" || exit 99

# json_array FILE [N]: FILE is one JSON array (of N objects), as every
# --json over several things prints (checked when python3 is there).
json_array() {
	[ -n "$PYTHON3" ] || return 0
	"$PYTHON3" -c 'import json, sys
a = json.load(open(sys.argv[1]))
assert isinstance(a, list) and all(isinstance(o, dict) for o in a), a
assert sys.argv[2] == "" or len(a) == int(sys.argv[2]), len(a)' "$1" "${2:-}" 2>&1
}

for k in sec1 sec3; do
	"$OPENSSL" genpkey -algorithm X25519 -out $k.pem 2>/dev/null || pv_fail "genpkey"
	"$OPENSSL" pkey -in $k.pem -pubout -out $k.pub || pv_fail "pkey"
done
"$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out sec2.pem 2>/dev/null ||
    pv_fail "genpkey rsa"
"$OPENSSL" pkey -in sec2.pem -pubout -out sec2.pub || pv_fail "pkey rsa"

# Exit status passes through; output is recorded before it is shown.
"$REC" --recipient sec1.pub --recipient sec2.pub -o a.pvr -- \
    sh -c 'echo hello-recorder; printf "\033]52;c;ZXZpbA==\007visible\n"; exit 7' \
    </dev/null >out.txt
rc=$?
[ $rc -eq 7 ] || pv_fail "provost-rec exited $rc, not 7"
grep -q hello-recorder out.txt || pv_fail "output not passed through"
[ "$(stat -c %a a.pvr)" = 600 ] || pv_fail "recording mode is not 0600"

# info needs no key.
"$REPLAY" info a.pvr >info.txt || pv_fail "info"
grep -q '^format: provost-recording' info.txt || pv_fail "info: no format"
[ "$(grep -c '^recipient: ' info.txt)" -eq 2 ] || pv_fail "info: not 2 recipients"
"$REPLAY" info --json a.pvr nope.pvr >ij.txt && pv_fail "info of a missing file exited 0"
out=$(json_array ij.txt 2) || pv_fail "info --json is not an array of 2: $out: $(cat ij.txt)"
grep -q '^{"file":"a.pvr","header":{"format":"provost-recording",.*},$' ij.txt ||
    pv_fail "info --json: $(cat ij.txt)"
grep -q '^{"file":"nope.pvr","error":"[^"]*"}$' ij.txt || pv_fail "info --json missing file: $(cat ij.txt)"

# Each recipient verifies; a third key does not.
"$REPLAY" verify --key sec1.pem a.pvr >v1.txt || pv_fail "verify sec1: $(cat v1.txt)"
grep -q '^a.pvr: OK' v1.txt || pv_fail "verify line: $(cat v1.txt)"
sum=$(sha256sum a.pvr | cut -d' ' -f1)
grep -q "sha256 $sum\$" v1.txt || pv_fail "verify does not give the file's SHA-256"
"$REPLAY" verify --key sec1.pem --json a.pvr nope.pvr >vj.txt && pv_fail "verify of a missing file exited 0"
out=$(json_array vj.txt 2) || pv_fail "verify --json is not an array of 2: $out: $(cat vj.txt)"
grep -q '^{"file":"a.pvr","ok":true,.*"sha256":"'"$sum"'"},$' vj.txt || pv_fail "verify --json: $(cat vj.txt)"
grep -q '^{"file":"nope.pvr","ok":false,"error":' vj.txt || pv_fail "verify --json missing file: $(cat vj.txt)"
"$REPLAY" verify --key sec2.pem a.pvr >/dev/null || pv_fail "verify sec2 (RSA)"
if "$REPLAY" verify --key sec3.pem a.pvr >v3.txt; then
	pv_fail "a key that is not a recipient verified"
fi
grep -q 'no recipient matches this key' v3.txt || pv_fail "third key: $(cat v3.txt)"

# Exports: text without the clipboard write, jsonl with the exit status.
"$REPLAY" export --key sec1.pem --format text a.pvr >a.txt || pv_fail "export text"
grep -q hello-recorder a.txt || pv_fail "text: no output"
grep -q visible a.txt || pv_fail "text: lost the text after OSC 52"
if grep -q '52;c' a.txt; then pv_fail "text: OSC 52 not neutralised"; fi
"$REPLAY" export --key sec1.pem --format jsonl a.pvr >a.jsonl || pv_fail "export jsonl"
grep -q '"type":"exit","status":7' a.jsonl || pv_fail "jsonl: no exit 7"
grep -q '"type":"end"' a.jsonl || pv_fail "jsonl: no end"

# Exit by signal is 128+sig and recorded with its name.
"$REC" --recipient sec1.pub -o sig.pvr -- sh -c 'kill -TERM $$' </dev/null >/dev/null
rc=$?
[ $rc -eq 143 ] || pv_fail "signal exit: $rc, not 143"
"$REPLAY" export --key sec1.pem --format jsonl sig.pvr | grep -q '"signame":"TERM"' ||
    pv_fail "no TERM in the exit event"

# Input is recorded: grep finds the command typed, with file and time.
printf 'echo typed-$((40+2))\nexit 0\n' |
    "$REC" --recipient sec1.pub -o in.pvr -- sh >/dev/null || pv_fail "rec sh"
"$REPLAY" grep --key sec1.pem --input 'echo typed' a.pvr in.pvr >g.txt ||
    pv_fail "grep --input found nothing"
grep -q '^in.pvr:00:00:0[0-9]:input:echo typed-\$((40+2))$' g.txt ||
    pv_fail "grep line: $(cat g.txt)"
"$REPLAY" grep --key sec1.pem --output -C 1 'typed-42' in.pvr >g2.txt ||
    pv_fail "grep --output"
grep -q ':output:.*typed-42$' g2.txt || pv_fail "grep output line: $(cat g2.txt)"
"$REPLAY" grep --key sec1.pem --input --json 'echo typed' in.pvr >gj.txt || pv_fail "grep --json"
out=$(json_array gj.txt 1) || pv_fail "grep --json is not an array of 1: $out: $(cat gj.txt)"
grep -q '^{"file":"in.pvr","t_ms":[0-9]*,"offset":"00:00:0[0-9]","stream":"input","match":true,"line":"echo typed-\$((40+2))"}$' gj.txt ||
    pv_fail "grep --json: $(cat gj.txt)"
if "$REPLAY" grep --key sec1.pem 'no-such-thing' in.pvr >/dev/null; then
	pv_fail "grep without a match exited 0"
fi
"$REPLAY" grep --key sec1.pem --json 'no-such-thing' in.pvr >gn.txt && pv_fail "grep --json without a match exited 0"
[ "$(cat gn.txt)" = "[]" ] || pv_fail "grep --json without a match: $(cat gn.txt)"

# A match is stamped with the time its first byte was recorded, not the
# time its line began: 'needle' is written 3 s after 'start ' on the same
# line; a command is typed 3 s after a character typed and erased.
(printf 'x\b'; sleep 3; printf 'echo late-typed\nexit 0\n') |
    "$REC" --recipient sec1.pub -o typed.pvr -- sh >/dev/null 2>&1 &
tp=$!
"$REC" --recipient sec1.pub -o late.pvr -- sh -c 'printf "start "; sleep 3; echo needle' \
    </dev/null >/dev/null || pv_fail "rec late"
wait $tp || pv_fail "rec typed"
g_ms() { "$REPLAY" grep --key sec1.pem --json "$@" | sed -n 's/.*"t_ms":\([0-9]*\).*/\1/p'; }
"$REPLAY" grep --key sec1.pem --output needle late.pvr >gl.txt || pv_fail "grep needle"
grep -q '^late.pvr:00:00:0[34]:output:start needle$' gl.txt || pv_fail "needle stamped: $(cat gl.txt)"
t_start=$(g_ms --output start late.pvr)
t_needle=$(g_ms --output needle late.pvr)
[ -n "$t_start" ] && [ -n "$t_needle" ] && [ "$t_start" -lt 1000 ] && [ "$t_needle" -ge 3000 ] ||
    pv_fail "needle at $t_needle ms, its line at $t_start ms"
# (the typing starts with the recorder, so a little before its time 0)
t_typed=$(g_ms --input 'late-typed' typed.pvr)
[ -n "$t_typed" ] && [ "$t_typed" -ge 2500 ] || pv_fail "typed at $t_typed ms"
"$REPLAY" grep --key sec1.pem --input 'late-typed' typed.pvr >gt.txt || pv_fail "grep typed"
grep -q '^typed.pvr:00:00:0[234]:input:echo late-typed$' gt.txt || pv_fail "typed stamped: $(cat gt.txt)"

# Window size is passed through and SIGWINCH is recorded: an outer
# provost-rec gives the inner one a terminal to read the size from.
"$REC" --recipient sec1.pub -o outer.pvr -- sh -c \
    '"$0" --recipient sec1.pub -o inner.pvr -- sh -c "sleep 1.5; stty size" </dev/tty & p=$!;
     sleep 0.5; stty cols 100 rows 30; kill -WINCH $p; wait $p' "$REC" \
    </dev/null >/dev/null || pv_fail "nested provost-rec"
"$REPLAY" export --key sec1.pem --format jsonl inner.pvr >inner.jsonl ||
    pv_fail "inner recording does not verify"
grep -q '"type":"resize","cols":100,"rows":30' inner.jsonl ||
    pv_fail "no resize event: $(cat inner.jsonl)"
"$REPLAY" export --key sec1.pem --format text inner.pvr | grep -q '^30 100' ||
    pv_fail "the command did not see the new size"

# Fail closed: when the recording cannot be written (here a file size
# limit), the command is stopped and provost-rec exits 125.
(
	ulimit -f 64
	exec "$REC" --recipient sec1.pub -o full.pvr -- \
	    sh -c 'head -c 50000000 /dev/urandom; echo survived >&2; sleep 30'
) </dev/null >/dev/null 2>full.err
rc=$?
[ $rc -eq 125 ] || pv_fail "a write error gave exit $rc, not 125: $(cat full.err)"
grep -q 'recording failed' full.err || pv_fail "no reason given: $(cat full.err)"
if grep -q survived full.err; then pv_fail "the command ran on unrecorded"; fi

# Usage errors are one line and non-zero.
"$REC" -o x.pvr -- true 2>err.txt && pv_fail "no recipient accepted"
grep -q 'recipient' err.txt || pv_fail "usage error: $(cat err.txt)"
"$REC" --recipient sec1.pub -o a.pvr -- true 2>err.txt && pv_fail "overwrote a recording"
exit 0
