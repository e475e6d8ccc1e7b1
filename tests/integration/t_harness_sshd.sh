#!/bin/sh
# t_harness_sshd.sh: the harness itself works against real OpenSSH: a real
# sshd on a free loopback port, a real ssh client, exit codes and bytes
# carried, and a wrong key refused.  Later tests build on these helpers.
. "$top_srcdir/tests/integration/lib.sh"

pv_start_sshd target
pv_keygen "$PV_TMP/user"
cat "$PV_TMP/user.pub" > "$PV_SSHD_DIR/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$PV_SSHD_PORT" "$(cat "$PV_SSHD_DIR/host_ed25519.pub")" \
    > "$PV_TMP/known_hosts"
pv_ssh_config "$PV_TMP/ssh_config"
me=$(id -un)
ssh_t() {
	"$SSH" -F "$PV_TMP/ssh_config" -i "$1" -p "$PV_SSHD_PORT" "$me@127.0.0.1" "$2"
}

out=$(ssh_t "$PV_TMP/user" 'echo harness-ok') || pv_fail "ssh exec failed"
[ "$out" = "harness-ok" ] || pv_fail "unexpected output: $out"

ssh_t "$PV_TMP/user" 'exit 7'
rc=$?
[ $rc -eq 7 ] || pv_fail "exit status 7 came back as $rc"

head -c 1048576 /dev/urandom > "$PV_TMP/blob"
want=$(sha256sum < "$PV_TMP/blob" | cut -d' ' -f1)
got=$(ssh_t "$PV_TMP/user" 'cat' < "$PV_TMP/blob" | sha256sum | cut -d' ' -f1)
[ "$want" = "$got" ] || pv_fail "1 MiB through stdin/stdout changed"

pv_keygen "$PV_TMP/stranger"
if ssh_t "$PV_TMP/stranger" true 2>/dev/null; then
	pv_fail "a key not in authorized_keys got in"
fi
pv_log "sshd on port $PV_SSHD_PORT: exec, exit status, 1 MiB round trip, key refusal ok"
exit 0
