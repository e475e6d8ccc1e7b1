# recorder/: the recording format (docs/recording-format.md): writer, reader,
# key wrapping, escape filter; provost-rec and provost-replay.
noinst_LTLIBRARIES += libprovost_recorder.la
libprovost_recorder_la_SOURCES = \
	recorder/recorder.h \
	recorder/recorder-int.h \
	recorder/audit_ref.c \
	recorder/escape.c \
	recorder/extract.c \
	recorder/index.c \
	recorder/keys.c \
	recorder/reader.c \
	recorder/wio.c \
	recorder/writer.c
libprovost_recorder_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) \
	$(JANSSON_CFLAGS) $(ZSTD_CFLAGS)
libprovost_recorder_la_LIBADD = libprovost_common.la $(CRYPTO_LIBS) -lpthread \
	$(JANSSON_LIBS) $(ZSTD_LIBS)
LINT_C_FILES += $(filter %.c,$(libprovost_recorder_la_SOURCES))
LINT_H_FILES += recorder/recorder.h recorder/recorder-int.h

RECORDER_UNIT_TESTS = \
	tests/unit/test_recorder \
	tests/unit/test_recorder_tamper \
	tests/unit/test_recorder_escape \
	tests/unit/test_recorder_extract \
	tests/unit/test_recorder_audit \
	tests/unit/test_recorder_index
check_PROGRAMS += $(RECORDER_UNIT_TESTS)
TESTS += $(RECORDER_UNIT_TESTS)
RECORDER_UNIT_CC = $(UNIT_CC) $(CRYPTO_CFLAGS) $(JANSSON_CFLAGS)
RECORDER_UNIT_LD = libprovost_recorder.la libprovost_common.la \
	$(CMOCKA_LIBS) $(CRYPTO_LIBS) $(JANSSON_LIBS)
tests_unit_test_recorder_SOURCES = tests/unit/test_recorder.c \
	tests/unit/test_recorder_util.c tests/unit/test_recorder_util.h
tests_unit_test_recorder_CFLAGS = $(RECORDER_UNIT_CC)
tests_unit_test_recorder_LDFLAGS = $(UNIT_LINK)
tests_unit_test_recorder_LDADD = $(RECORDER_UNIT_LD)
tests_unit_test_recorder_tamper_SOURCES = tests/unit/test_recorder_tamper.c \
	tests/unit/test_recorder_util.c tests/unit/test_recorder_util.h
tests_unit_test_recorder_tamper_CFLAGS = $(RECORDER_UNIT_CC)
tests_unit_test_recorder_tamper_LDFLAGS = $(UNIT_LINK)
tests_unit_test_recorder_tamper_LDADD = $(RECORDER_UNIT_LD)
tests_unit_test_recorder_escape_SOURCES = tests/unit/test_recorder_escape.c
tests_unit_test_recorder_escape_CFLAGS = $(RECORDER_UNIT_CC)
tests_unit_test_recorder_escape_LDFLAGS = $(UNIT_LINK)
tests_unit_test_recorder_escape_LDADD = $(RECORDER_UNIT_LD)
tests_unit_test_recorder_extract_SOURCES = \
	tests/unit/test_recorder_extract.c tests/unit/test_recorder_util.c \
	tests/unit/test_recorder_util.h
tests_unit_test_recorder_extract_CFLAGS = $(RECORDER_UNIT_CC)
tests_unit_test_recorder_extract_LDFLAGS = $(UNIT_LINK)
tests_unit_test_recorder_extract_LDADD = $(RECORDER_UNIT_LD)
tests_unit_test_recorder_audit_SOURCES = tests/unit/test_recorder_audit.c \
	tests/unit/test_recorder_util.c tests/unit/test_recorder_util.h
tests_unit_test_recorder_audit_CFLAGS = $(RECORDER_UNIT_CC)
tests_unit_test_recorder_audit_LDFLAGS = $(UNIT_LINK)
tests_unit_test_recorder_audit_LDADD = $(RECORDER_UNIT_LD)
LINT_C_FILES += tests/unit/test_recorder_audit.c
tests_unit_test_recorder_index_SOURCES = tests/unit/test_recorder_index.c \
	tests/unit/test_recorder_util.c tests/unit/test_recorder_util.h
tests_unit_test_recorder_index_CFLAGS = $(RECORDER_UNIT_CC)
tests_unit_test_recorder_index_LDFLAGS = $(UNIT_LINK)
tests_unit_test_recorder_index_LDADD = $(RECORDER_UNIT_LD)
LINT_C_FILES += tests/unit/test_recorder_index.c
LINT_C_FILES += tests/unit/test_recorder.c tests/unit/test_recorder_util.c \
	tests/unit/test_recorder_tamper.c tests/unit/test_recorder_escape.c \
	tests/unit/test_recorder_extract.c
LINT_H_FILES += tests/unit/test_recorder_util.h

bin_PROGRAMS += provost-rec provost-replay
provost_rec_SOURCES = recorder/rec_main.c
provost_rec_CFLAGS = $(AM_CFLAGS)
provost_rec_LDFLAGS = $(PROG_LINK)
provost_rec_LDADD = libprovost_recorder.la libprovost_common.la -lutil
provost_replay_SOURCES = recorder/replay_main.c recorder/replay_play.c \
	recorder/replay_extract.c recorder/replay_scan.c \
	recorder/replay_html.c recorder/replay_util.c recorder/replay-int.h
