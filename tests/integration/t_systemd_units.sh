#!/bin/sh
# t_systemd_units.sh: the units, as make generates them, pass
# systemd-analyze verify with the real paths of the built programs, and
# name only commands provostd and provostctl accept.
. "$top_srcdir/tests/integration/lib.sh"

command -v systemd-analyze >/dev/null || pv_skip "systemd-analyze not found (apt-get install systemd)"
u="$PV_TMP/units"; mkdir -p "$u"
for f in provostd.service provost-sweep.service provost-exit.service; do
	sed -e "s|@sbindir@|$top_builddir|g" -e "s|@sysconfdir@/provost|$PV_TMP/etc|g" \
	    "$top_srcdir/systemd/$f.in" > "$u/$f"
done
cp "$top_srcdir/systemd/provost-sweep.timer" "$top_srcdir/systemd/provost-exit.timer" "$u/"
out=$(cd "$u" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
    ./provostd.service ./provost-sweep.service ./provost-sweep.timer \
    ./provost-exit.service ./provost-exit.timer 2>&1)
# Warnings about the missing config file are expected; anything else fails.
bad=$(printf '%s\n' "$out" | grep -v -e '^$' -e 'provostd.conf' -e 'Failed to load' || :)
[ -z "$bad" ] || pv_fail "systemd-analyze verify: $bad"

# The commands the units run exist: -t on a real config, grant expire.
mkdir -p "$PV_TMP/etc" "$PV_TMP/state"
openssl genpkey -algorithm X25519 -out "$PV_TMP/s.pem" 2>/dev/null &&
    openssl pkey -in "$PV_TMP/s.pem" -pubout -out "$PV_TMP/s.pub" 2>/dev/null || pv_fail "key"
printf 'Levels public\nRule r\n  Classification public\n  Approval none\n' > "$PV_TMP/etc/policy.conf"
cat > "$PV_TMP/etc/provostd.conf" <<EOC
ListenAddress 127.0.0.1:2222
StateDirectory $PV_TMP/state
PolicyFile $PV_TMP/etc/policy.conf
RecordingDirectory $PV_TMP/rec
RecordingRecipient $PV_TMP/s.pub
SandboxUser nobody
EOC
"$top_builddir/provostctl" -f "$PV_TMP/etc/provostd.conf" init >/dev/null 2>&1 || pv_fail "provostctl init"
pre=$(sed -n 's/^ExecStartPre=//p' "$u/provostd.service")
$pre >/dev/null 2>&1 || pv_fail "ExecStartPre failed: $pre"
# systemctl reload: the files are checked first, then provostd gets SIGHUP
# (t_broker_reload drives the reload itself).
rel=$(sed -n 's/^ExecReload=//p' "$u/provostd.service" | head -n 1)
$rel >/dev/null 2>&1 || pv_fail "ExecReload's check failed: $rel"
[ "$(sed -n 's/^ExecReload=//p' "$u/provostd.service" | tail -n 1)" = '/bin/kill -HUP $MAINPID' ] ||
    pv_fail "ExecReload does not send SIGHUP"
sweep=$(sed -n 's/^ExecStart=//p' "$u/provost-sweep.service")
$sweep >/dev/null 2>&1 || pv_fail "the sweep failed: $sweep"
ex=$(sed -n 's/^ExecStart=//p' "$u/provost-exit.service")
$ex >/dev/null 2>&1 || pv_fail "exit due failed: $ex"
# The sysusers and tmpfiles lines parse.
systemd-sysusers --dry-run "$top_srcdir/systemd/provost.sysusers" >/dev/null 2>&1 ||
    pv_fail "systemd-sysusers rejects provost.sysusers"
pv_log "units verified; ExecStartPre, the sweep and exit due run"
exit 0
