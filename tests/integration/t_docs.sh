#!/bin/sh
# t_docs.sh: the docs and the program agree.  Every man page renders with
# no groff warning, and its synopsis keeps each option whole (no word
# hyphenated, no bracket split over lines) at 60 columns.  One source decides the configuration keywords: the
# parser's table (common/config.c); README's table, provostd(8) and
# provost.conf(5) each name every keyword it has, and no other; provostd -T
# prints every one of them in a form provostd takes back.  No file under
# broker/monitor/ includes a broker/session/ header, nor the reverse.
. "$top_srcdir/tests/integration/lib.sh"

command -v groff >/dev/null || pv_skip "groff not found (apt-get install groff-base)"
for page in "$top_srcdir"/docs/*.[1-8]; do
	out=$(LC_ALL=C.UTF-8 groff -ww -z -man "$page" 2>&1)
	[ -z "$out" ] || pv_fail "$(basename "$page"): $out"
	grep -q "$(printf '\f')" "$page" && pv_fail "$(basename "$page") holds a form feed"
	LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -rLL=60n "$page" 2>/dev/null |
	    sed 's/.\x08//g' | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' >"$PV_TMP/syn"
	[ -s "$PV_TMP/syn" ] || pv_fail "$(basename "$page"): no SYNOPSIS rendered"
	bad=$(awk '/[-‐]$/ || gsub(/\[/, "[") != gsub(/\]/, "]") ||
	    gsub(/\(/, "(") != gsub(/\)/, ")")' "$PV_TMP/syn")
	[ -z "$bad" ] || pv_fail "$(basename "$page"): synopsis breaks an option: $bad"
done

kw=$(sed -n 's/^	{ "\([A-Za-z]*\)", [0-9], [0-9], kw_[a-z]* },$/\1/p' "$top_srcdir/common/config.c")
[ "$(echo "$kw" | wc -l)" -ge 20 ] || pv_fail "keyword table not found: $kw"
readme=$(sed -n 's/^| `\([A-Za-z]*\)` | .*/\1/p' "$top_srcdir/README.md" | sort -u)
man8=$(sed -n 's/^\.BI\{0,1\} \([A-Z][A-Za-z]*\)\( .*\)\{0,1\}$/\1/p' "$top_srcdir/docs/provostd.8" |
    sed -n '/^ListenAddress$/,$p' | sort -u)
man5=$(sed -n 's/^\.BI \([A-Z][A-Za-z]*\) .*/\1/p' "$top_srcdir/docs/provost.conf.5" | sort -u)
for k in $kw; do
	echo "$readme" | grep -qx "$k" || pv_fail "README's configuration table lacks $k"
	echo "$man8" | grep -qx "$k" || pv_fail "provostd(8) lacks $k"
	echo "$man5" | grep -qx "$k" || pv_fail "provost.conf(5) lacks $k"
done
for k in $readme; do
	echo "$kw" | grep -qx "$k" || pv_fail "README documents $k, which provostd does not take"
done
for k in $man5; do
	echo "$kw" | grep -qx "$k" || pv_fail "provost.conf(5) documents $k, which provostd does not take"
done
# provostd -T prints them all (lower case, as sshd -T).
mkdir -p "$PV_TMP/state"
openssl genpkey -algorithm X25519 -out "$PV_TMP/s.pem" 2>/dev/null &&
    openssl pkey -in "$PV_TMP/s.pem" -pubout -out "$PV_TMP/s.pub" 2>/dev/null || pv_fail "key"
printf 'Levels public\nRule r\n  Classification public\n  Approval none\n' > "$PV_TMP/policy.conf"
cat > "$PV_TMP/provostd.conf" <<EOC
ListenAddress 127.0.0.1
StateDirectory $PV_TMP/state
PolicyFile $PV_TMP/policy.conf
RecordingRecipient $PV_TMP/s.pub
SandboxUser nobody
LogLevel warn
RotationHook net-password /bin/true
EOC
"$top_builddir/provostctl" -f "$PV_TMP/provostd.conf" init >/dev/null 2>&1 || pv_fail "provostctl init"
"$top_builddir/provostd" -T -f "$PV_TMP/provostd.conf" > "$PV_TMP/T.out" 2>"$PV_TMP/T.err" ||
    pv_fail "provostd -T: $(cat "$PV_TMP/T.err")"
for k in $kw; do
	[ "$k" = Plugin ] && continue # none configured
	grep -qi "^$k " "$PV_TMP/T.out" || pv_fail "provostd -T does not print $k"
done
grep -qx 'listenaddress 127.0.0.1:2222' "$PV_TMP/T.out" || pv_fail "bare HOST: $(grep listen "$PV_TMP/T.out")"
grep -qx 'loglevel warn' "$PV_TMP/T.out" || pv_fail "LogLevel warn"
# -T's output is a configuration provostd takes back.
"$top_builddir/provostd" -t -f "$PV_TMP/T.out" >/dev/null 2>"$PV_TMP/T2.err" ||
    pv_fail "-T's output is refused: $(cat "$PV_TMP/T2.err")"
# -t prints no configuration; -h and --help print the usage, no error.
[ -z "$("$top_builddir/provostd" -t -f "$PV_TMP/provostd.conf" 2>/dev/null)" ] || pv_fail "-t printed to stdout"
for h in -h --help; do
	out=$("$top_builddir/provostd" "$h" 2>&1) || pv_fail "provostd $h exit $?"
	echo "$out" | grep -q '^usage: provostd' || pv_fail "provostd $h: $out"
	echo "$out" | grep -qi 'invalid' && pv_fail "provostd $h: $out"
done
# The tree shows the privilege boundary, and the build enforces it.
env -u MAKEFLAGS -u MFLAGS make -s -C "$top_builddir" check-layout >"$PV_TMP/layout.out" 2>&1 ||
    pv_fail "$(cat "$PV_TMP/layout.out")"
pv_log "$(echo "$kw" | wc -l) keywords in README, provostd(8), provost.conf(5) and -T"
