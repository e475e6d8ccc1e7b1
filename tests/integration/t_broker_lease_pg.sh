#!/bin/sh
# t_broker_lease_pg.sh: t_broker_lease.sh with both provostd on one
# PostgreSQL store (issue 17 item 5: kill -9 of broker A, its sessions
# aborted by B after the lease, not before), as brokers of a site share one.
PV_LEASE_PG=1
. "$top_srcdir/tests/integration/t_broker_lease.sh"
