#!/bin/sh
# t_sftp_tap.sh: the SFTP and scp trackers between the real sftp/scp and the
# real sftp-server/scp (sftp -D, scp -O -S): events match what happened.
. "$top_srcdir/tests/integration/lib.sh"

TAP="$top_builddir/tests/sftp/sftp-tap"
SERVER=""
for s in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server \
	/usr/libexec/sftp-server; do
	[ -x "$s" ] && SERVER=$s && break
done
[ -n "$SERVER" ] || pv_skip "no sftp-server"
command -v sftp >/dev/null 2>&1 || pv_skip "no sftp client"
[ -x "$TAP" ] || pv_fail "no $TAP"

cd "$PV_TMP" || exit 99
mkdir remote local content
head -c 20971520 /dev/urandom >big.bin || exit 99
printf 'small file\n' >small.txt
: >empty.bin
head -c 1000000 /dev/urandom >remote/dl.bin || exit 99
sum() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c <"$1" | tr -d ' '; }

# ev FILE OP PATH: the event lines of that op on that path.
ev() { grep -F "\"op\":\"$2\"" "$1" | grep -F "\"path\":\"$3\""; }
# has_transfer FILE OP PATH BYTES SHA
has_transfer() {
	line=$(ev "$1" "$2" "$3") || pv_fail "no $2 event for $3 in $1"
	echo "$line" | grep -qF "\"bytes\":$4," ||
		pv_fail "$2 $3: bytes not $4: $line"
	echo "$line" | grep -qF "\"sha256\":\"$5\"" ||
		pv_fail "$2 $3: sha256 not $5: $line"
	echo "$line" | grep -qF '"status":0,' || pv_fail "$2 $3: status: $line"
}

R=$PV_TMP/remote
cat >batch <<EOF
put big.bin $R/big.bin
put small.txt $R/small.txt
put empty.bin $R/empty.bin
get $R/dl.bin local/dl.bin
get $R/big.bin local/big.bin
rename $R/small.txt $R/renamed.txt
ls -l $R
mkdir $R/sub
rmdir $R/sub
rm $R/empty.bin
EOF
SFTP_TAP_EVENTS=$PV_TMP/ev.jsonl SFTP_TAP_CONTENT=$PV_TMP/content \
	sftp -D "$TAP $SERVER" -b batch >sftp.log 2>&1 ||
	{ cat sftp.log; pv_fail "sftp through the tap failed"; }
cmp big.bin remote/big.bin || pv_fail "upload not byte-exact"
cmp big.bin local/big.bin || pv_fail "download not byte-exact"
cmp remote/dl.bin local/dl.bin || pv_fail "download not byte-exact"

has_transfer ev.jsonl write "$R/big.bin" 20971520 "$(sum big.bin)"
has_transfer ev.jsonl write "$R/small.txt" "$(size small.txt)" \
	"$(sum small.txt)"
has_transfer ev.jsonl write "$R/empty.bin" 0 \
	e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
has_transfer ev.jsonl read "$R/dl.bin" 1000000 "$(sum remote/dl.bin)"
has_transfer ev.jsonl read "$R/big.bin" 20971520 "$(sum big.bin)"
ev ev.jsonl rename "$R/small.txt" | grep -qF "\"path2\":\"$R/renamed.txt\"" ||
	pv_fail "no rename event"
ev ev.jsonl mkdir "$R/sub" | grep -qF '"status":0,' || pv_fail "no mkdir event"
ev ev.jsonl rmdir "$R/sub" | grep -qF '"status":0,' || pv_fail "no rmdir event"
ev ev.jsonl remove "$R/empty.bin" | grep -qF '"status":0,' ||
	pv_fail "no remove event"
grep -F '"op":"readdir"' ev.jsonl | grep -qF "\"path\":\"$R" ||
	pv_fail "no readdir event"
if grep -qF '"refused":true' ev.jsonl; then pv_fail "a refusal with both allowed"; fi

