#!/bin/sh
# t_ctl_grants.sh: grants decided by the policy end to end: Approval auto,
# RequireTicket, MaxDuration caps, two distinct approvers, separation of
# duties, deny, revoke, revoke engineer, and policy explain.  Approvals
# here are root's --as: the rules say break-glass (t_broker_approve has
# the approvers who sign in, and --as refused without it).
. "$top_srcdir/tests/integration/lib.sh"

CTL="$top_builddir/provostctl"
S="$PV_TMP/state"
printf 'StateDirectory %s\nPolicyFile %s/policy.conf\nControlSocket %s/run/control.sock\n' "$S" "$PV_TMP" "$PV_TMP" > "$PV_TMP/provostd.conf"
cat > "$PV_TMP/policy.conf" <<'EOC'
Levels public internal confidential restricted

Rule standing-public
    Classification public
    Approval none
    Channels shell exec sftp

Rule internal-jit
    Classification internal
    Approval auto
    RequireTicket yes
    MaxDuration 8h

Rule confidential
    Classification confidential
    Approval 1 group security break-glass
    RequireTicket yes
    MaxDuration 4h
    Channels shell exec

Rule restricted
    Classification restricted
    Clearance restricted
    Approval 2 group security break-glass
    MaxDuration 1h
    Channels shell
EOC
ctl() { "$CTL" -f "$PV_TMP/provostd.conf" "$@"; }
expect_rc() { # WANT DESCRIPTION CMD...
	want=$1; what=$2; shift 2
	"$@" > "$PV_TMP/out" 2> "$PV_TMP/err"
	got=$?
	[ "$got" -eq "$want" ] || pv_fail "$what: exit $got, want $want ($(cat "$PV_TMP/err"))"
}
ctl policy check "$PV_TMP/policy.conf" > /dev/null || pv_fail "policy check"
printf 'Levels a b\nRule r\n    Classification c\n' > "$PV_TMP/bad-policy.conf"
expect_rc 6 "bad policy" ctl policy check "$PV_TMP/bad-policy.conf"
grep -q "bad-policy.conf:3:" "$PV_TMP/err" || pv_fail "policy error without line: $(cat "$PV_TMP/err")"

ctl init > /dev/null 2>&1 || pv_fail "init"
pv_keygen "$PV_TMP/hk"
ctl provider add acme > /dev/null
ctl engineer add alice --provider acme --clearance restricted > /dev/null
ctl engineer add bob --provider acme --clearance internal > /dev/null
for t in pub1:public int1:internal db01:confidential vault:restricted; do
	ctl target add "${t%%:*}" --host 127.0.0.1 --classification "${t#*:}" \
	    --accounts root,postgres --hostkey "$PV_TMP/hk.pub" > /dev/null || pv_fail "target $t"
done
for a in sec1 sec2 sec3; do ctl approver add $a --group security > /dev/null; done
ctl approver add ops1 --group ops > /dev/null
ctl approver add alice-sec --group security --engineer alice > /dev/null
# An approver named like an engineer: the admin must say whether it is the
# same person (who then never approves their own requests) or not.
ctl approver add bob --group security > /dev/null 2>"$PV_TMP/err" &&
    pv_fail "an approver named like engineer bob was taken without saying who"
grep -q 'bob is also an engineer.s login: say --engineer bob' "$PV_TMP/err" ||
    pv_fail "approver named like an engineer: $(cat "$PV_TMP/err")"
ctl approver list | grep -q '^bob ' && pv_fail "the refused approver was added"
ctl approver add bob --group ops --engineer bob > /dev/null || pv_fail "approver bob as engineer bob"
ctl approver add alice --group ops --not-engineer > /dev/null || pv_fail "approver alice, another person"
ctl approver add carol --group ops --engineer carol --not-engineer > /dev/null 2>&1 &&
    pv_fail "--engineer with --not-engineer"

# Standing access needs no grant; a rule's deny stays a deny.
expect_rc 2 "grant for standing access" ctl grant request alice pub1 --account root --duration 1h
grep -q "standing access" "$PV_TMP/err" || pv_fail "standing message"
expect_rc 5 "bob above clearance" ctl grant request bob vault --account root --duration 1h
grep -q "clearance" "$PV_TMP/err" || pv_fail "clearance message: $(cat "$PV_TMP/err")"

# Approval auto, with the ticket the rule requires.
expect_rc 5 "no ticket" ctl grant request bob int1 --account root --duration 2h
grep -q "requires a ticket" "$PV_TMP/err" || pv_fail "ticket message"
expect_rc 0 "auto grant" ctl grant request bob int1 --account root --duration 12h --ticket CHG-1
auto=$(cat "$PV_TMP/out")
grep -q "active until .*(8h), duration capped" "$PV_TMP/err" || pv_fail "auto grant status: $(cat "$PV_TMP/err")"
ctl --json grant show "$auto" > "$PV_TMP/g.json" || pv_fail "grant show"
grep -q '"duration": 28800' "$PV_TMP/g.json" || pv_fail "MaxDuration cap not applied"
grep -q '"state": "active"' "$PV_TMP/g.json" || pv_fail "auto grant not active"
expect_rc 3 "unknown account" ctl grant request bob int1 --account oracle --duration 1h --ticket T

