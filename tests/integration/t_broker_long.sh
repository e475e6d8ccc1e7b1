#!/bin/sh
# t_broker_long.sh: what only long sessions meet.  A session and a
# ControlMaster connection outlive their certificate (CertificateLifetime
# 10s: the certificate only opens the target leg, which stays up); keepalives
# both ways on both legs keep an idle session alive: the engineer's ssh asks
# every second (ServerAliveInterval 1, CountMax 2) and the target's sshd
# every second (ClientAliveInterval 1, CountMax 2), so a leg that did not
# answer would be cut within 3 s; provostd asks both every 30 s, which the
# engineer's ssh and the target's sshd log (DEBUG1) over a 33 s idle session.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

cat "$PV_TMP/target_extra" > "$PV_TMP/ka_extra"
printf 'ClientAliveInterval 1\nClientAliveCountMax 2\n' >> "$PV_TMP/ka_extra"
PV_SSHD_LOGLEVEL=DEBUG1 pv_start_sshd katarget "$PV_TMP/ka_extra"
pvctl target add ka01 --host 127.0.0.1 --port "$PV_SSHD_PORT" --classification public \
    --accounts "$ME" --hostkey "$PV_SSHD_DIR/host_ed25519.pub" >/dev/null || pv_fail "target add ka01"
start_provostd "CertificateLifetime 10s"
L="alice+$ME@ka01"
W="$PV_TMP/work"
mkdir -p "$W"

t0=$(date +%s)
out=$(pvssh "$L" -o ServerAliveInterval=1 -o ServerAliveCountMax=2 -o LogLevel=DEBUG1 \
    -E "$W/idle.log" 'sleep 33; echo alive' </dev/null 2>"$W/idle.err") ||
    pv_fail "idle session: $(cat "$W/idle.err")"
[ "$out" = alive ] || pv_fail "idle session: $out $(cat "$W/idle.err")"
[ $(($(date +%s) - t0)) -ge 33 ] || pv_fail "the idle session did not last"
grep -q 'global_request: rtype keepalive@openssh.com' "$W/idle.log" ||
    pv_fail "provostd sent the engineer's ssh no keepalive in 33 s"
grep -q 'global_request: rtype keepalive@openssh.com' "$PV_TMP/katarget.log" ||
    pv_fail "provostd sent the target no keepalive in 33 s"

CM="$W/cm.sock"
pvssh_bg "$L" -o ServerAliveInterval=1 -o ServerAliveCountMax=2 -o ControlMaster=yes \
    -o ControlPath="$CM" -N </dev/null > "$W/cm.out" 2>&1
i=0
while [ ! -S "$CM" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mux() { "$SSH" -F "$PV_TMP/ssh_config" -o ControlPath="$CM" -o ControlMaster=no -l "$L" 127.0.0.1 "$@"; }
[ "$(mux 'echo one' </dev/null)" = one ] || pv_fail "mux channel 1"
sleep 12
# (stdout only: the target's sshd at DEBUG1 writes debug lines to stderr)
[ "$(mux 'echo two' </dev/null 2>"$W/two.err")" = two ] ||
    pv_fail "a channel after the certificate expired: $(cat "$W/two.err" "$W/cm.out")"
mux -O exit >/dev/null 2>&1
grep -q 'Timeout, server .* not responding\|Timeout, client not responding' "$W/idle.log" "$W/cm.out" "$PV_TMP/katarget.log" &&
    pv_fail "a keepalive went unanswered"
pvctl audit verify >/dev/null || pv_fail "audit chain does not verify"
pv_log "sessions outlive a 10 s certificate; keepalives answered both ways on both legs"
