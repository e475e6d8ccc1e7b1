#!/bin/sh
# t_pam_token.sh: the built pam_provost.so under pam_wrapper + pamtester:
# a valid token opens a session with PROVOST_SESSION; every bad token, a
# replay, a revoked engineer and a bad revocation list or key are refused,
# each with one syslog line saying why.
. "$top_srcdir/tests/integration/lib.sh"
pv_serialize pam_wrapper

[ -n "${PAMTESTER:-}" ] && [ -x "$PAMTESTER" ] ||
	pv_skip "pamtester not found (apt-get install pamtester)"
# libpam_wrapper: from configure, else where pkg-config says it is.
PWLIB=
for cand in "${PAM_WRAPPER_LIBDIR:+$PAM_WRAPPER_LIBDIR/libpam_wrapper.so}" \
    $(pkg-config --libs pam_wrapper 2>/dev/null) \
    /usr/lib/x86_64-linux-gnu/libpam_wrapper.so /usr/lib64/libpam_wrapper.so \
    /usr/lib/libpam_wrapper.so; do
	case $cand in */libpam_wrapper.so) [ -f "$cand" ] && { PWLIB=$cand; break; } ;; esac
done
[ -n "$PWLIB" ] || pv_skip "libpam_wrapper not found (apt-get install libpam-wrapper)"
PWMODDIR=$(pkg-config --variable=modules pam_wrapper 2>/dev/null)
[ -n "$PWMODDIR" ] || PWMODDIR=$(dirname "$PWLIB")/pam_wrapper
[ -f "$PWMODDIR/pam_set_items.so" ] || pv_skip "pam_set_items.so not found"
PAMEXEC=
for d in /lib/x86_64-linux-gnu/security /usr/lib/x86_64-linux-gnu/security \
    /lib64/security /usr/lib64/security /lib/security /usr/lib/security; do
	[ -f "$d/pam_exec.so" ] && { PAMEXEC=$d/pam_exec.so; break; }
done
[ -n "$PAMEXEC" ] || pv_skip "pam_exec.so not found (libpam-modules)"

MOD="$top_builddir/.libs/pam_provost.so"
TOOL="$top_builddir/tests/pam/pvt-tool"
[ -f "$MOD" ] || pv_fail "module not built: $MOD"
[ -x "$TOOL" ] || pv_fail "test tool not built: $TOOL"

# pamtester is not built with ASan; a module that is needs the ASan
# runtime loaded first.  Detect it from the build flags and the object.
PRELOAD=$PWLIB
if case " ${PV_SAN_CFLAGS:-} " in *-fsanitize=*address*) true ;; *) false ;; esac ||
    nm -D "$MOD" 2>/dev/null | grep -q '__asan_'; then
	ASANRT=$(${PV_CC:-cc} -print-file-name=libasan.so)
	[ -f "$ASANRT" ] || pv_fail "ASan runtime not found ($ASANRT)"
	PRELOAD="$ASANRT $PWLIB"
	ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
	export ASAN_OPTIONS
	pv_log "module built with ASan: preloading $ASANRT"
fi

T=$PV_TMP
"$SSH_KEYGEN" -q -t ed25519 -N '' -C token -f "$T/token" || pv_fail keygen
"$SSH_KEYGEN" -q -t ed25519 -N '' -C other -f "$T/other" || pv_fail keygen
MSID=0b6f1c2e-3d4a-4b5c-8d6e-7f8091a2b3c4
"$TOOL" revlist "$T/token" 3 engineer mallory session "$MSID" \
	>"$T/revoked.list" || pv_fail "revlist"
"$TOOL" revlist "$T/other" 4 engineer nobody >"$T/other.list" || pv_fail revlist
# One byte of the signed body changed (3 -> 4 in the sequence line).
sed 's/^sequence 3$/sequence 4/' "$T/revoked.list" >"$T/corrupt.list"
cmp -s "$T/revoked.list" "$T/corrupt.list" && pv_fail "corruption did nothing"

mkdir "$T/svc"
svc() { # NAME AUTH-ARGS ACCOUNT-ARGS
	{
		[ "$2" = none ] || echo "auth required $MOD $2"
		echo "account required $MOD $3"
		echo "session required $MOD $3"
		echo "session required $PAMEXEC stdout /usr/bin/env"
	} >"$T/svc/$1"
}
base="key=$T/token.pub target=db01 nonce_dir=$T/nonces state_dir=$T/state skew=60"
svc pvt "$base revoked=$T/revoked.list" "$base revoked=$T/revoked.list"
svc acctrev "$base" "$base revoked=$T/revoked.list"
svc corrupt "$base revoked=$T/corrupt.list" "$base revoked=$T/corrupt.list"
svc otherlist "$base revoked=$T/other.list" "$base revoked=$T/other.list"
svc nolist "$base revoked=$T/absent.list" "$base revoked=$T/absent.list"
PVT_ISSUED_OFFSET=-7200 "$TOOL" revlist "$T/token" 5 engineer nobody \
	>"$T/old.list" || pv_fail revlist