nodist_provost_replay_SOURCES = recorder/player-assets.c
provost_replay_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
provost_replay_LDFLAGS = $(PROG_LINK)
provost_replay_LDADD = libprovost_recorder.la libprovost_common.la \
	$(JANSSON_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += recorder/rec_main.c recorder/replay_main.c \
	recorder/replay_play.c recorder/replay_extract.c \
	recorder/replay_scan.c recorder/replay_html.c recorder/replay_util.c

# The replay page's player: asciinema-player from the npm registry, vendored
# as the registry's tarball and pinned by the registry's dist.integrity
# (npm view asciinema-player@VERSION dist.integrity).  Every build checks the
# tarball against it before inlining the player (recorder/player-assets.sh);
# scripts/player-check asks the registry again and updates the pin.
PLAYER_VERSION = 3.18.0
PLAYER_INTEGRITY = sha512-5gpt2ipFcy4NKmgkv+c/QXnJ9zMicxqWROCOuJqgwwtiYKM8Qe9hnDOvfqke5bW6M2DW/seO3uQYkQ0xeUUVtw==
PLAYER_TARBALL = third_party/asciinema-player-$(PLAYER_VERSION).tgz
PLAYER_ASSET_DEPS = $(srcdir)/$(PLAYER_TARBALL) \
	$(srcdir)/recorder/player-assets.sh $(srcdir)/recorder/replay-page.js \
	$(srcdir)/recorder/replay-page.css $(srcdir)/recorder/local.mk
recorder/player-assets.c: $(PLAYER_ASSET_DEPS)
	$(AM_V_GEN)$(MKDIR_P) recorder && $(SHELL) \
	    $(srcdir)/recorder/player-assets.sh $(srcdir)/$(PLAYER_TARBALL) \
	    '$(PLAYER_VERSION)' '$(PLAYER_INTEGRITY)' \
	    $(srcdir)/recorder/replay-page.js \
	    $(srcdir)/recorder/replay-page.css $@
BUILT_SOURCES = recorder/player-assets.c
CLEANFILES += recorder/player-assets.c
EXTRA_DIST += $(PLAYER_TARBALL) recorder/player-assets.sh \
	recorder/replay-page.js recorder/replay-page.css
LINT_H_FILES += recorder/replay-int.h

RECORDER_INTEGRATION_TESTS = \
	tests/integration/t_rec_roundtrip.sh \
	tests/integration/t_rec_kill.sh \
	tests/integration/t_rec_asciicast.sh \
	tests/integration/t_rec_play.sh \
	tests/integration/t_rec_spec.sh \
	tests/integration/t_rec_cli.sh \
	tests/integration/t_replay_html.sh \
	tests/integration/t_replay_grep_same.sh
TESTS += $(RECORDER_INTEGRATION_TESTS)
EXTRA_DIST += $(RECORDER_INTEGRATION_TESTS) tests/integration/replay-page.py

FUZZ_TARGETS += tests/fuzz/fuzz_rec_reader tests/fuzz/fuzz_rec_escape \
	tests/fuzz/fuzz_rec_audit
tests_fuzz_fuzz_rec_audit_SOURCES = tests/fuzz/fuzz_rec_audit.c
tests_fuzz_fuzz_rec_audit_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_rec_audit_LDADD = $(FUZZ_MAIN_LIB) libprovost_recorder.la \
	libprovost_common.la
tests_fuzz_fuzz_rec_reader_SOURCES = tests/fuzz/fuzz_rec_reader.c
tests_fuzz_fuzz_rec_reader_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_rec_reader_LDADD = $(FUZZ_MAIN_LIB) libprovost_recorder.la \
	libprovost_common.la
tests_fuzz_fuzz_rec_escape_SOURCES = tests/fuzz/fuzz_rec_escape.c
tests_fuzz_fuzz_rec_escape_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_rec_escape_LDADD = $(FUZZ_MAIN_LIB) libprovost_recorder.la \
	libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_rec_reader.c tests/fuzz/fuzz_rec_escape.c \
	tests/fuzz/fuzz_rec_audit.c
# The replay page's data from arbitrary events (what the page shows).
FUZZ_TARGETS += tests/fuzz/fuzz_replay_page
tests_fuzz_fuzz_replay_page_SOURCES = tests/fuzz/fuzz_replay_page.c \
	recorder/replay_scan.c recorder/replay_util.c
tests_fuzz_fuzz_replay_page_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(CRYPTO_CFLAGS)
tests_fuzz_fuzz_replay_page_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_replay_page_LDADD = $(FUZZ_MAIN_LIB) libprovost_recorder.la \
	libprovost_common.la $(JANSSON_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_replay_page.c

# Docs and the benchmark (bench/recorder drives bench/recorder-bench).
EXTRA_DIST += docs/recording-format.md bench/recorder
dist_man_MANS += docs/provost-rec.1 docs/provost-replay.1
noinst_PROGRAMS += bench/recorder-bench
bench_recorder_bench_SOURCES = bench/recorder-bench.c
bench_recorder_bench_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(ZSTD_CFLAGS)
bench_recorder_bench_LDFLAGS = $(PROG_LINK)
bench_recorder_bench_LDADD = libprovost_recorder.la libprovost_common.la \
	$(ZSTD_LIBS)
LINT_C_FILES += bench/recorder-bench.c
