#!/bin/sh
# t_docs_examples.sh: docs as tests.  Every command line of README.md's
# ```sh blocks and of each man page's EXAMPLES runs against the quickstart
# demo (scripts/quickstart --build) and must do what the text around it says.
# Two tables below decide everything: SUBSTITUTIONS (what the docs write ->
# what runs here) and EXPECTATIONS (each example line -> where it runs and
# what it must do, or why it is not run).  A doc line without an entry fails,
# and so does an entry whose line is no longer in the docs.
. "$top_srcdir/tests/integration/lib.sh"

# ---------------------------------------------------------------------------
# SUBSTITUTIONS, applied to each example before it runs, as plain text (no
# patterns) in one pass from the left; where two match, the upper one wins.
# Values are read when the example runs: PORT is the demo's provostd and
# ssh_config holds the demo's engineer key and known_hosts (the TOTP code
# comes from oathtool through SSH_ASKPASS), ACCOUNT is the demo's target
# account, CONF, ETC and W belong to the example's context (EXPECTATIONS),
# REC, N, ID and LPORT are what its check chose, RECS is every recording of
# the demo, TGT stands for the target's /tmp and /srv.  [optional] parts and
# a|b words run as variants: each alternative at least once, and once
# without the optional parts (a "|" standing alone is a pipe).
subst_table() {
	cat <<EOT
ssh -p 2222 -> ssh -F $PV_TMP/ssh_config -p $PORT
sftp -P 2222 -> sftp -F $PV_TMP/ssh_config -P $PORT
scp -P 2222 -> scp -F $PV_TMP/ssh_config -P $PORT
-L 5432: -> -L $LPORT:
@bastion:/tmp/ -> @127.0.0.1:$TGT/
@bastion -> @127.0.0.1
postgres -> $ACCOUNT
provostctl -> provostctl -f $CONF
/etc/provost/ -> $ETC/
/var/lib/provost/recordings/2026/11/*.pvr -> $RECS
'rm -rf|shred' *.pvr -> 'rm -rf|shred' $RECS
/var/lib/provost/recordings/breakglass.pvr -> $W/breakglass.pvr
/var/lib/provost/recordings/check.pvr -> $W/check.pvr
/var/lib/provost -> $demo/state
FILE.pvr... -> $RECS
FILE.pvr -> $REC
s.pvr -> $REC
--transfer 3 -> --transfer $N
approve ID -> approve $ID
kill ID -> kill $ID
grant ID -> grant $ID
/srv/app.tar -> $TGT/app.tar
EOT
}

# ---------------------------------------------------------------------------
# EXPECTATIONS, run in this order.  "@ FILE" names the doc; then one or more
# example lines exactly as the reader sees them (man escapes undone, "\"
# continuations joined, a trailing "# comment" dropped), then one indented
# line: CONTEXT [only=N] CHECK [ARGS] (only=N: just variant N).  Several
# lines before one check run as one script; "#" starts a comment line.
# Contexts: demo (the quickstart demo, run in $W), sec (a fresh state of its
# own for README's security-team block), man8 (another for provostctl(8)),
# skip (not run: the reason follows).  The checks are the functions further
# down; "ok ERE..." means exit 0 and a line of stdout matching each ERE.
EXPECTATIONS=$(cat <<'EOT'
@ README.md
scripts/quickstart
scripts/test
	skip installs packages and builds as root; this test runs quickstart --build itself, and scripts/test is the suite
ssh -p 2222 alice+postgres@db01@bastion
	demo shell
ssh -p 2222 alice+postgres@db01@bastion 'uptime'
	demo ok 'load average'
ssh -p 2222 alice@bastion list
	demo ok "^alice\+$ACCOUNT@web01	open: allowed by rule standing-public" "^alice\+$ACCOUNT@db01	open: allowed by rule internal-jit"
ssh -p 2222 alice@bastion request db01 --account postgres --for 2h --ticket INC-42 --reason "disk full"
	demo menu_request
ssh -p 2222 alice@bastion status
	demo ok "^$GRANT2	$ACCOUNT@db01	active, 1[12][0-9] min left"
sftp -P 2222 alice+postgres@db01@bastion
	demo sftp_put
scp -P 2222 dump.sql alice+postgres@db01@bastion:/tmp/
	demo scp_put
ssh -p 2222 -L 5432:localhost:5432 alice+postgres@db01@bastion
	demo forward_local
ssh -p 2222 -R 8080:localhost:80 alice+postgres@db01@bastion
	demo forward_remote
provostctl init
	sec init_state
openssl genpkey -algorithm X25519 -out sec.pem
	sec ok_file sec.pem 'BEGIN PRIVATE KEY'
openssl pkey -in sec.pem -pubout -out /etc/provost/recipients/security.pub
	sec recipient_pub
provostctl provider add acme
	sec ok '^provider acme added'
provostctl approver add carol --group security
	sec ok '^approver carol added to group security$'
provostctl approver key add carol carol.pub
	sec ok '^key SHA256:[A-Za-z0-9+/]{43} added for carol$'
provostctl approver totp carol
	sec ok '^otpauth://totp/provost:approver\.carol\?secret=[A-Z2-7]{32}'
# alice can be added once: the variant with the clearance runs.
provostctl engineer add alice --provider acme [--clearance confidential]
	sec only=2 engineer_add
provostctl engineer key add alice alice.pub
	sec key_add
provostctl engineer totp alice
	sec ok '^otpauth://totp/provost:alice\?secret=[A-Z2-7]{32}'
provostctl target add db01 --host 10.0.0.5 --classification confidential --accounts postgres --hostkey db01_host.pub
	sec ok '^target db01 added \(10\.0\.0\.5:22, confidential\)'
provostctl grant list --pending ; provostctl grant approve ID --as carol
	sec approve_pending
provostctl policy explain alice db01 postgres --channel shell
	sec ok '^decision: allow$' '^reason: allowed by rule confidential, grant '
ssh -p 2222 carol@bastion pending
ssh -p 2222 carol@bastion approve ID --reason "INC-42 checked"
	skip the demo's approver has no key or code; t_broker_approve signs approvers in through provostd with stock ssh and runs pending, approve and deny
provost-replay info FILE.pvr
	demo info
provost-replay verify --key sec.pem FILE.pvr...
	demo verify_all
provost-replay play --key sec.pem [--speed 2] [--idle-limit 2] FILE.pvr
	demo play
provost-replay export --key sec.pem --format asciicast|text|jsonl FILE.pvr
	demo export_fmt
provost-replay export --key sec.pem --format html -o review.html FILE.pvr...
	demo html_page review.html
provost-replay export --key sec.pem --format commands FILE.pvr...
	demo commands_json
provost-replay grep --key sec.pem [--input|--output] [-C 2] 'rm -rf' /var/lib/provost/recordings/2026/11/*.pvr
	demo grep_rm
provost-replay files --key sec.pem FILE.pvr
	demo files_scp
provost-replay extract --key sec.pem FILE.pvr --transfer 3 -o out.bin
	demo extract_transfer
provostctl session list --live
	demo session_list
provostctl session kill ID --reason "stop, call the SOC"
	demo session_kill
provostctl token issue alice db01 postgres
	demo token_issue
provostctl revocations export /etc/provost/revoked.list
	demo revlist
autoreconf -fi
mkdir -p build/plain && cd build/plain
../../configure --enable-werror
make -j2 && make check
make lint format-check
make distcheck
	skip scripts/test runs exactly these (and this test runs inside make check)

@ provost-rec.1
provost-rec --recipient /etc/provost/recipients/security.pub -o /var/lib/provost/recordings/breakglass.pvr -- /bin/bash -l
	demo breakglass
echo 'id; uptime' | provost-rec --recipient /etc/provost/recipients/security.pub -o /var/lib/provost/recordings/check.pvr -- /bin/bash -l
	demo piped_check

@ provost-replay.1
provost-replay verify --key sec.pem /var/lib/provost/recordings/2026/11/*.pvr
	demo verify_all
provostctl audit export --format jsonl > audit.jsonl
provost-replay verify --key sec.pem --audit audit.jsonl /var/lib/provost/recordings/2026/11/*.pvr
	demo verify_audit
provost-replay grep --key sec.pem --input -C 2 'rm -rf|shred' *.pvr
	demo grep_rm
provost-replay export --key sec.pem --format asciicast s.pvr > s.cast
	demo export_cast
provost-replay export --key sec.pem --format html -o nov.html /var/lib/provost/recordings/2026/11/*.pvr
	demo html_page nov.html
provost-replay extract --key sec.pem s.pvr --path /srv/app.tar -o app.tar
	demo extract_path

@ provost.conf.5
ListenAddress 0.0.0.0:2222
StateDirectory /var/lib/provost
PolicyFile /etc/provost/policy.conf
RecordingRecipient /etc/provost/recipients/security.pub
CertificateLifetime 2m
MFAGrace 10m
	demo conf_check

@ provost-contract.5
Contract acme-msa-2026
Provider acme
Start 2026-01-01
End 2026-12-31
Notice 30d
TimeZone Europe/Berlin
Days Mon-Fri
Hours 07:00-19:00
Targets db* web*
Classifications public internal confidential
Exclude account root@db*
OperateFrom eu-office 192.0.2.0/24 2001:db8:1::/48
	demo contract_check

@ provost-sla.5
Sla acme-2026
Provider acme
TimeZone Europe/Berlin
BusinessHours Mon-Fri 08:00-18:00
Priority P1 Acknowledge 15m Resolve 4h Engage 30m Credit 5%
Priority P2 Acknowledge 1h Resolve 8h Engage 2h Clock business Credit 2%
Maintenance 2026-11-14T22:00 2026-11-15T02:00
Availability 99.9%
Targets db* web*
Credit availability 99.9% 5%
Credit availability 99% 10%
CreditThreshold 10m
CreditCap 25%
MonthlyFee 20000 EUR
	demo sla_check

@ pam_provost.8
UsePAM yes
KbdInteractiveAuthentication yes
AuthenticationMethods keyboard-interactive
	demo sshd_check
auth     required  pam_provost.so key=/etc/provost/token.pub target=db01 revoked=/etc/provost/revoked.list
account  required  pam_provost.so key=/etc/provost/token.pub target=db01 revoked=/etc/provost/revoked.list
account  include   common-account
session  required  pam_provost.so key=/etc/provost/token.pub target=db01
session  include   common-session
session  include   common-session-noninteractive
	skip /etc/pam.d lines: t_pam_sshd, t_pam_broker and t_pam_token run these module lines under pam_wrapper

@ provostctl.8
provostctl init
	man8 init_state
provostctl provider add acme --contract-end 2027-06-30
	man8 provider_add
provostctl engineer add alice --provider acme --clearance confidential
	man8 engineer_add
provostctl engineer key add alice alice.pub
	man8 key_add
provostctl engineer totp alice
	man8 ok '^otpauth://totp/provost:alice\?secret=[A-Z2-7]{32}'
provostctl target import cmdb.json
	man8 target_import
provostctl approver add sec1 --group security
	man8 ok '^approver sec1 added to group security$'
id=$(provostctl grant request alice db01 --account postgres --duration 2h --ticket INC-42)
provostctl grant approve "$id" --as sec1
	man8 request_approve
provostctl policy explain alice db01 postgres --channel shell
	man8 ok '^decision: allow$'
provostctl audit verify
	man8 ok '^audit: [0-9]+ rows, [0-9]+ checkpoints?: intact$'
provostctl exposure add --provider acme --target db01 --account root --kind unix-password --reference vault:db01/root
	man8 ok '^exposure added: root@db01, unix-password, vault:db01/root$'
provostctl exposure list --provider acme
	man8 ok '^recorded acme +root@db01 +unix-password +vault:db01/root$'
provostctl krl export revoked.krl --provider acme
	man8 ok '^revoked\.krl: [0-9]+ certificate serials?, [0-9]+ keys?$'
provostctl provider exit acme --dry-run
	man8 ok '^exit plan for provider acme \(dry run: nothing was changed\)$' '^  recorded root@db01 unix-password vault:db01/root: no rotation hook'
provostctl provider exit acme --erasure-certificate acme-erasure.pdf
	skip the exit run ends the provider for the lines after it; t_ctl_exit_run.sh runs it against provostd and a real sshd

@ README.md
provostctl revoke grant ID
	demo revoke_grant
provostctl revoke engineer alice
	demo revoke_engineer
provostctl revoke provider acme
	demo revoke_provider
provostctl audit verify
	demo ok '^audit: [0-9]+ rows, [0-9]+ checkpoints?: intact$'
provostctl audit export --format jsonl --since 2026-11-01 > siem.jsonl
	demo audit_export
EOT
)

# ---------------------------------------------------------------------------
# The demo, and what the examples need around it.
for p in bash oathtool openssl sftp scp python3 timeout; do
	command -v "$p" >/dev/null || pv_skip "$p not found"
done
[ -x "$SSHD" ] || pv_skip "sshd not found (apt-get install openssh-server)"
# README's -L and -R examples use 127.0.0.1's ports 5432 and 8080 when free.
pv_serialize docs-examples
PATH="$top_builddir:$PATH"
export PATH
demo="$PV_TMP/demo"
# As root, the demo's own target account (provost-demo, which quickstart
# creates when missing); otherwise the target sshd runs as this user and
# can only log in as this user.
acct_opt=""
[ "$(id -u)" -eq 0 ] || acct_opt="--account $(id -un)"
# shellcheck disable=SC2086 # acct_opt is empty or two words
bash "$top_srcdir/scripts/quickstart" --background --dir "$demo" \
    --build "$top_builddir" --sandbox-user nobody $acct_opt \
    >"$PV_TMP/quickstart.out" 2>&1
qrc=$?
for f in "$demo/provostd.pid" "$demo/target.pid"; do
	[ -s "$f" ] && pv_track "$(cat "$f")"
done
# lib.sh shows these logs on failure and fails on a sanitizer report.
ln -s "$demo/provostd.log" "$PV_TMP/provostd-demo.log"
ln -s "$demo/target.log" "$PV_TMP/target-demo.log"
ln -s "$PV_TMP/quickstart.out" "$PV_TMP/quickstart.log"
[ $qrc -eq 0 ] || pv_fail "scripts/quickstart failed (exit $qrc)"
PORT=$(sed -n 's/^ListenAddress 127\.0\.0\.1://p' "$demo/provostd.conf")
# ACCOUNT is the demo's target account, as its walkthrough names it.
ACCOUNT=$(sed -n 's/^  account  *\([^ ]*\) on both targets (unprivileged: uid [1-9][0-9]*, no sudo, home .*)$/\1/p' \
    "$PV_TMP/quickstart.out")
[ -n "$ACCOUNT" ] || pv_fail "quickstart's walkthrough names no unprivileged target account"
if [ "$(id -u)" -eq 0 ]; then
	[ "$ACCOUNT" = provost-demo ] || pv_fail "the demo's account is $ACCOUNT, not provost-demo"
	[ "$(id -u "$ACCOUNT")" -ne 0 ] || pv_fail "$ACCOUNT has uid 0"
	for g in $(id -Gn "$ACCOUNT"); do
		case $g in root | sudo | wheel | adm | admin) pv_fail "$ACCOUNT is in group $g" ;; esac
	done
fi
DLOG="$demo/provostd.log"
RECS="$demo/recordings/*/*/*.pvr"
W="$PV_TMP/work" TGT="$PV_TMP/target-fs" SRC="$PV_TMP/src"
mkdir -p "$W" "$TGT" "$SRC" "$PV_TMP/etc-demo/recipients" || pv_fail mkdir
# The target's /tmp and /srv belong to the target account, which must be
# able to reach them through this test's directory.
if [ "$ACCOUNT" != "$(id -un)" ]; then
	chmod 711 "$PV_TMP" && chown "$ACCOUNT" "$TGT" || pv_fail "cannot hand $TGT to $ACCOUNT"
	runuser -u "$ACCOUNT" -- test -w "$TGT" ||
	    pv_fail "$ACCOUNT cannot write $TGT (a parent of $PV_TMP is closed to it)"
fi
ln -s "$demo/security.pem" "$W/sec.pem"
cp "$demo/security.pub" "$PV_TMP/etc-demo/recipients/security.pub"
ln -s "$demo/policy.conf" "$PV_TMP/etc-demo/policy.conf"
head -c 300000 /dev/urandom >"$W/dump.sql"
head -c 200000 /dev/urandom >"$SRC/app.tar"
LPORT=0 REC="" N="" ID="" GRANT2=""

# The engineer's TOTP app: oathtool on the secret quickstart enrolled, asked
# by ssh through SSH_ASKPASS; each code asked for is counted.
cat >"$PV_TMP/askpass" <<EOC
#!/bin/sh
case "\$1" in
*[Cc]ode*)
	echo asked >>"$PV_TMP/askpass.calls"
	exec oathtool --totp -b "\$(sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' "$demo/alice.totp-uri")" ;;
esac
exit 1
EOC
chmod +x "$PV_TMP/askpass"
: >"$PV_TMP/askpass.calls"
SSH_ASKPASS="$PV_TMP/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0
export SSH_ASKPASS SSH_ASKPASS_REQUIRE DISPLAY
cat >"$PV_TMP/ssh_config" <<EOC
Host *
	BatchMode no
	IdentityFile $demo/alice
	IdentitiesOnly yes
	UserKnownHostsFile $demo/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	PreferredAuthentications publickey,keyboard-interactive
	NumberOfPasswordPrompts 1
	ExitOnForwardFailure yes
	ConnectTimeout 10
	ServerAliveInterval 5
EOC

# Two fresh states (sec, man8): their own config, the demo's policy.
for c in sec man8; do
	mkdir -p "$PV_TMP/$c/etc/recipients" || pv_fail mkdir
	cat >"$PV_TMP/$c/provostd.conf" <<EOC
ListenAddress 127.0.0.1:2222
StateDirectory $PV_TMP/$c/state
PolicyFile $demo/policy.conf
RecordingRecipient $PV_TMP/$c/etc/recipients/security.pub
ControlSocket $PV_TMP/$c/control.sock
SandboxUser nobody
EOC
	"$SSH_KEYGEN" -q -t ed25519 -N '' -C alice -f "$PV_TMP/$c/alice" || pv_fail keygen
	"$SSH_KEYGEN" -q -t ed25519 -N '' -C carol -f "$PV_TMP/$c/carol" || pv_fail keygen
done
"$SSH_KEYGEN" -q -t ed25519 -N '' -C db01 -f "$PV_TMP/sec/db01_host" || pv_fail keygen
cat >"$PV_TMP/man8/cmdb.json" <<EOC
[{"name": "db01", "host": "127.0.0.1", "port": 22, "classification": "confidential",
  "accounts": ["$ACCOUNT"], "hostkey": "$(cut -d' ' -f1,2 "$demo/target/host_ed25519.pub")"}]
EOC

# context NAME: where an example runs and which provostctl config it uses.
context() {
	case $1 in
	demo) CTXDIR=$W CONF="$demo/provostd.conf" ETC="$PV_TMP/etc-demo" ;;
	sec | man8) CTXDIR="$PV_TMP/$1" CONF="$PV_TMP/$1/provostd.conf" ETC="$PV_TMP/$1/etc" ;;
	*) pv_fail "table: unknown context $1" ;;
	esac
}

# ---------------------------------------------------------------------------
# Reading the docs.  doc_lines: "FILE<TAB>LINE" for every example line.
doc_lines() {
	awk '
	FNR == 1 { man = (FILENAME !~ /\.md$/); insh = 0; inex = 0; nf = 0
		src = FILENAME; sub(/.*\//, "", src) }
	!man && /^```/ { insh = !insh && ($0 ~ /^```sh[ \t]*$/); next }
	!man && insh { emit($0); next }
	man && /^\.SH/ { inex = ($0 ~ /^\.SH "?EXAMPLES?"?[ \t]*$/); nf = 0; next }
	man && inex && /^\.nf/ { nf = 1; next }
	man && inex && /^\.fi/ { nf = 0; next }
	man && inex && nf && /^\.[A-Za-z]/ { next }
	man && inex && nf {
		l = $0
		gsub(/\\-/, "-", l); gsub(/\\\(aq/, "\047", l); gsub(/\\\(dq/, "\"", l)
		gsub(/\\&/, "", l); gsub(/\\f[BIRP]/, "", l); gsub(/\\e/, "\\", l)
		emit(l)
	}
	function emit(l) {
		if (cont != "") { sub(/^[ \t]+/, "", l); l = cont " " l; cont = "" }
		if (l ~ /\\$/) { sub(/[ \t]*\\$/, "", l); cont = l; return }
		sub(/[ \t]+#[ \t].*$/, "", l); sub(/[ \t]+$/, "", l); sub(/^[ \t]+/, "", l)
		if (l != "") print src "\t" l
	}' "$top_srcdir/README.md" "$top_srcdir"/docs/*.[1-8]
}

# variants: the script on stdin with its [optional] parts and a|b words
# (outside quotes) resolved; variant j takes alternative j of each group
# (cycling), the bare form counting as the first of an [optional] group.
# Prints the variants separated by a line holding only "%%".
variants() {
	awk '
	function flush() {
		if (word == "") return
		if (bar && word != "|" && word != "||") { ng++; gn[ng] = split(word, a, "|")
			for (m = 1; m <= gn[ng]; m++) g[ng, m - 1] = a[m]
			piece[++np] = "\001" ng
		} else piece[++np] = word
		word = ""; bar = 0
	}
	{ s = $0; n = length(s); q = ""; i = 1
		while (i <= n) {
			c = substr(s, i, 1)
			if (q != "") { word = word c; if (c == q) q = ""; i++; continue }
			if (c == "\047" || c == "\"") { q = c; word = word c; i++; continue }
			if (c == "[" && (j = index(substr(s, i), "]")) > 0) {
				flush(); ng++
				k = split(substr(s, i + 1, j - 2), a, "|")
				g[ng, 0] = ""; gn[ng] = k + 1
				for (m = 1; m <= k; m++) g[ng, m] = a[m]
				piece[++np] = "\001" ng; i += j; continue
			}
			if (c == " " || c == "\t") { flush(); piece[++np] = c; i++; continue }
			if (c == "|") bar = 1
			word = word c; i++
		}
		flush(); piece[++np] = "\n"
	}
	END { nv = 1
		for (x = 1; x <= ng; x++) if (gn[x] > nv) nv = gn[x]
		for (v = 0; v < nv; v++) {
			if (v > 0) print "%%"
			out = ""
			for (p = 1; p <= np; p++) {
				if (substr(piece[p], 1, 1) == "\001") {
					x = substr(piece[p], 2) + 0; out = out g[x, v % gn[x]]
				} else out = out piece[p]
			}
			printf "%s", out
		}
	}'
}

# subst: the substitution table applied to stdin in one pass from the left:
# at each point the first entry that matches the doc's text there wins, and
# what it puts in is not looked at again.
subst() {
	subst_table >"$PV_TMP/subst.tab"
	awk 'NR == FNR { k = index($0, " -> "); from[NR] = substr($0, 1, k - 1)
		to[NR] = substr($0, k + 4); n = NR; next }
	{ l = $0; out = ""; p = 1
		while (p <= length(l)) {
			for (r = 1; r <= n; r++)
				if (substr(l, p, length(from[r])) == from[r]) break
			if (r <= n) { out = out to[r]; p += length(from[r]) }
			else { out = out substr(l, p, 1); p++ }
		}
		print out
	}' "$PV_TMP/subst.tab" -
}

# ---------------------------------------------------------------------------
# Running one example.  V is the variant (doc text), CMD what ran.
OUT="$PV_TMP/ex.out" ERR="$PV_TMP/ex.err"
# ex_start [STDIN]: the example in the background (EXPID); ex_wait: RC.
ex_start() {
	CMD=$(printf '%s\n' "$V" | subst)
	echo "--- [$SRCDOC] $CMD" >>"$PV_TMP/examples.log"
	(cd "$CTXDIR" && exec timeout -k 5 "${EX_TIMEOUT:-30}" sh -c "$CMD") <"${1:-/dev/null}" >"$OUT" 2>"$ERR" &
	EXPID=$!
	pv_track "$EXPID"
}
ex_wait() {
	wait "$EXPID"
	RC=$?
	# timed out: what ignored timeout's TERM goes too (its process group)
	[ "$RC" -ne 124 ] || kill -9 "-$EXPID" 2>/dev/null
	{ echo "exit $RC"; cat "$OUT" "$ERR"; } | head -n 40 >>"$PV_TMP/examples.log"
}
ex_run() { ex_start "${1:-}"; ex_wait; }
bad() {
	pv_fail "$(printf '[%s] %s\n  %s\n  ran: %s (exit %s)\n  stdout: %s\n  stderr: %s' \
	    "$SRCDOC" "$(echo "$V" | head -n 1)" "$*" "$CMD" "${RC:-}" \
	    "$(head -c 600 "$OUT")" "$(head -c 600 "$ERR")")"
}
want_rc() { [ "$RC" -eq "$1" ] || bad "expected exit $1"; }
want_out() { # want_out ERE... : each matches a line of stdout
	for re in "$@"; do
		grep -Eq -- "$re" "$OUT" || bad "stdout has no line matching /$re/"
	done
}
pvctl() { provostctl -f "$CONF" "$@"; }
# last_rec: the newest recording provostd wrote.
last_rec() { sed -n 's/.*recording to \(.*\.pvr\)$/\1/p' "$DLOG" | tail -n 1; }
# bg_ssh LOGIN COMMAND: a session to keep open, in the background (BGPID).
bg_ssh() {
	ssh -F "$PV_TMP/ssh_config" -p "$PORT" "$1@127.0.0.1" "$2" </dev/null \
	    >"$PV_TMP/bg.out" 2>"$PV_TMP/bg.err" &
	BGPID=$!
	pv_track "$BGPID"
}
# wait_gone PID SECONDS: true once PID has ended.
wait_gone() {
	n=0
	while kill -0 "$1" 2>/dev/null; do
		[ $n -lt $(($2 * 10)) ] || return 1
		sleep 0.1; n=$((n + 1))
	done
}
wait_live() { # wait_live TARGET: until session list --live shows it
	n=0
	until pvctl session list --live 2>/dev/null | grep -q "@$1"; do
		[ $n -lt 100 ] || bad "no live session on $1"
		sleep 0.1; n=$((n + 1))
	done
}
json_lines() { # json_lines FILE: every line is a JSON value
	python3 -c 'import json, sys
for l in open(sys.argv[1]): json.loads(l)' "$1" 2>"$PV_TMP/json.err" ||
	    bad "$1 is not JSON lines: $(tail -n 1 "$PV_TMP/json.err")"
}

# ---------------------------------------------------------------------------
# The checks: what the text around each example says it does.
ok() { ex_run; want_rc 0; want_out "$@"; }
ok_file() { ex_run; want_rc 0; grep -q -- "$2" "$CTXDIR/$1" || bad "$1 lacks '$2'"; }

# "a shell on db01 as postgres" (with stdin that is not a terminal, the
# shell reads its commands from it); the first login asks for a code.
shell() {
	printf 'id -un\nrm -rf %s/nothing-here\n' "$TGT" >"$PV_TMP/in"
	ex_run "$PV_TMP/in"
	want_rc 0
	[ "$(head -n 1 "$OUT")" = "$ACCOUNT" ] || bad "the shell is not $ACCOUNT's"
	[ "$(wc -l <"$PV_TMP/askpass.calls")" -eq 1 ] || bad "the first login did not ask for one code"
	REC_SHELL=$(last_rec)
}
# "request ... prints its id"; the grant carries the ticket and the reason.
menu_request() {
	ex_run
	want_rc 0
	want_out '^[0-9a-f-]{36}$' '^active now'
	GRANT2=$(head -n 1 "$OUT")
	pvctl grant show "$GRANT2" >"$OUT" 2>&1 || bad "grant show $GRANT2"
	want_out 'INC-42' 'disk full'
}
# "when the rule's Channels include sftp": a put through sftp arrives.
sftp_put() {
	printf 'put %s %s/app.tar\n' "$SRC/app.tar" "$TGT" >"$PV_TMP/in"
	ex_run "$PV_TMP/in"
	want_rc 0
	cmp -s "$SRC/app.tar" "$TGT/app.tar" || bad "app.tar did not arrive intact"
	REC_SFTP=$(last_rec)
}
# The file arrives byte for byte, and within MFAGrace no code is asked.
scp_put() {
	ex_run
	want_rc 0
	cmp -s "$W/dump.sql" "$TGT/dump.sql" || bad "dump.sql did not arrive intact"
	[ "$(wc -l <"$PV_TMP/askpass.calls")" -eq 1 ] || bad "scp asked for a code within MFAGrace"
	REC_SCP=$(last_rec)
}
# "-L only to a rule's ForwardTo": the demo's rule allows localhost:5432;
# another destination is refused with "administratively prohibited".
forward_local() {
	LPORT=$(pv_free_port) || bad "no free port"
	peer=""
	if pv_port_free 5432; then
		python3 "$top_srcdir/tests/integration/tcp-peer.py" serve banner 5432 \
		    >"$PV_TMP/peer5432" 2>&1 &
		pv_track $!
		n=0
		while [ ! -s "$PV_TMP/peer5432" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
		grep -qx 5432 "$PV_TMP/peer5432" && peer=1
	fi
	echo 'sleep 3' >"$PV_TMP/in"
	ex_start "$PV_TMP/in"
	n=0
	while pv_port_free "$LPORT" && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	got=$(python3 "$top_srcdir/tests/integration/tcp-peer.py" connect "$LPORT" read 2>&1)
	ex_wait
	want_rc 0
	if [ -n "$peer" ]; then
		[ "$got" = BANNER ] || bad "the forward to localhost:5432 did not reach it: $got"
	else
		pv_log "port 5432 is in use here: the allowed forward is checked in provostd's log only"
	fi
	grep -q "(forward): allow, rule internal-jit" "$DLOG" || bad "no allowed forward in provostd's log"
	python3 "$top_srcdir/tests/integration/tcp-peer.py" serve banner >"$PV_TMP/peer" 2>&1 &
	pv_track $!
	n=0
	while [ ! -s "$PV_TMP/peer" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	other=$(cat "$PV_TMP/peer")
	LPORT=$(pv_free_port) || bad "no free port"
	V=$(echo "$V" | sed "s/localhost:5432/localhost:$other/")
	ex_start "$PV_TMP/in"
	n=0
	while pv_port_free "$LPORT" && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
	got=$(python3 "$top_srcdir/tests/integration/tcp-peer.py" connect "$LPORT" read 2>&1)
	ex_wait
	[ -z "$got" ] || bad "a forward outside ForwardTo reached its destination: $got"
	grep -q "administratively prohibited" "$ERR" || bad "ssh did not say administratively prohibited"
	grep -q "forward to localhost:$other refused: access denied: rule internal-jit" "$DLOG" ||
	    bad "provostd's log lacks the refusal with the rule"
}
# "-R only where a rule's RemoteForwardListen allows" (localhost:8080 in
# the demo): the target listens there; another port is refused.
forward_remote() {
	if pv_port_free 8080; then
		echo 'sleep 3' >"$PV_TMP/in"
		ex_start "$PV_TMP/in"
		n=0
		while pv_port_free 8080 && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
		pv_port_free 8080 && bad "the target does not listen on 8080"
		ex_wait
		want_rc 0
	else
		pv_log "port 8080 is in use here: only the refusal is checked"
	fi
	other=$(pv_free_port) || bad "no free port"
	V=$(echo "$V" | sed "s/-R 8080:/-R $other:/")
	ex_run
	want_rc 255
	grep -q "remote port forwarding failed for listen port $other" "$ERR" ||
	    bad "ssh did not report the refused -R"
	grep -q "remote forward from localhost:$other refused: access denied: rule internal-jit" "$DLOG" ||
	    bad "provostd's log lacks the refusal with the rule"
}
# init makes the state (CA, host, audit and token keys, store) and prints
# the CA line for the targets' TrustedUserCAKeys.
init_state() {
	ex_run
	want_rc 0
	[ "$(wc -l <"$OUT")" -eq 1 ] || bad "init printed more than the CA line"
	want_out '^ssh-ed25519 [A-Za-z0-9+/]+=* provost-ca$'
	for f in ca ca.pub host_ed25519 audit_ed25519 token_ed25519 token.pub totp.key provost.db; do
		[ -f "$CTXDIR/state/$f" ] || bad "no $f in the state directory"
	done
	cmp -s "$OUT" "$CTXDIR/state/ca.pub" || bad "the printed CA line is not ca.pub"
}
# The recipient key the config names: provostd -t accepts it.
recipient_pub() {
	ex_run
	want_rc 0
	grep -q 'BEGIN PUBLIC KEY' "$ETC/recipients/security.pub" || bad "no public key written"
	provostd -t -f "$CONF" >"$OUT" 2>&1 || bad "provostd -t refuses the recipient key"
}
engineer_add() {
	ex_run
	want_rc 0
	want_out '^engineer alice added \(provider acme\)'
	pvctl engineer show alice >"$OUT" 2>&1 || bad "engineer show alice"
	case $V in
	*--clearance*) want_out 'confidential' ;;
	esac
}
# key add prints the fingerprint as ssh-keygen -l does.
key_add() {
	ex_run
	want_rc 0
	fp=$("$SSH_KEYGEN" -l -f "$CTXDIR/alice.pub" | cut -d' ' -f2)
	grep -qxF "key $fp added for alice" "$OUT" || bad "not the fingerprint ssh-keygen -l prints ($fp)"
}
# A pending request (alice's "ssh ... request" stands in) is listed and
# approved by carol, which makes it active.
approve_pending() {
	ID=$(pvctl grant request alice db01 --account "$ACCOUNT" --duration 1h \
	    --ticket INC-42 2>/dev/null) || bad "could not request a grant to approve"
	ex_run
	want_rc 0
	want_out "^$ID +pending +alice +db01"
	pvctl grant show "$ID" >"$OUT" 2>&1 || bad "grant show"
	want_out 'active'
}
info() {
	REC=$REC_SHELL
	ex_run
	want_rc 0
	want_out '^engineer: alice$' '^target: db01$' "^account: $ACCOUNT$" '^recipient: x25519 '
}
# "complete and authentic? one line per file"
verify_all() {
	ex_run
	want_rc 0
	n=$(ls $RECS | wc -l)
	[ "$(grep -c ': OK: complete and authentic, ' "$OUT")" -eq "$n" ] ||
	    bad "not one OK line for each of the $n recordings"
	[ "$(wc -l <"$OUT")" -eq "$n" ] || bad "more than one line per file"
}
# Every recording of the demo is also the one the audit chain holds.
verify_audit() {
	ex_run
	want_rc 0
	n=$(ls $RECS | wc -l)
	[ "$(grep -Ec ': OK: complete and authentic, .*; (matches the audit chain: session|header matches session.open)' "$OUT")" -eq "$n" ] ||
	    bad "not one audit-checked OK line for each of the $n recordings"
}
# play shows what the shell printed.
play() {
	REC=$REC_SHELL
	ex_run
	want_rc 0
	want_out "^$ACCOUNT"
}
export_fmt() {
	REC=$REC_SHELL
	ex_run
	want_rc 0
	case $V in
	*asciicast*)
		python3 -c 'import json, sys
h = json.loads(sys.stdin.readline())
assert h["version"] == 2, h
for l in sys.stdin: json.loads(l)' <"$OUT" 2>"$PV_TMP/json.err" ||
		    bad "not asciicast v2: $(tail -n 1 "$PV_TMP/json.err")"
		grep -q "$ACCOUNT" "$OUT" || bad "the cast lacks the output" ;;
	*text*) want_out "^$ACCOUNT$" ;;
	*jsonl*)
		json_lines "$OUT"
		grep -q '"type":"input".*rm -rf' "$OUT" || bad "the jsonl lacks the input" ;;
	esac
}
# grep finds the typed "rm -rf" (as input; nothing shown matched it).
grep_rm() {
	ex_run
	case $V in
	*--output*)
		want_rc 1
		[ -s "$OUT" ] && bad "an output line matched" ;;
	*)
		want_rc 0
		want_out "^$REC_SHELL:[0-9]{2}:[0-9]{2}:[0-9]{2}:input:rm -rf $TGT/nothing-here$"
		case $V in
		*-C*) want_out "^$REC_SHELL-[0-9:]{8}-input-id -un$" ;;
		esac ;;
	esac
}
# "every sftp/scp operation: path, bytes, sha256, result"
files_scp() {
	REC=$REC_SCP
	ex_run
	want_rc 0
	sz=$(wc -c <"$W/dump.sql" | tr -d ' ')
	sum=$(sha256sum <"$W/dump.sql" | cut -d' ' -f1)
	want_out "^[0-9.]+	put	upload	$sz	$sum	0	$TGT/dump.sql$"
}
# "the file, SHA-256 checked"; N: the line of files that is the upload.
extract_transfer() {
	REC=$REC_SCP
	N=$(provost-replay files --key "$W/sec.pem" "$REC" | grep -n '	put	' | cut -d: -f1)
	[ -n "$N" ] || bad "no put in the recording"
	ex_run
	want_rc 0
	cmp -s "$W/out.bin" "$W/dump.sql" || bad "out.bin is not dump.sql"
	grep -q 'SHA-256 .* verified' "$ERR" || bad "extract did not say it verified"
}
# "engineer, account@target, bytes, idle time" of a live session.
session_list() {
	bg_ssh "alice+$ACCOUNT@web01" 'sleep 30'
	wait_live web01
	ex_run
	want_rc 0
	want_out "alice +$ACCOUNT@web01 "
	LIVE_ID=$(awk -v t="$ACCOUNT@web01" '$3 == t { print $1; exit }' "$OUT")
	[ -n "$LIVE_ID" ] || bad "no session id in the list"
}
# "the engineer reads the reason"
session_kill() {
	ID=$LIVE_ID
	ex_run
	want_rc 0
	wait_gone "$BGPID" 10 || bad "the killed session's ssh did not end"
	grep -q 'stop, call the SOC' "$PV_TMP/bg.err" ||
	    bad "the engineer did not read the reason: $(cat "$PV_TMP/bg.err")"
}
# "one token on stdout, only if the policy allows now"
token_issue() {
	ex_run
	want_rc 0
	[ "$(wc -l <"$OUT")" -eq 1 ] || bad "not one line on stdout"
	want_out '^pvt1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
}
revlist() {
	ex_run
	want_rc 0
	[ "$(head -n 1 "$ETC/revoked.list")" = pvr1 ] || bad "not a pvr1 list"
}
revoke_grant() {
	ID=$GRANT2
	ex_run
	want_rc 0
	pvctl grant show "$ID" >"$OUT" 2>&1 || bad "grant show"
	want_out 'revoked'
}
# Her next ssh is refused; her live session ends at once.
revoke_engineer() {
	bg_ssh "alice+$ACCOUNT@web01" 'sleep 30'
	wait_live web01
	ex_run
	want_rc 0
	wait_gone "$BGPID" 5 || bad "her live session did not end"
	grep -q 'revoked' "$PV_TMP/bg.err" || bad "the engineer was not told: $(cat "$PV_TMP/bg.err")"
	ssh -F "$PV_TMP/ssh_config" -p "$PORT" alice@127.0.0.1 list </dev/null >"$OUT" 2>"$ERR" &&
	    bad "alice logged in after her revocation"
}
# The provider is revoked: its engineers get no new grants.
revoke_provider() {
	ex_run
	want_rc 0
	pvctl provider show acme >"$OUT" 2>&1 || bad "provider show"
	want_out 'revoked'
	pvctl grant request alice db01 --account "$ACCOUNT" --duration 1h --ticket T-1 >"$OUT" 2>&1
	[ $? -eq 5 ] || bad "a grant for a revoked provider was not refused (exit 5)"
}
audit_export() {
	ex_run
	want_rc 0
	json_lines "$W/siem.jsonl"
	for a in session.kill forward.refused engineer.revoke provider.revoke; do
		grep -q "\"action\":\"$a\"" "$W/siem.jsonl" || bad "siem.jsonl has no $a"
	done
}
# provost-rec records a shell (its stdin's end ends it) that only the
# security team's key opens.
breakglass() {
	echo 'echo breakglass-ok' >"$PV_TMP/in"
	EX_TIMEOUT=15
	ex_run "$PV_TMP/in"
	EX_TIMEOUT=30
	[ "$RC" -ne 124 ] || bad "the shell did not end when its input did (15 s)"
	want_rc 0
	provost-replay verify --key "$W/sec.pem" "$W/breakglass.pvr" >"$OUT" 2>&1 ||
	    bad "the recording does not verify"
	provost-replay export --key "$W/sec.pem" --format text "$W/breakglass.pvr" >"$OUT" 2>&1
	grep -q '^breakglass-ok' "$OUT" || bad "the recording lacks the shell's output"
}
# A piped stdin: the commands run, the shell ends with the input, and the
# recording holds their output.
piped_check() {
	EX_TIMEOUT=15
	ex_run
	EX_TIMEOUT=30
	[ "$RC" -ne 124 ] || bad "the shell did not end when its piped input did (15 s)"
	want_rc 0
	provost-replay verify --key "$W/sec.pem" "$W/check.pvr" >"$OUT" 2>&1 ||
	    bad "the recording does not verify"
	provost-replay export --key "$W/sec.pem" --format text "$W/check.pvr" >"$OUT" 2>&1
	grep -q 'uid=' "$OUT" || bad "the recording lacks id's output"
	grep -q 'load average' "$OUT" || bad "the recording lacks uptime's output"
}
export_cast() {
	REC=$REC_SHELL
	ex_run
	want_rc 0
	head -n 1 "$W/s.cast" | grep -q '"version": *2' || bad "s.cast is not asciicast v2"
}
# "one page ... written with mode 0600", one entry per recording; the
# browser test (t_replay_html) checks what the page does.
html_page() {
	ex_run
	want_rc 0
	[ "$(stat -c %a "$W/$1")" = 600 ] || bad "$1 is not mode 600"
	grep -q 'decrypted' "$W/$1" || bad "$1 does not say it holds decrypted content"
	[ "$(grep -o '{"file":' "$W/$1" | wc -l)" -eq "$(ls $RECS | wc -l)" ] ||
	    bad "$1 does not hold every recording"
}
# "one JSON object per command": the shell's typed lines are there.
commands_json() {
	ex_run
	want_rc 0
	json_lines "$OUT"
	want_out '"kind":"typed",.*"command":"id -un"'
}
# Rebuilt under RecordFileContents yes (the demo's db01 rule), checked.
extract_path() {
	REC=$REC_SFTP
	ex_run
	want_rc 0
	cmp -s "$W/app.tar" "$SRC/app.tar" || bad "app.tar is not the file sent"
	grep -q 'verified' "$ERR" || bad "extract did not say it verified"
}
# provost.conf(5)'s EXAMPLE is a configuration provostd -t accepts (with
# the sandbox user this test uses when the system has no provost user).
conf_check() {
	printf '%s\n' "$V" | subst >"$PV_TMP/conf5"
	CMD="provostd -t -f $PV_TMP/conf5"
	getent passwd provost >/dev/null || echo 'SandboxUser nobody' >>"$PV_TMP/conf5"
	provostd -t -f "$PV_TMP/conf5" >"$OUT" 2>"$ERR"
	RC=$?
	want_rc 0
}
# provost-contract(5)'s EXAMPLE is a file the contract plugin loads:
# provostd -t with the demo's configuration and a Plugin line for it.
contract_check() {
	printf '%s\n' "$V" >"$PV_TMP/contracts5"
	{ cat "$CONF"; echo "Plugin $top_builddir/plugins/contract/.libs/contract.so $PV_TMP/contracts5"; } \
	    >"$PV_TMP/conf-contract"
	CMD="provostd -t -f $PV_TMP/conf-contract"
	provostd -t -f "$PV_TMP/conf-contract" >"$OUT" 2>"$ERR"
	RC=$?
	want_rc 0
}
# provost-sla(5)'s EXAMPLE is a file the sla plugin loads: provostd -t
# with the demo's configuration and a Plugin line for it.
sla_check() {
	printf '%s\n' "$V" >"$PV_TMP/sla5"
	{ cat "$CONF"; echo "Plugin $top_builddir/plugins/sla/.libs/sla.so $PV_TMP/sla5"; } \
	    >"$PV_TMP/conf-sla"
	CMD="provostd -t -f $PV_TMP/conf-sla"
	provostd -t -f "$PV_TMP/conf-sla" >"$OUT" 2>"$ERR"
	RC=$?
	want_rc 0
}
# The sshd_config lines are ones sshd -t accepts.
sshd_check() {
	{
		echo "ListenAddress 127.0.0.1:$(pv_free_port)"
		echo "HostKey $demo/target/host_ed25519"
		echo "PidFile none"
		printf '%s\n' "$V" | subst
	} >"$PV_TMP/sshd5"
	CMD="sshd -t -f $PV_TMP/sshd5"
	"$SSHD" -t -f "$PV_TMP/sshd5" >"$OUT" 2>"$ERR"
	RC=$?
	want_rc 0
}
provider_add() {
	ex_run
	want_rc 0
	pvctl provider show acme >"$OUT" 2>&1 || bad "provider show"
	want_out '2027-06-30'
}
target_import() {
	ex_run
	want_rc 0
	pvctl target show db01 >"$OUT" 2>&1 || bad "target show db01"
	want_out 'confidential'
}
# The request needs approval (db01 is confidential); sec1's makes it active.
request_approve() {
	ex_run
	want_rc 0
	grep -q 'pending' "$ERR" || bad "the request was not left pending"
	pvctl grant list --engineer alice >"$OUT" 2>&1 || bad "grant list"
	want_out ' active +alice +db01 '
}

# ---------------------------------------------------------------------------
# The tables against the docs: every example line has an entry, every entry
# a line.  Then each entry runs, in the table's order.
doc_lines | sort -u >"$PV_TMP/doc.lines"
[ "$(wc -l <"$PV_TMP/doc.lines")" -ge 40 ] || pv_fail "too few example lines found: $(cat "$PV_TMP/doc.lines")"
echo "$EXPECTATIONS" | awk '/^@ / { src = $2; next } /^\t/ || /^$/ || /^#/ { next }
	{ print src "\t" $0 }' | sort -u >"$PV_TMP/table.lines"
missing=$(comm -23 "$PV_TMP/doc.lines" "$PV_TMP/table.lines")
[ -z "$missing" ] || pv_fail "example lines with no expectation (add them to the table):
$missing"
stale=$(comm -13 "$PV_TMP/doc.lines" "$PV_TMP/table.lines")
[ -z "$stale" ] || pv_fail "expectations for lines no longer in the docs:
$stale"

nrun=0 nskip=0 nvar=0 SRCDOC="" script=""
tab=$(printf '\t')
echo "$EXPECTATIONS" >"$PV_TMP/expect.tab"
while IFS= read -r line <&3; do
	case $line in
	"@ "*) SRCDOC=${line#@ }; continue ;;
	"" | "#"*) continue ;;
	"$tab"*) ;;
	*) script="$script$line
"; continue ;;
	esac
	rest=${line#"$tab"}
	where=${rest%% *} rest=${rest#* }
	nl=$(printf '%s' "$script" | wc -l)
	if [ "$where" = skip ]; then
		pv_log "not run ($nl lines of $SRCDOC): $rest"
		nskip=$((nskip + nl)) script=""
		continue
	fi
	only=""
	case $rest in only=*) only=${rest%% *} only=${only#only=} rest=${rest#* } ;; esac
	check=${rest%% *}
	eval "set -- ${rest#"$check"}"
	context "$where"
	printf '%s' "$script" | variants >"$PV_TMP/variants"
	v=0
	while :; do
		V=$(awk -v v=$v '$0 == "%%" { n++; next } n == v' "$PV_TMP/variants")
		[ -n "$V" ] || break
		if [ -z "$only" ] || [ "$only" -eq $((v + 1)) ]; then
			"$check" "$@"
			nvar=$((nvar + 1))
		fi
		v=$((v + 1))
	done
	nrun=$((nrun + nl)) script=""
done 3<"$PV_TMP/expect.tab"
pv_log "$nrun example lines run ($nvar runs with the variants), $nskip listed with a reason"

# quickstart's printed walkthrough: its replay page of the first session is
# a command that runs as printed (the demo's own paths) and gives the page of
# exactly one session, the oldest recording, written 0600.
page_cmd=$(grep -E '^ +[^ ]*provost-replay export .*--format html -o [^ ]*/first-session\.html ' \
    "$PV_TMP/quickstart.out" | sed 's/^ *//')
[ -n "$page_cmd" ] || pv_fail "quickstart's walkthrough has no replay page of the first session"
grep -q "open file://$demo/first-session.html in a browser" "$PV_TMP/quickstart.out" ||
    pv_fail "quickstart's walkthrough does not say to open the page"
(cd "$W" && sh -c "$page_cmd") >"$PV_TMP/page.out" 2>&1 ||
    pv_fail "the walkthrough's replay page command failed: $page_cmd: $(tail -n 3 "$PV_TMP/page.out")"
[ "$(stat -c %a "$demo/first-session.html")" = 600 ] || pv_fail "first-session.html is not mode 600"
[ "$(grep -o '{"file":' "$demo/first-session.html" | wc -l)" -eq 1 ] ||
    pv_fail "first-session.html does not hold exactly one recording"
first=$(basename "$(ls -1tr $RECS | head -n 1)" .pvr)
grep -q "$first" "$demo/first-session.html" || pv_fail "first-session.html is not the oldest recording $first"
pv_log "the walkthrough's replay page of the first session ($first) runs as printed"
