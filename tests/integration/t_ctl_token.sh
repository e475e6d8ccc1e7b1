#!/bin/sh
# t_ctl_token.sh: provostctl token issue (only what the policy allows now,
# recorded and audited) and revocations export (a signed list pam_provost
# accepts, naming what was revoked, sequence rising; RevocationList kept
# current by revoke).  Tokens and lists are checked by the built
# pam_provost.so under pam_wrapper + pamtester when those exist.
. "$top_srcdir/tests/integration/lib.sh"
pv_serialize pam_wrapper

CTL="$top_builddir/provostctl"
MOD="$top_builddir/.libs/pam_provost.so"
S="$PV_TMP/state"
T=$PV_TMP
cat >"$T/provostd.conf" <<EOC
StateDirectory $S
PolicyFile $T/policy.conf
CertificateLifetime 5m
RevocationList $T/auto.list
ControlSocket $T/run/control.sock
EOC
cat >"$T/policy.conf" <<'EOC'
Levels public internal confidential

Rule standing-public
    Classification public
    Approval none
    Channels shell exec

Rule internal-jit
    Classification internal
    Approval auto
    MaxDuration 8h
EOC
ctl() { ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} "$CTL" -f "$T/provostd.conf" "$@"; }
expect_rc() { # WANT DESCRIPTION CMD...
	want=$1; what=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	[ "$got" -eq "$want" ] || pv_fail "$what: exit $got, want $want ($(cat "$T/err"))"
}

# pam_provost through pamtester, if both are here.
PAM=yes
[ -n "${PAMTESTER:-}" ] && [ -x "$PAMTESTER" ] || PAM=
PWLIB=
for cand in "${PAM_WRAPPER_LIBDIR:+$PAM_WRAPPER_LIBDIR/libpam_wrapper.so}" \
    /usr/lib/x86_64-linux-gnu/libpam_wrapper.so /usr/lib64/libpam_wrapper.so; do
	[ -f "$cand" ] && { PWLIB=$cand; break; }
done
[ -n "$PWLIB" ] && [ -f "$MOD" ] || PAM=
PRELOAD=$PWLIB
if [ -n "$PAM" ] && nm -D "$MOD" 2>/dev/null | grep -q '__asan_'; then
	ASANRT=$(${PV_CC:-cc} -print-file-name=libasan.so)
	[ -f "$ASANRT" ] || pv_fail "ASan runtime not found ($ASANRT)"
	PRELOAD="$ASANRT $PWLIB"
	ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
	export ASAN_OPTIONS
fi
mkdir "$T/svc"
# svc NAME [revoked=LIST]: a service checking tokens for target db01.
svc() {
	o="key=$S/token.pub target=db01 nonce_dir=$T/nonces state_dir=$T/pamstate${2:+ $2}"
	printf 'auth required %s %s\naccount required %s %s\n' "$MOD" "$o" "$MOD" "$o" \
	    >"$T/svc/$1"
}
# pam SERVICE USER TOKEN: authenticate + acct_mgmt; 0 if accepted.
pam() {
	printf '%s\n' "$3" | env LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 \
	    PAM_WRAPPER_SERVICE_DIR="$T/svc" PAM_WRAPPER_DEBUGLEVEL=3 \
	    "$PAMTESTER" -v "$1" "$2" authenticate acct_mgmt >"$T/pam.out" 2>"$T/pam.err"
	rc=$?
	if grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' "$T/pam.err"; then
		cat "$T/pam.err"; pv_fail "sanitizer report in pam_provost"
	fi
	return $rc
}

ctl init >/dev/null 2>&1 || pv_fail "init"
[ -f "$S/token_ed25519" ] && [ -f "$S/token.pub" ] || pv_fail "init made no token key"
pv_keygen "$T/hk"
ctl provider add acme >/dev/null || pv_fail provider
for e in alice eve; do ctl engineer add $e --provider acme >/dev/null || pv_fail "engineer $e"; done
ctl target add db01 --host 127.0.0.1 --classification public --accounts root,postgres \
    --hostkey "$T/hk.pub" --auth pam-token >/dev/null || pv_fail "target db01"
