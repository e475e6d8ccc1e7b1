#!/bin/sh
# t_decide_callers.sh: the one decision path (issue 16), through every
# caller.  A table of cases (allowed; engineer disabled; engineer revoked;
# provider revoked; provider exiting; an account the target lacks; a
# classification that needs a grant, without one, with an approved one,
# with a pending, a revoked and an expired one, with an active auto grant;
# a clearance missing and held; a target outside the provider's contract
# scope; a target that does not exist) runs through each program that
# decides, against one real provostd, a real sshd target and stock ssh:
#
#   login    ssh ENGINEER+ACCOUNT@TARGET through provostd: the monitor's
#            target-get (broker_target_visible, menu.c) and its decision
#            (sb_decide, backend_store.c); allow = the command ran on the
#            target, deny = provostd's refusal text or the key refused
#   list     the menu's list (menu_list_target, menu.c): "open" = allow
#   explain  provostctl policy explain --json (ctl/audit.c): outcome allow
#   token    provostctl token issue (token_decide, ctl/tokens.c): a pvt1
#            (asked for a shell: the token opens a login on the target
#            itself; a rule without shell is checked after the table)
#   request  provostctl grant request and the menu's request (ctl/grants.c,
#            menu_request in menu.c): these ask another question, whether
#            a grant may be asked for (store_decide with no_grant), so they
#            have their own expected column: accepted only where the
#            policy needs a grant and neither the rows nor the plugins
#            refuse
#
# Every one of them calls store_decide (store/decide.c); the others are
# sb_fresh_mfa (backend_store.c: whether a rule wants a fresh code, no
# verdict of its own) and bench/plugins_bench.c.  The test prints the table
# and fails on any cell that differs from the case's expected verdict, so
# a caller that drifts from the others is named.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/broker-setup.sh"

SO="$top_builddir/plugins/contract/.libs/contract.so"
[ -f "$SO" ] || pv_fail "no $SO"
SQLITE3=${SQLITE3:-$(command -v sqlite3 || :)}
[ -n "$SQLITE3" ] || pv_skip "sqlite3 not found"
day() { date -u -d "@$(($(date +%s) + $1 * 86400))" +%Y-%m-%d; }

# The policy of the table (broker-setup's own is replaced): standing
# access to public, auto grants for internal, an approved grant for
# confidential, a clearance for restricted; shell and exec everywhere
# (but execonly01, after the table), so that a login's exec, token
# issue's shell and the others' "login" ask the same question.
cat > "$PV_TMP/policy.conf" <<'EOC'
Levels public internal confidential restricted

Rule exec-only
    Target execonly01
    Classification public
    Approval none
    Channels exec

Rule standing-public
    Classification public
    Approval none
    Channels shell exec

Rule internal-jit
    Classification internal
    Approval auto
    MaxDuration 8h
    Channels shell exec

Rule confidential
    Classification confidential
    Approval 1 group security break-glass
    MaxDuration 4h
    Channels shell exec

Rule restricted
    Classification restricted
    Clearance restricted
    Approval none
    Channels shell exec
EOC
pvctl policy check "$PV_TMP/policy.conf" >/dev/null || pv_fail "policy check"

# Every provider has a contract covering every target but out01, and
# account other of multi excluded; hooli's contract ended yesterday.
CF="$PV_TMP/contracts.conf"
: > "$CF"
for p in acme globex initech hooli; do
	end=$(day 365)
	[ $p = hooli ] && end=$(day -1)
	cat >> "$CF" <<EOC
Contract $p-msa
    Provider $p
    Start $(day -10)
    End $end
    Targets db01 multi jit* conf* vault execonly01
    Exclude account other@multi
EOC
done
write_conf 2222 "Plugin $SO $CF"

hk="$PV_SSHD_DIR/host_ed25519.pub"
for t in conf-none:confidential conf-ok:confidential conf-pend:confidential \
    conf-rev:confidential jit-exp:internal jit-ok:internal out01:public \
    execonly01:public; do
	pvctl target add "${t%%:*}" --host 127.0.0.1 --port "$TARGET_PORT" \
	    --classification "${t#*:}" --accounts "$ME" --hostkey "$hk" >/dev/null ||
	    pv_fail "target add $t"
