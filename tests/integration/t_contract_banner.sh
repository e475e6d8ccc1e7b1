#!/bin/sh
# t_contract_banner.sh: the contract's notice period through stock ssh.
# While acme's contract is in its notice period (End in 3 days, Notice
# 30d), an exec session shows one banner line on ssh's stderr and its
# stdout stays byte for byte the target's; a shell with a terminal shows
# it too, sftp and scp (both protocols) show it on stderr with the file
# byte-exact, and so does the engineer menu's list; provostd warns once in its
# log and appends one plugin.contract.notice audit row, however many
# accesses, plugin hosts (provostctl's) and host restarts.
# With the End 100 days away (outside the notice period) there is no
# banner anywhere.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

SO="$top_builddir/plugins/contract/.libs/contract.so"
[ -f "$SO" ] || pv_fail "no $SO"
day() { date -u -d "@$(($(date +%s) + $1 * 86400))" +%Y-%m-%d; }
CF="$PV_TMP/contracts.conf"
contracts() {
	cat > "$CF" <<EOC
Contract acme-msa
    Provider acme
    Start $(day -10)
    End $1
    Notice 30d
    Targets db01
EOC
}
# Bytes that a stray line on stdout would show: binary, no final newline.
head -c 200000 /dev/urandom > "$PV_TMP/blob"
printf 'tail without newline' >> "$PV_TMP/blob"

# db01 takes sftp and scp too.
sed -i '/^Levels /a\
\
Rule banner-files\
    Target db01\
    Classification public\
    Approval none\
    Channels shell exec scp sftp' "$PV_TMP/policy.conf"

contracts "$(day 3)"
start_provostd "Plugin $SO $CF"
BANNER="provost: contract acme-msa ends $(day 3): 3 days left"

# exec: the banner on stderr, stdout exact
pvssh "alice+$ME@db01" "cat $PV_TMP/blob" </dev/null >"$PV_TMP/out" 2>"$PV_TMP/err" ||
    pv_fail "exec: $(cat "$PV_TMP/err")"
cmp -s "$PV_TMP/blob" "$PV_TMP/out" || pv_fail "exec stdout is not the target's bytes"
grep -qxF "$BANNER" "$PV_TMP/err" || pv_fail "exec: no banner: $(cat "$PV_TMP/err")"
[ "$(grep -c '^provost: contract' "$PV_TMP/err")" = 1 ] || pv_fail "exec: $(cat "$PV_TMP/err")"

# a shell with a terminal: the banner on stderr before the shell's output
printf 'exit\n' | pvssh "alice+$ME@db01" -tt >"$PV_TMP/sh.out" 2>"$PV_TMP/sh.err"
tr -d '\r' < "$PV_TMP/sh.err" | grep -qxF "$BANNER" || pv_fail "shell: no banner: $(cat "$PV_TMP/sh.err")"
grep -q "provost: contract" "$PV_TMP/sh.out" && pv_fail "shell: the banner on stdout"

# sftp and scp: the banner on ssh's stderr, the file byte-exact
printf 'get %s %s\n' "$PV_TMP/blob" "$PV_TMP/sftp.out" > "$PV_TMP/batch"
pvsftp "alice+$ME@db01" -b "$PV_TMP/batch" </dev/null >"$PV_TMP/sftp.log" 2>"$PV_TMP/sftp.err" ||
    pv_fail "sftp: $(cat "$PV_TMP/sftp.err")"
cmp -s "$PV_TMP/blob" "$PV_TMP/sftp.out" || pv_fail "sftp: the file is not the target's bytes"
grep -qxF "$BANNER" "$PV_TMP/sftp.err" || pv_fail "sftp: no banner: $(cat "$PV_TMP/sftp.err")"
for mode in -O -s; do
	rm -f "$PV_TMP/scp.out"
	pvscp "alice+$ME@db01" $mode "127.0.0.1:$PV_TMP/blob" "$PV_TMP/scp.out" </dev/null 2>"$PV_TMP/scp.err" ||
	    pv_fail "scp $mode: $(cat "$PV_TMP/scp.err")"
	cmp -s "$PV_TMP/blob" "$PV_TMP/scp.out" || pv_fail "scp $mode: the file is not the target's bytes"
	grep -qxF "$BANNER" "$PV_TMP/scp.err" || pv_fail "scp $mode: no banner: $(cat "$PV_TMP/scp.err")"
