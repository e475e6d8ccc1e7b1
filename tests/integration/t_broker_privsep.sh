#!/bin/sh
# t_broker_privsep.sh: privilege separation and the sandbox, on a live
# session: the session process runs as the SandboxUser under seccomp
# (Seccomp: 2), and none of the monitor's secrets (the CA, audit and
# token signing keys, totp.key) is anywhere in its memory (scanned through
# /proc/PID/mem; the same scan finds each in the monitor, which proves it
# can).  The key files are unreadable to the SandboxUser.  A
# malformed frame and an out-of-order request, written into a live session
# process's monitor socket (a copy taken with pidfd_getfd), get it killed,
# logged, audited and its row marked aborted.  Nothing of the monitor's
# open store (descriptors, the -shm mapping) is in the session process.
# provostd -t refuses a
# SandboxUser that does not exist.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

[ "$(id -u)" -eq 0 ] || pv_skip "needs root (setuid, /proc/PID/mem)"
command -v python3 >/dev/null 2>&1 || pv_skip "python3 not found"
SBUSER=${PVD_SANDBOX_USER:-nobody}
SBUID=$(id -u "$SBUSER") || pv_fail "no user $SBUSER"
SBGID=$(id -g "$SBUSER")

# A SandboxUser that does not exist: refused at once, also by -t.
PVD_SANDBOX_USER=pv-no-such-user write_conf 2222
"$PROVOSTD" -t -f "$CONF" >/dev/null 2>"$PV_TMP/nouser.err" &&
    pv_fail "provostd -t accepted a missing SandboxUser"
grep -q 'SandboxUser pv-no-such-user: no such user' "$PV_TMP/nouser.err" ||
    pv_fail "no clear message: $(cat "$PV_TMP/nouser.err")"

start_provostd
L="alice+$ME@db01"

# The scanner: every readable mapping of PID, searched for each secret
# named: ssh:FILE is the Ed25519 seed of an OpenSSH private key file,
# raw:FILE the file's bytes (totp.key).  Prints one count per secret.
cat > "$PV_TMP/scan.py" <<'EOP'
import base64, re, struct, sys

def seed(path):
    text = open(path).read()
    body = re.search(r"-----BEGIN OPENSSH PRIVATE KEY-----(.*?)-----END",
                     text, re.S).group(1)
    b = base64.b64decode("".join(body.split()))
    assert b.startswith(b"openssh-key-v1\0")
    off = len(b"openssh-key-v1\0")
    def s():
        nonlocal off
        n = struct.unpack(">I", b[off:off + 4])[0]
        v = b[off + 4:off + 4 + n]
        off += 4 + n
        return v
    s(); s(); s()                      # cipher, kdf, kdf options
    off += 4                           # number of keys
    s()                                # public key
    priv = s()
    p = 8                              # check ints
    def t():
        nonlocal p
        n = struct.unpack(">I", priv[p:p + 4])[0]
        v = priv[p + 4:p + 4 + n]
        p += 4 + n
        return v
    assert t() == b"ssh-ed25519"
    t()                                # public
    k = t()                            # seed || public
    assert len(k) == 64
    return k[:32]

def needle(spec):
    kind, path = spec.split(":", 1)
    if kind == "ssh":
        return seed(path)
    assert kind == "raw"
    v = open(path, "rb").read()
    assert len(v) >= 16, "%s: too short to search for" % path
    return v

pid = sys.argv[1]
keys = [needle(a) for a in sys.argv[2:]]
width = max(len(k) for k in keys)
hits = [0] * len(keys)
mem = open("/proc/%s/mem" % pid, "rb", 0)
for line in open("/proc/%s/maps" % pid):
    f = line.split()
    lo, hi = (int(x, 16) for x in f[0].split("-"))
    if f[1][0] != "r" or (len(f) > 5 and f[5] in ("[vvar]", "[vsyscall]", "[vvar_vclock]")):
        continue
    # ASan's high shadow is one anonymous mapping of terabytes; it holds
    # addressability bytes, never data, and cannot be read whole.
    if hi - lo > 64 << 30 and len(f) <= 5:
        sys.stderr.write("scan: skipped %s (%d GiB, no file)\n" % (f[0], (hi - lo) >> 30))
        continue
    tail = b""
    pos = lo
    while pos < hi:
        n = min(hi - pos, 64 << 20)
        try:
            mem.seek(pos)
            data = mem.read(n)
        except OSError:
            break
        # a key straddling two reads is found in tail + data, once: the
        # tail is shorter than the key
        for i, k in enumerate(keys):
            hits[i] += (tail[-(len(k) - 1):] + data).count(k)
        tail = data[-(width - 1):]
        pos += n
print(" ".join(str(h) for h in hits))
EOP

