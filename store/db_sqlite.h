/*
 * db_sqlite.h: the SQLite handle under a store, for the tests and bench
 * programs that play an insider editing the file.
 */
#ifndef PROVOST_STORE_DB_SQLITE_H
#define PROVOST_STORE_DB_SQLITE_H

#include <sqlite3.h>

#include "store/store.h"

/* NULL when st is not a SQLite store. */
sqlite3 *st_sqlite_db(struct store *st);

#endif /* PROVOST_STORE_DB_SQLITE_H */