done
pvctl provider add globex >/dev/null || pv_fail "provider globex"
pvctl provider add initech >/dev/null || pv_fail "provider initech"
pvctl provider add hooli >/dev/null || pv_fail "provider hooli"
# new_engineer LOGIN PROVIDER [engineer add options]: with a key and TOTP.
new_engineer() {
	e=$1; p=$2; shift 2
	pv_keygen "$PV_TMP/$e"
	pvctl engineer add "$e" --provider "$p" "$@" >/dev/null || pv_fail "engineer add $e"
	pvctl engineer key add "$e" "$PV_TMP/$e.pub" >/dev/null || pv_fail "key add $e"
	pvctl engineer totp "$e" 2>/dev/null | sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' \
	    > "$PV_TMP/$e.totp"
	[ -s "$PV_TMP/$e.totp" ] || pv_fail "totp $e"
}
new_engineer carol acme
new_engineer dave acme
new_engineer erin globex
new_engineer frank initech
new_engineer gina acme --clearance restricted
new_engineer hank hooli

# The states.
pvctl engineer disable carol --reason "left" >/dev/null 2>&1 || pv_fail "disable carol"
pvctl revoke engineer dave --reason "left" >/dev/null 2>&1 || pv_fail "revoke dave"
# (revoking a provider disables its engineers as well)
pvctl revoke provider globex --reason "ended" >/dev/null 2>&1 || pv_fail "revoke globex"
# "exiting" is what provider exit sets as it starts; set here alone, the
# rest of an exit (KRL, rotation, sweeps) being another test's.
"$SQLITE3" "$STATE/provost.db" "UPDATE providers SET status = 'exiting' WHERE name = 'initech'" ||
    pv_fail "initech exiting"
pvctl provider show initech 2>&1 | grep -q exiting || pv_fail "initech is not exiting"
pvctl approver add sam --group security --not-engineer >/dev/null || pv_fail "approver sam"
grant() { # TARGET DURATION: a grant of alice's; its id
	pvctl grant request alice "$1" --account "$ME" --duration "$2" 2>/dev/null ||
	    pv_fail "grant request $1"
}
g=$(grant conf-ok 2h)
pvctl grant approve "$g" --as sam >/dev/null 2>&1 || pv_fail "approve $g"
grant conf-pend 2h >/dev/null
g=$(grant conf-rev 2h)
pvctl grant approve "$g" --as sam >/dev/null 2>&1 || pv_fail "approve $g"
pvctl grant revoke "$g" >/dev/null 2>&1 || pv_fail "revoke grant $g"
grant jit-ok 2h >/dev/null
grant jit-exp 2s >/dev/null
exp_at=$(($(date +%s) + 3))

T0=$(date +%s)
start_provostd "Plugin $SO $CF"

# The table: NAME ENGINEER TARGET ACCOUNT ACCESS REQUEST WHY, where ACCESS
# is the verdict every deciding caller must give, REQUEST whether a grant
# may be asked for, and WHY what explain's reason and token issue's
# refusal say, and provostd's refusal too where it says one (a key
# refused says nothing, and a target no rule opens is "access to T
# denied", not to tell what exists).
cat > "$PV_TMP/cases" <<EOC
allowed alice db01 $ME allow refused allowed by rule standing-public
account alice db01 other deny refused db01 has no account other
disabled carol db01 $ME deny refused engineer carol is disabled
eng-revoked dave db01 $ME deny refused engineer dave is disabled
prov-revoked erin db01 $ME deny refused engineer erin is disabled
prov-exiting frank db01 $ME deny refused provider initech of engineer frank is revoked or exiting
no-grant alice conf-none $ME deny accepted rule confidential needs a grant approved by 1 of group security
approved alice conf-ok $ME allow accepted allowed by rule confidential, grant
pending alice conf-pend $ME deny accepted has 0 of 1 approvals from group security
grant-revoked alice conf-rev $ME deny accepted rule confidential needs a grant approved by 1 of group security
grant-expired alice jit-exp $ME deny accepted rule internal-jit needs a grant
auto-grant alice jit-ok $ME allow accepted allowed by rule internal-jit, grant
no-clearance alice vault $ME deny refused clearance (none) is below restricted
clearance gina vault $ME allow refused allowed by rule restricted
out-of-scope alice out01 $ME deny refused out01 is outside the service scope
excluded alice multi other deny refused account other on multi is excluded
contract-over hank db01 $ME deny refused plugin contract denies: contract hooli-msa
no-target alice nosuch $ME deny refused target nosuch: not found
EOC
while [ "$(date +%s)" -le "$exp_at" ]; do sleep 0.2; done

