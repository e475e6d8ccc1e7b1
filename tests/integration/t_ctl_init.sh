#!/bin/sh
# t_ctl_init.sh: provostctl init makes a state dir whose keys OpenSSH's own
# tools read and use, refuses to overwrite it, and the command line answers
# --help everywhere, one-line errors and documented exit codes.
. "$top_srcdir/tests/integration/lib.sh"

CTL="$top_builddir/provostctl"
[ -x "$CTL" ] || pv_fail "provostctl not built"
S="$PV_TMP/state"
cat > "$PV_TMP/provostd.conf" <<EOC
# test config: broker keywords ctl does not use are accepted too
ListenAddress 127.0.0.1:2222
StateDirectory $S
PolicyFile $PV_TMP/policy.conf
CertificateLifetime 2m
MFAGrace 10m
LogLevel info
ControlSocket $PV_TMP/run/control.sock
EOC
ctl() { "$CTL" -f "$PV_TMP/provostd.conf" "$@"; }

# A store that does not exist yet is an error, not a silent new one.
ctl provider list > /dev/null 2>"$PV_TMP/err"
rc=$?
[ $rc -eq 6 ] || pv_fail "provider list before init: exit $rc, want 6"
grep -q "run provostctl init first" "$PV_TMP/err" || pv_fail "no init hint"

ctl init > "$PV_TMP/ca.out" 2>"$PV_TMP/init.err" || pv_fail "init failed: $(cat "$PV_TMP/init.err")"
[ "$(cat "$PV_TMP/ca.out")" = "$(cat "$S/ca.pub")" ] || pv_fail "init did not print the CA public key"
for k in ca host_ed25519 audit_ed25519 token_ed25519; do
	[ -f "$S/$k" ] || pv_fail "$k missing"
	mode=$(stat -c %a "$S/$k")
	[ "$mode" = 600 ] || pv_fail "$k has mode $mode"
	# OpenSSH reads the private key and derives the same public key.
	"$SSH_KEYGEN" -y -f "$S/$k" > "$PV_TMP/$k.derived" || pv_fail "ssh-keygen -y $k"
done
[ "$(cut -d' ' -f2 "$PV_TMP/ca.derived")" = "$(cut -d' ' -f2 "$S/ca.pub")" ] || pv_fail "ca.pub does not match ca"
[ "$(cut -d' ' -f2 "$PV_TMP/token_ed25519.derived")" = "$(cut -d' ' -f2 "$S/token.pub")" ] || pv_fail "token.pub does not match"
[ "$(stat -c %a "$S/totp.key")" = 600 ] || pv_fail "totp.key mode"
[ "$(stat -c %s "$S/totp.key")" = 32 ] || pv_fail "totp.key size"
[ "$(stat -c %a "$S")" = 700 ] || pv_fail "state dir mode"
"$SSH_KEYGEN" -l -f "$S/ca.pub" | grep -q "ED25519" || pv_fail "ssh-keygen -l ca.pub"
# Emergency use: ssh-keygen -s signs a user certificate with the CA.
pv_keygen "$PV_TMP/user"
"$SSH_KEYGEN" -q -s "$S/ca" -I emergency -n root -V +5m "$PV_TMP/user.pub" || pv_fail "ssh-keygen -s with the CA"
"$SSH_KEYGEN" -L -f "$PV_TMP/user-cert.pub" | grep -q "Key ID: \"emergency\"" || pv_fail "certificate not readable"

# Never overwrite.
before=$(sha256sum "$S/ca" | cut -d' ' -f1)
ctl init > /dev/null 2>"$PV_TMP/err"
rc=$?
[ $rc -eq 4 ] || pv_fail "second init: exit $rc, want 4"
[ "$(wc -l < "$PV_TMP/err")" -eq 1 ] || pv_fail "error is not one line"
grep -q "refusing to overwrite" "$PV_TMP/err" || pv_fail "no refusal message"
[ "$(sha256sum "$S/ca" | cut -d' ' -f1)" = "$before" ] || pv_fail "CA key changed"

# The audit chain starts with the init record.
ctl audit verify > "$PV_TMP/v" || pv_fail "audit verify after init"
grep -q "1 rows, 0 checkpoints: intact" "$PV_TMP/v" || pv_fail "unexpected verify: $(cat "$PV_TMP/v")"

# Config errors name FILE:LINE; truly unknown keywords are refused.
printf 'StateDirectory %s\nFrobnicate yes\n' "$S" > "$PV_TMP/bad.conf"
"$CTL" -f "$PV_TMP/bad.conf" provider list > /dev/null 2>"$PV_TMP/err"
rc=$?
[ $rc -eq 6 ] || pv_fail "unknown keyword: exit $rc, want 6"
grep -q "bad.conf:2:" "$PV_TMP/err" || pv_fail "no file:line: $(cat "$PV_TMP/err")"

# --help on every command exits 0 and prints its usage.
"$CTL" --help > "$PV_TMP/help" || pv_fail "--help"
n=0
sed -n 's/^ *provostctl \([a-z]*\) \([a-z]*\).*/\1 \2/p' "$PV_TMP/help" | sort -u > "$PV_TMP/cmds"
while read -r g c; do
	case "$g $c" in
	"engineer key") set -- engineer key add ;;
	"approver key") set -- approver key add ;;
	"audit anchors") set -- audit anchors export ;;
	"report ") set -- report ;;
	*) set -- "$g" "$c" ;;
	esac
	"$CTL" "$@" --help > "$PV_TMP/h1" || pv_fail "$* --help exited non-zero"
	grep -q "^usage: provostctl $*" "$PV_TMP/h1" || pv_fail "$* --help: $(cat "$PV_TMP/h1")"
	# The man page documents every command (docs must not drift).
	sed 's/\\-/-/g; s/"//g; s/\\f[BIR]//g' "$top_srcdir/docs/provostctl.8" |
	    grep -q "$g $c" || pv_fail "provostctl.8 does not document $g $c"
	n=$((n + 1))
done < "$PV_TMP/cmds"
[ $n -ge 25 ] || pv_fail "only $n commands in --help"
"$CTL" init --help > /dev/null || pv_fail "init --help"

# Usage errors: exit 2, one line before the usage.
"$CTL" frobnicate > /dev/null 2>&1
[ $? -eq 2 ] || pv_fail "unknown command not exit 2"
ctl engineer add > /dev/null 2>&1
[ $? -eq 2 ] || pv_fail "missing argument not exit 2"
ctl grant request alice db01 --account a --duration soon > /dev/null 2>&1
[ $? -eq 2 ] || pv_fail "bad duration not exit 2"
ctl provider show nobody > /dev/null 2>"$PV_TMP/err"
[ $? -eq 3 ] || pv_fail "unknown provider not exit 3"
grep -q "provider nobody: not found" "$PV_TMP/err" || pv_fail "not-found message: $(cat "$PV_TMP/err")"
pv_log "init, OpenSSH key formats, refusal, --help on $n commands, exit codes ok"
exit 0