# A copy of a process's descriptor (pidfd_getfd), and a frame written on it.
cat > "$PV_TMP/inject.py" <<'EOP'
import ctypes, os, struct, sys
pid, fd, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
mine = libc.syscall(438, pidfd, fd, 0)          # pidfd_getfd
if mine < 0:
    sys.exit("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
if kind == "malformed":
    frame = struct.pack(">IB", 1, 0xEE)           # an unknown type
else:
    # auth-pubkey, well formed, long after authentication
    def s(b): return struct.pack(">I", len(b)) + b
    body = bytes([1]) + s(b"alice") + s(b"\x00\x00\x00\x0bssh-ed25519") + s(b"127.0.0.1")
    frame = struct.pack(">I", len(body)) + body
os.write(mine, frame)
EOP

live_session a
# 1. Who it is and what it may do.
st="/proc/$SP/status"
grep -Eq "^Uid:[[:space:]]+${SBUID}[[:space:]]+${SBUID}[[:space:]]+${SBUID}[[:space:]]+$SBUID$" "$st" ||
    pv_fail "uids: $(grep ^Uid "$st")"
grep -Eq "^Gid:[[:space:]]+${SBGID}[[:space:]]+${SBGID}[[:space:]]+${SBGID}[[:space:]]+$SBGID$" "$st" ||
    pv_fail "gids: $(grep ^Gid "$st")"
grep -Eq "^Groups:[[:space:]]*${SBGID}[[:space:]]*$" "$st" || pv_fail "groups: $(grep ^Groups "$st")"
grep -Eq '^Seccomp:[[:space:]]+2$' "$st" || pv_fail "not in seccomp filter mode: $(grep ^Seccomp "$st")"
grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$st" || pv_fail "no NoNewPrivs"
# both filters: preauth's (from the fork) and the session's stacked on it
grep -Eq '^Seccomp_filters:[[:space:]]+2$' "$st" || pv_fail "filters: $(grep ^Seccomp_filters "$st")"
grep -Eq '^CapEff:[[:space:]]+0+$' "$st" || pv_fail "capabilities left: $(grep ^CapEff "$st")"

# 2. Every secret of the state directory but the host key (which libssh
# 0.10 needs in the session process for the key exchange, by design): the
# CA, the audit signing key, the pvt token signing key (Ed25519 seeds) and
# totp.key (32 raw bytes).  Each is in the monitor (the scan can find it)
# and nowhere in the session process.  A file init makes that is not
# named here fails the test, so a new secret gets scanned for.
ls -A "$STATE" > "$PV_TMP/state.ls"
pv_log "state directory: $(tr '\n' ' ' < "$PV_TMP/state.ls")"
while read -r f; do
	case "$f" in
	ca | audit_ed25519 | token_ed25519 | totp.key | host_ed25519) ;;
	*.pub | provost.db | provost.db-wal | provost.db-shm | provost.db-journal) ;;
	*) pv_fail "state directory: $f is not known to this test (a secret? scan for it)" ;;
	esac
done < "$PV_TMP/state.ls"
names="ca audit_ed25519 token_ed25519 totp.key"
specs="ssh:$STATE/ca ssh:$STATE/audit_ed25519 ssh:$STATE/token_ed25519 raw:$STATE/totp.key"
# shellcheck disable=SC2086 # the specs are words
ses=$(python3 "$PV_TMP/scan.py" "$SP" $specs) || pv_fail "scan of the session failed"
[ -d "/proc/$SP" ] || pv_fail "the session process ended during the scan"
# shellcheck disable=SC2086
mon=$(python3 "$PV_TMP/scan.py" "$PVD_PID" $specs) || pv_fail "scan of the monitor failed"
bad=
set -- $ses
for n in $names; do
	[ "$1" -eq 0 ] || bad="$bad $n ($1 copies)"
	shift
done
[ -z "$bad" ] || pv_fail "in the session process:$bad"
set -- $mon
for n in $names; do
	[ "$1" -ge 1 ] || bad="$bad $n"
	shift
done
[ -z "$bad" ] || pv_fail "the scan does not find in the monitor:$bad"
pv_log "copies of ca audit_ed25519 token_ed25519 totp.key: $mon in the monitor, $ses in the session process"

# 3. The key file, the store and the recordings: out of the SandboxUser's reach.
for f in "$STATE/ca" "$STATE/provost.db" "$STATE/audit_ed25519" "$STATE/token_ed25519" \
    "$STATE/totp.key"; do
	setpriv --reuid="$SBUID" --regid="$SBGID" --clear-groups cat "$f" >/dev/null 2>&1 &&
	    pv_fail "$SBUSER can read $f"
done
[ "$(stat -c '%a %u' "$STATE/ca")" = "600 0" ] || pv_fail "ca mode: $(stat -c '%a %u' "$STATE/ca")"
setpriv --reuid="$SBUID" --regid="$SBGID" --clear-groups touch "$PV_TMP/rec/x" 2>/dev/null &&
    pv_fail "$SBUSER can write the recordings directory"
