#!/bin/sh
# t_configure_missing.sh: configure names the Debian package when a library
# is missing.  Each library's .pc file is hidden in turn (pkg-config sees a
# copy of the real search path without it) and configure must stop with the
# one clear line.
. "$top_srcdir/tests/integration/lib.sh"

command -v pkg-config >/dev/null || pv_skip "pkg-config not found"
pcdirs=$(pkg-config --variable pc_path pkg-config | tr ':' ' ')
mkdir -p "$PV_TMP/pc"
for d in $pcdirs; do
	[ -d "$d" ] && cp -n "$d"/*.pc "$PV_TMP/pc/" 2>/dev/null
done

check_missing() {
	pc=$1; pkg=$2
	rm -rf "$PV_TMP/pcm" "$PV_TMP/b"; mkdir -p "$PV_TMP/pcm" "$PV_TMP/b"
	cp "$PV_TMP/pc"/*.pc "$PV_TMP/pcm/"
	rm -f "$PV_TMP/pcm/$pc.pc"
	(cd "$PV_TMP/b" && PKG_CONFIG_LIBDIR="$PV_TMP/pcm" PKG_CONFIG_PATH= \
	    "$top_srcdir/configure" -q >"$PV_TMP/b/out" 2>&1)
	rc=$?
	[ $rc -ne 0 ] || pv_fail "configure passed without $pc.pc"
	line=$(grep 'configure: error:' "$PV_TMP/b/out")
	echo "$line" | grep -q "install the Debian package $pkg" ||
	    pv_fail "without $pc.pc configure said: $line"
	[ "$(grep -c 'configure: error:' "$PV_TMP/b/out")" -eq 1 ] ||
	    pv_fail "more than one error line without $pc.pc"
	pv_log "without $pc: $line"
}

check_missing libzstd libzstd-dev
check_missing libssh libssh-dev
check_missing liboath liboath-dev
check_missing cmocka libcmocka-dev
exit 0
