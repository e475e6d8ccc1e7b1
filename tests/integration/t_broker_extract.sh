#!/bin/sh
# t_broker_extract.sh: RecordFileContents yes through provostd with the real
# sftp and scp: provost-replay extract rebuilds each transferred file
# byte-exact (sftp put and get, scp -O both ways, scp over SFTP) and checks
# it against the transfer's SHA-256; with RecordFileContents no it says the
# contents were not recorded.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

[ -n "$SFTP" ] && [ -n "$SCP" ] || pv_skip "sftp/scp not found"

cat > "$PV_TMP/policy.conf" <<'EOC'
Levels public internal confidential restricted

Rule metadata-only
    Target meta
    Classification public
    Approval none
    Channels shell exec sftp scp
    RecordFileContents no

Rule contents
    Classification public
    Approval none
    Channels shell exec sftp scp
    RecordFileContents yes
EOC
hk="$PV_SSHD_DIR/host_ed25519.pub"
pvctl target add meta --host 127.0.0.1 --port "$TARGET_PORT" --classification public \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add meta"
start_provostd
REPLAY="$top_builddir/provost-replay"
KEY="$PV_TMP/sec.pem"
W="$PV_TMP/work"
mkdir -p "$W/remote" "$W/out"

# The recording of the session that just ended (its seal is logged).
nsealed=0
session_rec() {
	nsealed=$((nsealed + 1))
	i=0
	while [ "$(grep -c 'sealed' "$PVD_LOG")" -lt "$nsealed" ] && [ $i -lt 50 ]; do
		sleep 0.2; i=$((i + 1))
	done
	sed -n 's/.*recording to \(.*\.pvr\)$/\1/p' "$PVD_LOG" | tail -1
}
# line OP PATH FILESOUT: the line number (= --transfer N) of that transfer.
line() { awk -F'\t' -v o="$1" -v p="$2" '$2==o && $7==p {print NR; exit}' "$3"; }

L="alice+$ME@db01"
head -c 9437185 /dev/urandom > "$W/big"   # 9 MiB + 1: not a packet multiple
head -c 3145728 /dev/urandom > "$W/remote/seed.bin"
: > "$W/empty"
big=$(sha "$W/big")
seed=$(sha "$W/remote/seed.bin")

# 1. sftp put and get (and an empty file) in one session.
cat > "$W/batch1" <<EOC
put $W/big $W/remote/up.bin
get $W/remote/seed.bin $W/seed.got
put $W/empty $W/remote/empty.bin
EOC
pvsftp "$L" -b "$W/batch1" > "$W/sftp1.out" 2>&1 || pv_fail "sftp batch: $(tail -5 "$W/sftp1.out")"
cmp -s "$W/big" "$W/remote/up.bin" || pv_fail "sftp put changed the file"
cmp -s "$W/remote/seed.bin" "$W/seed.got" || pv_fail "sftp get changed the file"
rec=$(session_rec)
[ -n "$rec" ] || pv_fail "no recording"
"$REPLAY" files --key "$KEY" "$rec" > "$W/files1" || pv_fail "replay files: $(cat "$W/files1")"
n=$(line put "$W/remote/up.bin" "$W/files1")
[ -n "$n" ] || pv_fail "no put event: $(cat "$W/files1")"
"$REPLAY" extract --key "$KEY" "$rec" --transfer "$n" -o "$W/out/up" 2> "$W/x1.err" ||
    pv_fail "extract put: $(cat "$W/x1.err")"
cmp -s "$W/big" "$W/out/up" || pv_fail "extracted upload differs"
grep -q "SHA-256 $big verified" "$W/x1.err" || pv_fail "extract did not report the check: $(cat "$W/x1.err")"
# By path, to standard output.
"$REPLAY" extract --key "$KEY" "$rec" --path "$W/remote/seed.bin" > "$W/out/seed" 2> "$W/x2.err" ||
    pv_fail "extract get: $(cat "$W/x2.err")"
[ "$(sha "$W/out/seed")" = "$seed" ] || pv_fail "extracted download differs"
"$REPLAY" extract --key "$KEY" "$rec" --path "$W/remote/empty.bin" -o "$W/out/empty" 2> "$W/x3.err" ||
    pv_fail "extract empty: $(cat "$W/x3.err")"
[ -f "$W/out/empty" ] && [ ! -s "$W/out/empty" ] || pv_fail "extracted empty file is not empty"
# An existing OUT is never overwritten; an unknown number is an error.
"$REPLAY" extract --key "$KEY" "$rec" --transfer "$n" -o "$W/out/up" 2> "$W/x4.err" &&
    pv_fail "extract overwrote an existing file"
cmp -s "$W/big" "$W/out/up" || pv_fail "a refused extract changed the existing file"
"$REPLAY" extract --key "$KEY" "$rec" --transfer 999 -o "$W/out/none" 2> "$W/x5.err" &&
    pv_fail "extract of transfer 999 succeeded"
grep -q 'no transfer 999' "$W/x5.err" || pv_fail "transfer 999: $(cat "$W/x5.err")"
[ ! -e "$W/out/none" ] || pv_fail "a failed extract left its output"
# Contents, not the raw channel: the recording is about the files' size.
size=$(wc -c < "$rec")
[ "$size" -gt 12582912 ] && [ "$size" -lt 14680064 ] ||
    pv_fail "recording of 12 MiB of content is $size bytes"
