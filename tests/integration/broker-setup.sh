# broker-setup.sh: sourced by t_broker_*.sh after lib.sh.  Builds a real
# provost state with provostctl (init, provider, engineers with keys and
# TOTP, targets with pinned host keys, a policy, a recipient key), a real
# sshd target trusting provost's CA, and provostd in front of it.  The
# engineer's TOTP comes from oathtool through SSH_ASKPASS.
# Sets ME, STATE, CONF, TARGET_PORT, ENG_KEY; defines pvctl, pvssh, pvsftp,
# pvscp, last_rec, sha, start_provostd [extra provostd.conf lines].
# PV_STORE, when set, is the Store line's value (a postgresql:// URI);
# PVD_RECDIR, when set, the RecordingDirectory line's.

PROVOSTD="${PV_PROVOSTD_WRAP:-$top_builddir/provostd}" # a wrapper (strace, valgrind) may stand in
PROVOSTCTL="$top_builddir/provostctl"
[ -x "$PROVOSTD" ] || pv_fail "no $PROVOSTD"
[ -x "$PROVOSTCTL" ] || pv_fail "no $PROVOSTCTL"
OATHTOOL=${OATHTOOL:-$(command -v oathtool || :)}
[ -n "$OATHTOOL" ] && [ -x "$OATHTOOL" ] || pv_skip "oathtool not found (apt-get install oathtool)"
OPENSSL=${OPENSSL:-$(command -v openssl || :)}
[ -n "$OPENSSL" ] || pv_skip "openssl not found"
ME=$(id -un)
STATE="$PV_TMP/state"
CONF="$PV_TMP/provostd.conf"

# write_conf PORT [extra lines]: the control socket is the test's own
# (never /run/provost: tests running side by side would reach each other's
# provostd), unless the extra lines name one.
write_conf() {
	case "${2:-}" in
	*ControlSocket*) ctlsock= ;;
	*) ctlsock="ControlSocket $PV_TMP/run/control.sock" ;;
	esac
	# The tests log in many times a minute, with one code: MFAGrace on
	# (off by default), unless the extra lines set it.
	case "${2:-}" in
	*MFAGrace*) grace= ;;
	*) grace="MFAGrace 10m" ;;
	esac
	cat > "$CONF" <<EOC
ListenAddress 127.0.0.1:$1
StateDirectory $STATE
Store ${PV_STORE:-sqlite:$STATE/provost.db}
PolicyFile $PV_TMP/policy.conf
RecordingDirectory ${PVD_RECDIR:-$PV_TMP/rec}
RecordingRecipient $PV_TMP/sec.pub
LoginGraceTime ${LOGIN_GRACE:-20s}
MaxAuthTries ${PVD_MAX_AUTH_TRIES:-3}
SandboxUser ${PVD_SANDBOX_USER:-nobody}
LogLevel ${PVD_LOGLEVEL:-verbose}
$ctlsock
$grace
${2:-}
EOC
}
# provostctl runs with leak checking on, as everywhere else.
pvctl() { "$PROVOSTCTL" -f "$CONF" "$@"; }

write_conf 2222
pvctl init > "$PV_TMP/init.out" 2>&1 || pv_fail "provostctl init: $(cat "$PV_TMP/init.out")"
"$OPENSSL" genpkey -algorithm X25519 -out "$PV_TMP/sec.pem" 2>/dev/null &&
    "$OPENSSL" pkey -in "$PV_TMP/sec.pem" -pubout -out "$PV_TMP/sec.pub" 2>/dev/null ||
    pv_fail "recipient key"
cat > "$PV_TMP/policy.conf" <<'EOC'
Levels public internal confidential restricted

Rule fresh
    Target fresh01
    Classification public
    Approval none
    FreshMFA yes
    Channels shell exec

Rule standing-public
    Classification public
    Approval none
    Channels shell exec

Rule internal-jit
    Classification internal
    Approval auto
    MaxDuration 8h
    Channels shell exec

Rule files
    Classification confidential
    Approval none
    Channels shell exec sftp

Rule restricted
    Classification restricted
    Clearance restricted
    Approval none
    Channels shell exec
EOC

# The target: a real sshd that trusts provost's CA and nothing else.
cat > "$PV_TMP/target_extra" <<EOC
TrustedUserCAKeys $STATE/ca.pub
AuthorizedPrincipalsFile none
AcceptEnv LANG LC_* TERM PV_*
Subsystem sftp internal-sftp
EOC
pv_start_sshd target "$PV_TMP/target_extra"
TARGET_PORT=$PV_SSHD_PORT
TARGET_PID=$PV_SSHD_PID

