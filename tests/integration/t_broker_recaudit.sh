#!/bin/sh
# t_broker_recaudit.sh: a recording is checked against the audit chain.
# The monitor makes each recording's header (data key, nonce prefix, who
# and where), records its SHA-256 in session.open and hashes the file
# itself at the end (session.close).  provost-replay verify --audit EXPORT
# and provostctl session verify ID name, for session A:
# - B's recording put in A's place (both authentic, both verify);
# - a recording written for A by someone with the recipients' public keys
#   only (provost-rec --session-id A: authentic, it verifies with the key);
# - A's own recording cut short;
# and a session process taken over (pv-broker-forge) that replaces its
# recording with such a forgery and ends the session cannot get its header
# into the chain: session.open holds the monitor's header hash, the
# monitor logs and audits the changed header, and both commands name it;
# an insider who then writes the forgery's header hash into the store's
# session.open row breaks the chain, and session verify says so.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

REPLAY="$top_builddir/provost-replay"
REC="$top_builddir/provost-rec"
FORGE="$top_builddir/broker/pv-broker-forge"
start_provostd
L="alice+$ME@db01"

# hh FILE: the SHA-256 of a recording's header (magic .. end of its JSON).
hh() {
	n=$(od -An -tu1 -j10 -N4 "$1" | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
	head -c $((14 + n)) "$1" | sha256sum | cut -d' ' -f1
}
export_audit() { pvctl audit export --format jsonl > "$PV_TMP/export.jsonl" || pv_fail "audit export"; }
row() { # row ACTION SID MEMBER: a member of the session's audit row
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["action"] == sys.argv[2] and r["object"] == "session:" + sys.argv[3]:
        print(r["details"].get(sys.argv[4], ""))' "$PV_TMP/export.jsonl" "$1" "$2" "$3"
}
# named WHAT FILE SID PATTERN: both commands fail, naming it.
named() {
	out=$("$REPLAY" verify --key "$PV_TMP/sec.pem" --audit "$PV_TMP/export.jsonl" "$2" 2>&1) &&
	    pv_fail "$1: provost-replay verify --audit passed: $out"
	echo "$out" | grep -q "FAILED: .*$4" || pv_fail "$1: provost-replay said: $out"
	out=$(pvctl session verify "$3" 2>&1)
	rc=$?
	[ $rc -eq 7 ] || pv_fail "$1: session verify exit $rc: $out"
	echo "$out" | grep -q "FAILED: .*$4" || pv_fail "$1: session verify said: $out"
}

# Two sessions, A and B.
pvssh "$L" 'echo alpha' </dev/null >/dev/null 2>&1 || pv_fail "session A"
RA=$(last_rec)
pvssh "$L" 'echo beta' </dev/null >/dev/null 2>&1 || pv_fail "session B"
RB=$(last_rec)
[ -n "$RA" ] && [ "$RA" != "$RB" ] || pv_fail "no two recordings"
A=$(basename "$RA" .pvr)
B=$(basename "$RB" .pvr)
# ssh returns before the session's end row is committed: wait for it.
i=0
while :; do
	export_audit
	[ -n "$(row session.close "$B" recording_sha256)" ] && break
	[ $i -lt 100 ] || pv_fail "no session.close with a hash for B"
	sleep 0.1
	i=$((i + 1))
done

# The chain holds the header the monitor wrote and the file it hashed.
[ "$(row session.open "$A" recording_header_sha256)" = "$(hh "$RA")" ] ||
    pv_fail "session.open: header hash $(row session.open "$A" recording_header_sha256), file $(hh "$RA")"
[ "$(row session.close "$A" recording_sha256)" = "$(sha "$RA")" ] ||
    pv_fail "session.close: sha256 is not the file's"
[ "$(row session.close "$A" recording_size)" = "$(wc -c < "$RA")" ] ||
    pv_fail "session.close: size is not the file's"
out=$("$REPLAY" verify --key "$PV_TMP/sec.pem" --audit "$PV_TMP/export.jsonl" "$RA" "$RB") ||
    pv_fail "verify --audit of the real recordings: $out"
[ "$(echo "$out" | grep -c ': OK: complete and authentic.*matches the audit chain')" -eq 2 ] ||
    pv_fail "verify --audit: $out"
out=$(pvctl session verify "$A" 2>&1) || pv_fail "session verify A: $out"
echo "$out" | grep -q "session $A: recording $RA: OK: matches the audit chain" ||
    pv_fail "session verify A: $out"
# Without a key: the chain check alone.
"$REPLAY" verify --audit "$PV_TMP/export.jsonl" "$RA" >/dev/null || pv_fail "verify --audit without --key"

cp "$RA" "$PV_TMP/a.keep"
# 1. B's recording in A's place.
cp "$RB" "$RA"
named "swapped" "$RA" "$A" "the header names session $B, but this is session $A's recording"
cp "$PV_TMP/a.keep" "$RA"

# 2. A recording made for A with the recipient's public key only: it is
# authentic to the reader, not to the chain.
"$REC" --recipient "$PV_TMP/sec.pub" --session-id "$A" -o "$PV_TMP/forged.pvr" -- \
    sh -c 'echo nothing happened' </dev/null >/dev/null 2>&1 || pv_fail "provost-rec"
"$REPLAY" verify --key "$PV_TMP/sec.pem" "$PV_TMP/forged.pvr" >/dev/null ||
    pv_fail "the forgery should verify without the chain"
cp "$PV_TMP/forged.pvr" "$RA"
named "forged header" "$RA" "$A" "header sha256 $(hh "$RA") is not the $(hh "$PV_TMP/a.keep") the audit chain recorded when session $A opened"
cp "$PV_TMP/a.keep" "$RA"

# 3. A's recording cut short (its header intact).
size=$(wc -c < "$RA")
head -c $((size - 40)) "$PV_TMP/a.keep" > "$RA"
named "truncated" "$RA" "$A" "($((size - 40)) bytes) is not the $(sha "$PV_TMP/a.keep") ($size bytes) the audit chain recorded when session $A ended"
cp "$PV_TMP/a.keep" "$RA"
"$REPLAY" verify --key "$PV_TMP/sec.pem" --audit "$PV_TMP/export.jsonl" "$RA" >/dev/null ||
    pv_fail "restored A does not verify"

# 4. A taken-over session process: its recording replaced by a forgery
# for its own session id, then session-end.
if [ "$(id -u)" -eq 0 ] && [ -x "$FORGE" ]; then
	live_session c
	RC=$(sed -n "s/.*session $SID: recording to \(.*\.pvr\)$/\1/p" "$PVD_LOG")
	"$REC" --recipient "$PV_TMP/sec.pub" --session-id "$SID" -o "$PV_TMP/forged-c.pvr" -- \
	    sh -c 'echo all quiet' </dev/null >/dev/null 2>&1 || pv_fail "provost-rec c"
	out=$("$FORGE" "$SP" "$MFD" "rewrite $PV_TMP/forged-c.pvr" "session-end" 2>&1)
	echo "$out" | grep -q "^rewritten $RC" || pv_fail "forge rewrite: $out"
	echo "$out" | tail -1 | grep -q "^answer session-end-ack" || pv_fail "forge end: $out"
	pv_wait_log "$PVD_LOG" "session $SID: recording $RC: its header is no longer the one the monitor wrote" 5 ||
	    pv_fail "the monitor did not see the header change"
	kill -KILL "$SP" 2>/dev/null
	wait "$LP" 2>/dev/null
	cmp -s "$RC" "$PV_TMP/forged-c.pvr" || pv_fail "the forgery is not in place"
	export_audit
	[ "$(row recording.header_changed "$SID" detail)" != "" ] ||
	    pv_fail "no recording.header_changed audited"
	[ "$(row session.open "$SID" recording_header_sha256)" != "$(hh "$RC")" ] ||
	    pv_fail "the chain holds the forged header's hash"
	# the end row's hash is the monitor's reading of the disk
	[ "$(row session.close "$SID" recording_sha256)" = "$(sha "$RC")" ] ||
	    pv_fail "session.close does not hold the hash of the file on disk"
	"$REPLAY" verify --key "$PV_TMP/sec.pem" "$RC" >/dev/null ||
	    pv_fail "the forged recording should verify without the chain"
	named "forged by the session process" "$RC" "$SID" "header sha256 $(hh "$RC") is not the"
else
	pv_log "not root or no $FORGE: the taken-over process is not played"
fi

# 5. An insider with the store file writes the forgery's header hash into
# A's session.open row: the chain no longer holds, and session verify
# checks no recording against it.
SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
if [ -n "$SQLITE3" ]; then
	cp "$PV_TMP/forged.pvr" "$RA"
	"$SQLITE3" -cmd '.timeout 5000' "$STATE/provost.db" "DROP TRIGGER audit_no_update;
	    UPDATE audit SET details = replace(details, '$(hh "$PV_TMP/a.keep")', '$(hh "$RA")')
	    WHERE action = 'session.open' AND object = 'session:$A';" ||
	    pv_fail "sqlite3 refused the tampering"
	out=$(pvctl session verify "$A" 2>&1)
	rc=$?
	[ $rc -eq 7 ] || pv_fail "insider: session verify exit $rc: $out"
	echo "$out" | grep -q "audit: TAMPERED: .*no recording is checked against a broken chain" ||
	    pv_fail "insider: session verify said: $out"
	cp "$PV_TMP/a.keep" "$RA"
else
	pv_log "sqlite3 not found: the insider is not played"
fi

# A malformed export is refused with its line.
printf '{"seq":1,"action":"session.open","object":"session:%s","details":{"recording_header_sha256":"xyz"}}\n' "$A" \
    > "$PV_TMP/bad.jsonl"
out=$("$REPLAY" verify --audit "$PV_TMP/bad.jsonl" "$RA" 2>&1) && pv_fail "a bad export was taken"
echo "$out" | grep -q "bad.jsonl:1: recording_header_sha256 is not 64 hex digits" ||
    pv_fail "bad export: $out"
pv_log "swapped, forged with the public key, truncated and forged by the session process: all named"