svc stale "$base revoked=$T/old.list revoked_maxage=1h" \
	"$base revoked=$T/old.list revoked_maxage=1h"
svc fresh "$base revoked=$T/old.list revoked_maxage=3h" \
	"$base revoked=$T/old.list revoked_maxage=3h"
PVT_ISSUED_OFFSET=-172800 "$TOOL" revlist "$T/token" 7 engineer nobody \
	>"$T/old2.list" || pv_fail revlist
svc stale2 "$base revoked=$T/old2.list" "$base revoked=$T/old2.list"
svc nolimit "$base revoked=$T/old2.list revoked_maxage=0" \
	"$base revoked=$T/old2.list revoked_maxage=0"
nokey="key=$T/absent.pub target=db01 nonce_dir=$T/nonces"
svc nokey "$nokey" "$nokey"
svc badopt "$base colour=blue" "$base"
svc dupopt "$base target=db02" "$base"
svc relpath "key=token.pub target=db01" "$base"
svc notarget "key=$T/token.pub nonce_dir=$T/nonces" "$base"
svc acctonly none "$base"
mkdir -m 0777 "$T/opencache"
svc opencache "key=$T/token.pub target=db01 nonce_dir=$T/opencache" "$base"
{
	echo "auth required $PWMODDIR/pam_set_items.so"
	echo "auth required $MOD $base"
} >"$T/svc/authtok"
# Anything not listed is denied (and pam_wrapper stops complaining).
printf 'auth requisite %s\naccount requisite %s\n' \
	"$(dirname "$PAMEXEC")/pam_deny.so" "$(dirname "$PAMEXEC")/pam_deny.so" \
	>"$T/svc/other"

N=0
# pam SERVICE USER TOKEN OPS...: runs pamtester with TOKEN on stdin.
pam() {
	s=$1 u=$2 tok=$3; shift 3
	N=$((N + 1))
	OUT="$T/run$N.out" ERR="$T/run$N.err"
	rc=0
	printf '%s\n' "$tok" | env LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 \
	    PAM_WRAPPER_SERVICE_DIR="$T/svc" PAM_WRAPPER_DEBUGLEVEL=3 \
	    "$PAMTESTER" -v "$s" "$u" "$@" >"$OUT" 2>"$ERR" || rc=$?
	sanitizer_clean
	return $rc
}
# A sanitizer report is a failure even where a refusal was expected.
sanitizer_clean() {
	if grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' \
	    -e 'ERROR: LeakSanitizer' "$ERR"; then
		cat "$ERR"; pv_fail "sanitizer report in run $N"
	fi
}
# Our module's syslog lines of the last run (pam_wrapper prints them).
ourlog() { grep 'SYSLOG(' "$ERR" | grep -v '_pam_init_handlers' || :; }

ok() { # NAME SERVICE USER TOKEN OPS...
	name=$1; shift
	pam "$@" || { cat "$OUT"; ourlog; pv_fail "$name: refused"; }
	pv_log "ok: $name"
}
# refused NAME WHY SERVICE USER TOKEN OPS...: refused, one line saying WHY.
refused() {
	name=$1 why=$2; shift 2
	if pam "$@"; then cat "$OUT"; pv_fail "$name: accepted"; fi
	grep -q 'pamtester: successfully authenticated' "$OUT" &&
		[ $# -eq 4 ] && pv_fail "$name: auth passed"
	n=$(ourlog | grep -c 'SYSLOG([0-4])')
	[ "$n" -eq 1 ] || { ourlog; pv_fail "$name: $n refusal lines, want 1"; }
	ourlog | grep -q -- "$why" || { ourlog; pv_fail "$name: not refused for \"$why\""; }
	pv_log "refused as expected: $name ($why)"
}

tok() { "$TOOL" token "$@" || pv_fail "pvt-tool token $*"; }

# 1. A valid token: auth, account, session with PROVOST_SESSION set.
SID=$(cat /proc/sys/kernel/random/uuid 2>/dev/null) || SID=
case $SID in ????????-????-4???-[89ab]???-????????????) ;; *) SID=1c2d3e4f-5a6b-4c7d-9e8f-a0b1c2d3e4f5 ;; esac
good=$(tok "$T/token" alice postgres db01 0 120 42 "$SID")
ok "valid token" pvt postgres "$good" authenticate acct_mgmt open_session close_session
grep -q "^PROVOST_SESSION=$SID\$" "$OUT" || { cat "$OUT"; pv_fail "PROVOST_SESSION not set"; }
grep -q '^PROVOST_TOKEN=' "$OUT" && pv_fail "spent token left in the session environment"
ourlog | grep -q "token accepted for postgres on db01: engineer alice, session $SID" ||
	{ ourlog; pv_fail "no acceptance line"; }
ourlog | grep -q "session opened for postgres on db01: provost session $SID" ||
	pv_fail "no session open line"
