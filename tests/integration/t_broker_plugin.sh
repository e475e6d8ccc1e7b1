#!/bin/sh
# t_broker_plugin.sh: Plugin lines are loaded and obeyed, fail closed.
# provostd -t and the start refuse a plugin of another ABI major, one
# without provost_plugin_v1 and one whose init fails, each with one line.
# With the test plugin loaded (tests/unit/plugin_good.c), through stock ssh:
# the engineer it denies is refused with its reason, one it errs for is
# refused, one it hangs for is refused after the 2 s limit, one it crashes
# for is refused; each refusal is audited (plugin.deny) by the monitor; a
# session of another engineer that was live through all of it goes on, and
# new logins work once the host is restarted.  The same decision path
# serves provostctl (grant request, policy explain, token issue) and the
# engineer's menu; events reach the plugin from the audit chain; provostctl
# report reaches its report hook.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

LIBS="$top_builddir/tests/unit/.libs"
PLUG="$LIBS/plugin_good.so"
for f in plugin_good plugin_badabi plugin_nosym; do
	[ -f "$LIBS/$f.so" ] || pv_fail "no $LIBS/$f.so (make check builds it)"
done

# refused_conf PLUGIN-LINE WANT: provostd -t must fail with WANT.
refused_conf() {
	write_conf 2222 "$1"
	"$PROVOSTD" -t -f "$CONF" >/dev/null 2>"$PV_TMP/t.err" &&
	    pv_fail "provostd -t accepted: $1"
	grep -q "$2" "$PV_TMP/t.err" || pv_fail "provostd -t for '$1': $(cat "$PV_TMP/t.err")"
	[ "$(grep -c . "$PV_TMP/t.err")" -eq 1 ] ||
	    pv_fail "more than one line for '$1': $(cat "$PV_TMP/t.err")"
}
refused_conf "Plugin $LIBS/plugin_badabi.so" "plugin ABI 2.4, provost speaks 1.4"
refused_conf "Plugin $LIBS/plugin_nosym.so" "no provost_plugin_v1()"
refused_conf "Plugin $PLUG $PV_TMP/fail" "testplugin: init failed: config says fail"
refused_conf "Plugin $PV_TMP/missing.so" "missing.so: not a regular file"
# The start refuses too (not only -t).
write_conf 2222 "Plugin $LIBS/plugin_badabi.so"
"$PROVOSTD" -D -f "$CONF" >"$PV_TMP/start.err" 2>&1 && pv_fail "provostd started with a bad plugin"
grep -q "plugin ABI 2.4" "$PV_TMP/start.err" || pv_fail "start: $(cat "$PV_TMP/start.err")"

for e in mallory error hangman crasher querier; do
	pv_keygen "$PV_TMP/$e"
	pvctl engineer add "$e" --provider acme >/dev/null || pv_fail "engineer add $e"
	pvctl engineer key add "$e" "$PV_TMP/$e.pub" >/dev/null || pv_fail "key add $e"
	pvctl engineer totp "$e" 2>/dev/null | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' \
	    > "$PV_TMP/$e.totp"
done
EV="$PV_TMP/events.log"
EXAMPLE="$top_builddir/plugins/example/.libs/example.so"
[ -f "$EXAMPLE" ] || pv_fail "no $EXAMPLE"
FREEZE="$PV_TMP/freeze"
start_provostd "Plugin $PLUG $EV
Plugin $EXAMPLE $FREEZE"
grep -q "2 plugin(s) loaded in their host process" "$PVD_LOG" || pv_fail "no plugin host: $(cat "$PVD_LOG")"

# The host's process holds no copy of the CA, audit or token private key
# (wiped before any plugin loaded); the monitor, which signs, does (so the
# scan can find them).
if command -v python3 >/dev/null; then
	HOST=$(pgrep -P "$PVD_PID" | head -1)
	[ -n "$HOST" ] || pv_fail "no plugin host process"
	for k in ca audit_ed25519 token_ed25519; do
		[ -f "$STATE/$k" ] || continue
		[ "$(python3 "$top_srcdir/tests/integration/memscan.py" "$STATE/$k" "$PVD_PID")" -ge 1 ] ||
		    pv_fail "the scan does not find $k in the monitor"
		n=$(python3 "$top_srcdir/tests/integration/memscan.py" "$STATE/$k" "$HOST")
		[ "$n" = 0 ] || pv_fail "the plugin host holds $k ($n copies)"
	done
