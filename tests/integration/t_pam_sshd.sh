#!/bin/sh
# t_pam_sshd.sh: a real sshd (UsePAM, keyboard-interactive) under
# pam_wrapper with pam_provost as its PAM stack, and the real ssh client
# answering the prompt with a token: accepted once, replay refused, and
# sshd's invalid-user fake password refused.  sshd authenticates in a
# separate process, so this also proves the token's trip to account+session.
. "$top_srcdir/tests/integration/lib.sh"
pv_serialize pam_wrapper

[ -x "$SSHD" ] || pv_skip "sshd not found (apt-get install openssh-server)"
[ "$(id -u)" -eq 0 ] || pv_skip "sshd with UsePAM needs root to switch users"
PWLIB=
for cand in "${PAM_WRAPPER_LIBDIR:+$PAM_WRAPPER_LIBDIR/libpam_wrapper.so}" \
    $(pkg-config --libs pam_wrapper 2>/dev/null) \
    /usr/lib/x86_64-linux-gnu/libpam_wrapper.so /usr/lib64/libpam_wrapper.so; do
	case $cand in */libpam_wrapper.so) [ -f "$cand" ] && { PWLIB=$cand; break; } ;; esac
done
[ -n "$PWLIB" ] || pv_skip "libpam_wrapper not found (apt-get install libpam-wrapper)"
PAMEXEC=
for d in /lib/x86_64-linux-gnu/security /usr/lib/x86_64-linux-gnu/security \
    /lib64/security /usr/lib64/security /lib/security /usr/lib/security; do
	[ -f "$d/pam_exec.so" ] && { PAMEXEC=$d/pam_exec.so; break; }
done
[ -n "$PAMEXEC" ] || pv_skip "pam_exec.so not found (libpam-modules)"
# The account provost logs in as: any existing non-root user will do,
# the test looks at sshd's log and the session environment, not a shell.
ACCT=$(getent passwd nobody | cut -d: -f1)
[ -n "$ACCT" ] || pv_skip "no user nobody"

MOD="$top_builddir/.libs/pam_provost.so"
TOOL="$top_builddir/tests/pam/pvt-tool"
[ -f "$MOD" ] && [ -x "$TOOL" ] || pv_fail "module or pvt-tool not built"
PRELOAD=$PWLIB
if case " ${PV_SAN_CFLAGS:-} " in *-fsanitize=*address*) true ;; *) false ;; esac ||
    nm -D "$MOD" 2>/dev/null | grep -q '__asan_'; then
	ASANRT=$(${PV_CC:-cc} -print-file-name=libasan.so)
	[ -f "$ASANRT" ] || pv_fail "ASan runtime not found ($ASANRT)"
	PRELOAD="$ASANRT $PWLIB"
	ASAN_OPTIONS=detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
	export ASAN_OPTIONS
fi

T=$PV_TMP
"$SSH_KEYGEN" -q -t ed25519 -N '' -C token -f "$T/token" || pv_fail keygen
"$SSH_KEYGEN" -q -t ed25519 -N '' -C host -f "$T/host_ed25519" || pv_fail keygen
mkdir "$T/svc"
opts="key=$T/token.pub target=db01 nonce_dir=$T/nonces state_dir=$T/pamstate"
cat >"$T/svc/sshd" <<EOC
auth required $MOD $opts
account required $MOD $opts
session required $MOD $opts
session required $PAMEXEC log=$T/session-env.log /usr/bin/env
EOC
printf 'auth requisite %s/pam_deny.so\n' "$(dirname "$PAMEXEC")" >"$T/svc/other"

[ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null || :
tries=0
while :; do
	port=$(pv_free_port) || pv_fail "no free port"
	cat >"$T/sshd_config" <<EOC
ListenAddress 127.0.0.1:$port
HostKey $T/host_ed25519
PidFile none
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthenticationMethods keyboard-interactive
PermitRootLogin no
StrictModes no
LogLevel VERBOSE
MaxAuthTries 2
EOC
	"$SSHD" -t -f "$T/sshd_config" || pv_fail "sshd -t rejected the config"
	: >"$T/sshd.log"
	env LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/svc" \
	    PAM_WRAPPER_DEBUGLEVEL=2 \
	    "$SSHD" -D -e -f "$T/sshd_config" >>"$T/sshd.log" 2>&1 &
	pid=$!
	pv_track "$pid"
	pv_wait_log "$T/sshd.log" "Server listening on 127.0.0.1 port $port" 10 && break
	kill "$pid" 2>/dev/null
	tries=$((tries + 1))
	[ $tries -lt 5 ] || pv_fail "sshd did not start"
done
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$T/host_ed25519.pub")" \
	>"$T/known_hosts"
cat >"$T/ssh_config" <<EOC
Host *
	BatchMode no
	StrictHostKeyChecking yes
	UserKnownHostsFile $T/known_hosts
	GlobalKnownHostsFile /dev/null
	PreferredAuthentications keyboard-interactive
	NumberOfPasswordPrompts 1
	ConnectTimeout 10
	LogLevel ERROR
EOC
# ssh asks the askpass program for each keyboard-interactive prompt.
cat >"$T/askpass" <<'EOC'
#!/bin/sh
case $1 in *"Provost token"*) cat "$PV_TOKEN_FILE" ;; *) exit 1 ;; esac
EOC
chmod +x "$T/askpass"

# login USER TOKEN: one ssh connection answering with TOKEN.
login() {
	printf '%s\n' "$2" >"$T/tokfile"
	env -u LD_PRELOAD SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force \
	    PV_TOKEN_FILE="$T/tokfile" DISPLAY=none \
	    "$SSH" -F "$T/ssh_config" -p "$port" "$1@127.0.0.1" true \
	    </dev/null >"$T/ssh.out" 2>&1
}
SID=1c2d3e4f-5a6b-4c7d-9e8f-a0b1c2d3e4f5
good=$("$TOOL" token "$T/token" alice "$ACCT" db01 0 120 9 "$SID") || pv_fail token

# 1. A valid token: sshd accepts it, the session gets PROVOST_SESSION.
login "$ACCT" "$good" || :   # nobody's shell refuses to run: not our test
pv_wait_log "$T/sshd.log" "Accepted keyboard-interactive/pam for $ACCT from 127.0.0.1" 10 ||
	pv_fail "sshd did not accept the token"
pv_wait_log "$T/session-env.log" "^PROVOST_SESSION=$SID\$" 10 ||
	pv_fail "session did not get PROVOST_SESSION"
grep -q '^PROVOST_TOKEN=' "$T/session-env.log" &&
	pv_fail "the spent token reached the session environment"
pv_log "ok: valid token through sshd, PROVOST_SESSION=$SID"

# 2. The same token again.
n0=$(grep -c "Accepted keyboard-interactive" "$T/sshd.log")
login "$ACCT" "$good" && pv_fail "replayed token logged in"
# (sshd's PAM authentication process does not pass on pam_wrapper's copy
# of syslog lines; t_pam_token.sh checks the reasons.)
pv_wait_log "$T/sshd.log" "Failed keyboard-interactive/pam for $ACCT" 10 ||
	pv_fail "replay not refused"
n1=$(grep -c "Accepted keyboard-interactive" "$T/sshd.log")
[ "$n0" -eq "$n1" ] || pv_fail "replay was accepted"
pv_log "ok: replay refused"

# 3. An invalid user: sshd hands PAM its fake password, never the token.
bad=$("$TOOL" token "$T/token" alice nosuchuser db01 0 120 9 -) || pv_fail token
login nosuchuser "$bad" && pv_fail "invalid user logged in"
pv_wait_log "$T/sshd.log" "Failed keyboard-interactive/pam for invalid user nosuchuser" 10 ||
	pv_fail "invalid user not refused"
grep -q "Accepted keyboard-interactive/pam for nosuchuser" "$T/sshd.log" &&
	pv_fail "invalid user accepted"
if grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' "$T/sshd.log"; then
	pv_fail "sanitizer report in sshd"
fi
pv_log "ok: sshd's invalid-user password refused"
# Only the one valid token was ever claimed.
n=$(find "$T/nonces" -type f | wc -l)
[ "$n" -eq 1 ] || pv_fail "replay cache holds $n entries, want 1"