pv_keygen "$PV_TMP/alice"
pv_keygen "$PV_TMP/bob"
pv_keygen "$PV_TMP/wrongpin"
ENG_KEY="$PV_TMP/alice"
pvctl provider add acme >/dev/null || pv_fail "provider add"
for e in alice bob; do
	pvctl engineer add "$e" --provider acme >/dev/null || pv_fail "engineer add $e"
	pvctl engineer key add "$e" "$PV_TMP/$e.pub" >/dev/null || pv_fail "key add $e"
	pvctl engineer totp "$e" 2>/dev/null | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' \
	    > "$PV_TMP/$e.totp"
	[ -s "$PV_TMP/$e.totp" ] || pv_fail "totp $e"
done
hk="$PV_SSHD_DIR/host_ed25519.pub"
pvctl target add db01 --host 127.0.0.1 --port "$TARGET_PORT" --classification public \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add db01"
pvctl target add multi --host 127.0.0.1 --port "$TARGET_PORT" --classification public \
    --accounts "$ME,other" --hostkey "$hk" >/dev/null || pv_fail "target add multi"
pvctl target add badpin --host 127.0.0.1 --port "$TARGET_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_TMP/wrongpin.pub" >/dev/null || pv_fail "target add badpin"
pvctl target add jit --host 127.0.0.1 --port "$TARGET_PORT" --classification internal \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add jit"
pvctl target add files --host 127.0.0.1 --port "$TARGET_PORT" --classification confidential \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add files"
pvctl target add fresh01 --host 127.0.0.1 --port "$TARGET_PORT" --classification public \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add fresh01"
pvctl target add vault --host 127.0.0.1 --port "$TARGET_PORT" --classification restricted \
    --accounts "$ME" --hostkey "$hk" >/dev/null || pv_fail "target add vault"

# start_provostd [extra provostd.conf lines]: on a free port; sets PVD_PORT,
# PVD_PID, PVD_LOG and adds provostd's host key to known_hosts.
start_provostd() {
	tries=0
	while [ $tries -lt 5 ]; do
		PVD_PORT=$(pv_free_port) || pv_fail "no free port"
		write_conf "$PVD_PORT" "${1:-}"
		"$PROVOSTD" -t -f "$CONF" >/dev/null 2>"$PV_TMP/provostd-t.err" ||
		    pv_fail "provostd -t: $(cat "$PV_TMP/provostd-t.err")"
		PVD_LOG="$PV_TMP/provostd-$PVD_PORT.log"
		: > "$PVD_LOG"
		"$PROVOSTD" -D -f "$CONF" >>"$PVD_LOG" 2>&1 &
		PVD_PID=$!
		pv_track "$PVD_PID"
		if pv_wait_log "$PVD_LOG" "listening on 127.0.0.1 port $PVD_PORT" 10; then
			printf '[127.0.0.1]:%s %s\n' "$PVD_PORT" "$(cat "$STATE/host_ed25519.pub")" \
			    >> "$PV_TMP/known_hosts"
			return 0
		fi
		kill "$PVD_PID" 2>/dev/null
		tries=$((tries + 1))
	done
	pv_fail "provostd did not start"
}

# The TOTP comes from oathtool, asked by ssh through askpass; TOTP_OF names
# whose secret (default alice).
cat > "$PV_TMP/askpass" <<EOC
#!/bin/sh
case "\$1" in
*[Cc]ode*) exec "$OATHTOOL" --totp -b "\$(cat "$PV_TMP/\${TOTP_OF:-alice}.totp")" ;;
esac
exit 1
EOC
chmod +x "$PV_TMP/askpass"
pv_ssh_config "$PV_TMP/ssh_config"

# approver_totp NAME: the approver's TOTP secret, in $PV_TMP/ap-NAME.totp.
approver_totp() {
	pvctl approver totp "$1" 2>/dev/null | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' \
	    > "$PV_TMP/ap-$1.totp"
	[ -s "$PV_TMP/ap-$1.totp" ] || pv_fail "approver totp $1"
}

