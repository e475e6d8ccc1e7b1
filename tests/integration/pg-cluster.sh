# pg-cluster.sh: a throwaway PostgreSQL cluster for tests (sourced, POSIX
# sh).  initdb in a temp dir owned by an unprivileged user (root cannot run
# postgres), listening on a unix socket in that dir only, no TCP; stopped
# by its pid.  System services are never touched.
#   pv_pg_start DIR   sets PV_PG_URI (a postgresql:// URI) and PV_PG_PID
#                     (fsync off, unless PV_PG_FSYNC=on: the benchmarks)
#   pv_pg_run DIR     starts it again after pv_pg_stop (sets PV_PG_PID)
#   pv_pg_stop DIR    stops the cluster started in DIR
#   pv_pg_test_store  for a test of provostd on PostgreSQL (after lib.sh):
#                     skips without libpq or initdb, starts a cluster in
#                     $PV_TMP/pg, tracks it, sets PV_STORE for broker-setup.sh

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PV_PG_USER=${PV_PG_USER:-nobody}

pv_pg_start() {
	_d=$1
	[ -x "$PG_BINDIR/initdb" ] || { echo "no $PG_BINDIR/initdb (apt-get install postgresql-15)" >&2; return 77; }
	mkdir -p "$_d" || return 99
	chmod 0755 "$_d"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PV_PG_USER" "$_d" || return 99
		_run="runuser -u $PV_PG_USER --"
	else
		_run=""
	fi
	$_run "$PG_BINDIR/initdb" -D "$_d/data" -U provost -A trust \
	    --no-sync -E UTF8 --locale=C >"$_d/initdb.log" 2>&1 || {
		cat "$_d/initdb.log" >&2; return 99; }
	pv_pg_run "$_d" || return 99
	PV_PG_URI="postgresql:///postgres?host=$_d&user=provost"
	export PV_PG_URI
}

# pv_pg_run DIR: starts the cluster initdb made in DIR (again, after
# pv_pg_stop); sets PV_PG_PID.
pv_pg_run() {
	_d=$1
	_run=""
	[ "$(id -u)" -eq 0 ] && _run="runuser -u $PV_PG_USER --"
	$_run "$PG_BINDIR/pg_ctl" -D "$_d/data" -l "$_d/postgres.log" -w -t 60 \
	    -o "-c listen_addresses='' -c unix_socket_directories='$_d' -c fsync=${PV_PG_FSYNC:-off} -c max_connections=200" \
	    start >"$_d/pg_ctl.log" 2>&1 || {
		cat "$_d/pg_ctl.log" "$_d/postgres.log" >&2; return 99; }
	PV_PG_PID=$(head -n 1 "$_d/data/postmaster.pid")
	echo "$PV_PG_PID" > "$_d/pid"
	export PV_PG_PID
}

pv_pg_stop() {
	_d=$1
	[ -f "$_d/pid" ] || return 0
	_p=$(cat "$_d/pid")
	kill -INT "$_p" 2>/dev/null
	_n=0
	while kill -0 "$_p" 2>/dev/null && [ $_n -lt 100 ]; do
		sleep 0.1; _n=$((_n + 1))
	done
	kill -9 "$_p" 2>/dev/null
	rm -f "$_d/pid"
}

pv_pg_test_store() {
	[ "${PV_HAVE_LIBPQ:-no}" = yes ] || pv_skip "built without PostgreSQL (libpq-dev)"
	[ -x "$PG_BINDIR/initdb" ] || pv_skip "no $PG_BINDIR/initdb (apt-get install postgresql-15)"
	# nobody must reach the cluster's dir
	chmod 0711 "$PV_TMP"
	pv_pg_start "$PV_TMP/pg" || pv_fail "cannot start a PostgreSQL cluster"
	pv_track "$PV_PG_PID"
	PV_STORE=$PV_PG_URI
}