ourlog | grep -q "session closed for postgres on db01: provost session $SID" ||
	pv_fail "no session close line"

# 2. The same token again.
refused "replay" "already used (replay)" pvt postgres "$good" authenticate

# 3. Time, account, target, signature, shape.
refused "expired" "token expired" pvt postgres \
	"$(tok "$T/token" alice postgres db01 -1000 120 1 -)" authenticate
refused "not yet valid" "token not yet valid" pvt postgres \
	"$(tok "$T/token" alice postgres db01 1000 120 1 -)" authenticate
refused "wrong account" "another account" pvt root \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
refused "wrong target" "another target" pvt postgres \
	"$(tok "$T/token" alice postgres db02 0 120 1 -)" authenticate
refused "bad signature" "bad token signature" pvt postgres \
	"$(tok "$T/other" alice postgres db01 0 120 1 -)" authenticate
t=$(tok "$T/token" alice postgres db01 0 120 1 -)
refused "truncated" "malformed token" pvt postgres \
	"$(printf '%s' "$t" | cut -c1-$((${#t} - 10)))" authenticate
big=$t$(printf '%0600d' 0)
refused "oversize" "token too long" pvt postgres "$big" authenticate
refused "wrong version" "unsupported token version" pvt postgres \
	"pvt2${t#pvt1}" authenticate
# The fake password sshd sends for an invalid user, as PAM_AUTHTOK.
fake=$(printf '\b\n\r\177INCORRECT')
N=$((N + 1)); OUT="$T/run$N.out"; ERR="$T/run$N.err"
if env LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
    PAM_WRAPPER_DEBUGLEVEL=3 PAM_AUTHTOK="$fake" \
    "$PAMTESTER" -v authtok nosuchuser authenticate </dev/null >"$OUT" 2>"$ERR"; then
	pv_fail "sshd's invalid-user password accepted"
fi
sanitizer_clean
ourlog | grep -q "token refused for nosuchuser: malformed token" ||
	{ ourlog; pv_fail "fake password not refused as malformed"; }
pv_log "refused as expected: sshd invalid-user password"

# 4. Revocation: in auth, and in account when auth does not check.
refused "revoked engineer" "engineer revoked" pvt postgres \
	"$(tok "$T/token" mallory postgres db01 0 120 1 -)" authenticate
refused "revoked session" "session revoked" pvt postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 "$MSID")" authenticate
refused "revoked engineer at account" "engineer revoked" acctrev postgres \
	"$(tok "$T/token" mallory postgres db01 0 120 1 -)" authenticate acct_mgmt
grep -q 'successfully authenticated' "$OUT" || pv_fail "acctrev: auth should pass"
refused "corrupted revocation list" "signature does not verify" corrupt postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
refused "list signed by another key" "signature does not verify" otherlist postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
refused "missing revocation list" "revocation list" nolist postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate

refused "stale revocation list" "revoked_maxage is 3600 s" stale postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
ok "revocation list within revoked_maxage" fresh postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate acct_mgmt

# The fresh list (sequence 5) was accepted: the older one (3) is refused now.
refused "revocation list rolled back" "rolled back (sequence 3, 5 seen before)" \
	pvt postgres "$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
# A reboot empties /run (the nonce cache): the sequence is kept elsewhere.
[ -f "$T/state/revlist.seq" ] || pv_fail "no revlist.seq in state_dir"
mv "$T/nonces" "$T/nonces.before-reboot"
refused "revocation list rolled back after a reboot" "rolled back (sequence 3, 5 seen before)" \
	pvt postgres "$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
# Without revoked_maxage, a list two days old is stale (the default is 1d);
# revoked_maxage=0 says not to care.
refused "revocation list older than the default maxage" "revoked_maxage is 86400 s" \
	stale2 postgres "$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
ok "revoked_maxage=0" nolimit postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate acct_mgmt

# 5. Configuration errors never succeed.
refused "missing key file" "cannot load token key" nokey postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
refused "unknown option" "unknown option" badopt postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
refused "repeated option" "repeated or unknown option" dupopt postgres \
	"$(tok "$T/token" alice postgres db02 0 120 1 -)" authenticate
refused "relative key path" "bad, repeated" relpath postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
refused "missing target" "target=NAME are required" notarget postgres \
	"$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
refused "replay cache writable by others" "replay cache unusable" opencache \
	postgres "$(tok "$T/token" alice postgres db01 0 120 1 -)" authenticate
refused "account without auth" "no provost token was verified" acctonly postgres \
	"" acct_mgmt

# Only tokens that passed auth were claimed: the valid one, the one the
# account phase refused, the fresh-list one (before the "reboot") and the
# revoked_maxage=0 one (after).  Refused tokens leave nothing behind.
n=$(ls "$T/nonces" "$T/nonces.before-reboot" | grep -c '^[0-9a-f]\{32\}$')
[ "$n" -eq 4 ] || pv_fail "replay cache holds $n entries, want 4"
pv_log "all cases passed"
