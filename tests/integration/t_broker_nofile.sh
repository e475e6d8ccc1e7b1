#!/bin/sh
# t_broker_nofile.sh: provostd raises RLIMIT_NOFILE's soft limit to what
# MaxSessions needs (4 descriptors per session process and 384 besides),
# and a hard limit below that is refused with one line: by provostd -t
# (systemd's ExecStartPre), at start, and by a reload that raises
# MaxSessions (the running configuration stays).
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
PRLIMIT=${PRLIMIT:-$(command -v prlimit || :)}
[ -n "$PRLIMIT" ] || pv_skip "prlimit (util-linux) not found"

# A hard limit of 4096 cannot carry MaxSessions 2000 (8,384 descriptors).
write_conf 2222 "MaxSessions 2000"
out=$("$PRLIMIT" --nofile=1024:4096 "$PROVOSTD" -t -f "$CONF" 2>&1) &&
    pv_fail "-t accepted MaxSessions 2000 under a hard limit of 4096: $out"
[ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || pv_fail "-t: more than one line: $out"
echo "$out" | grep -q "MaxSessions 2000 needs 8384 file descriptors .*the hard limit (RLIMIT_NOFILE) is 4096: raise it (LimitNOFILE=" ||
    pv_fail "-t: $out"
"$PRLIMIT" --nofile=1024:4096 "$PROVOSTD" -D -f "$CONF" >"$PV_TMP/start.err" 2>&1 &&
    pv_fail "provostd started under a hard limit of 4096"
grep -q "MaxSessions 2000 needs 8384 file descriptors" "$PV_TMP/start.err" ||
    pv_fail "start: $(cat "$PV_TMP/start.err")"

# Under a hard limit of 20000 the soft limit of 1024 is raised to 8384.
REAL_PROVOSTD=$PROVOSTD
cat > "$PV_TMP/provostd-limited" <<EOS
#!/bin/sh
exec "$PRLIMIT" --nofile=1024:20000 "$REAL_PROVOSTD" "\$@"
EOS
chmod +x "$PV_TMP/provostd-limited"
PROVOSTD="$PV_TMP/provostd-limited"
start_provostd "MaxSessions 2000"
lim=$(sed -n 's/^Max open files *\([0-9]*\) *\([0-9]*\) .*/\1 \2/p' "/proc/$PVD_PID/limits")
[ "$lim" = "8384 20000" ] || pv_fail "limits of provostd: $lim (want 8384 20000)"
pvssh "alice+$ME@db01" 'echo through' </dev/null >"$PV_TMP/s1.out" 2>"$PV_TMP/s1.err" ||
    pv_fail "a session under the raised limit: $(cat "$PV_TMP/s1.err")"
grep -qx through "$PV_TMP/s1.out" || pv_fail "session output: $(cat "$PV_TMP/s1.out")"

# A reload to MaxSessions 10000 (40,384) is refused; 2000 stays.
sed -i 's/^MaxSessions 2000$/MaxSessions 10000/' "$CONF"
kill -HUP "$PVD_PID"
pv_wait_log "$PVD_LOG" "reload refused: MaxSessions 10000 needs 40384 file descriptors" 10 ||
    pv_fail "reload: $(tail -n 5 "$PVD_LOG")"
kill -0 "$PVD_PID" || pv_fail "provostd is gone after the refused reload"
"$PROVOSTCTL" -f "$CONF" session list >/dev/null 2>&1 || pv_fail "control socket after the reload"
lim=$(sed -n 's/^Max open files *\([0-9]*\) .*/\1/p' "/proc/$PVD_PID/limits")
[ "$lim" = 8384 ] || pv_fail "soft limit after the refused reload: $lim"
pv_log "MaxSessions 2000: soft limit raised 1024 -> $lim; too low a hard limit refused by -t, at start and at reload"
exit 0
