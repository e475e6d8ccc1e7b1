# scripts/lib/common.sh: what scripts/test and scripts/quickstart share:
# the Debian packages provost needs, installed only when missing, and the
# configure-and-build step.  Sourced by bash scripts.

# Build and library packages (configure names them when missing).
PV_BUILD_PKGS=(gcc make autoconf automake libtool pkg-config
	libssh-dev libssl-dev liboath-dev libsqlite3-dev libjansson-dev
	libzstd-dev libseccomp-dev libcmocka-dev libpam0g-dev libqrencode-dev
	libcrypt-dev libpq-dev)
# Programs the product and the demo run.
PV_RUN_PKGS=(openssh-server openssh-client oathtool openssl sqlite3 iproute2
	procps tzdata openssh-sftp-server)
# Programs only the tests, lint, fuzzing and benchmarks use.
PV_TEST_PKGS=(pamtester libpam-wrapper asciinema tmux clang
	libclang-rt-14-dev cppcheck clang-tidy clang-format tlog zstd python3
	python3-cryptography groff-base chromium curl jq postgresql-15
	postgresql-client-15)

pv_say() { printf '%s: %s\n' "${PV_SCRIPT:-provost}" "$*"; }
pv_die() { printf '%s: error: %s\n' "${PV_SCRIPT:-provost}" "$*" >&2; exit 1; }

# pv_install_missing PKG...: apt-get install only what dpkg lacks.
pv_install_missing() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] ||
	    pv_die "missing packages (run as root to install): ${missing[*]}"
	pv_say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || pv_die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" \
	    >/dev/null || pv_die "apt-get install failed: ${missing[*]}"
}

# pv_install_npm: npm (Debian's, with its node) unless one is on PATH
# (scripts/player-check asks the npm registry about the replay page's player).
pv_install_npm() {
	command -v npm >/dev/null 2>&1 || pv_install_missing npm
}

# pv_bootstrap: autoreconf once per change of configure.ac or any *.mk/*.am.
pv_bootstrap() {
	local top=$1
	if [ ! -x "$top/configure" ] || [ -n "$(find "$top" -maxdepth 3 \
	    \( -name configure.ac -o -name '*.am' -o -name local.mk \) \
	    -newer "$top/configure" -print -quit 2>/dev/null)" ]; then
		pv_say "autoreconf"
		(cd "$top" && autoreconf -fi >build-autoreconf.log 2>&1) || {
			cat "$top/build-autoreconf.log" >&2
			pv_die "autoreconf failed"
		}
		rm -f "$top/build-autoreconf.log"
	fi
}

# pv_build DIR CONFIGURE-ARGS...: configure (when the args changed) and make
# (the target PV_MAKE_TARGET, default all).  Returns non-zero on failure.
pv_build() {
	local dir=$1; shift
	local top; top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.pv-args" 2>/dev/null)" != "$*" ] ||
	    [ "$top/configure" -nt "$dir/Makefile" ]; then
		(cd "$dir" && "$top/configure" "$@" >configure.out 2>&1) || {
			tail -n 5 "$dir/configure.out" >&2
			pv_say "configure $* failed (see $dir/configure.out)"
			return 1
		}
		printf '%s' "$*" > "$dir/.pv-args"
	fi
	make -C "$dir" -j"$(nproc)" ${PV_MAKE_TARGET:-all} >"$dir/make.out" 2>&1 || {
		grep -E 'error|Error' "$dir/make.out" | head -n 20 >&2
		pv_say "build in $dir failed (see $dir/make.out)"
		return 1
	}
}
