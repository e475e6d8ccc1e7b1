#!/bin/sh
# t_broker_sftp.sh: real sftp and scp through provostd: 100 MB up and down
# byte-exact, ls/rename/rm, the recording's file events (provost-replay
# files) match sha256sum; Transfer download refuses puts (audited); scp -O
# both ways and the SFTP-based default; a malformed scp is refused.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

[ -n "$SFTP" ] && [ -n "$SCP" ] || pv_skip "sftp/scp not found"

# Our own rules: download-only, a grant-bound target, and the rest.
cat > "$PV_TMP/policy.conf" <<'EOC'
Levels public internal confidential restricted

Rule download-only
    Target dlonly
    Classification public
    Approval none
    Channels shell exec sftp scp
    RecordFileContents no
    Transfer download

Rule jit-files
    Classification internal
    Approval auto
    MaxDuration 8h
    Channels shell exec sftp scp
    RecordFileContents no

Rule files
    Classification public
    Approval none
    Channels shell exec sftp scp
    RecordFileContents no
EOC
hk="$PV_SSHD_DIR/host_ed25519.pub"
pvctl target add dlonly --host 127.0.0.1 --port "$TARGET_PORT" --classification public \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add dlonly"
start_provostd
REPLAY="$top_builddir/provost-replay"
W="$PV_TMP/work"
mkdir -p "$W/remote"


L="alice+$ME@db01"
head -c 104857600 /dev/urandom > "$W/big"
want=$(sha "$W/big")

# 1. sftp batch: put, get, ls, rename, rm; byte-exact both ways.
cat > "$W/batch1" <<EOC
put $W/big $W/remote/up.bin
get $W/remote/up.bin $W/down.bin
ls -l $W/remote
rename $W/remote/up.bin $W/remote/moved.bin
rm $W/remote/moved.bin
EOC
t0=$(date +%s)
pvsftp "$L" -b "$W/batch1" > "$W/sftp1.out" 2>&1 || pv_fail "sftp batch: $(tail -5 "$W/sftp1.out")"
t1=$(date +%s)
[ "$(sha "$W/down.bin")" = "$want" ] || pv_fail "100 MB round trip through sftp changed"
grep -q 'up.bin' "$W/sftp1.out" || pv_fail "ls did not list up.bin: $(cat "$W/sftp1.out")"
[ ! -e "$W/remote/moved.bin" ] && [ ! -e "$W/remote/up.bin" ] || pv_fail "rename/rm did not happen"
pv_wait_log "$PVD_LOG" 'transfer events' 10 || pv_fail "no transfer summary in the log"
sleep 1
rec=$(sealed_rec)
"$REPLAY" files --key "$PV_TMP/sec.pem" "$rec" > "$W/files1" || pv_fail "replay files: $(cat "$W/files1")"
awk -F'\t' -v p="$W/remote/up.bin" -v h="$want" \
    '$2=="put" && $3=="upload" && $4==104857600 && $5==h && $6==0 && $7==p {f=1} END {exit !f}' \
    "$W/files1" || pv_fail "no put event with size and sha256: $(cat "$W/files1")"
awk -F'\t' -v p="$W/remote/up.bin" -v h="$want" \
    '$2=="get" && $3=="download" && $4==104857600 && $5==h && $6==0 && $7==p {f=1} END {exit !f}' \
    "$W/files1" || pv_fail "no get event with size and sha256: $(cat "$W/files1")"
awk -F'\t' -v p="$W/remote/up.bin" -v q="$W/remote/moved.bin" \
    '$2=="rename" && $7==p && $8==q {f=1} END {exit !f}' "$W/files1" ||
    pv_fail "no rename event: $(cat "$W/files1")"
awk -F'\t' -v p="$W/remote/moved.bin" '$2=="remove" && $6==0 && $7==p {f=1} END {exit !f}' \
    "$W/files1" || pv_fail "no remove event: $(cat "$W/files1")"
grep -q "$(printf 'list\t')" "$W/files1" || pv_fail "no list event"
# Metadata only by default: the recording is far smaller than 200 MB.
size=$(wc -c < "$rec")
[ "$size" -lt 1048576 ] || pv_fail "recording of a metadata-only transfer is $size bytes"
pv_log "sftp 100 MB up+down in $((t1 - t0)) s, recording $size bytes"

