#!/bin/sh
# t_ctl_exit_sweep.sh: the exit's sweep against a real sshd.  The target's
# file system is a tree under the test's directory (its sshd reads the
# admin account's authorized_keys from there), so that persistence can be
# planted without touching this machine's /etc.  provostctl takes a
# baseline over its own certificate connection; acme's engineer then, in a
# recorded session through provostd, adds a key to the account, a new
# account with a key, and a cron job.  The planted key logs in before the
# exit.  provostctl provider exit with ExitSweep quarantine finds all
# three (the cron job tied to her session) and, killed -9 while it moves
# things aside and resumed, moves the key line and the
# cron file aside with their hashes, locks and expires the account, and
# takes out alice's own key, which the client had put there before the
# baseline: both keys are refused by sshd afterwards, the legitimate key gets
# in, nothing was deleted; the KRL is pushed to the file the target's
# sshd reads, which then refuses a certificate minted for her before the
# exit; the admin connections are recordings the security team opens.
# A second target she touched is down at the exit: its push and sweep end
# unresolved, never done, and so does the verify step's try of her
# certificate there (which sw01's sshd refuses).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

REPLAY="$top_builddir/provost-replay"
DB="$STATE/provost.db"
TROOT="$PV_TMP/troot"
H="/home/$ME"

# sw01 takes scp too, for the upload below.
sed -i '/^Levels /a\
\
Rule sweep-files\
    Target sw01\
    Classification public\
    Approval none\
    Channels shell exec scp sftp' "$PV_TMP/policy.conf"
mkdir -p "$TROOT/etc/cron.d" "$TROOT/etc/ssh" "$TROOT$H/.ssh"
printf '%s:x:0:0::%s:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n' \
    "$ME" "$H" > "$TROOT/etc/passwd"
printf '%s:$6$salt$hash:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' "$ME" \
    > "$TROOT/etc/shadow"
printf 'root:x:0:\n' > "$TROOT/etc/group"
printf 'SHELL=/bin/sh\n' > "$TROOT/etc/crontab"
pv_keygen "$PV_TMP/ops"
pv_keygen "$PV_TMP/evil"
# ops' key, and alice's own: the client gave the provider's engineer
# direct access once; the exit must take it away although the baseline
# has it.
cat "$PV_TMP/ops.pub" "$PV_TMP/alice.pub" > "$TROOT$H/.ssh/authorized_keys"

# The target: trusts provost's CA; its authorized_keys is the tree's.
"$SSH_KEYGEN" -k -f "$TROOT/etc/ssh/revoked.krl" 2>/dev/null || pv_fail "an empty KRL"
cat > "$PV_TMP/swt_extra" <<EOC
TrustedUserCAKeys $STATE/ca.pub
RevokedKeys $TROOT/etc/ssh/revoked.krl
EOC
mkdir -p "$PV_TMP/swt"
ln -sf "$TROOT$H/.ssh/authorized_keys" "$PV_TMP/swt/authorized_keys"
pv_start_sshd swt "$PV_TMP/swt_extra"
SWT_PORT=$PV_SSHD_PORT
pvctl target add sw01 --host 127.0.0.1 --port "$SWT_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add"
printf '[127.0.0.1]:%s %s\n' "$SWT_PORT" "$(cat "$PV_SSHD_DIR/host_ed25519.pub")" \
    >> "$PV_TMP/known_hosts"
direct() {
	"$SSH" -F "$PV_TMP/ssh_config" -i "$1" -p "$SWT_PORT" "$ME@127.0.0.1" 'echo direct-ok' \
	    2>>"$PV_TMP/direct.err"
}
[ "$(direct "$PV_TMP/ops")" = direct-ok ] || pv_fail "the ops key does not log in"
[ "$(direct "$PV_TMP/alice")" = direct-ok ] || pv_fail "alice's key does not log in directly"
direct "$PV_TMP/evil" >/dev/null && pv_fail "the evil key logs in before it is planted"

# No admin account: the baseline says so in one line.
out=$(pvctl target baseline sw01 2>&1) && pv_fail "a baseline without an admin account"
echo "$out" | grep -q 'has no admin account' || pv_fail "no admin account: $out"
pvctl target admin sw01 --account "$ME" --root "$TROOT" --krl /etc/ssh/revoked.krl >/dev/null ||
    pv_fail "target admin"
