#!/bin/sh
# t_broker_sftp.sh: real sftp and scp through provostd: 100 MB up and down
# byte-exact, ls/rename/rm, the recording's file events (provost-replay
# files) match sha256sum; Transfer download refuses puts (audited); scp -O
# both ways and the SFTP-based default; a malformed scp is refused.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

SFTP=${SFTP:-$(command -v sftp || :)}
SCP=${SCP:-$(command -v scp || :)}
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

# pvsftp LOGIN [sftp args...]: sftp through provostd, TOTP by askpass.
pvsftp() {
	login=$1; shift
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SFTP" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -P "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
	    -o PreferredAuthentications=publickey,keyboard-interactive \
	    -o User="$login" "$@" 127.0.0.1
}
# pvscp LOGIN [scp args...] SRC DST (remote side written as R:PATH).
pvscp() {
	login=$1; shift
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SCP" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -P "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
	    -o PreferredAuthentications=publickey,keyboard-interactive \
	    -o User="$login" "$@"
}
last_rec() { sed -n 's/.*recording to \(.*\.pvr\)$/\1/p' "$PVD_LOG" | tail -1; }
sha() { sha256sum < "$1" | cut -d' ' -f1; }

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
rec=$(last_rec)
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