# Four eyes: two distinct approvers of the group; never the requester.
expect_rc 0 "restricted request" ctl grant request alice vault --account root --duration 30m --reason "key rotation"
g=$(cat "$PV_TMP/out")
grep -q "pending: 0 of 2 approvals from group security" "$PV_TMP/err" || pv_fail "pending status"
ctl grant list --pending | grep -q "^$g pending" || pv_fail "not in --pending list"
expect_rc 5 "self approval" ctl grant approve "$g" --as alice-sec
grep -q "separation of duties" "$PV_TMP/err" || pv_fail "SoD message"
expect_rc 5 "wrong group" ctl grant approve "$g" --as ops1
expect_rc 0 "first approval" ctl grant approve "$g" --as sec1
grep -q "pending: 1 of 2" "$PV_TMP/err" || pv_fail "after one approval: $(cat "$PV_TMP/err")"
expect_rc 4 "same approver twice" ctl grant approve "$g" --as sec1
ctl policy explain alice vault root --channel shell > "$PV_TMP/explain" || pv_fail "explain"
grep -q "^decision: needs-approval" "$PV_TMP/explain" || pv_fail "explain before approval: $(cat "$PV_TMP/explain")"
expect_rc 0 "second approval" ctl grant approve "$g" --as sec2
grep -q "active until" "$PV_TMP/err" || pv_fail "not active after two approvals"
ctl policy explain alice vault root --channel shell > "$PV_TMP/explain" || pv_fail "explain"
grep -q "^decision: allow" "$PV_TMP/explain" || pv_fail "explain after approval: $(cat "$PV_TMP/explain")"
ctl --json policy explain alice vault root --channel exec | grep -q '"outcome": "deny"' || pv_fail "exec under a shell-only rule"
expect_rc 2 "approve an active grant" ctl grant approve "$g" --as sec3

# Deny, revoke.
expect_rc 0 "confidential request" ctl grant request alice db01 --account postgres --duration 1h --ticket INC-7
d=$(cat "$PV_TMP/out")
expect_rc 0 "deny" ctl grant deny "$d" --as sec3 --reason "wrong ticket"
ctl --json grant show "$d" | grep -q '"state": "denied"' || pv_fail "not denied"
expect_rc 2 "approve after deny" ctl grant approve "$d" --as sec1
expect_rc 0 "revoke" ctl revoke grant "$auto" --reason done
ctl --json grant show "$auto" | grep -q '"state": "revoked"' || pv_fail "not revoked"
expect_rc 2 "revoke twice" ctl grant revoke "$auto"
expect_rc 3 "unknown grant" ctl grant revoke 00000000-0000-4000-8000-000000000000

# Expiry: a one-second grant ends on its own; grant expire records it.
expect_rc 0 "short grant" ctl grant request bob int1 --account postgres --duration 1s --ticket T
short=$(cat "$PV_TMP/out")
sleep 2
ctl --json grant show "$short" | grep -q '"state": "expired"' || pv_fail "not expired"
[ "$(ctl grant expire)" = "1 grant expired" ] || pv_fail "grant expire"
[ "$(ctl grant expire)" = "0 grants expired" ] || pv_fail "grant expire twice"
ctl audit export --format jsonl | grep -q "\"action\":\"grant.expire\",.*$short" || pv_fail "expiry not audited"

# Revoking the engineer ends her grants; the list says so.
expect_rc 0 "revoke engineer" ctl revoke engineer alice --reason offboarded
ctl --json grant show "$g" | grep -q '"state": "revoked"' || pv_fail "grant survived revoke engineer"
ctl --json grant list > "$PV_TMP/all.json" || pv_fail "grant list --json"
[ "$(grep -c '"id":' "$PV_TMP/all.json")" -eq 4 ] || pv_fail "grant count"
expect_rc 5 "request after revoke" ctl grant request alice db01 --account postgres --duration 1h --ticket T
expect_rc 0 "revoke provider" ctl revoke provider acme
expect_rc 5 "request after provider revoke" ctl grant request bob int1 --account root --duration 1h --ticket T
ctl audit export --format jsonl > "$PV_TMP/audit.jsonl" || pv_fail "export"
for a in grant.request grant.approve grant.deny grant.revoke engineer.revoke provider.revoke; do
	grep -q "\"action\":\"$a\"" "$PV_TMP/audit.jsonl" || pv_fail "no $a in the audit log"
done
ctl audit verify > /dev/null || pv_fail "audit verify"
pv_log "auto, ticket, cap, 2-of-group, separation of duties, deny, revoke ok"
exit 0
