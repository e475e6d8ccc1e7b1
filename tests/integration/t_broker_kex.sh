#!/bin/sh
# t_broker_kex.sh: the algorithms both legs offer are the best the libssh
# at hand has, or what KexAlgorithms, Ciphers, MACs and HostKeyAlgorithms
# say.  Read off the real peers: the engineer's ssh (-vv prints the
# server's KEXINIT) and the target's sshd (DEBUG2 prints the client's).
# With libssh 0.12 or later the post-quantum hybrids come first; with
# Debian 12's 0.10, curve25519; every name offered is in libssh's own
# default list (a libssh client's proposal), with its hybrids first.
# sshd_config's +, - and ^ forms apply to the default.  A configured name
# this libssh lacks is refused with one line.
PV_SSHD_LOGLEVEL=DEBUG2
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
command -v pkg-config >/dev/null || pv_skip "pkg-config not found"
V=$(pkg-config --modversion libssh) || pv_fail "libssh version"
TLOG="$PV_TMP/target.log"

# offered: the list after "KEX algorithms:" of the last KEXINIT proposal in
# FILE from PEER (server or client), without the protocol's markers.
offered() {
	sed -n "/peer $2 KEXINIT proposal/,/KEX algorithms:/p" "$1" |
	    sed -n 's/.*KEX algorithms: \([^ ]*\).*/\1/p' | tail -1 |
	    tr ',' '\n' | grep -v -e '^kex-strict-' -e '^ext-info-' | paste -sd, -
}
# vlogin: alice's command through provostd with ssh -vv, the log in ssh.log.
vlogin() {
	SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
	    "$SSH" -vv -F "$PV_TMP/ssh_config" -i "$ENG_KEY" -p "$PVD_PORT" \
	    -o BatchMode=no -o NumberOfPasswordPrompts=1 \
	    -l "alice+$ME@db01" 127.0.0.1 'echo in' </dev/null 2>"$PV_TMP/ssh.log"
}

start_provostd
"$PROVOSTD" -T -f "$CONF" >"$PV_TMP/T.out" || pv_fail "provostd -T"
kex=$(sed -n 's/^kexalgorithms //p' "$PV_TMP/T.out")
case $V in
0.[0-9].* | 0.1[01].*)
	[ "$kex" = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256" ] ||
	    pv_fail "libssh $V: kex $kex"
	;;
*)
	case $kex in mlkem768x25519-sha256,*) ;; *) pv_fail "libssh $V has hybrids; kex $kex" ;; esac
	;;
esac
for k in ciphers macs hostkeyalgorithms; do
	grep -q "^$k [a-z0-9@.,-]*$" "$PV_TMP/T.out" || pv_fail "-T: no $k line"
done

# Against libssh's own list: a libssh client with its defaults
# (pv-broker-probe sets no algorithm) proposes libssh's default key
# exchange to the target's sshd.  Every name provostd offers is one of
# libssh's own, and the hybrids libssh has (none in 0.10) come first, in
# provostd's order; the build's configure check says the same.
"$top_builddir/broker/pv-broker-probe" "$TARGET_PORT" "$ME" "$ENG_KEY.pub" 000000 \
    >/dev/null 2>&1 || :
own=$(offered "$TLOG" client)
[ -n "$own" ] || pv_fail "no KEXINIT from libssh's default client in $TLOG"
for k in $(echo "$kex" | tr ',' ' '); do
	echo ",$own," | grep -q ",$k," || pv_fail "$k is offered but not in libssh's own list ($own)"
done
hyb=$(echo "$own" | tr ',' '\n' | grep -E '^(mlkem|sntrup)' | paste -sd, -)
if [ -n "$hyb" ]; then
	case $kex in mlkem*|sntrup*) ;; *) pv_fail "libssh has $hyb; provostd offers $kex" ;; esac
	[ "${PV_HAVE_PQ_KEX:-no}" = yes ] || pv_fail "configure said no post-quantum key exchange; libssh offers $hyb"
else
	echo "$kex" | grep -qE '(^|,)(mlkem|sntrup)' && pv_fail "offers a hybrid libssh does not: $kex"
	[ "${PV_HAVE_PQ_KEX:-no}" = no ] || pv_fail "configure said post-quantum key exchange; libssh offers none: $own"
fi
pv_log "libssh's own list: $own; provostd offers $kex"

# sshd_config's forms: +LIST appends to the default, -LIST removes
# (patterns), ^LIST puts first.  Each -T shows the list in force.
tlist() { # KEYWORD VALUE: the -T line for it
	write_conf 2222 "$1 $2"
	"$PROVOSTD" -T -f "$CONF" 2>"$PV_TMP/t.err" | sed -n "s/^$(echo "$1" | tr A-Z a-z) //p"
}
dciph=$(sed -n 's/^ciphers //p' "$PV_TMP/T.out")
[ "$(tlist KexAlgorithms -ecdh-sha2-*)" = "$(echo "$kex" | tr ',' '\n' | grep -v '^ecdh-sha2-' | paste -sd, -)" ] ||
    pv_fail "-ecdh-sha2-*: $(tlist KexAlgorithms -ecdh-sha2-*)"
