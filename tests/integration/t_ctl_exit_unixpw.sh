#!/bin/sh
# t_ctl_exit_unixpw.sh: RotationHook unix-password builtin against a real
# sshd.  The target's file system is a tree under the test's directory
# (its shadow holds svc1 with a yescrypt hash, svc2 with SHA-512, svc3
# locked, nopw without a password); provostctl changes their passwords
# over its own certificate connection as the target's admin account.  The
# run is killed -9 twice while ssh runs: once right after svc1's entry was
# moved into place (before the store knew), once before svc2's change
# reached the target.  The first killed connection's recording holds what
# was sent and what came back, and provost-replay verify calls it
# incomplete.  Resumed, each password was changed exactly once:
# svc1's entry is still the one of the killed run, svc2's is new; the
# new passwords open the entries (crypt), the old ones no longer do, each
# in its target's method, svc3 stays locked, nopw is unresolved, no other
# line changed; exit secrets opens them with the team's key and no clear
# copy is anywhere; the verify step reads the entries back.  An entry set
# back by hand afterwards makes --reverify unresolved.  The verify step
# also tries alice's last certificate serial at each target she touched:
# refused through the KRL by pw01's sshd (done), taken by pw02's, whose
# sshd does not read the KRL (unresolved).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

command -v python3 >/dev/null || pv_skip "python3 not found"
DB="$STATE/provost.db"
TROOT="$PV_TMP/troot"
SH="$TROOT/etc/shadow"
H="/home/$ME"

crypt() { python3 -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], sys.argv[2]))' "$@"; }
field() { awk -F: -v u="$1" '$1 == u { print $2 }' "$SH"; }
# 1 if password $2 opens account $1's entry (a lock '!' aside)
opens() {
	f=$(field "$1"); f=${f#!}
	[ "$(crypt "$2" "$f")" = "$f" ]
}

mkdir -p "$TROOT/etc/ssh" "$TROOT$H/.ssh"
Y1=$(crypt old-pass-1 '$y$j9T$T3stSaltF0rSvc1xyzab$')
S2=$(crypt old-pass-2 '$6$t3stsaltsvc2$')
Y3=$(crypt old-pass-3 '$y$j9T$T3stSaltF0rSvc3xyzab$')
case "$Y1$S2$Y3" in *'*'*) pv_fail "crypt: $Y1 $S2 $Y3" ;; esac
cat > "$SH" <<EOS
$ME:*:19000:0:99999:7:::
svc1:$Y1:19000:0:99999:7:::
svc2:$S2:19000:0:99999:7:::
svc3:!$Y3:19000:0:99999:7:::
nopw:*:19000:0:99999:7:::
EOS
chmod 640 "$SH"
cp "$SH" "$PV_TMP/shadow.before"
opens svc1 old-pass-1 && opens svc2 old-pass-2 && opens svc3 old-pass-3 ||
    pv_fail "the test's own hashes"