# RecordFileContents: the content records rebuild the files exactly.
id=$(ev ev.jsonl write "$R/big.bin" | sed 's/.*"file_id":\([0-9]*\).*/\1/')
cmp big.bin "content/upload-$id" || pv_fail "recorded upload content differs"
id=$(ev ev.jsonl read "$R/dl.bin" | sed 's/.*"file_id":\([0-9]*\).*/\1/')
cmp remote/dl.bin "content/download-$id" ||
	pv_fail "recorded download content differs"
pv_log "sftp: transfers, metadata ops and contents recorded"

# Uploads refused by policy: put fails with a permission error, nothing
# is written; downloads still work.
printf 'put small.txt %s/denied.txt\n' "$R" >batch2
if SFTP_TAP_EVENTS=$PV_TMP/ev2.jsonl SFTP_TAP_ALLOW=download \
	sftp -D "$TAP $SERVER" -b batch2 >sftp2.log 2>&1; then
	pv_fail "put succeeded with uploads disallowed"
fi
grep -qi "permission denied" sftp2.log || { cat sftp2.log; pv_fail "no permission error"; }
[ ! -e remote/denied.txt ] || pv_fail "a refused upload was written"
ev ev2.jsonl open "$R/denied.txt" | grep -qF '"refused":true' ||
	pv_fail "no refusal event"
for cmd in "rm $R/renamed.txt" "mkdir $R/x" "rename $R/renamed.txt $R/y" \
	"chmod 600 $R/renamed.txt" "ln -s $R/renamed.txt $R/l"; do
	printf '%s\n' "$cmd" >batch3
	if SFTP_TAP_ALLOW=download sftp -D "$TAP $SERVER" -b batch3 \
		>sftp3.log 2>&1; then
		pv_fail "'$cmd' succeeded with uploads disallowed"
	fi
done
[ -f remote/renamed.txt ] && [ ! -e remote/x ] && [ ! -e remote/y ] &&
	[ ! -e remote/l ] || pv_fail "a refused change happened"
printf 'get %s/dl.bin local/dl2.bin\n' "$R" >batch4
SFTP_TAP_ALLOW=download sftp -D "$TAP $SERVER" -b batch4 >sftp4.log 2>&1 ||
	pv_fail "download failed with downloads allowed"
if SFTP_TAP_ALLOW=upload sftp -D "$TAP $SERVER" -b batch4 >sftp5.log 2>&1; then
	pv_fail "get succeeded with downloads disallowed"
fi
pv_log "sftp: refusals by policy"

# Legacy scp (-O) over "exec": the tap plays ssh (scp -S).
if command -v scp >/dev/null 2>&1 && scp -O 2>&1 | grep -q usage; then
	SFTP_TAP_SCP=1 SFTP_TAP_EVENTS=$PV_TMP/ev3.jsonl \
		scp -O -S "$TAP" big.bin "h:$R/scp.bin" >scp.log 2>&1 ||
		{ cat scp.log; pv_fail "scp upload failed"; }
	SFTP_TAP_SCP=1 SFTP_TAP_EVENTS=$PV_TMP/ev3.jsonl \
		scp -O -S "$TAP" "h:$R/dl.bin" local/scp-dl.bin >>scp.log 2>&1 ||
		{ cat scp.log; pv_fail "scp download failed"; }
	cmp big.bin remote/scp.bin && cmp remote/dl.bin local/scp-dl.bin ||
		pv_fail "scp not byte-exact"
	has_transfer ev3.jsonl write big.bin 20971520 "$(sum big.bin)"
	has_transfer ev3.jsonl read dl.bin 1000000 "$(sum remote/dl.bin)"
	if SFTP_TAP_SCP=1 SFTP_TAP_ALLOW=download \
		scp -O -S "$TAP" small.txt "h:$R/scp-denied.txt" >scp2.log 2>&1; then
		pv_fail "scp upload succeeded with uploads disallowed"
	fi
	grep -q "uploads are not allowed" scp2.log || pv_fail "no scp refusal message"
	[ ! -e remote/scp-denied.txt ] || pv_fail "a refused scp upload was written"
	pv_log "scp: transfers recorded, upload refused"
fi
pv_log "ok"
