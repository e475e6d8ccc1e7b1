# broker-setup.sh: sourced by t_broker_*.sh after lib.sh: a real sshd
# target trusting a fresh provost CA, provostd in front of it with the
# TEMPORARY file backend, and an engineer whose TOTP comes from oathtool
# through SSH_ASKPASS.  Sets PVD_PORT, ENG_KEY, TOTP_HEX, ME, and defines
# pvssh (ssh through provostd as LOGIN) and start_provostd.

PROVOSTD="$top_builddir/provostd"
MINT="$top_builddir/broker/pv-broker-mint"
[ -x "$PROVOSTD" ] || pv_fail "no $PROVOSTD"
OATHTOOL=${OATHTOOL:-$(command -v oathtool || :)}
[ -n "$OATHTOOL" ] && [ -x "$OATHTOOL" ] || pv_skip "oathtool not found (apt-get install oathtool)"
OPENSSL=${OPENSSL:-$(command -v openssl || :)}
[ -n "$OPENSSL" ] || pv_skip "openssl not found"
ME=$(id -un)

STATE="$PV_TMP/state"
mkdir -p "$STATE" "$PV_TMP/totp" || pv_fail "mkdir"
"$OPENSSL" genpkey -algorithm ed25519 -out "$STATE/ca" 2>/dev/null || pv_fail "CA"
chmod 600 "$STATE/ca"
"$MINT" capub "$STATE/ca" > "$STATE/ca.pub" || pv_fail "CA pub"
"$SSH_KEYGEN" -q -t ed25519 -N '' -C provostd -f "$STATE/host_ed25519" || pv_fail "host key"

# The target: a real sshd that trusts provost's CA and nothing else.
cat > "$PV_TMP/target_extra" <<EOC
TrustedUserCAKeys $STATE/ca.pub
AuthorizedPrincipalsFile none
AcceptEnv LANG LC_* TERM PV_*
EOC
pv_start_sshd target "$PV_TMP/target_extra"
TARGET_PORT=$PV_SSHD_PORT
TARGET_PID=$PV_SSHD_PID

pv_keygen "$PV_TMP/alice"
pv_keygen "$PV_TMP/wrongpin"
pv_keygen "$PV_TMP/bob"
ENG_KEY="$PV_TMP/alice"
TOTP_HEX=3132333435363738393031323334353637383930
printf '%s' "$TOTP_HEX" > "$PV_TMP/totp.hex"

# write_backend [HOSTKEY-FILE] [extra lines]
write_backend() {
	hk=${1:-$PV_SSHD_DIR/host_ed25519.pub}
	{
		echo "TOTPStateDirectory $PV_TMP/totp"
		echo "Engineer alice"
		echo "	Key $(cut -d' ' -f1,2 "$ENG_KEY.pub")"
		echo "	TOTPSecret $TOTP_HEX"
		echo "Engineer bob"
		echo "	Key $(cut -d' ' -f1,2 "$PV_TMP/bob.pub")"
		echo "	TOTPSecret $TOTP_HEX"
		echo "Target db01"
		echo "	Host 127.0.0.1"
		echo "	Port $TARGET_PORT"
		echo "	Accounts $ME"
		echo "	HostKey $(cut -d' ' -f1,2 "$hk")"
		echo "Target multi"
		echo "	Host 127.0.0.1"
		echo "	Port $TARGET_PORT"
		echo "	Accounts $ME other"
		echo "	HostKey $(cut -d' ' -f1,2 "$hk")"
		echo "Target badpin"
		echo "	Host 127.0.0.1"
		echo "	Port $TARGET_PORT"
		echo "	Accounts $ME"
		echo "	HostKey $(cut -d' ' -f1,2 "$PV_TMP/wrongpin.pub")"
		[ -n "${2:-}" ] && printf '%s\n' "$2"
	} > "${BACKEND:-$PV_TMP/backend.conf}"
}

# start_provostd [extra provostd.conf lines]
start_provostd() {
	tries=0
	while [ $tries -lt 5 ]; do
		PVD_PORT=$(pv_free_port) || pv_fail "no free port"
		cat > "$PV_TMP/provostd.conf" <<EOC
ListenAddress 127.0.0.1:$PVD_PORT
StateDirectory $STATE
Store file:${BACKEND:-$PV_TMP/backend.conf}
RecordingDirectory $PV_TMP/rec
LoginGraceTime ${LOGIN_GRACE:-20s}
MaxAuthTries 3
LogLevel ${PVD_LOGLEVEL:-verbose}
${1:-}
EOC
		"$PROVOSTD" -t -f "$PV_TMP/provostd.conf" >/dev/null 2>"$PV_TMP/provostd-t.err" ||
		    pv_fail "provostd -t: $(cat "$PV_TMP/provostd-t.err")"
		PVD_LOG="$PV_TMP/provostd-$PVD_PORT.log"
		: > "$PVD_LOG"
		"$PROVOSTD" -D -f "$PV_TMP/provostd.conf" >>"$PVD_LOG" 2>&1 &
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

# The engineer's TOTP comes from oathtool, asked by ssh through askpass.
cat > "$PV_TMP/askpass" <<EOC
#!/bin/sh
case "\$1" in
*[Cc]ode*) exec "$OATHTOOL" --totp "\$(cat "$PV_TMP/totp.hex")" ;;
esac
exit 1
EOC
chmod +x "$PV_TMP/askpass"
pv_ssh_config "$PV_TMP/ssh_config"

# pvssh LOGIN [ssh args...]: ssh through provostd with the engineer's key.
pvssh() {
	login=$1; shift
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
	    -o PreferredAuthentications=publickey,keyboard-interactive \
	    -l "$login" 127.0.0.1 "$@"
}
