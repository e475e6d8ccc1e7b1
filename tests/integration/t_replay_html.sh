#!/bin/sh
# t_replay_html.sh: provost-replay export --format html in Debian's headless
# Chromium (replay-page.py speaks the DevTools protocol over a pipe, the
# network emulated offline), on real recordings: a shell, an exec and an
# sftp session through provostd, and provost-rec recording a command that
# prints hostile escape sequences and HTML.  The page loads with no request,
# the player shows what was on screen at a given second, a click on a
# command or a search hit seeks there, several recordings give an index, and
# nothing hostile runs.  Also: --format commands, the page's mode 0600 and
# O_EXCL|O_NOFOLLOW, and the build's check of the player's integrity.
. "$top_srcdir/tests/integration/lib.sh"

CHROMIUM=${CHROMIUM:-$(command -v chromium || :)}
[ -n "$CHROMIUM" ] || pv_skip "chromium not found (apt-get install chromium)"
command -v python3 >/dev/null || pv_skip "python3 not found"
. "$top_srcdir/tests/integration/broker-setup.sh"
[ -n "$SFTP" ] || pv_skip "sftp not found"
REPLAY="$top_builddir/provost-replay"
REC="$top_builddir/provost-rec"
KEY="$PV_TMP/sec.pem"
W="$PV_TMP/w"
mkdir -p "$W/shots"
start_provostd