done

# the menu's list
pvssh alice list </dev/null >"$PV_TMP/list" 2>&1 || pv_fail "list: $(cat "$PV_TMP/list")"
grep -q "^alice+$ME@db01" "$PV_TMP/list" || pv_fail "list: $(cat "$PV_TMP/list")"
grep -qxF "$BANNER" "$PV_TMP/list" || pv_fail "list: no banner: $(cat "$PV_TMP/list")"

# the security team: one warning and one audit row for the day
n=$(grep -c "contract: provider acme is in its notice period: contract acme-msa ends $(day 3): 3 days left" "$PVD_LOG")
[ "$n" = 1 ] || pv_fail "$n notice warnings in provostd's log, not 1"
tries=0
while :; do
	n=$(pvctl audit export --format jsonl | grep -c '"plugin.contract.notice"')
	[ "$n" -ge 1 ] || [ $tries -ge 20 ] && break
	tries=$((tries + 1)); sleep 0.2
done
[ "$n" = 1 ] || pv_fail "$n plugin.contract.notice audit rows, not 1"
pvctl audit export --format jsonl | grep '"plugin.contract.notice"' | grep '"provider:acme"' |
    grep -q '"days_left":3' || pv_fail "audit row: $(pvctl audit export --format jsonl | grep contract.notice)"
pvctl audit verify >/dev/null || pv_fail "the audit chain does not verify"
# once a day is the chain's: provostctl's own plugin host deciding, and
# provostd's host killed and restarted by the next login, find the day's
# row and warn no more
pvctl policy explain alice db01 "$ME" >/dev/null || pv_fail "explain"
HOST=$(pgrep -P "$PVD_PID" | head -1)
[ -n "$HOST" ] || pv_fail "no plugin host process"
kill -9 "$HOST"
pvssh "alice+$ME@db01" true </dev/null >/dev/null 2>&1
pvssh "alice+$ME@db01" true </dev/null >/dev/null 2>&1 || pv_fail "a login after the host restart"
grep -q "plugin host restarted" "$PVD_LOG" || pv_fail "the plugin host was not restarted"
n=$(pvctl audit export --format jsonl | grep -c '"plugin.contract.notice"')
[ "$n" = 1 ] || pv_fail "$n plugin.contract.notice audit rows after provostctl and a host restart, not 1"
n=$(grep -c "contract: provider acme is in its notice period" "$PVD_LOG")
[ "$n" = 1 ] || pv_fail "$n notice warnings after a host restart, not 1"

# Outside the notice period: no banner, the same bytes.
kill "$PVD_PID"; wait "$PVD_PID" 2>/dev/null
contracts "$(day 100)"
start_provostd "Plugin $SO $CF"
pvssh "alice+$ME@db01" "cat $PV_TMP/blob" </dev/null >"$PV_TMP/out" 2>"$PV_TMP/err" ||
    pv_fail "exec (no notice): $(cat "$PV_TMP/err")"
cmp -s "$PV_TMP/blob" "$PV_TMP/out" || pv_fail "exec stdout (no notice) is not the target's bytes"
grep -q "provost: contract" "$PV_TMP/err" && pv_fail "a banner outside the notice period: $(cat "$PV_TMP/err")"
pvssh alice list </dev/null >"$PV_TMP/list" 2>&1 || pv_fail "list: $(cat "$PV_TMP/list")"
grep -q "^alice+$ME@db01" "$PV_TMP/list" || pv_fail "list: $(cat "$PV_TMP/list")"
grep -q "provost: contract" "$PV_TMP/list" && pv_fail "list: a banner outside the notice period"
grep -q "notice period" "$PVD_LOG" && pv_fail "a warning outside the notice period"
pv_log "ok"