# 2. Transfer download: a put is refused by provost (never reaches the
# target) with a permission error, and audited; a get still works.
D="alice+$ME@dlonly"
head -c 1048576 /dev/urandom > "$W/small"
cp "$W/small" "$W/remote/dl.bin"
printf 'put %s %s\n' "$W/small" "$W/remote/forbidden.bin" > "$W/batch2"
pvsftp "$D" -b "$W/batch2" > "$W/sftp2.out" 2>&1 && pv_fail "a put with Transfer download succeeded"
grep -q 'Permission denied' "$W/sftp2.out" || pv_fail "no permission error: $(cat "$W/sftp2.out")"
[ ! -e "$W/remote/forbidden.bin" ] || pv_fail "the refused upload reached the target"
printf 'get %s %s\n' "$W/remote/dl.bin" "$W/dl.got" > "$W/batch3"
pvsftp "$D" -b "$W/batch3" > "$W/sftp3.out" 2>&1 || pv_fail "get with Transfer download: $(cat "$W/sftp3.out")"
cmp -s "$W/small" "$W/dl.got" || pv_fail "download-only get changed"
# Legacy scp upload is refused at the exec, download allowed.
pvscp "$D" -O "$W/small" "127.0.0.1:$W/remote/forbidden2.bin" > "$W/scp0.out" 2>&1 &&
    pv_fail "scp -O upload with Transfer download succeeded"
grep -q 'uploads are not allowed by policy' "$W/scp0.out" || pv_fail "scp refusal: $(cat "$W/scp0.out")"
[ ! -e "$W/remote/forbidden2.bin" ] || pv_fail "refused scp upload reached the target"

# 3. scp -O (legacy, scp -t/-f over exec) both ways, and the SFTP default.
head -c 10485760 /dev/urandom > "$W/ten"
ten=$(sha "$W/ten")
pvscp "$L" -O "$W/ten" "127.0.0.1:$W/remote/scp-up.bin" > "$W/scp1.out" 2>&1 ||
    pv_fail "scp -O upload: $(cat "$W/scp1.out")"
[ "$(sha "$W/remote/scp-up.bin")" = "$ten" ] || pv_fail "scp -O upload changed"
sleep 1
"$REPLAY" files --key "$PV_TMP/sec.pem" "$(sealed_rec)" > "$W/files3" || pv_fail "replay files (scp)"
awk -F'\t' -v h="$ten" -v p="$W/remote/scp-up.bin" '$2=="put" && $4==10485760 && $5==h && $6==0 && $7=="ten" && $8==p {f=1} END {exit !f}' \
    "$W/files3" || pv_fail "scp -O upload event: $(cat "$W/files3")"
pvscp "$L" -O "127.0.0.1:$W/remote/scp-up.bin" "$W/scp-down.bin" > "$W/scp2.out" 2>&1 ||
    pv_fail "scp -O download: $(cat "$W/scp2.out")"
[ "$(sha "$W/scp-down.bin")" = "$ten" ] || pv_fail "scp -O download changed"
sleep 1
"$REPLAY" files --key "$PV_TMP/sec.pem" "$(sealed_rec)" > "$W/files4" || pv_fail "replay files (scp -f)"
awk -F'\t' -v h="$ten" '$2=="get" && $3=="download" && $4==10485760 && $5==h {f=1} END {exit !f}' \
    "$W/files4" || pv_fail "scp -O download event: $(cat "$W/files4")"
pvscp "$L" "$W/ten" "127.0.0.1:$W/remote/scp-sftp.bin" > "$W/scp3.out" 2>&1 ||
    pv_fail "scp (sftp) upload: $(cat "$W/scp3.out")"
pvscp "$L" "127.0.0.1:$W/remote/scp-sftp.bin" "$W/scp-sftp.got" > "$W/scp4.out" 2>&1 ||
    pv_fail "scp (sftp) download: $(cat "$W/scp4.out")"
[ "$(sha "$W/scp-sftp.got")" = "$ten" ] || pv_fail "scp (sftp) round trip changed"
# A malformed scp command (shell after it) never runs.
pvssh "$L" "scp -t $W/remote/x; touch $W/remote/pwned" </dev/null > "$W/scp5.out" 2>&1 &&
    pv_fail "a malformed scp exec ran"
[ ! -e "$W/remote/pwned" ] || pv_fail "the shell after scp ran"
grep -q 'malformed scp command refused' "$W/scp5.out" || pv_fail "malformed scp: $(cat "$W/scp5.out")"

# 4. sftp, scp and exec go through the same TOTP and grant checks.
# bob has never given a code (no MFAGrace to lean on): a wrong one stops
# sftp, both scp and exec before any channel.
B="bob+$ME@db01"
printf 'put %s %s\n' "$W/small" "$W/remote/nototp.bin" > "$W/batch4"
ENG_KEY="$PV_TMP/bob" # askpass answers with alice's code
for how in sftp scpO scp exec; do
	case $how in
	sftp) pvsftp "$B" -b "$W/batch4" ;;
	scpO) pvscp "$B" -O "$W/small" "127.0.0.1:$W/remote/nototp.bin" ;;
	scp) pvscp "$B" "$W/small" "127.0.0.1:$W/remote/nototp.bin" ;;
	exec) pvssh "$B" "touch $W/remote/nototp.bin" ;;
	esac </dev/null > "$W/nototp-$how.out" 2>&1 && pv_fail "$how without a good TOTP code succeeded"
	grep -q 'Permission denied' "$W/nototp-$how.out" || pv_fail "$how: $(cat "$W/nototp-$how.out")"
