/*
 * lease.c: this provostd's lease among the brokers of one store (taken at
 * start, renewed from the monitor's loop) and the sweep that aborts the
 * live rows of a broker whose lease has expired.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/monitor/monitor.h"
#include "store/store.h"

/* The sweep of other brokers' expired leases: once a second. */
#define LEASE_REAP_MS 1000

static void
lease_req(const struct broker_lease *l, struct store_lease_req *req)
{
	*req = (struct store_lease_req){
		.name = l->name,
		.holder = l->holder,
		.host = l->host,
		.pid = (int64_t)getpid(),
		.duration_ms = l->duration_ms,
	};
}

/*
 * At start, before any session: the lease of BrokerName.  Refused while
 * another provostd holds the name, unless that holder was a process of
 * this host that is gone (a crash, restarted at once).
 */
int
broker_lease_take(struct broker_lease *l, struct broker_backend *bk,
    const struct pv_config *conf)
{
	struct store *st = broker_backend_store_handle(bk);
	struct store_lease_req req;
	struct store_lease *old = NULL;
	int r;

	memset(l, 0, sizeof(*l));
	if (st == NULL)
		return PV_ERR_STORE;
	if (strlen(conf->broker_name) >= sizeof(l->name) ||
	    gethostname(l->host, sizeof(l->host) - 1) != 0 ||
	    pv_uuid_new(l->holder) != 0)
		return PV_ERR_INTERNAL;
	memcpy(l->name, conf->broker_name, strlen(conf->broker_name) + 1);
	l->duration_ms = (int64_t)conf->broker_lease * 1000;
	lease_req(l, &req);
	r = store_lease_take(st, &req, pv_wall_ms(), 0);
	if (r == PV_ERR_EXISTS && store_lease_get(st, l->name, &old) == 0 &&
	    strcmp(old->host, l->host) == 0 && old->pid > 0 &&
	    old->pid != (int64_t)getpid() && kill((pid_t)old->pid, 0) != 0 &&
	    errno == ESRCH) {
		pv_warn("BrokerName %s: its last provostd (pid %lld) is gone; "
			"taking its lease over",
		    l->name, (long long)old->pid);
		r = store_lease_take(st, &req, pv_wall_ms(), 1);
	}
	store_lease_free(old);
	if (r != 0) {
		pv_error("BrokerName %s: %s", l->name, store_errmsg(st));
		return r;
	}
	l->expires_ms = pv_wall_ms() + l->duration_ms;
	l->renew_due = pv_mono_ms();
	l->reap_due = pv_mono_ms();
	pv_info("BrokerName %s: lease taken for %lld s, renewed every %lld s",
	    l->name, (long long)(l->duration_ms / 1000),
	    (long long)(l->duration_ms / 3000));
	return 0;
}

/*
 * From the monitor's loop: when due, one short transaction each (a renew
 * every third of the lease; a look for expired leases once a second,
 * which writes only when there is a row to abort).  A lease that cannot
 * be renewed is logged each time; 1 once it has expired unrenewed (the
 * others abort this broker's rows then: its sessions must end).
 */
int
broker_lease_tick(struct broker_lease *l, struct broker_backend *bk)
{
	uint64_t now = pv_mono_ms();
	struct store *st;
	int64_t wall;
	int r, n = 0, lapsed;

	if (l->name[0] == '\0' || (now < l->renew_due && now < l->reap_due))
		return 0;
	wall = pv_wall_ms();
	/* before a renewal: once lapsed, others may have aborted the rows */
	lapsed = wall >= l->expires_ms;
	if ((st = broker_backend_store_handle(bk)) == NULL) {
		l->reap_due = now + LEASE_REAP_MS;
		return lapsed && (l->others > 0 || l->taken);
	}
	if (now >= l->renew_due) {
		l->renew_due = now + (uint64_t)(l->duration_ms / 3);
		r = store_lease_renew(st, l->name, l->holder, (int64_t)getpid(),
		    wall, l->duration_ms);
		if (r == PV_ERR_NOT_FOUND)
			l->taken = 1;
		if (r == 0) {
			l->expires_ms = wall + l->duration_ms;
			l->taken = 0;
			if (l->lost)
				pv_info("BrokerName %s: lease renewed again",
				    l->name);
			l->lost = 0;
		} else {
			pv_error("BrokerName %s: the lease could not be "
				 "renewed (%s); it expires in %lld ms",
			    l->name, store_errmsg(st),
			    (long long)(l->expires_ms - wall));
			l->lost = 1;
		}
	}
	if (now >= l->reap_due) {
		l->reap_due = now + LEASE_REAP_MS;
		if (store_lease_others(st, l->name, wall, &l->others) != 0 ||
		    store_lease_reap(st, l->name, wall, &n) != 0)
			pv_warn("BrokerName %s: expired leases: %s", l->name,
			    store_errmsg(st));
		else if (n > 0)
			pv_warn("%d session(s) of a broker whose lease expired "
				"marked aborted",
			    n);
	}
	/*
	 * Not renewed in time: the others (if any run, or whoever took the
	 * name) abort this broker's rows.  Alone on the store, nobody does:
	 * StoreStaleness decides then.
	 */
	return lapsed && (l->others > 0 || l->taken);
}