# as ENGINEER CMD...: with that engineer's key and code.
as() { e=$1; shift; ENG_KEY="$PV_TMP/$e" TOTP_OF=$e "$@"; }

# login E T A: allow, deny, or error (neither the command's output nor a
# refusal).
login() {
	: >"$PV_TMP/why.login"
	out=$(as "$1" pvssh "$1+$3@$2" 'echo decide-ran' </dev/null 2>"$PV_TMP/login.err")
	if [ "$out" = decide-ran ]; then
		echo allow
	elif grep -q -e "provost: access" -e "Permission denied" "$PV_TMP/login.err"; then
		grep -e "provost: access" -e "Permission denied" "$PV_TMP/login.err" >"$PV_TMP/why.login"
		echo deny
	else
		echo "error($(head -c 200 "$PV_TMP/login.err" | tr '\n ' '_'))"
	fi
}
# list E T A: the menu's list, one login per engineer; allow = "open".
list() {
	if [ ! -f "$PV_TMP/list-$1" ]; then
		as "$1" pvssh "$1" list </dev/null >"$PV_TMP/list-$1" 2>"$PV_TMP/list-$1.err" ||
		    grep -q "Permission denied" "$PV_TMP/list-$1.err" ||
		    { echo "error(list)"; return; }
	fi
	if grep -q "^$1+$3@$2	open: " "$PV_TMP/list-$1"; then echo allow; else echo deny; fi
}
# explain E T A: the JSON's outcome; a target or engineer not found is deny.
explain() {
	pvctl --json policy explain "$1" "$2" "$3" >"$PV_TMP/explain.json" 2>"$PV_TMP/explain.err"
	rc=$?
	sed -n 's/^  "reason": "\(.*\)",\{0,1\}$/\1/p' "$PV_TMP/explain.json" >"$PV_TMP/why.explain"
	case $rc in
	0) if grep -q '"outcome": "allow"' "$PV_TMP/explain.json"; then echo allow; else echo deny; fi ;;
	3) cat "$PV_TMP/explain.err" >"$PV_TMP/why.explain"; echo deny ;;
	*) echo "error(rc $rc)" ;;
	esac
}
# token E T A: a pvt1 token on stdout = allow; refused (5) or not found
# (3) = deny.
token() {
	tok=$(pvctl token issue "$1" "$2" "$3" 2>"$PV_TMP/why.token")
	rc=$?
	case "$rc:$tok" in
	0:pvt1.*) echo allow ;;
	3:|5:) echo deny ;;
	*) echo "error(rc $rc)" ;;
	esac
}
# request E T A: provostctl grant request; accepted = a grant id.
request() {
	pvctl grant request "$1" "$2" --account "$3" --duration 1h >"$PV_TMP/req.out" 2>"$PV_TMP/req.err"
	rc=$?
	case $rc in
	0) echo accepted ;;
	2|3|5) echo refused ;;
	*) echo "error(rc $rc)" ;;
	esac
}
# mrequest E T A: the menu's request; a login refused is a refusal.
mrequest() {
	out=$(as "$1" pvssh "$1" request "$2" --account "$3" --for 1h </dev/null 2>"$PV_TMP/mreq.err")
	case $out in
	*"request refused"*|*"request: access to"*) echo refused ;;
	*"needs approval"*|*"active now"*) echo accepted ;;
	*) if grep -q "Permission denied" "$PV_TMP/mreq.err"; then echo refused
	   else echo "error($(printf '%s' "$out" | head -c 100 | tr '\n ' '_'))"; fi ;;
	esac
}

printf '%-14s %-6s %-6s %-6s %-7s %-6s | %-8s %-8s %-8s\n' case want login list explain token \
    want request menu-req > "$PV_TMP/table"