ctl target add int1 --host 127.0.0.1 --classification internal --accounts root \
    --hostkey "$T/hk.pub" --auth pam-token >/dev/null || pv_fail "target int1"
ctl target add conf1 --host 127.0.0.1 --classification confidential --accounts root \
    --hostkey "$T/hk.pub" --auth pam-token >/dev/null || pv_fail "target conf1"

# 1. Refusals: nobody, no account, no rule, no grant, too long.
expect_rc 3 "unknown engineer" ctl token issue mallory db01 root
expect_rc 5 "account the target lacks" ctl token issue alice db01 oracle
expect_rc 5 "no rule" ctl token issue alice conf1 root
expect_rc 5 "no grant" ctl token issue alice int1 root
grep -q "grant" "$T/err" || pv_fail "no-grant refusal does not say why: $(cat "$T/err")"
expect_rc 2 "lifetime over CertificateLifetime" ctl token issue alice db01 root --lifetime 1h
expect_rc 2 "usage" ctl token issue alice db01
[ -s "$T/out" ] && pv_fail "a refusal printed on stdout"
pv_log "ok: token issue refused without policy, grant or account"

# 2. Issued: one line on stdout, recorded and audited, accepted once.
expect_rc 0 "token issue" ctl token issue alice db01 postgres --lifetime 2m
tok=$(cat "$T/out")
case $tok in pvt1.*.*) ;; *) pv_fail "not a token: $tok" ;; esac
[ "$(wc -l <"$T/out")" -eq 1 ] || pv_fail "more than the token on stdout"
[ -s "$T/err" ] && pv_fail "token issue wrote to stderr: $(cat "$T/err")"
ctl audit export --format jsonl >"$T/audit.jsonl" || pv_fail "audit export"
grep '"action":"token.issue"' "$T/audit.jsonl" | grep -q '"engineer":"alice"' ||
	pv_fail "token issue not audited"
grep -q "$tok" "$T/audit.jsonl" && pv_fail "the token reached the audit log"
grep '"action":"credential' "$T/audit.jsonl" | grep -q . || pv_fail "no credential row audited"
ctl audit verify >/dev/null || pv_fail "audit chain broken"
if [ -n "$PAM" ]; then
	svc plain
	pam plain postgres "$tok" || { cat "$T/pam.err"; pv_fail "pam_provost refused the issued token"; }
	pam plain postgres "$tok" && pv_fail "issued token accepted twice"
	pam plain root "$(ctl token issue alice db01 postgres)" && pv_fail "token for postgres accepted as root"
	pv_log "ok: issued token verified by pam_provost, once"
else
	pv_log "pamtester or pam_wrapper missing: tokens not checked by the module"
fi

# 3. With a grant the token binds it.
ctl grant request alice int1 --account root --duration 1h >/dev/null || pv_fail "grant request"
expect_rc 0 "token with grant" ctl --json token issue alice int1 root
grep -q '"token": "pvt1\.' "$T/out" || pv_fail "json token: $(cat "$T/out")"
ctl audit export --format jsonl | grep '"action":"token.issue"' | tail -1 |
	grep -q '"grant":"[0-9a-f-]\{36\}"' || pv_fail "grant id not in the audit row"
pv_log "ok: token under a grant"