pvctl target admin sw01 --account "$ME" --root "rel/dir" >/dev/null 2>&1 && pv_fail "a relative root"
out=$(pvctl target baseline sw01) || pv_fail "baseline: $out"
echo "$out" | grep -q "^target sw01: baseline of [0-9]* files, 2 accounts (1 with keys)" ||
    pv_fail "baseline: $out"
grep -q 'Accepted certificate ID "provost:[0-9a-f-]*:provost-admin" (serial 0)' "$PV_TMP/swt.log" ||
    pv_fail "the admin connection was not a certificate login"
pvctl audit export --format jsonl | grep -q '"action":"target.baseline"' || pv_fail "baseline not audited"

# A second target the provider touches, which is down at the exit.
mkdir -p "$PV_TMP/troot2/etc/ssh" "$PV_TMP/troot2$H/.ssh"
cp "$TROOT/etc/passwd" "$TROOT/etc/shadow" "$PV_TMP/troot2/etc/"
printf 'TrustedUserCAKeys %s\n' "$STATE/ca.pub" > "$PV_TMP/down_extra"
pv_start_sshd down "$PV_TMP/down_extra"
DOWN_PID=$PV_SSHD_PID
pvctl target add sw02 --host 127.0.0.1 --port "$PV_SSHD_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add sw02"
pvctl target admin sw02 --account "$ME" --root "$PV_TMP/troot2" --krl /etc/ssh/revoked.krl \
    >/dev/null || pv_fail "target admin sw02"