pv_log "sftp put/get extracted byte-exact; recording $size bytes"

# 2. Legacy scp -O both ways.
pvscp "$L" -O "$W/big" "127.0.0.1:$W/remote/scp-up.bin" > "$W/scp1.out" 2>&1 ||
    pv_fail "scp -O upload: $(cat "$W/scp1.out")"
rec=$(session_rec)
"$REPLAY" extract --key "$KEY" "$rec" --path big -o "$W/out/scp-up" 2> "$W/x6.err" ||
    pv_fail "extract scp -O upload: $(cat "$W/x6.err")"
cmp -s "$W/big" "$W/out/scp-up" || pv_fail "extracted scp -O upload differs"
pvscp "$L" -O "127.0.0.1:$W/remote/seed.bin" "$W/scp-down.bin" > "$W/scp2.out" 2>&1 ||
    pv_fail "scp -O download: $(cat "$W/scp2.out")"
rec=$(session_rec)
"$REPLAY" extract --key "$KEY" "$rec" --path seed.bin -o "$W/out/scp-down" 2> "$W/x7.err" ||
    pv_fail "extract scp -O download: $(cat "$W/x7.err")"
[ "$(sha "$W/out/scp-down")" = "$seed" ] || pv_fail "extracted scp -O download differs"

# 3. scp over SFTP (the OpenSSH 9 default) both ways.
pvscp "$L" "$W/big" "127.0.0.1:$W/remote/scp-sftp.bin" > "$W/scp3.out" 2>&1 ||
    pv_fail "scp upload: $(cat "$W/scp3.out")"
rec=$(session_rec)
"$REPLAY" extract --key "$KEY" "$rec" --path "$W/remote/scp-sftp.bin" -o "$W/out/scp3" 2> "$W/x8.err" ||
    pv_fail "extract scp (sftp) upload: $(cat "$W/x8.err")"
cmp -s "$W/big" "$W/out/scp3" || pv_fail "extracted scp (sftp) upload differs"
pvscp "$L" "127.0.0.1:$W/remote/seed.bin" "$W/scp4.got" > "$W/scp4.out" 2>&1 ||
    pv_fail "scp download: $(cat "$W/scp4.out")"
rec=$(session_rec)
"$REPLAY" extract --key "$KEY" "$rec" --path "$W/remote/seed.bin" -o "$W/out/scp4" 2> "$W/x9.err" ||
    pv_fail "extract scp (sftp) download: $(cat "$W/x9.err")"
[ "$(sha "$W/out/scp4")" = "$seed" ] || pv_fail "extracted scp (sftp) download differs"

# 4. The same path twice in one session: --path names both numbers.
cat > "$W/batch2" <<EOC
put $W/empty $W/remote/twice.bin
put $W/big $W/remote/twice.bin
EOC
pvsftp "$L" -b "$W/batch2" > "$W/sftp2.out" 2>&1 || pv_fail "sftp batch 2: $(cat "$W/sftp2.out")"
rec=$(session_rec)
"$REPLAY" extract --key "$KEY" "$rec" --path "$W/remote/twice.bin" -o "$W/out/twice" 2> "$W/x10.err" &&
    pv_fail "an ambiguous --path succeeded"
grep -q 'several transfers of this path: 1 2; choose one with --transfer N' "$W/x10.err" ||
    pv_fail "ambiguous path: $(cat "$W/x10.err")"
"$REPLAY" extract --key "$KEY" "$rec" --transfer 2 -o "$W/out/twice" 2> "$W/x11.err" ||
    pv_fail "extract --transfer 2: $(cat "$W/x11.err")"
cmp -s "$W/big" "$W/out/twice" || pv_fail "extracted second put differs"

# 5. RecordFileContents no: metadata and hash only, and extract says so.
M="alice+$ME@meta"
printf 'put %s %s\n' "$W/big" "$W/remote/meta.bin" > "$W/batch3"
pvsftp "$M" -b "$W/batch3" > "$W/sftp3.out" 2>&1 || pv_fail "sftp (meta): $(cat "$W/sftp3.out")"
rec=$(session_rec)
"$REPLAY" files --key "$KEY" "$rec" > "$W/files3" || pv_fail "replay files (meta)"
awk -F'\t' -v h="$big" '$2=="put" && $5==h {f=1} END {exit !f}' "$W/files3" ||
    pv_fail "no hashed put event (meta): $(cat "$W/files3")"
"$REPLAY" extract --key "$KEY" "$rec" --path "$W/remote/meta.bin" -o "$W/out/meta" 2> "$W/x12.err" &&
    pv_fail "extract without recorded contents succeeded"
grep -q 'its contents were not recorded (RecordFileContents no)' "$W/x12.err" ||
    pv_fail "meta: $(cat "$W/x12.err")"
[ ! -e "$W/out/meta" ] || pv_fail "extract without contents left a file"
size=$(wc -c < "$rec")
[ "$size" -lt 65536 ] || pv_fail "metadata-only recording is $size bytes"
pv_log "extract: sftp, scp -O, scp (sftp) byte-exact and verified; RecordFileContents no refused"