# 4. Export: sequence rises, the list is accepted, names what was revoked.
evetok=$(ctl token issue eve db01 postgres) || pv_fail "token for eve"
expect_rc 0 "export" ctl revocations export "$T/r1.list"
head -1 "$T/r1.list" | grep -qx pvr1 || pv_fail "not a pvr1 list"
s1=$(sed -n 's/^sequence //p' "$T/r1.list")
grep -q '^engineer ' "$T/r1.list" && pv_fail "nothing revoked yet, list names an engineer"
expect_rc 0 "export again" ctl revocations export "$T/r2.list"
s2=$(sed -n 's/^sequence //p' "$T/r2.list")
[ "$s2" -gt "$s1" ] || pv_fail "sequence did not rise: $s1 then $s2"
[ "$(stat -c %a "$T/r2.list")" = 644 ] || pv_fail "list mode $(stat -c %a "$T/r2.list")"
if [ -n "$PAM" ]; then
	svc listed "revoked=$T/r2.list"
	pam listed postgres "$(ctl token issue alice db01 postgres)" ||
		{ cat "$T/pam.err"; pv_fail "pam_provost refused a token with the exported list"; }
fi
[ -f "$T/auto.list" ] && pv_fail "RevocationList written before any revocation"
expect_rc 0 "revoke eve" ctl revoke engineer eve
[ -f "$T/auto.list" ] || pv_fail "revoke did not rewrite RevocationList"
grep -qx 'engineer eve' "$T/auto.list" || pv_fail "list does not name eve: $(cat "$T/auto.list")"
grep -q '^serial ' "$T/auto.list" || pv_fail "eve's token serial not listed"
s3=$(sed -n 's/^sequence //p' "$T/auto.list")
[ "$s3" -gt "$s2" ] || pv_fail "sequence did not rise: $s2 then $s3"
expect_rc 5 "token for a revoked engineer" ctl token issue eve db01 postgres
if [ -n "$PAM" ]; then
	svc auto "revoked=$T/auto.list"
	pam auto postgres "$evetok" && pv_fail "revoked engineer's token accepted"
	grep -q "revoked" "$T/pam.err" || { cat "$T/pam.err"; pv_fail "not refused as revoked"; }
	pam auto postgres "$(ctl token issue alice db01 postgres)" ||
		{ cat "$T/pam.err"; pv_fail "alice refused with eve revoked"; }
	# An older list put back is refused (the module's rollback guard).
	svc old "revoked=$T/r1.list"
	pam old postgres "$(ctl token issue alice db01 postgres)" && pv_fail "older list accepted"
fi
ctl grant list --json >"$T/grants.json" || pv_fail "grant list"
gid=$(sed -n 's/.*"id": "\([0-9a-f-]\{36\}\)".*/\1/p' "$T/grants.json" | head -1)
expect_rc 0 "revoke grant" ctl revoke grant "$gid"
grep -qx "grant $gid" "$T/auto.list" || pv_fail "revoked grant not listed"
expect_rc 0 "disable alice" ctl engineer disable alice
grep -qx 'engineer alice' "$T/auto.list" || pv_fail "disabled engineer not listed"
ctl audit export --format jsonl | grep -c '"action":"revocations.export"' >"$T/n"
[ "$(cat "$T/n")" -ge 5 ] || pv_fail "exports not audited ($(cat "$T/n"))"
# The minutely sweep re-signs a list an hour old (pam_provost refuses one
# older than revoked_maxage, 1d by default), and leaves a newer one alone.
s4=$(sed -n 's/^sequence //p' "$T/auto.list")
expect_rc 0 "sweep, list fresh" ctl grant expire
[ "$(sed -n 's/^sequence //p' "$T/auto.list")" = "$s4" ] || pv_fail "a fresh list was rewritten"
touch -d '2 hours ago' "$T/auto.list"
expect_rc 0 "sweep, list an hour old" ctl grant expire
s5=$(sed -n 's/^sequence //p' "$T/auto.list")
[ "$s5" -gt "$s4" ] || pv_fail "the sweep did not re-sign an old list ($s4 -> $s5)"
[ "$(find "$T/auto.list" -mmin -5)" ] || pv_fail "the re-signed list is not new"
pv_log "ok: revocation list exported, rising, kept current by revoke and by the sweep"
