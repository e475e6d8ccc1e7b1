# pvt/: provost's one-time target tokens, the signed revocation list and
# the nonce cache (pvt/pvt.h): one small library that provostd, provostctl
# and pam_provost.so link.  common/ and OpenSSL only: targets must not
# need the store.
noinst_LTLIBRARIES += libprovost_pvt.la
libprovost_pvt_la_SOURCES = \
	pvt/pvt.h \
	pvt/pvt-int.h \
	pvt/nonce.c \
	pvt/revlist.c \
	pvt/token.c
libprovost_pvt_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
libprovost_pvt_la_LIBADD = libprovost_common.la $(CRYPTO_LIBS)
LINT_C_FILES += $(filter %.c,$(libprovost_pvt_la_SOURCES))
LINT_H_FILES += pvt/pvt.h pvt/pvt-int.h