[ "$(tlist KexAlgorithms +diffie-hellman-group14-sha256)" = "$kex,diffie-hellman-group14-sha256" ] ||
    pv_fail "+group14: $(tlist KexAlgorithms +diffie-hellman-group14-sha256)"
[ "$(tlist KexAlgorithms ^ecdh-sha2-nistp256)" = "ecdh-sha2-nistp256,$(echo "$kex" | tr ',' '\n' | grep -v '^ecdh-sha2-nistp256$' | paste -sd, -)" ] ||
    pv_fail "^ecdh: $(tlist KexAlgorithms ^ecdh-sha2-nistp256)"
[ "$(tlist Ciphers +aes128-gcm@openssh.com)" = "$dciph" ] ||
    pv_fail "+ a name already there: $(tlist Ciphers +aes128-gcm@openssh.com)"
[ -z "$(tlist Ciphers -*)" ] && grep -q "Ciphers: none of its algorithms is left" "$PV_TMP/t.err" ||
    pv_fail "-* left something: $(cat "$PV_TMP/t.err")"
[ -z "$(tlist MACs +hmac-no-such@example.com)" ] &&
    grep -q "MACs: hmac-no-such@example.com is not supported by this libssh" "$PV_TMP/t.err" ||
    pv_fail "+unsupported: $(cat "$PV_TMP/t.err")"
pv_log "+, - and ^ forms applied to the default lists"

# The engineer's leg offers exactly that; so does the target leg.
out=$(vlogin) || pv_fail "login: $(tail -3 "$PV_TMP/ssh.log")"
[ "$out" = in ] || pv_fail "login: $out"
got=$(offered "$PV_TMP/ssh.log" server)
[ "$got" = "$kex" ] || pv_fail "the engineer's leg offers $got, -T says $kex"
got=$(offered "$TLOG" client)
[ "$got" = "$kex" ] || pv_fail "the target leg offers $got, -T says $kex"
pv_log "libssh $V: both legs offer $kex"

# Configured lists are what is offered.
kill "$PVD_PID"; wait "$PVD_PID" 2>/dev/null
start_provostd "KexAlgorithms curve25519-sha256
Ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com
MACs hmac-sha2-512-etm@openssh.com"
"$PROVOSTD" -T -f "$CONF" >"$PV_TMP/T.out" || pv_fail "provostd -T"
grep -qx 'kexalgorithms curve25519-sha256' "$PV_TMP/T.out" || pv_fail "-T: $(grep kex "$PV_TMP/T.out")"
grep -qx 'ciphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com' "$PV_TMP/T.out" ||
    pv_fail "-T: $(grep ciphers "$PV_TMP/T.out")"
out=$(vlogin) || pv_fail "login: $(tail -3 "$PV_TMP/ssh.log")"
[ "$(offered "$PV_TMP/ssh.log" server)" = curve25519-sha256 ] || pv_fail "engineer's leg: $(offered "$PV_TMP/ssh.log" server)"
[ "$(offered "$TLOG" client)" = curve25519-sha256 ] || pv_fail "target leg: $(offered "$TLOG" client)"

# A name this libssh does not have: one line, and provostd does not start.
case $V in
0.[0-9].* | 0.1[01].*) bad=sntrup761x25519-sha512@openssh.com ;;
*) bad=no-such-kex@example.com ;;
esac
write_conf 2222 "KexAlgorithms curve25519-sha256,$bad"
"$PROVOSTD" -t -f "$CONF" >/dev/null 2>"$PV_TMP/t.err" && pv_fail "an unsupported KexAlgorithms was taken"
grep -q "KexAlgorithms: $bad is not supported by this libssh" "$PV_TMP/t.err" || pv_fail "$(cat "$PV_TMP/t.err")"
[ "$(wc -l <"$PV_TMP/t.err")" -eq 1 ] || pv_fail "more than one line: $(cat "$PV_TMP/t.err")"
write_conf 2222 "Ciphers aes256-cbc,,x"
"$PROVOSTD" -t -f "$CONF" >/dev/null 2>"$PV_TMP/t.err" && pv_fail "a malformed Ciphers was taken"
grep -q "provostd.conf:[0-9]*: Ciphers: a comma-separated list" "$PV_TMP/t.err" || pv_fail "$(cat "$PV_TMP/t.err")"
pv_log "configured lists offered; $bad refused on libssh $V"
exit 0
