#!/bin/sh
# t_replay_grep_same.sh: provost-replay grep's literal matcher (memmem, for
# a pattern with no ERE operator) prints byte for byte what regexec prints
# for the same pattern written as a regex ('rm -rf' and 'rm -r[f]'), on a
# recording whose matches are split across events and sealed chunks, cut
# by the 64 KiB line limit, edited by backspaces, broken by escape
# sequences, in other case (-i), with context and --json; and that -j N
# (files searched in N processes) prints what one process prints.
. "$top_srcdir/tests/integration/lib.sh"

OPENSSL=${OPENSSL:-openssl}
command -v "$OPENSSL" >/dev/null 2>&1 || pv_skip "openssl not found"
REC=$top_builddir/provost-rec
REPLAY=$top_builddir/provost-replay
cd "$PV_TMP" || exit 99

"$OPENSSL" genpkey -algorithm X25519 -out s.pem 2>/dev/null || pv_fail "genpkey"
"$OPENSSL" pkey -in s.pem -pubout -out s.pub || pv_fail "pkey"

# What the shell is typed (the input stream) and prints (the output):
# a match whose halves are a second apart (two events, two chunks: a
# chunk is sealed when its first event is 1 s old), one edited into
# being by a backspace, one inside SGR sequences, one straddling the
# 64 KiB line limit (found by neither), other case, tabs and UTF-8.
{
	printf 'echo before; printf "x rm -"; sleep 1.2; printf "rf split\\n"\n'
	printf 'printf "rm -rx\\bf edited\\n"\n'
	printf 'printf "rm \\033[1m-rf\\033[0m bold\\n"\n'
	printf 'head -c 65533 /dev/zero | tr "\\\\0" a; printf "r""m -rf long\\n"\n'
	printf 'printf "RM -RF upper\\n\\tRm -rF\\ttabs\\n\\303\\251 rm -rf utf8\\n"\n'
	printf 'echo after; echo rm; echo -rf\n'
	printf 'exit\n'
} | "$REC" --recipient s.pub -o a.pvr -- /bin/sh >/dev/null 2>rec.err ||
    pv_fail "provost-rec: $(cat rec.err)"

# same OPTS... -- LITERAL REGEX: both searches print the same bytes
same() {
	lit=$1 re=$2; shift 2
	"$REPLAY" grep --key s.pem "$@" -- "$lit" a.pvr >lit.out 2>lit.err
	rl=$?
	"$REPLAY" grep --key s.pem "$@" -- "$re" a.pvr >re.out 2>re.err
	rr=$?
	[ $rl -eq $rr ] || pv_fail "grep $* '$lit' exited $rl, '$re' $rr"
	cmp -s lit.out re.out ||
	    pv_fail "grep $* '$lit' and '$re' differ: $(diff lit.out re.out | head -n 10)"
	cmp -s lit.err re.err || pv_fail "grep $*: stderr differs"
}
for opts in "" "--input" "--output" "-C 2" "--json" "-C 1 --json"; do
	# shellcheck disable=SC2086 # the options are words
	same 'rm -rf' 'rm -r[f]' $opts
	# shellcheck disable=SC2086
	same 'RM -RF' 'RM -R[F]' -i $opts
	# shellcheck disable=SC2086
	same 'nowhere' 'nowher[e]' $opts
done
same '' '()'

# -j: several files searched at once print what one process prints, in
# the order of the files, errors (a missing file, a file that is not a
# recording) on stderr in that order too, and the same exit status.
"$REC" --recipient s.pub -o b.pvr -- sh -c 'echo rm -rf b; echo other' >/dev/null 2>&1 ||
    pv_fail "provost-rec b"
printf 'not a recording\n' > bad.pvr
for opts in "" "--input" "-C 1" "--json" "-C 2 --json" "-i"; do
	for pat in 'rm -rf' 'nowhere'; do
		# shellcheck disable=SC2086
		"$REPLAY" grep --key s.pem -j 1 $opts -- "$pat" a.pvr missing.pvr b.pvr bad.pvr a.pvr \
		    >j1.out 2>j1.err
		r1=$?
		# shellcheck disable=SC2086
		"$REPLAY" grep --key s.pem -j 3 $opts -- "$pat" a.pvr missing.pvr b.pvr bad.pvr a.pvr \
		    >j3.out 2>j3.err
		r3=$?
		[ $r1 -eq $r3 ] || pv_fail "grep -j 1 $opts '$pat' exited $r1, -j 3 $r3"
		cmp -s j1.out j3.out || pv_fail "grep -j 1 and -j 3 $opts '$pat' differ: $(diff j1.out j3.out | head -n 10)"
		cmp -s j1.err j3.err || pv_fail "grep -j $opts '$pat': stderr differs: $(diff j1.err j3.err)"
	done
done
"$REPLAY" grep --key s.pem -j 2 'rm -rf' a.pvr b.pvr | grep -q '^b.pvr:' ||
    pv_fail "-j 2 did not find b.pvr's line"
"$REPLAY" grep --key s.pem -j 2 'rm -rf' a.pvr b.pvr bad.pvr >/dev/null 2>&1
[ $? -eq 2 ] || pv_fail "-j 2 with a bad file did not exit 2"
"$REPLAY" grep --key s.pem -j 0 'rm -rf' a.pvr 2>/dev/null && pv_fail "-j 0 accepted"

