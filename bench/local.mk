# bench/: benchmarks against direct OpenSSH (bench/run) and the probes they
# use.  Not tests: nothing here runs in make check.
noinst_PROGRAMS += bench/latency
bench_latency_SOURCES = bench/latency.c
bench_latency_LDFLAGS = $(PROG_LINK)
bench_latency_LDADD = libprovost_common.la -lutil
LINT_C_FILES += bench/latency.c
noinst_PROGRAMS += bench/tcprelay
bench_tcprelay_SOURCES = bench/tcprelay.c
bench_tcprelay_LDFLAGS = $(PROG_LINK)
bench_tcprelay_LDADD = libprovost_common.la
LINT_C_FILES += bench/tcprelay.c
EXTRA_DIST += bench/run bench/load bench/soak bench/exit bench/replay-grep bench/logins \
	bench/brokers3 \
	bench/README.md