# The target: its admin connection runs through a wrapper that can hold
# the change of one account's password, before or after it runs, until
# the test lets it go (the kill -9 points).
cat > "$PV_TMP/wrap" <<EOW
#!/bin/sh
set -- \$SSH_ORIGINAL_COMMAND
[ \$# -ge 3 ] && shift 3
hold() {
	[ \$# = 4 ] && [ -f "$PV_TMP/hang-\$1-\$3" ] || return 0
	rm -f "$PV_TMP/hang-\$1-\$3"; touch "$PV_TMP/hanging-\$3"
	i=0; while [ -f "$PV_TMP/hold-\$3" ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
}
hold before "\$@"
sh -c "\$SSH_ORIGINAL_COMMAND"
rc=\$?
hold after "\$@"
exit \$rc
EOW
chmod 755 "$PV_TMP/wrap"
"$SSH_KEYGEN" -k -f "$TROOT/etc/ssh/revoked.krl" 2>/dev/null || pv_fail "an empty KRL"
cat > "$PV_TMP/pwt_extra" <<EOC
TrustedUserCAKeys $STATE/ca.pub
RevokedKeys $TROOT/etc/ssh/revoked.krl
ForceCommand $PV_TMP/wrap
EOC
pv_start_sshd pwt "$PV_TMP/pwt_extra"
pvctl target add pw01 --host 127.0.0.1 --port "$PV_SSHD_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add"
pvctl target admin pw01 --account "$ME" --root "$TROOT" --krl /etc/ssh/revoked.krl >/dev/null ||
    pv_fail "target admin"
for a in svc1 svc2 svc3 nopw; do
	pvctl exposure add --provider acme --target pw01 --account $a --kind unix-password \
	    --reference "vault:pw01/$a" >/dev/null || pv_fail "exposure $a"
done
xid() { sqlite3 "$DB" "SELECT e.id FROM exposures e WHERE e.secret_ref = 'vault:pw01/$1'"; }
state() { sqlite3 "$DB" "SELECT state FROM exit_items WHERE step = 'rotate' AND item = 'exposure:$(xid "$1")'"; }
[ -n "$(xid svc1)" ] || pv_fail "no exposure id: $(sqlite3 "$DB" 'SELECT * FROM exposures')"

# pw02: its sshd was never told to read the KRL (no RevokedKeys), though
# provost pushes one to where it was told it would be.
mkdir -p "$PV_TMP/troot2/etc/ssh"
cp "$SH" "$PV_TMP/troot2/etc/shadow"
printf 'TrustedUserCAKeys %s\n' "$STATE/ca.pub" > "$PV_TMP/nokrl_extra"
pv_start_sshd nokrl "$PV_TMP/nokrl_extra"
pvctl target add pw02 --host 127.0.0.1 --port "$PV_SSHD_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add pw02"
pvctl target admin pw02 --account "$ME" --root "$PV_TMP/troot2" --krl /etc/ssh/revoked.krl >/dev/null ||
    pv_fail "target admin pw02"

start_provostd "RotationHook unix-password builtin
ExitDirectory $PV_TMP/exits"
out=$(pvssh "alice+pw01" 'echo in' </dev/null 2>&1) || pv_fail "alice on pw01: $out"
out=$(pvssh "alice+pw02" 'echo in' </dev/null 2>&1) || pv_fail "alice on pw02: $out"

# Run 1: killed -9 after svc1's new entry is in place, before it is recorded.
touch "$PV_TMP/hold-svc1" "$PV_TMP/hang-after-svc1"
"$PROVOSTCTL" -f "$CONF" provider exit acme > "$PV_TMP/run1.out" 2>&1 &
RUN=$!
i=0
until [ -f "$PV_TMP/hanging-svc1" ]; do
	i=$((i + 1)); [ $i -lt 600 ] && kill -0 "$RUN" 2>/dev/null ||
	    pv_fail "never held svc1's change: $(cat "$PV_TMP/run1.out")"
	sleep 0.1
done
F1=$(field svc1)
[ "$F1" != "$Y1" ] || pv_fail "svc1's entry is not changed at the hold"
[ "$(state svc1)" = started ] || pv_fail "svc1's rotation is '$(state svc1)', not started"
kill -9 "$RUN"; wait "$RUN" 2>/dev/null
rm -f "$PV_TMP/hold-svc1"
# The admin connection killed mid-way left its recording, written as it
# happened: the script sent and the answer received, marked incomplete.
REC1=$(ls "$PV_TMP"/exits/*/recordings/rotate-1-set-1.pvrec) || pv_fail "no recording of the killed connection"
"$top_builddir/provost-replay" verify --key "$PV_TMP/sec.pem" "$REC1" > "$PV_TMP/rv1.out" 2>&1 &&
    pv_fail "the killed connection's recording verifies as complete"
grep -q 'incomplete: [0-9]* chunks, no end event' "$PV_TMP/rv1.out" || pv_fail "verify: $(cat "$PV_TMP/rv1.out")"
"$top_builddir/provost-replay" export --key "$PV_TMP/sec.pem" --format jsonl "$REC1" > "$PV_TMP/rec1.jsonl" 2>/dev/null
grep -qF "$F1" "$PV_TMP/rec1.jsonl" || pv_fail "the recording lacks the entry sent: $(head -c 600 "$PV_TMP/rec1.jsonl")"
grep -q 'S\\tset' "$PV_TMP/rec1.jsonl" || pv_fail "the recording lacks the answer: $(head -c 900 "$PV_TMP/rec1.jsonl")"

# Run 2: killed -9 before svc2's change reaches the target.
touch "$PV_TMP/hold-svc2" "$PV_TMP/hang-before-svc2"
"$PROVOSTCTL" -f "$CONF" provider exit acme --resume > "$PV_TMP/run2.out" 2>&1 &
RUN=$!
i=0
until [ -f "$PV_TMP/hanging-svc2" ]; do
	i=$((i + 1)); [ $i -lt 600 ] && kill -0 "$RUN" 2>/dev/null ||
	    pv_fail "never held svc2's change: $(cat "$PV_TMP/run2.out")"
	sleep 0.1
done
[ "$(field svc2)" = "$S2" ] || pv_fail "svc2 changed before the hold"
[ "$(state svc2)" = started ] || pv_fail "svc2's rotation is '$(state svc2)', not started"
[ "$(state svc1)" = done ] || pv_fail "svc1 not done in run 2: $(state svc1)"
kill -9 "$RUN"; wait "$RUN" 2>/dev/null
rm -f "$PV_TMP/hold-svc2"

# Run 3: to the end.
pvctl provider exit acme --resume > "$PV_TMP/run3.out" 2>&1 || pv_fail "resume: $(cat "$PV_TMP/run3.out")"
BUNDLE=$(sqlite3 "$DB" "SELECT bundle FROM exits")
[ "$(field svc1)" = "$F1" ] || pv_fail "svc1 was changed a second time"
[ "$(field svc2)" != "$S2" ] || pv_fail "svc2 was not changed"
for a in svc1 svc2 svc3; do [ "$(state $a)" = done ] || pv_fail "$a: $(state $a)"; done
[ "$(state nopw)" = unresolved ] || pv_fail "nopw: $(state nopw)"
sqlite3 "$DB" "SELECT detail FROM exit_items WHERE item = 'exposure:$(xid nopw)' AND step = 'rotate'" |
    grep -q 'has no password to rotate' || pv_fail "nopw's reason"
sqlite3 "$DB" "SELECT detail FROM exit_items WHERE item = 'exposure:$(xid svc1)' AND step = 'rotate'" |
    grep -q '"message":"set by attempt 1' || pv_fail "svc1 not found set by the killed run"
# each target's method; svc3 stays locked; nothing else changed
case $(field svc1) in '$y$'*) ;; *) pv_fail "svc1 not yescrypt: $(field svc1)" ;; esac
case $(field svc2) in '$6$'*) ;; *) pv_fail "svc2 not SHA-512: $(field svc2)" ;; esac
case $(field svc3) in '!$y$'*) ;; *) pv_fail "svc3 not locked yescrypt: $(field svc3)" ;; esac
grep -Ev '^svc[123]:' "$SH" | cmp -s - "$(grep -Ev '^svc[123]:' "$PV_TMP/shadow.before" > "$PV_TMP/o"; echo "$PV_TMP/o")" ||
    pv_fail "other lines of the shadow changed"
[ "$(stat -c %a "$SH")" = 640 ] || pv_fail "the shadow's mode changed"
[ "$(grep -c '^svc' "$SH")" = 3 ] || pv_fail "lines lost"

# The new passwords: only through the team's key; they open the entries.
pvctl exit secrets "$BUNDLE" --key "$PV_TMP/sec.pem" > "$PV_TMP/secrets.out" 2>/dev/null ||
    pv_fail "exit secrets"
for n in 1 2 3; do
	pw=$(sed -n "s/^exposure:$(xid svc$n): //p" "$PV_TMP/secrets.out")
	[ ${#pw} = 24 ] || pv_fail "svc$n: no 24-character password in exit secrets"
	opens svc$n "$pw" || pv_fail "svc$n: the sealed password does not open the entry"
	opens svc$n old-pass-$n && pv_fail "svc$n: the old password still opens it"
	grep -rqF "$pw" "$BUNDLE" "$STATE" "$PV_TMP"/run*.out "$PV_TMP"/*.log && pv_fail "svc$n's password in clear"
done
"$OPENSSL" genpkey -algorithm X25519 -out "$PV_TMP/other.pem" 2>/dev/null
pvctl exit secrets "$BUNDLE" --key "$PV_TMP/other.pem" >/dev/null 2>&1 && pv_fail "opened with another key"
# Exactly once on the record: one done row per password in the audit.
for a in svc1 svc2 svc3; do
	[ "$(pvctl audit export --format jsonl | grep '"action":"exit.item"' | grep '"state":"done"' |
	    grep -c "\"exposure:$(xid $a)\"")" = 1 ] || pv_fail "$a: not one done row"
done
# The verify step read each entry back.
for a in svc1 svc2 svc3; do
	sqlite3 "$DB" "SELECT state FROM exit_items WHERE step = 'verify' AND item = 'rotated:exposure:$(xid $a)'" |
	    grep -qx done || pv_fail "verify $a"
done
grep -q '^rotate .*3 done, 3 unresolved' "$PV_TMP/run3.out" || pv_fail "rotate: $(cat "$PV_TMP/run3.out")"
pvctl exit verify "$BUNDLE/certificate.json" "$BUNDLE" >/dev/null 2>&1 || pv_fail "exit verify"
# The verify step tried alice's last certificate serial at each target
# she touched: pw01's sshd refused it through the KRL (and took the same
# certificate with serial 0); pw02's took it: unresolved, never done.
vitem() { sqlite3 "$DB" "SELECT state, detail FROM exit_items WHERE step = 'verify' AND item = 'certificate:$1'"; }
vitem pw01 | grep -q '^done|.*"result":"refused by sshd; the same certificate with serial 0 was accepted"' ||
    pv_fail "certificate:pw01: $(vitem pw01)"
grep -q "revoked by file $TROOT/etc/ssh/revoked.krl" "$PV_TMP/pwt.log" ||
    pv_fail "pw01's sshd did not refuse it through the KRL"
vitem pw02 | grep -q '^unresolved|.*sshd accepted a certificate with serial [0-9]* (alice.s, minted before the exit): the KRL is not in force there' ||
    pv_fail "certificate:pw02: $(vitem pw02)"
grep -q 'verify certificate:pw02' "$BUNDLE/certificate.md" || pv_fail "certificate.md lacks certificate:pw02"
# The provider's old password set back by hand: --reverify says so.
sed -i "s|^svc2:[^:]*:|svc2:$S2:|" "$SH"
pvctl provider exit acme --reverify > "$PV_TMP/rv.out" 2>&1 || pv_fail "reverify: $(cat "$PV_TMP/rv.out")"
sqlite3 "$DB" "SELECT state, detail FROM exit_items WHERE step LIKE 'reverify-%' AND
    item = 'rotated:exposure:$(xid svc2)'" | grep -q '^unresolved|.*has its old password again' ||
    pv_fail "reverify did not see svc2's old password"
pv_log "run 3: $(grep -E '^(rotate|verify) ' "$PV_TMP/run3.out" | tr '\n' ';')"
pv_log "unix-password: rotated once each across two kills, sealed, verified; old entry caught"
exit 0