# It found what it should: the split, edited and bold matches, in both
# streams; not the one the line limit cut.
"$REPLAY" grep --key s.pem 'rm -rf' a.pvr >all.out || pv_fail "grep found nothing"
for w in 'rf split' 'rf edited' 'rf bold' 'rf utf8'; do
	grep -q "^a.pvr:[0-9:]*:output:.*rm -$w" all.out || pv_fail "no output match '$w': $(cat all.out)"
done
grep -q '^a.pvr:[0-9:]*:input:echo before; printf "x rm -"' all.out &&
    pv_fail "a typed line matched what it does not hold"
grep -q 'rf long' all.out && pv_fail "a match across the 64 KiB line limit was found"
n=$("$REPLAY" grep --key s.pem -i 'rm -rf' a.pvr | wc -l)
[ "$n" -gt "$(wc -l <all.out)" ] || pv_fail "-i found no more than the exact case ($n)"

# The index: the same bytes and status as --no-index, on fixed patterns
# (regexes with a provable literal and without), -i, --input, -C, --json
# and -j; then on pieces of every line --no-index prints.
"$REC" --recipient s.pub -o c.pvr -- sh -c 'echo only in c; echo "MiXeD Case tail"' >/dev/null 2>&1 ||
    pv_fail "provost-rec c"
files="a.pvr b.pvr c.pvr"
idx_same() {
	# shellcheck disable=SC2086 # the options and files are words
	"$REPLAY" grep --key s.pem "$@" $files >ix.out 2>ix.err
	ri=$?
	# shellcheck disable=SC2086
	"$REPLAY" grep --key s.pem --no-index "$@" $files >nx.out 2>nx.err
	rn=$?
	[ $ri -eq $rn ] || pv_fail "grep $* exited $ri with the index, $rn without"
	cmp -s ix.out nx.out ||
	    pv_fail "grep $* differs with the index: $(diff ix.out nx.out | head -n 10)"
	cmp -s ix.err nx.err || pv_fail "grep $*: stderr differs with the index"
}
for opts in "" "--input" "--output" "-i" "-C 1" "--json" "-j 1" "-j 3"; do
	for pat in 'rm -rf' 'nowhere' 'only in c' 'mixed case' 'MiXeD' 'x rm -rf split' \
	    'rm -r[f]' 'rm -r+f' 'o.ly in' '(only|nowhere) in' 'onl(y)? in c' \
	    'nowhere|only' 'r[m] -rf' 'zz[a-z]*qq' 'a{3}rm' 'rm' '^rm -rf' 'é rm'; do
		# shellcheck disable=SC2086
		idx_same $opts -- "$pat"
	done
done
# pieces of the lines, as grep prints them (the pattern: no ERE operator)
"$REPLAY" grep --key s.pem --no-index -- '' $files |
    sed 's/^[^:]*:[0-9]*:[0-9]*:[0-9]*:[a-z]*://' | cut -c 1-300 >lines.txt
[ "$(wc -l <lines.txt)" -gt 10 ] || pv_fail "too few lines: $(cat lines.txt)"
awk 'BEGIN { srand(18) } length($0) >= 3 {
	for (k = 0; k < 3; k++) {
		n = 3 + int(rand() * 12); if (n > length($0)) n = length($0)
		at = 1 + int(rand() * (length($0) - n + 1))
		p = substr($0, at, n)
		if (p !~ /[][\\.()*+?{}|^$]/ && p !~ /^-/) print p
	}
}' lines.txt | sort -u | head -n 150 >pieces.txt
np=$(wc -l <pieces.txt)
[ "$np" -gt 40 ] || pv_fail "too few pieces ($np)"
while IFS= read -r p; do
	idx_same -- "$p"
	[ $ri -eq 0 ] || pv_fail "'$p', taken from a line, was not found with the index"
	idx_same -i -- "$p"
done <pieces.txt
# the index is what skipped: a file whose first chunk is damaged is
# still skipped for a pattern its index rules out (only the final chunk
# is read), and reported when read in full
"$REC" --recipient s.pub -o d.pvr -- sh -c 'echo one; sleep 1.2; echo two' >/dev/null 2>&1 ||
    pv_fail "provost-rec d"
hl=$(od -A n -t u4 --endian=big -j 10 -N 4 d.pvr | tr -d ' ')
off=$((14 + hl + 20))
printf '\001' | dd of=d.pvr bs=1 seek=$off conv=notrunc 2>/dev/null
"$REPLAY" grep --key s.pem nowhere d.pvr >/dev/null 2>d.err
[ $? -eq 1 ] && [ ! -s d.err ] || pv_fail "the index did not skip d.pvr: $(cat d.err)"
"$REPLAY" grep --key s.pem --no-index nowhere d.pvr >/dev/null 2>d.err
[ $? -eq 2 ] && grep -q 'chunk 0 fails authentication' d.err ||
    pv_fail "--no-index did not read d.pvr in full: $(cat d.err)"
"$REPLAY" grep --key s.pem two d.pvr >/dev/null 2>d.err
[ $? -eq 2 ] || pv_fail "a pattern the index allows did not read d.pvr in full"
pv_log "the index prints what --no-index prints ($np pieces of lines, all found)"
pv_log "literal and regex searches print the same bytes"
exit 0
