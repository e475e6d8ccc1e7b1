#!/bin/sh
# t_broker_recdir.sh: RecordingDirectory's parents, as a local user who
# could write one of them would try it (whoever can rename a parent can
# put a directory of their own in its place and have recordings made
# there, or removed).  A RecordingDirectory under a directory another user
# owns, or one a group or others can write without the sticky bit, is
# refused by provostd -t and at start with one line naming the component;
# under a sticky directory (as /tmp) it is accepted when ours, refused
# when another user's.  A parent made group-writable while provostd runs
# refuses new sessions and the reload.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"
[ "$(id -u)" = 0 ] || pv_skip "needs root (chown to another user)"
other=$(id -u nobody 2>/dev/null) || pv_skip "no user nobody"

# refused DIR WHY: provostd -t and a start with RecordingDirectory DIR
# both fail, saying "RecordingDirectory DIR: WHY".
refused() {
	PVD_RECDIR=$1 write_conf "$(pv_free_port)"
	if "$PROVOSTD" -t -f "$CONF" >/dev/null 2>"$PV_TMP/t.err"; then
		pv_fail "provostd -t accepted RecordingDirectory $1"
	fi
	grep -qF "RecordingDirectory $1: $2" "$PV_TMP/t.err" ||
	    pv_fail "provostd -t on $1: $(cat "$PV_TMP/t.err")"
	[ "$(wc -l < "$PV_TMP/t.err")" -eq 1 ] ||
	    pv_fail "provostd -t on $1: not one line: $(cat "$PV_TMP/t.err")"
	if timeout 20 "$PROVOSTD" -D -f "$CONF" >"$PV_TMP/d.err" 2>&1; then
		pv_fail "provostd started with RecordingDirectory $1"
	fi
	grep -qF "RecordingDirectory $1: $2" "$PV_TMP/d.err" ||
	    pv_fail "provostd -D on $1: $(cat "$PV_TMP/d.err")"
	pv_log "refused: $(grep -F RecordingDirectory "$PV_TMP/t.err")"
}

B="$PV_TMP/parents"
mkdir -p "$B/gw" "$B/ww" "$B/theirs" "$B/sticky/mine" "$B/sticky/theirs" "$B/ok"
chmod 775 "$B/gw"
chmod 757 "$B/ww"
chown "$other" "$B/theirs" "$B/sticky/theirs"
chmod 1777 "$B/sticky"
refused "$B/gw/rec" "$B/gw is writable by group"
refused "$B/ww/rec" "$B/ww is writable by others"
refused "$B/theirs/rec" "$B/theirs is owned by uid $other"
refused "$B/sticky/theirs/rec" "$B/sticky/theirs is owned by uid $other in sticky $B/sticky"
# a link on the way is followed: the directories it leads to count
ln -s gw "$B/link"
refused "$B/link/rec" "$B/gw is writable by group"

# ours in a sticky directory: accepted, and sessions are recorded there
PVD_RECDIR="$B/sticky/mine/rec" start_provostd
out=$(pvssh "alice+$ME@db01" 'echo in' </dev/null 2>&1) || pv_fail "login: $out"
[ "$out" = in ] || pv_fail "login: $out"
n=$(find "$B/sticky/mine/rec" -name '*.pvr' | wc -l)
[ "$n" -ge 1 ] || pv_fail "no recording under $B/sticky/mine/rec"
pv_log "RecordingDirectory $B/sticky/mine/rec (sticky parent, ours): accepted, $n recording(s)"

# a parent made group-writable while it runs: no new session, no reload
chmod 775 "$B/sticky/mine"
if out=$(pvssh "alice+$ME@db01" 'echo in' </dev/null 2>&1) && [ "$out" = in ]; then
	pv_fail "a session was recorded under a group-writable parent"
fi
pv_wait_log "$PVD_LOG" "RecordingDirectory $B/sticky/mine/rec: $B/sticky/mine is writable by group (new sessions are refused)" 5 ||
    pv_fail "no line for the refused session: $(tail -5 "$PVD_LOG")"
kill -HUP "$PVD_PID"
pv_wait_log "$PVD_LOG" "reload refused: RecordingDirectory $B/sticky/mine/rec: $B/sticky/mine is writable by group" 10 ||
    pv_fail "reload not refused: $(tail -5 "$PVD_LOG")"
chmod 755 "$B/sticky/mine"
out=$(pvssh "alice+$ME@db01" 'echo again' </dev/null 2>&1) || pv_fail "login after the fix: $out"
[ "$out" = again ] || pv_fail "login after the fix: $out"
pv_log "a parent made group-writable: the session and the reload refused, with the line; fixed, sessions again"
exit 0