# pv_approver_code NAME: approver NAME's code for the next 30 s step not
# used yet (waited for before ssh starts, LoginGraceTime being shorter
# than a step), from $PV_TMP/ap-NAME.totp into $PV_TMP/ap-code.
pv_approver_code() {
	f="$PV_TMP/ap-$1.step"
	now=$(date +%s)
	cur=$((now / 30))
	last=$(cat "$f" 2>/dev/null || echo 0)
	step=$cur
	[ $step -gt "$last" ] || step=$((last + 1))
	if [ $step -gt $((cur + 1)) ]; then
		sleep $(( (step - 1) * 30 - now + 1 ))
	fi
	echo $step > "$f"
	"$OATHTOOL" --totp -b "$(cat "$PV_TMP/ap-$1.totp")" -N "@$((step * 30))" > "$PV_TMP/ap-code"
}
# pv_apssh PORT NAME COMMAND...: approver NAME (key $PV_TMP/ap-NAME)
# through the broker on PORT, its own key and a fresh code via askpass.
pv_apssh() {
	port=$1 a=$2; shift 2
	if [ ! -x "$PV_TMP/askpass-appr" ]; then
		cat > "$PV_TMP/askpass-appr" <<EOC
#!/bin/sh
case "\$1" in *[Cc]ode*) exec cat "$PV_TMP/ap-code" ;; esac
exit 1
EOC
		chmod +x "$PV_TMP/askpass-appr"
	fi
	pv_approver_code "$a"
	SSH_ASKPASS="$PV_TMP/askpass-appr" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$PV_TMP/ap-$a" -p "$port" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
	    -o PreferredAuthentications=publickey,keyboard-interactive \
	    -l "$a" 127.0.0.1 "$@" </dev/null
}
# pvssh LOGIN [ssh args...] [command]: ssh through provostd with ENG_KEY.
# pvssh_bg LOGIN ...: the same in the background, PVSSH_PID being ssh's own
# pid (stopped when the test ends).
pvssh_exec() {
	login=$1; shift
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    exec "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
	    -o PreferredAuthentications=publickey,keyboard-interactive \
	    -l "$login" 127.0.0.1 "$@"
}
pvssh() { (pvssh_exec "$@"); }
pvssh_bg() {
	pvssh_exec "$@" &
	PVSSH_PID=$!
	pv_track "$PVSSH_PID"
}

# pvsftp LOGIN [sftp args...] and pvscp LOGIN [scp args...] SRC DST (the
# remote side written as 127.0.0.1:PATH): through provostd, TOTP by askpass.
SFTP=${SFTP:-$(command -v sftp || :)}
SCP=${SCP:-$(command -v scp || :)}
pvsftp() {
	login=$1; shift
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SFTP" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -P "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
	    -o PreferredAuthentications=publickey,keyboard-interactive \
	    -o User="$login" "$@" 127.0.0.1
}
pvscp() {
	login=$1; shift
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SCP" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -P "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
	    -o PreferredAuthentications=publickey,keyboard-interactive \
	    -o User="$login" "$@"
}
# last_rec: the newest recording provostd logged; sha FILE: its SHA-256.
last_rec() { sed -n 's/.*recording to \(.*\.pvr\)$/\1/p' "$PVD_LOG" | tail -1; }
# sealed_rec: the newest recording, once provostd says it is sealed (the
# engineer's ssh can return before the final chunk is written).
sealed_rec() {
	_r=$(last_rec)
	[ -n "$_r" ] && pv_wait_log "$PVD_LOG" "recording $_r sealed" 15
	printf '%s\n' "$_r"
}
sha() { sha256sum < "$1" | cut -d' ' -f1; }
# peer_serve MODE: a far end for forwarding tests (tcp-peer.py serve MODE:
# banner, echo, sink or drop) on a free port, set in PEER_PORT; stopped when
# the test ends.
peer_serve() {
	command -v python3 >/dev/null || pv_skip "python3 not found"
	python3 "$top_srcdir/tests/integration/tcp-peer.py" serve "$1" \
	    > "$PV_TMP/peer-$1.port" 2>/dev/null &
	pv_track $!
	i=0
	while [ ! -s "$PV_TMP/peer-$1.port" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$PV_TMP/peer-$1.port" ] || pv_fail "the $1 server did not start"
	PEER_PORT=$(cat "$PV_TMP/peer-$1.port")
}

# live_session TAG: a session of $L that stays up; sets LP (its ssh), SP
# (its session process), MFD and LFD (that process's monitor socket and
# control link) and SID.
live_session() {
	: > "$PV_TMP/$1.out"
	pvssh "$L" 'echo up; sleep 600' </dev/null >"$PV_TMP/$1.out" 2>&1 &
	LP=$!
	pv_track "$LP"
	pv_wait_log "$PV_TMP/$1.out" up 15 || pv_fail "$1: session did not start"
	SID=$(sed -n 's/.*session \([0-9a-f-]*\): recording to .*/\1/p' "$PVD_LOG" | tail -1)
	[ -n "$SID" ] || pv_fail "$1: no session id in the log"
	SP=$(sed -n "s/.*session $SID: session process \([0-9]*\) runs as uid .*/\1/p" "$PVD_LOG")
	MFD=$(sed -n "s/.*session $SID: session process [0-9]* runs as uid [0-9]*, monitor socket fd \([0-9]*\), .*/\1/p" "$PVD_LOG")
	LFD=$(sed -n "s/.*session $SID: session process [0-9]* runs as uid .*, link fd \([0-9]*\)$/\1/p" "$PVD_LOG")
	[ -n "$SP" ] && [ -d "/proc/$SP" ] || pv_fail "$1: no session process"
	pv_wait_log "$PVD_LOG" "session $SID: sandboxed" 10 || pv_fail "$1: not sandboxed"
}
