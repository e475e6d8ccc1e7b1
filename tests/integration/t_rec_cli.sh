#!/bin/sh
# t_rec_cli.sh: provost-rec ends as provost-rec(1) says: the end of a piped
# stdin reaches the command, and SIGTERM, SIGINT and SIGHUP stop it (SIGKILL
# after 5 s); the recording is sealed and verifies in every case.
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

now() { date +%s%N | cut -c1-13; }

# verify FILE: the recording is complete and sealed.
verify() {
	"$REPLAY" verify --key sec.pem "$1" >"$1.v" 2>&1 ||
	    pv_fail "$1 does not verify: $(cat "$1.v")"
	"$REPLAY" export --key sec.pem --format jsonl "$1" >"$1.jsonl" ||
	    pv_fail "$1: export jsonl"
}

# The man page's example with a piped stdin: an interactive login shell
# (the pty makes it one) runs the line, sees the end of input and logs out.
# timeout stops a hang; provost-rec forwards its SIGTERM, then SIGKILL.
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

# rec_bg NAME COMMAND...: provost-rec records COMMAND into NAME.pvr in the
# background; its pid in recpid once COMMAND has printed "started PID", and
# that PID (the command's, its process group's) in cmdpid.
rec_bg() {
	name=$1; shift
	"$REC" --recipient sec.pub -o "$name.pvr" -- "$@" </dev/null \
	    >"$name.out" 2>"$name.err" &
	recpid=$!
	pv_track "$recpid"
	pv_wait_log "$name.out" '^started [0-9]' 10 || pv_fail "$name: the command did not start"
	cmdpid=$(sed -n 's/^started \([0-9]*\).*/\1/p' "$name.out" | head -n 1)
}

# rec_end SECONDS: waits that long at most for provost-rec to end; its exit
# status in rc, the milliseconds from t0 in took.
rec_end() {
	n=0
	while kill -0 "$recpid" 2>/dev/null && [ $n -lt $(($1 * 10)) ]; do
		sleep 0.1; n=$((n + 1))
	done
	if kill -0 "$recpid" 2>/dev/null; then
		# The command may catch the SIGHUP of its terminal's end.
		kill -KILL "$recpid" -"$cmdpid"
		wait "$recpid" 2>/dev/null
		pv_fail "provost-rec did not end within $1 s of the signal"
	fi
	wait "$recpid"
	rc=$?
	took=$(($(now) - t0))
}

# Each signal reaches the command's process group: a shell that catches it
# (as an interactive shell does) would wait on for its sleep; the sleep dies
# of it, the shell ends with 128 + the signal, and so does provost-rec.
for sig in TERM:15 INT:2 HUP:1; do
	num=${sig#*:} sig=${sig%:*}
	rec_bg "$sig" sh -c 'trap "echo caught" TERM INT HUP; echo started $$; sleep 1000'
	t0=$(now)
	kill -"$sig" "$recpid"
	rec_end 4
	[ $rc -eq $((128 + num)) ] || pv_fail "SIG$sig: exit $rc, not $((128 + num)): $(cat "$sig.err")"
	verify "$sig.pvr"
	grep -q '"type":"exit","status":'$((128 + num)) "$sig.pvr.jsonl" ||
	    pv_fail "SIG$sig: exit event: $(grep exit "$sig.pvr.jsonl")"
	grep -q caught "$sig.out" || pv_fail "SIG$sig: the shell did not get the signal"
done

# A command that ignores SIGTERM is killed 5 s later, and the recording is
# still sealed, with the SIGKILL in it.
rec_bg ign sh -c "trap '' TERM; echo started \$\$; sleep 1000"
t0=$(now)
kill -TERM "$recpid"
rec_end 10
[ $rc -eq 137 ] || pv_fail "SIGTERM ignored: exit $rc, not 137: $(cat ign.err)"
[ "$took" -ge 4500 ] || pv_fail "SIGKILL came $took ms after SIGTERM, before the 5 s grace"
verify ign.pvr
grep -q '"type":"exit","signal":9,"signame":"KILL"' ign.pvr.jsonl ||
    pv_fail "SIGTERM ignored: exit event: $(grep exit ign.pvr.jsonl)"
grep -q 'did not end' ign.err || pv_fail "SIGTERM ignored: no word of the SIGKILL: $(cat ign.err)"

# A second SIGTERM does not wait for the grace.
rec_bg ign2 sh -c "trap '' TERM; echo started \$\$; sleep 1000"
t0=$(now)
kill -TERM "$recpid"
sleep 0.3
kill -TERM "$recpid"
rec_end 4
[ $rc -eq 137 ] || pv_fail "second SIGTERM: exit $rc, not 137: $(cat ign2.err)"
verify ign2.pvr
exit 0