done
ENG_KEY="$PV_TMP/alice"
[ ! -e "$W/remote/nototp.bin" ] || pv_fail "a transfer without TOTP reached the target"
J="alice+$ME@jit"
pvsftp "$J" -b "$W/batch3" > "$W/nogrant1.out" 2>&1 && pv_fail "sftp without a grant succeeded"
pvscp "$J" -O "$W/small" "127.0.0.1:$W/remote/nogrant.bin" > "$W/nogrant2.out" 2>&1 &&
    pv_fail "scp without a grant succeeded"
pvscp "$J" "$W/small" "127.0.0.1:$W/remote/nogrant.bin" > "$W/nogrant3.out" 2>&1 &&
    pv_fail "scp (sftp) without a grant succeeded"
pvssh "$J" 'echo no' </dev/null > "$W/nogrant4.out" 2>&1 && pv_fail "exec without a grant succeeded"
[ ! -e "$W/remote/nogrant.bin" ] || pv_fail "a transfer without a grant reached the target"
grep -q 'access denied' "$W/nogrant2.out" || pv_fail "scp refusal: $(cat "$W/nogrant2.out")"

# 5. ControlMaster: one connection, channels decided and recorded one by
# one; revoking the grant ends them all.
gid=$(pvctl grant request alice jit --account "$ME" --duration 1h --reason test 2>/dev/null | head -1)
[ -n "$gid" ] || pv_fail "grant request"
CM="$W/cm.sock"
pvssh "$J" -o ControlMaster=yes -o ControlPath="$CM" -N </dev/null > "$W/cm.out" 2>&1 &
CMPID=$!
pv_track "$CMPID"
i=0
while [ ! -S "$CM" ] && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
[ -S "$CM" ] || pv_fail "no control socket: $(cat "$W/cm.out")"
mux() { "$SSH" -F "$PV_TMP/ssh_config" -o ControlPath="$CM" -o ControlMaster=no -l "$J" 127.0.0.1 "$@"; }
out=$(mux 'echo one' </dev/null) || pv_fail "mux exec 1"
[ "$out" = one ] || pv_fail "mux exec 1: $out"
"$SFTP" -F "$PV_TMP/ssh_config" -o ControlPath="$CM" -o ControlMaster=no -o User="$J" \
    -b "$W/batch3" 127.0.0.1 > "$W/cm-sftp.out" 2>&1 || pv_fail "sftp over the mux: $(cat "$W/cm-sftp.out")"
mux 'sleep 60' </dev/null > "$W/cm-long.out" 2>&1 &
LONG=$!
pv_track "$LONG"
i=0
while [ $i -lt 25 ]; do
	n=$(grep -c "channel [0-9]*: .* started for alice as $ME@jit" "$PVD_LOG")
	[ "$n" -ge 3 ] && break
	sleep 0.2; i=$((i + 1))
done
[ "$n" -ge 3 ] || pv_fail "mux channels not each started: $n: $(grep 'started for' "$PVD_LOG"; cat "$W/cm-long.out")"
pvctl grant revoke "$gid" >/dev/null || pv_fail "grant revoke"
i=0
while kill -0 "$LONG" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
kill -0 "$LONG" 2>/dev/null && pv_fail "revoking the grant did not end the mux session"
i=0
while kill -0 "$CMPID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
kill -0 "$CMPID" 2>/dev/null && pv_fail "revoking the grant did not end the master"

# The audit: refusals and transfers, and the chain verifies.
pvctl audit verify >/dev/null || pv_fail "audit chain does not verify"
pvctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "audit export"
grep '"transfer.refused"' "$PV_TMP/audit.jsonl" | grep -q 'forbidden.bin' ||
    pv_fail "the refused sftp put is not audited"
grep '"transfer.refused"' "$PV_TMP/audit.jsonl" | grep -q 'op=scp direction=upload' ||
    pv_fail "the refused scp upload is not audited"
grep '"transfer.refused"' "$PV_TMP/audit.jsonl" | grep -q 'malformed' ||
    pv_fail "the malformed scp is not audited"
grep '"transfer"' "$PV_TMP/audit.jsonl" | grep -q "sha256=$want" ||
    pv_fail "the 100 MB transfer is not audited"
pv_log "sftp/scp transfers, refusals, TOTP/grant gate, ControlMaster + revoke ok"
