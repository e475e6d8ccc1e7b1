# store/: the governance store (store/store.h) over SQLite, and the
# provostd.conf loader shared by provostd and provostctl.
noinst_LTLIBRARIES += libprovost_store.la
libprovost_store_la_SOURCES = \
	store/store.h \
	store/store-int.h \
	store/audit.c \
	store/config.c \
	store/db.c \
	store/grants.c \
	store/identity.c \
	store/keys.c \
	store/migrate.c \
	store/sessions.c \
	store/targets.c \
	store/totp.c
libprovost_store_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) \
	$(OATH_CFLAGS) $(CRYPTO_CFLAGS)
libprovost_store_la_LIBADD = libprovost_common.la $(SQLITE_LIBS) \
	$(JANSSON_LIBS) $(OATH_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += $(filter %.c,$(libprovost_store_la_SOURCES))
LINT_H_FILES += store/store.h store/store-int.h