# The access columns first, for every case; the requests make grants, so
# they come after.
while read -r name e t a want wreq why; do
	l=$(login "$e" "$t" "$a")
	m=$(list "$e" "$t" "$a")
	x=$(explain "$e" "$t" "$a")
	k=$(token "$e" "$t" "$a")
	for v in "login=$l" "list=$m" "explain=$x" "token=$k"; do
		[ "${v#*=}" = "$want" ] || {
			printf '%s: %s says %s, want %s\n' "$name" "${v%%=*}" "${v#*=}" "$want" >> "$PV_TMP/drift"
		}
	done
	printf '%s %s %s %s %s %s\n' "$name" "$want" "$l" "$m" "$x" "$k" >> "$PV_TMP/access"
	# the reason, the same from each (login: when provostd gives one)
	for c in explain token login; do
		[ $c = login ] && ! grep -q "access denied: " "$PV_TMP/why.login" && continue
		[ $c != explain ] && [ "$want" = allow ] && continue
		grep -qF -- "$why" "$PV_TMP/why.$c" || {
			printf '%s: %s gives the reason "%s", want "%s"\n' "$name" "$c" \
			    "$(head -n 1 "$PV_TMP/why.$c")" "$why" >> "$PV_TMP/drift"
		}
	done
	printf '%-14s %s\n' "$name" "$(head -n 1 "$PV_TMP/why.explain")" >> "$PV_TMP/reasons"
done < "$PV_TMP/cases"
while read -r name e t a want wreq why; do
	r=$(request "$e" "$t" "$a")
	n=$(mrequest "$e" "$t" "$a")
	for v in "request=$r" "menu-request=$n"; do
		[ "${v#*=}" = "$wreq" ] || {
			printf '%s: %s says %s, want %s\n' "$name" "${v%%=*}" "${v#*=}" "$wreq" >> "$PV_TMP/drift"
		}
	done
	printf '%s %s %s\n' "$wreq" "$r" "$n" >> "$PV_TMP/requests"
done < "$PV_TMP/cases"
paste -d' ' "$PV_TMP/access" "$PV_TMP/requests" | while read -r n w l m x k wr r q; do
	printf '%-14s %-6s %-6s %-6s %-7s %-6s | %-8s %-8s %-8s\n' "$n" "$w" "$l" "$m" "$x" "$k" "$wr" "$r" "$q"
done >> "$PV_TMP/table"
cat "$PV_TMP/table"
printf '\n%-14s %s\n' case "explain's reason" && cat "$PV_TMP/reasons"
if [ -s "$PV_TMP/drift" ]; then
	cat "$PV_TMP/drift" >&2
	pv_fail "the callers do not agree ($(wc -l < "$PV_TMP/drift") cells)"
fi
[ "$(wc -l < "$PV_TMP/access")" -eq "$(wc -l < "$PV_TMP/cases")" ] || pv_fail "not every case ran"

# A rule without shell: the broker refuses a shell and runs a command;
# explain says the same per channel.  A pvt1 token opens a login on the
# target itself, where no broker checks channels, so token issue asks for
# a shell and refuses.
out=$(printf 'echo shell-ran\n' | as alice pvssh "alice+$ME@execonly01" -T 2>&1) &&
    pv_fail "a shell under exec-only: $out"
echo "$out" | grep -q "provost: access denied: rule exec-only does not allow shell" ||
    pv_fail "shell under exec-only: $out"
[ "$(as alice pvssh "alice+$ME@execonly01" 'echo decide-ran' </dev/null 2>&1)" = decide-ran ] ||
    pv_fail "exec under exec-only refused"
[ "$(explain alice execonly01 "$ME")" = allow ] || pv_fail "explain: no channel, exec-only"
pvctl policy explain --channel shell alice execonly01 "$ME" | grep -q "does not allow shell" ||
    pv_fail "explain --channel shell: exec-only allows a shell"
[ "$(token alice execonly01 "$ME")" = deny ] ||
    pv_fail "token issue under a rule without shell: $(cat "$PV_TMP/why.token")"
grep -q "rule exec-only does not allow shell" "$PV_TMP/why.token" ||
    pv_fail "token issue under exec-only: $(cat "$PV_TMP/why.token")"
pvctl audit verify >/dev/null || pv_fail "audit chain broken"
pv_log "ok: $(wc -l < "$PV_TMP/cases") cases, the same verdict from login, list, explain, token issue and both requests ($(($(date +%s) - T0)) s)"