# The recording of the session that just ended (its seal is logged).
nsealed=0
session_rec() {
	nsealed=$((nsealed + 1))
	i=0
	while [ "$(grep -c 'sealed' "$PVD_LOG")" -lt "$nsealed" ] && [ $i -lt 50 ]; do
		sleep 0.2; i=$((i + 1))
	done
	sed -n 's/.*recording to \(.*\.pvr\)$/\1/p' "$PVD_LOG" | tail -1
}
# browser CHECK PAGE ARGS...: replay-page.py; on failure its screenshots are
# kept in the build tree (the temp dir goes when the test ends).
browser() {
	check=$1; shift
	if ! python3 "$top_srcdir/tests/integration/replay-page.py" "$CHROMIUM" \
	    "$W" "$check" "$@" >"$W/$check.out" 2>&1; then
		keep="$top_builddir/tests/integration/t_replay_html.shots"
		rm -rf "$keep" && mkdir -p "$keep" && cp "$W"/shots/*.png "$keep/" 2>/dev/null
		pv_fail "browser $check: $(cat "$W/$check.out") (screenshots in $keep)"
	fi
	sed 's/^/  /' "$W/$check.out"
}
L="alice+$ME@files"

# A shell session, typed at a human pace: phase-one, then phase-two 3 s
# later, then a password typed at a prompt that does not echo it.
{ sleep 1; echo 'echo phase-one'; sleep 3; echo 'echo phase-two'; sleep 1
  echo "read -s -p 'Password: ' pw; echo; echo got-\${#pw}"; sleep 1
  echo 'hunter2-secret'; sleep 1; echo 'exit'; } |
    pvssh "$L" -tt >"$W/shell.out" 2>&1 || pv_fail "shell session: $(tail -5 "$W/shell.out")"
SHELL_REC=$(session_rec)
# An exec session whose command fails with 7.
pvssh "$L" 'echo exec-out; exit 7' >"$W/exec.out" 2>&1
[ $? -eq 7 ] || pv_fail "exec session: $(cat "$W/exec.out")"
EXEC_REC=$(session_rec)
# An sftp session that uploads a file.
head -c 100000 /dev/urandom >"$W/upload.bin"
printf 'put %s %s\n' "$W/upload.bin" "$W/remote.bin" >"$W/batch"
pvsftp "$L" -b "$W/batch" >"$W/sftp.out" 2>&1 || pv_fail "sftp: $(cat "$W/sftp.out")"
SFTP_REC=$(session_rec)
# provost-rec records a command printing OSC 52 (clipboard), OSC 8 (link), a
# window title, bidi overrides and HTML made to break out of the page, under
# a TERM (it goes into the header) holding the same.
cat >"$W/hostile.sh" <<'EOF'
printf 'clip:\033]52;c;cHduZWQ=\007 link:\033]8;;http://127.0.0.1:9/osc8\033\\click-me\033]8;;\033\\ title:\033]0;PWNED-title\007 done\n'
printf 'bidi: \342\200\256evil-bidi\342\200\254 \342\201\246iso\342\201\251 end\n'
printf 'inject1: <script>window.__pv_pwned=1;document.title="PWNED"</script>\n'
printf 'inject2: <img src=x onerror="window.__pv_pwned=2">\n'
printf 'inject3: "><svg onload=window.__pv_pwned=3> '"'"'><iframe src=javascript:window.__pv_pwned=4>\n'
printf 'inject4: </script><script>window.__pv_pwned=5</script><!--\n'
EOF
TERM="$(printf 'xterm\033]52;c;cHduZWQ=\007\342\200\256<script>window.__pv_pwned=6</script>')" \
    timeout -k 5 20 "$REC" --recipient "$PV_TMP/sec.pub" -o "$W/hostile.pvr" -- \
    sh "$W/hostile.sh" >/dev/null 2>"$W/rec.err" || pv_fail "provost-rec: $(cat "$W/rec.err")"

# --format commands: one JSON object per command, with who and where.
"$REPLAY" export --key "$KEY" --format commands "$SHELL_REC" "$EXEC_REC" \
    >"$W/commands.jsonl" || pv_fail "export --format commands"
python3 - "$W/commands.jsonl" "$ME" <<'EOF' || pv_fail "commands: $(cat "$W/commands.jsonl")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def one(cmd):
    m = [r for r in rows if r["command"] == cmd]
    assert len(m) == 1, (cmd, m)
    r = m[0]
    for k, v in (("engineer", "alice"), ("target", "files"),
                 ("account", sys.argv[2]), ("client", "127.0.0.1")):
        assert r[k] == v, (k, r)
    assert r["time"].endswith("Z") and len(r["session"]) == 36, r
    return r
a, b = one("echo phase-one"), one("echo phase-two")
assert a["kind"] == "typed" and "exit_status" not in a, a
assert len([r for r in rows if r["command"] == ""]) == 0, rows
assert 2500 <= b["t_ms"] - a["t_ms"] <= 8000, (a, b)
e = one("echo exec-out; exit 7")
assert e["kind"] == "exec" and e["exit_status"] == 7, e
p = one("(typed at a password prompt: not shown)")
assert p["secret"] is True and p["t_ms"] > b["t_ms"], p
assert not [r for r in rows if "hunter2" in r["command"]], rows
EOF
grep -q 'got-14' "$W/shell.out" || pv_fail "the password was not typed: $(tail -5 "$W/shell.out")"
T1=$(sed -n 's/.*"t_ms":\([0-9]*\),.*"command":"echo phase-one".*/\1/p' "$W/commands.jsonl")
T2=$(sed -n 's/.*"t_ms":\([0-9]*\),.*"command":"echo phase-two".*/\1/p' "$W/commands.jsonl")
pv_log "commands: phase-one at ${T1} ms, phase-two at ${T2} ms, exec exit 7"

# One page: 0600, never over an existing file, never through a link.
"$REPLAY" export --key "$KEY" --format html -o "$W/shell.html" "$SHELL_REC" ||
    pv_fail "export --format html"
[ "$(stat -c %a "$W/shell.html")" = 600 ] ||
    pv_fail "the page is mode $(stat -c %a "$W/shell.html"), not 600"
grep -q 'decrypted' "$W/shell.html" || pv_fail "the page does not say it holds decrypted content"
! grep -q hunter2 "$W/shell.html" || pv_fail "the password typed at a prompt is on the page"
"$REPLAY" grep --key "$KEY" --input hunter2 "$SHELL_REC" >/dev/null ||
    pv_fail "the password is not in the recording (grep --input): the check above proves nothing"
before=$(sha "$W/shell.html")
"$REPLAY" export --key "$KEY" --format html -o "$W/shell.html" "$EXEC_REC" 2>"$W/excl.err" &&
    pv_fail "export wrote over an existing page"
[ "$(sha "$W/shell.html")" = "$before" ] || pv_fail "the existing page changed"
echo keep >"$W/victim"
ln -s "$W/victim" "$W/link.html"
"$REPLAY" export --key "$KEY" --format html -o "$W/link.html" "$EXEC_REC" 2>"$W/link.err" &&
    pv_fail "export followed a symbolic link"
[ "$(cat "$W/victim")" = keep ] || pv_fail "the link's target was written"
pv_log "page mode 600; an existing file and a link are refused: $(cat "$W/link.err")"
# Without -o the page goes to standard output, never to a terminal.
python3 -c 'import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write("%d %s" % (os.waitstatus_to_exitcode(st), out.decode(errors="replace")))' \
    "$REPLAY" export --key "$KEY" --format html "$EXEC_REC" >"$W/tty.out" 2>&1
grep -q '^2 .*give -o PAGE or redirect standard output' "$W/tty.out" ||
    pv_fail "the page went to a terminal: $(head -c 300 "$W/tty.out")"

# In the browser.  First, that the request monitor sees a page's request.
browser probe 'data:text/html,<img src="http://127.0.0.1:9/probe">'
mid=$(awk -v a="$T1" -v b="$T2" 'BEGIN { printf "%.3f", (a + b) / 2000 }')
browser session "$W/shell.html" "$mid" phase-one phase-two
"$REPLAY" export --key "$KEY" --format html -o "$W/hostile.html" "$W/hostile.pvr" ||
    pv_fail "export the hostile recording"
browser hostile "$W/hostile.html"
"$REPLAY" export --key "$KEY" --format html -o "$W/all.html" "$SHELL_REC" \
    "$EXEC_REC" "$SFTP_REC" "$W/hostile.pvr" || pv_fail "export four recordings"
browser index "$W/all.html" 4 inject2
browser files "$W/all.html" 3 "$W/remote.bin" "$(sha "$W/upload.bin")"

# A recording the key does not open is reported, on the page and by the exit.
"$OPENSSL" genpkey -algorithm X25519 -out "$W/other.pem" 2>/dev/null
"$REPLAY" export --key "$W/other.pem" --format html -o "$W/nokey.html" "$EXEC_REC" \
    2>"$W/nokey.err"
[ $? -eq 1 ] || pv_fail "a recording the key does not open: exit not 1"
grep -q 'no recipient matches this key' "$W/nokey.html" ||
    pv_fail "the page does not say why the recording is missing"

# The build inlines only the pinned player: one byte more and it refuses.
tgz=$(ls "$top_srcdir"/third_party/asciinema-player-*.tgz)
ver=$(sed -n 's/^PLAYER_VERSION = //p' "$top_srcdir/recorder/local.mk")
integ=$(sed -n 's/^PLAYER_INTEGRITY = //p' "$top_srcdir/recorder/local.mk")
sh "$top_srcdir/recorder/player-assets.sh" "$tgz" "$ver" "$integ" \
    "$top_srcdir/recorder/replay-page.js" "$top_srcdir/recorder/replay-page.css" \
    "$W/assets.c" || pv_fail "player-assets.sh on the vendored tarball"
cp "$tgz" "$W/evil.tgz" && printf x >>"$W/evil.tgz"
sh "$top_srcdir/recorder/player-assets.sh" "$W/evil.tgz" "$ver" "$integ" \
    "$top_srcdir/recorder/replay-page.js" "$top_srcdir/recorder/replay-page.css" \
    "$W/evil.c" 2>"$W/evil.err" && pv_fail "a changed player tarball was inlined"
grep -q 'is not the pinned' "$W/evil.err" || pv_fail "player-assets.sh: $(cat "$W/evil.err")"
[ ! -e "$W/evil.c" ] || pv_fail "player-assets.sh left output behind"
pv_log "a player tarball one byte longer is refused"
exit 0
