/*
 * db_pg.h: what the tests need of the PostgreSQL engine: an empty
 * database to start each test from.
 */
#ifndef PROVOST_STORE_DB_PG_H
#define PROVOST_STORE_DB_PG_H

/* Drops and recreates the public schema of the database conninfo names. */
int st_pg_wipe(const char *conninfo);

#endif /* PROVOST_STORE_DB_PG_H */