fi

# provost_plugin(3)'s example, a change freeze: every plugin is asked.
echo "quarter close until 2 Jan" > "$FREEZE"
out=$(pvssh "alice+$ME@db01" 'echo in' </dev/null 2>&1) && pv_fail "in during the freeze: $out"
echo "$out" | grep -q "access denied: plugin example denies: quarter close until 2 Jan" ||
    pv_fail "freeze: $out"
rm -f "$FREEZE"

# alice's session stays up through everything below.
pvssh "alice+$ME@db01" 'echo up; sleep 30; echo still-here' </dev/null >"$PV_TMP/alice.out" 2>&1 &
AP=$!
pv_track "$AP"
pv_wait_log "$PV_TMP/alice.out" up 15 || pv_fail "alice's session: $(cat "$PV_TMP/alice.out")"

# A session process (which an attacker may take over) holds no end of the
# plugin host's socket pair: its one SOCK_SEQPACKET socket is its control
# link (LFD); it can neither ask the plugins nor feed them events.
L="bob+$ME@db01" ENG_KEY="$PV_TMP/bob" TOTP_OF=bob live_session bob
seq_inodes=$(awk 'NR > 1 && $5 == "0005" { print $7 }' /proc/net/unix)
[ -n "$seq_inodes" ] || pv_fail "no SOCK_SEQPACKET socket at all: is the host up?"
for fd in /proc/"$SP"/fd/*; do
	[ "$fd" = "/proc/$SP/fd/$LFD" ] && continue
	ino=$(readlink "$fd" | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
	[ -n "$ino" ] || continue
	for s in $seq_inodes; do
		[ "$s" = "$ino" ] && pv_fail "session process $SP holds a plugin host socket ($fd)"
	done
done
kill "$LP" 2>/dev/null

# login_as E WANT: E is refused and sees WANT; prints the seconds it took.
login_as() {
	t0=$(date +%s)
	out=$(ENG_KEY="$PV_TMP/$1" TOTP_OF=$1 pvssh "$1+$ME@db01" 'echo in' </dev/null 2>&1) &&
	    pv_fail "$1 got in: $out"
	echo "$out" | grep -q "$2" || pv_fail "$1: $out"
	echo $(($(date +%s) - t0))
}
login_as mallory "access denied: plugin testplugin denies: contract ended" >/dev/null
login_as error "access denied: plugin testplugin failed (deny): database down" >/dev/null
s=$(login_as hangman "plugins failed (deny): the plugin host did not answer in time")
[ "$s" -ge 2 ] && [ "$s" -lt 15 ] || pv_fail "the hang was cut after $s s"
grep -q "the plugin host did not answer in time (pid [0-9]*): killed" "$PVD_LOG" ||
    pv_fail "no log of the hang"
out=$(pvssh "alice+$ME@db01" 'echo again' </dev/null 2>&1) || pv_fail "alice after the hang: $out"
[ "$out" = again ] || pv_fail "alice after the hang: $out"
grep -q "plugin host restarted" "$PVD_LOG" || pv_fail "no restart logged"
login_as crasher "plugins failed (deny): the plugin host ended (a plugin crashed or exited)" >/dev/null
out=$(pvssh "alice+$ME@db01" 'echo after-crash' </dev/null 2>&1) || pv_fail "alice after the crash: $out"
[ "$out" = after-crash ] || pv_fail "alice after the crash: $out"
wait "$AP" || pv_fail "alice's live session: $(cat "$PV_TMP/alice.out")"
grep -q still-here "$PV_TMP/alice.out" || pv_fail "alice's live session: $(cat "$PV_TMP/alice.out")"

# The host API: a plugin reads the store and appends audit rows of its own
# (actor plugin:NAME), but cannot write another kind of row.
login_as querier "plugin testplugin denies: engineers=7 audit=ok forged=refused" >/dev/null
i=0
until pvctl audit export --format jsonl | grep '"actor":"plugin:testplugin"' |
    grep -q '"action":"plugin.testplugin.asked"'; do
	i=$((i + 1)); [ $i -lt 20 ] || pv_fail "the plugin's audit row was not appended"
	sleep 0.2
done
pvctl policy explain querier db01 "$ME" | grep -q "engineers=7 audit=ok forged=refused" ||
    pv_fail "the host API in provostctl"
[ "$(pvctl audit export --format jsonl | grep -c '"action":"plugin.testplugin.asked"')" -ge 2 ] ||
    pv_fail "provostctl did not append the plugin's row"
pvctl audit export --format jsonl | grep '"actor":"plugin:' | grep -q '"action":"session.open"' &&
    pv_fail "a plugin forged a session.open row"

# The monitor audits each refusal itself.
pvctl audit export --format jsonl >"$PV_TMP/audit.jsonl" || pv_fail "audit export"
for e in mallory error hangman crasher; do
	grep '"action":"plugin.deny"' "$PV_TMP/audit.jsonl" | grep '"actor":"broker"' |
	    grep -q "\"object\":\"engineer:$e\"" || pv_fail "no plugin.deny row for $e"
done
[ "$(grep '"action":"plugin.deny".*"object":"engineer:alice"' "$PV_TMP/audit.jsonl" |
    grep -c 'plugin example denies')" -eq 1 ] || pv_fail "alice's refusals: not the freeze alone"
grep '"action":"plugin.deny".*"object":"engineer:alice"' "$PV_TMP/audit.jsonl" |
    grep -q testplugin && pv_fail "alice was refused by the test plugin"

# Events: from the audit chain, whoever wrote the row.
i=0
until grep -q '"action":"session.close"' "$EV" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 50 ] || pv_fail "no session.close event: $(cat "$EV" 2>/dev/null)"
	sleep 0.2
done
grep -q '^2 .*"action":"session.open"' "$EV" || pv_fail "session.open is not kind 2: $(cat "$EV")"
grep -q '^3 .*"action":"session.close"' "$EV" || pv_fail "session.close is not kind 3"

# provostctl and the menu ask the same path, plugins included.
pvctl policy explain mallory db01 "$ME" >"$PV_TMP/explain" || pv_fail "explain"
grep -q "^note: refused by the plugins: plugin testplugin denies: contract ended" "$PV_TMP/explain" ||
    pv_fail "explain: $(cat "$PV_TMP/explain")"
pvctl --json policy explain mallory db01 "$ME" | grep -q '"plugin_refused": true' ||
    pv_fail "explain --json"
pvctl grant request mallory jit --account "$ME" --duration 1h >/dev/null 2>"$PV_TMP/req.err"
rc=$?
[ $rc -eq 5 ] || pv_fail "grant request for mallory: exit $rc $(cat "$PV_TMP/req.err")"
grep -q "refused: plugin testplugin denies: contract ended" "$PV_TMP/req.err" ||
    pv_fail "grant request: $(cat "$PV_TMP/req.err")"
pvctl grant request alice jit --account "$ME" --duration 1h >/dev/null ||
    pv_fail "grant request for alice"
out=$(ENG_KEY="$PV_TMP/mallory" TOTP_OF=mallory pvssh mallory request jit --account "$ME" --for 1h \
    </dev/null 2>&1) && pv_fail "menu request for mallory: $out"
echo "$out" | grep -q "request refused: plugin testplugin denies: contract ended" ||
    pv_fail "menu request: $out"
pvctl audit export --format jsonl >"$PV_TMP/audit.jsonl" || pv_fail "audit export"
[ "$(grep -c '"action":"plugin.deny".*"object":"engineer:mallory"' "$PV_TMP/audit.jsonl")" -ge 3 ] ||
    pv_fail "the ctl and menu refusals are not audited"

# Reports: the first plugin that makes one writes it to our stdout.
out=$(pvctl report test --month 2026-11) || pv_fail "report test"
echo "$out" | grep -q '^what test --month 2026-11$' || pv_fail "report: $out"
pvctl report test fail >/dev/null 2>"$PV_TMP/rep.err" && pv_fail "a failing report passed"
grep -q "report test: plugin testplugin: report test fail: asked to fail" "$PV_TMP/rep.err" ||
    pv_fail "report fail: $(cat "$PV_TMP/rep.err")"
pvctl report example | grep -q "^freeze file: $FREEZE$" || pv_fail "report example"
pvctl report nosuch >/dev/null 2>"$PV_TMP/rep.err"
[ $? -eq 3 ] || pv_fail "report nosuch: $(cat "$PV_TMP/rep.err")"
grep -q "no plugin makes the report nosuch" "$PV_TMP/rep.err" || pv_fail "report nosuch: $(cat "$PV_TMP/rep.err")"
pv_log "ok"