# Nor through what the fork handed down: the monitor keeps its store open
# (its statements prepared once), the session process holds no descriptor
# of the file, its -wal or -shm, and no mapping of the shared -shm index
# (writable whatever the uid).  The monitor holds both, which proves the
# look can see them.
db=$(readlink -f "$STATE/provost.db")
ls -l "/proc/$PVD_PID/fd" | grep -q " -> $db" ||
    pv_fail "the monitor has no descriptor of its store"
grep -q " $db-shm\$" "/proc/$PVD_PID/maps" || pv_fail "the monitor does not map $db-shm"
if ls -l "/proc/$SP/fd" | grep " -> $db"; then
	pv_fail "the session process holds a descriptor of the store"
fi
if grep " $db" "/proc/$SP/maps"; then
	pv_fail "the session process maps the store's files"
fi

# 4. A malformed frame on its monitor socket: killed, logged, aborted.
python3 "$PV_TMP/inject.py" "$SP" "$MFD" malformed || pv_fail "inject failed"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a malformed frame" 5 ||
    pv_fail "malformed frame: not killed"
wait "$LP"
i=0
while [ -d "/proc/$SP" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -d "/proc/$SP" ] && pv_fail "the session process lives on"
if [ -n "${SQLITE3:-}" ] && [ -x "$SQLITE3" ]; then
	st=$("$SQLITE3" "$STATE/provost.db" "select state from sessions where id = '$SID'")
	[ "$st" = aborted ] || pv_fail "row after the violation: $st"
	n=$("$SQLITE3" "$STATE/provost.db" \
	    "select count(*) from audit where action = 'session.monitor_violation' and object = 'session:$SID'")
	[ "$n" -eq 1 ] || pv_fail "violation audited $n times"
fi

# 5. A well-formed request in the wrong phase (a key check after
# authentication): killed the same way.
live_session b
python3 "$PV_TMP/inject.py" "$SP" "$MFD" order || pv_fail "inject failed"
pv_wait_log "$PVD_LOG" "session $SID: session process $SP killed: a request in the wrong phase (auth-pubkey)" 5 ||
    pv_fail "out-of-order request: not killed"
wait "$LP"

# 6. Before a byte from the client: a connection that sends nothing has
# a session process already in the preauth filter (not root, Seccomp 2),
# without the monitor's secrets.
n0=$(grep -c 'runs as uid' "$PVD_LOG")
python3 -c "import socket, time; s = socket.create_connection(('127.0.0.1', $PVD_PORT)); time.sleep(30)" &
IDLE=$!
pv_track "$IDLE"
i=0
while [ "$(grep -c 'runs as uid' "$PVD_LOG")" -le "$n0" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PP=$(sed -n 's/.*session process \([0-9]*\) runs as uid .*/\1/p' "$PVD_LOG" | tail -1)
[ -n "$PP" ] && [ -d "/proc/$PP" ] || pv_fail "no session process for the idle connection"
sleep 0.3
st="/proc/$PP/status"
grep -Eq "^Uid:[[:space:]]+${SBUID}[[:space:]]" "$st" || pv_fail "preauth uids: $(grep ^Uid "$st")"
grep -Eq '^Seccomp:[[:space:]]+2$' "$st" || pv_fail "preauth: not in seccomp filter mode: $(grep ^Seccomp "$st")"
grep -Eq '^NoNewPrivs:[[:space:]]+1$' "$st" || pv_fail "preauth: no NoNewPrivs"
grep -Eq '^Seccomp_filters:[[:space:]]+1$' "$st" || pv_fail "preauth: $(grep ^Seccomp_filters "$st")"
# and none of the monitor's secrets, before a byte from the client (the
# process an attacker reaches first)
# shellcheck disable=SC2086
pre=$(python3 "$PV_TMP/scan.py" "$PP" $specs) || pv_fail "scan of the pre-auth process failed"
[ -d "/proc/$PP" ] || pv_fail "the pre-auth process ended during the scan"
[ "$pre" = "0 0 0 0" ] || pv_fail "secrets in the pre-auth process ($names): $pre"
pv_log "copies of $names in the pre-auth process: $pre"
kill "$IDLE" 2>/dev/null

# 7. Sessions still work afterwards, sandboxed, and none was killed by
# the sandbox (SIGSYS) all along.
out=$(pvssh "$L" 'echo still-ok' </dev/null) || pv_fail "session after the kills: $out"
[ "$out" = still-ok ] || pv_fail "output: $out"
grep -q 'signal 31' "$PVD_LOG" && pv_fail "a session process was killed by the sandbox"
pv_log "session processes: uid $SBUID, preauth filter from the fork, session filter stacked, no monitor secret; violations kill"
exit 0
