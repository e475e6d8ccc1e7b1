# lib.sh: shared helpers for integration tests (sourced, POSIX sh).
# Every test gets its own temp dir; every process it starts is recorded
# and stopped by pid on exit; every port is on 127.0.0.1.
# Exit codes follow automake: 0 pass, 77 skip, 99 hard error, else fail.

set -u

: "${top_srcdir:?run through make check}"
: "${top_builddir:?run through make check}"
SSHD=${SSHD:-/usr/sbin/sshd}
SSH=${SSH:-ssh}
SSH_KEYGEN=${SSH_KEYGEN:-ssh-keygen}

PV_PIDS=""
PV_TMP=$(mktemp -d "${TMPDIR:-/tmp}/provost-it.XXXXXX") || exit 99
PV_TEST=$(basename "$0" .sh)

pv_log() { printf '%s: %s\n' "$PV_TEST" "$*"; }
pv_fail() { printf '%s: FAIL: %s\n' "$PV_TEST" "$*" >&2; exit 1; }
# scripts/test installs every program the tests use, so there it sets
# PROVOST_NO_SKIP=1 and a missing program fails instead of skipping.
pv_skip() {
	if [ -n "${PROVOST_NO_SKIP:-}" ]; then
		printf '%s: FAIL (skips not allowed): %s\n' "$PV_TEST" "$*" >&2
		exit 1
	fi
	printf '%s: SKIP: %s\n' "$PV_TEST" "$*"; exit 77
}

pv_cleanup() {
	rc=$?
	for p in $PV_PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PV_PIDS; do
		n=0
		while kill -0 "$p" 2>/dev/null && [ $n -lt 50 ]; do
			sleep 0.1; n=$((n + 1))
		done
		kill -9 "$p" 2>/dev/null
	done
	# A sanitizer build's provostd reports leaks and errors as it exits
	# (it stops cleanly on SIGTERM): a report fails the test.
	if [ "$rc" -eq 0 ]; then
		for f in "$PV_TMP"/provostd*.log; do
			[ -f "$f" ] || continue
			if grep -Eq 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$f"; then
				echo "$PV_TEST: FAIL: sanitizer report in $f:"
				grep -E -A 30 'ERROR: (LeakSanitizer|AddressSanitizer)|runtime error:' "$f" | head -n 60
				rc=1
			fi
		done
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		# Show what the servers said before the evidence goes away.
		for f in "$PV_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f (last 40 lines)"; tail -n 40 "$f"
		done
	fi
	[ -n "${PV_KEEP_TMP:-}" ] || rm -rf "$PV_TMP"
	exit "$rc"
}
trap pv_cleanup EXIT
trap 'exit 1' INT TERM HUP

# pv_serialize NAME: hold an exclusive lock until the test ends.  Tests
# that run programs under pam_wrapper take "pam_wrapper": it keeps its copied
# service files in a few shared /tmp/pam.? folders, and parallel runs can
# remove each other's.
pv_serialize() {
	command -v flock >/dev/null || return 0
	exec 9>"${TMPDIR:-/tmp}/provost-test-$1.lock"
	flock -w 600 9 || pv_fail "waited 10 minutes for the $1 lock"
}

# pv_track PID: stop PID when the test ends.
pv_track() { PV_PIDS="$PV_PIDS $1"; }

# pv_port_free PORT: true if nothing listens on 127.0.0.1:PORT.
pv_port_free() {
	if command -v ss >/dev/null 2>&1; then
		! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
	else
		! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# pv_free_port: prints a free high port (random, checked, not reserved).
pv_free_port() {
	n=0
	while [ $n -lt 200 ]; do
		p=$(( ( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000 ) + 20000 ))
		if pv_port_free "$p"; then echo "$p"; return 0; fi
		n=$((n + 1))
	done
	return 1
}

# pv_wait_log FILE PATTERN [SECONDS]: wait until FILE has a line matching.
pv_wait_log() {
	n=0; lim=$(( ${3:-10} * 10 ))
	while [ $n -lt $lim ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1; n=$((n + 1))
	done
	return 1
}

# pv_keygen FILE [TYPE]: an unencrypted key pair.
pv_keygen() {
	"$SSH_KEYGEN" -q -t "${2:-ed25519}" -N '' -C "provost-test" -f "$1" ||
	    pv_fail "ssh-keygen $1"
}

# pv_start_sshd NAME [EXTRA-CONFIG-FILE]: a real sshd on a free port.
# Sets PV_SSHD_PORT, PV_SSHD_DIR (host key, config, log); PV_SSHD_MAXSTARTUPS
# overrides its MaxStartups (load tests), PV_SSHD_LOGLEVEL its LogLevel.  The config is
# checked with sshd -t first; a failed bind is retried on another port.
pv_start_sshd() {
	name=$1; extra=${2:-}
	[ -x "$SSHD" ] || pv_skip "sshd not found (apt-get install openssh-server)"
	dir="$PV_TMP/$name"; mkdir -p "$dir"
	[ -f "$dir/host_ed25519" ] || pv_keygen "$dir/host_ed25519"
	# sshd wants its privilege separation directory even in tests.
	[ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null || :
	tries=0
	while [ $tries -lt 5 ]; do
		port=$(pv_free_port) || pv_fail "no free port"
		cat > "$dir/sshd_config" <<EOC
ListenAddress 127.0.0.1:$port
HostKey $dir/host_ed25519
PidFile none
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
AuthorizedKeysFile $dir/authorized_keys
LogLevel ${PV_SSHD_LOGLEVEL:-VERBOSE}
MaxStartups ${PV_SSHD_MAXSTARTUPS:-100:30:200}
# bash skips ~/.bashrc when started by sshd at SHLVL >= 2: a login shell's
# start-up files (pyenv rehash takes a lock) must not time the tests.
SetEnv SHLVL=1
EOC
		[ -n "$extra" ] && cat "$extra" >> "$dir/sshd_config"
		"$SSHD" -t -f "$dir/sshd_config" || pv_fail "sshd -t rejected $dir/sshd_config"
		: > "$dir/sshd.log"
		"$SSHD" -D -e -f "$dir/sshd_config" >>"$PV_TMP/$name.log" 2>&1 &
		pid=$!
		pv_track "$pid"
		if pv_wait_log "$PV_TMP/$name.log" "Server listening on 127.0.0.1 port $port" 10; then
			PV_SSHD_PORT=$port; PV_SSHD_DIR=$dir; PV_SSHD_PID=$pid
			return 0
		fi
		kill "$pid" 2>/dev/null
		tries=$((tries + 1))
	done
	pv_fail "sshd did not start (see $PV_TMP/$name.log)"
}

# pv_ssh_config FILE: a client config that trusts nothing it did not make.
pv_ssh_config() {
	cat > "$1" <<EOC
Host *
	BatchMode yes
	StrictHostKeyChecking yes
	UserKnownHostsFile $PV_TMP/known_hosts
	GlobalKnownHostsFile /dev/null
	IdentitiesOnly yes
	LogLevel ERROR
	ConnectTimeout 10
	ServerAliveInterval 5
EOC
}