pvctl target baseline sw02 >/dev/null || pv_fail "baseline sw02"
start_provostd "ExitSweep quarantine
ExitDirectory $PV_TMP/exits"
# acme's engineer plants persistence in a recorded session.
cp "$PV_TMP/evil.pub" "$TROOT/evil.pub"
out=$(pvssh "alice+sw01" "cat $TROOT/evil.pub >> $TROOT$H/.ssh/authorized_keys &&
    echo 'svc:x:999:999::/home/svc:/bin/sh' >> $TROOT/etc/passwd &&
    echo 'svc:\$6\$x\$y:19000:0:99999:7:::' >> $TROOT/etc/shadow &&
    mkdir -p $TROOT/home/svc/.ssh && cp $TROOT/evil.pub $TROOT/home/svc/.ssh/authorized_keys &&
    echo '* * * * * root sh /tmp/x' > $TROOT/etc/cron.d/backdoor && echo planted" </dev/null) ||
    pv_fail "planting: $out"
rm -f "$TROOT/evil.pub"
SID=$(sed -n 's/.*session \([0-9a-f-]*\): recording to .*/\1/p' "$PVD_LOG" | tail -1)
# and uploads a file (scp through provostd): named in the bundle.
head -c 70000 /dev/urandom > "$PV_TMP/tool.bin"
pvscp "alice+sw01" -O "$PV_TMP/tool.bin" "127.0.0.1:$PV_TMP/uploaded-tool.bin" </dev/null \
    > "$PV_TMP/scp.out" 2>&1 || pv_fail "scp: $(cat "$PV_TMP/scp.out")"
pvssh "alice+sw02" true </dev/null || pv_fail "alice on sw02"
kill "$DOWN_PID"
[ "$(direct "$PV_TMP/evil")" = direct-ok ] || pv_fail "the planted key does not log in"
# alice's certificate from that session, over a key the test holds.
serial=$(sed -n 's/.*Accepted certificate ID "provost:[0-9a-f-]*:alice" (serial \([0-9]*\)).*/\1/p' \
    "$PV_TMP/swt.log" | tail -1)
[ -n "$serial" ] || pv_fail "no serial of alice's in the target's log"
pv_keygen "$PV_TMP/eph"
"$top_builddir/broker/pv-broker-mint" cert "$STATE/ca" "$PV_TMP/eph.pub" "$ME" 127.0.0.1/32 10m \
    "$serial" pty > "$PV_TMP/eph-cert.pub" || pv_fail "mint"
certin() {
	"$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/eph" -o CertificateFile="$PV_TMP/eph-cert.pub" \
	    -p "$SWT_PORT" "$ME@127.0.0.1" 'echo cert-ok' 2>>"$PV_TMP/direct.err"
}
[ "$(certin)" = cert-ok ] || pv_fail "alice's certificate does not log in before the exit"

# The run is killed -9 once the sweep has recorded its findings and is
# moving things aside, then resumed: the same findings, each once.
"$PROVOSTCTL" -f "$CONF" provider exit acme > "$PV_TMP/exit1.out" 2>&1 &
RUN=$!
i=0
until [ "$(sqlite3 "$DB" "SELECT state FROM exit_items WHERE step = 'sweep' AND
    item = 'target:sw01'" 2>/dev/null)" = started ]; do
	i=$((i + 1))
	[ $i -lt 3000 ] && kill -0 "$RUN" 2>/dev/null ||
	    pv_fail "never saw the sweep started: $(cat "$PV_TMP/exit1.out")"
	sleep 0.01
done
kill -9 "$RUN"
wait "$RUN" 2>/dev/null
pvctl provider exit acme --resume > "$PV_TMP/exit.out" 2>&1 || pv_fail "resume: $(cat "$PV_TMP/exit.out")"
grep -q '^sweep ' "$PV_TMP/exit.out" || pv_fail "no sweep step: $(cat "$PV_TMP/exit.out")"
[ "$(sqlite3 "$DB" "SELECT attempts FROM exit_items WHERE item = 'target:sw01'")" = 2 ] ||
    pv_fail "the sweep was not resumed"
BUNDLE=$(sqlite3 "$DB" "SELECT bundle FROM exits")
EXIT=$(sqlite3 "$DB" "SELECT id FROM exits")
Q="$TROOT/var/lib/provost-quarantine/$EXIT"

# Neutralised, never deleted.
direct "$PV_TMP/evil" >/dev/null && pv_fail "the planted key still logs in after the exit"
direct "$PV_TMP/alice" >/dev/null && pv_fail "alice's own key still logs in after the exit"
# The KRL went to the target's own RevokedKeys: her certificate is refused.
certin >/dev/null && pv_fail "a certificate minted before the exit logs in after it"
grep -q "revoked by file $TROOT/etc/ssh/revoked.krl" "$PV_TMP/swt.log" ||
    pv_fail "sshd did not refuse it through the pushed KRL"
grep -qF "$(cut -d' ' -f2 "$PV_TMP/alice.pub")" "$Q/authorized_keys.$ME" ||
    pv_fail "alice's key line is not in the quarantine"
[ "$(direct "$PV_TMP/ops")" = direct-ok ] || pv_fail "the legitimate key was taken away"
grep -qF "$(cut -d' ' -f2 "$PV_TMP/evil.pub")" "$Q/authorized_keys.$ME" ||
    pv_fail "the planted key line is not in the quarantine"
grep -q '^svc:!' "$TROOT/etc/shadow" || pv_fail "svc not locked: $(cat "$TROOT/etc/shadow")"
[ "$(grep '^svc:' "$TROOT/etc/shadow" | cut -d: -f8)" = 1 ] || pv_fail "svc not expired"
[ ! -e "$TROOT/etc/cron.d/backdoor" ] || pv_fail "the cron job is still in place"
grep -q 'root sh /tmp/x' "$Q/files/etc/cron.d/backdoor" || pv_fail "the cron job was not kept aside"

# The record: each finding, the cron job tied to her session.
items="$BUNDLE/exit-items.jsonl"
python3 - "$items" "$SID" "$ME" > "$PV_TMP/py.out" 2>&1 <<'EOP' ||
    pv_fail "findings: $(tail -n 4 "$PV_TMP/py.out" | tr '\n' ' ')"
import json, sys
items = [json.loads(l) for l in open(sys.argv[1])]
sid, me = sys.argv[2], sys.argv[3]
f = {i["item"]: i for i in items if i["step"] == "sweep"}
cron = f["finding:sw01:file-added:/etc/cron.d/backdoor"]
assert cron["state"] == "done", cron
assert sid in cron["detail"]["sessions"], (cron, sid)
assert cron["detail"]["quarantine"].startswith("done "), cron
acct = f["finding:sw01:account-added:svc"]
assert acct["state"] == "done" and acct["detail"]["quarantine"] == "done", acct
keys = [i for k, i in f.items() if k.startswith("finding:sw01:key-added:" + me + ":")]
assert len(keys) == 1 and keys[0]["state"] == "done", keys
pk = [i for k, i in f.items() if k.startswith("finding:sw01:provider-key:" + me + ":")]
assert len(pk) == 1 and pk[0]["state"] == "done", pk
# the passwd change is left for review, not called done
pw = f["finding:sw01:file-changed:/etc/passwd"]
assert pw["state"] == "unresolved", pw
assert f["target:sw01"]["state"] == "done", f["target:sw01"]
k = {i["item"]: i for i in items if i["step"] == "krl"}
assert k["push:sw01"]["state"] == "done", k
# the target that is down: never done
assert k["push:sw02"]["state"] == "unresolved", k
assert k["push:sw02"]["detail"]["why"].startswith("not pushed: ssh "), k
assert f["target:sw02"]["state"] == "unresolved", f["target:sw02"]
assert f["target:sw02"]["detail"]["why"].startswith("not swept: ssh "), f
# verify: alice's certificate serial refused by sw01's sshd (its KRL);
# sw02 cannot be asked: unresolved
v = {i["item"]: i for i in items if i["step"] == "verify"}
assert v["certificate:sw01"]["state"] == "done", v["certificate:sw01"]
assert v["certificate:sw01"]["detail"]["certificate"]["engineer"] == "alice", v
assert v["certificate:sw02"]["state"] == "unresolved", v["certificate:sw02"]
assert v["certificate:sw02"]["detail"]["why"].startswith("cannot tell"), v
EOP
# The admin connections are recordings the security team opens.
[ -f "$BUNDLE/recordings/sweep-sw01.pvrec" ] || pv_fail "no recording of the sweep"
"$REPLAY" export --key "$PV_TMP/sec.pem" --format text "$BUNDLE/recordings/quarantine-sw01-2.pvrec" \
    > "$PV_TMP/q.txt" 2>&1 || pv_fail "quarantine recording: $(cat "$PV_TMP/q.txt")"
grep -q "^Q	file	/etc/cron.d/backdoor	done " "$PV_TMP/q.txt" || pv_fail "q.txt: $(cat "$PV_TMP/q.txt")"
# The quarantine and the look after it are one connection: its recording
# holds the look, and no connection of its own looked again.
sed -n '/^@@provost-look@@$/,$p' "$PV_TMP/q.txt" | grep -q "^U	$ME	0	$H	" ||
    pv_fail "the look is not in the quarantine's connection: $(cat "$PV_TMP/q.txt")"
pvctl audit export --format jsonl | grep '"action":"target.connect"' | grep -q 'exit sweep again' &&
    pv_fail "a connection of its own to look again"
[ "$(pvctl audit export --format jsonl | grep '"action":"target.connect"' |
    grep -c '"why":"exit quarantine and look again"')" -ge 1 ] || pv_fail "no quarantine connection audited"
[ "$(grep -c 'root sh /tmp/x' "$Q/files/etc/cron.d/backdoor")" = 1 ] || pv_fail "the cron file twice"
[ "$(grep -cF "$(cut -d' ' -f2 "$PV_TMP/evil.pub")" "$Q/authorized_keys.$ME")" = 1 ] ||
    pv_fail "the planted key line quarantined $(grep -cF "$(cut -d' ' -f2 "$PV_TMP/evil.pub")" "$Q/authorized_keys.$ME") times"
# (scp's own protocol names the file as sent, not the target's path)
grep -q '"path":"tool.bin"' "$BUNDLE/transfers.jsonl" &&
    grep -q "\"sha256\":\"$(sha "$PV_TMP/tool.bin")\"" "$BUNDLE/transfers.jsonl" &&
    grep -q '"direction":"upload"' "$BUNDLE/transfers.jsonl" ||
    pv_fail "transfers.jsonl: $(cat "$BUNDLE/transfers.jsonl")"
grep -qF -- "- \`tool.bin\` sha256 $(sha "$PV_TMP/tool.bin"), session " "$BUNDLE/certificate.md" ||
    pv_fail "the upload is not in certificate.md"
pvctl exit verify "$BUNDLE/certificate.json" "$BUNDLE" >/dev/null || pv_fail "exit verify"
grep -q 'sweep finding:sw01:file-changed:/etc/passwd' "$BUNDLE/certificate.md" ||
    pv_fail "the review item is not in the certificate"
pv_log "sweep: planted key, account and cron job found and neutralised; ops key kept"
exit 0
