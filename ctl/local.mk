# ctl/: provostctl, the security team's command line over the store, the
# policy and (later) the daemon's control socket.
sbin_PROGRAMS += provostctl
provostctl_SOURCES = \
	ctl/ctl.h \
	ctl/admin.c \
	ctl/audit.c \
	ctl/exit.c \
	ctl/exit-int.h \
	ctl/exit_bundle.c \
	ctl/exit_run.c \
	ctl/exit_sweep.c \
	ctl/exit_unixpw.c \
	ctl/exposures.c \
	ctl/grants.c \
	ctl/init.c \
	ctl/krl.c \
	ctl/main.c \
	ctl/remote.c \
	ctl/report.c \
	ctl/sessions.c \
	ctl/targets.c \
	ctl/tokens.c \
	ctl/watch.c \
	broker/login.c \
	broker/monitor/cert.c
provostctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(OATH_CFLAGS) \
	$(CRYPTO_CFLAGS) $(QRENCODE_CFLAGS) $(XCRYPT_CFLAGS)
provostctl_LDFLAGS = $(PROG_LINK)
provostctl_LDADD = libprovost_plugins.la libprovost_store.la \
	libprovost_policy.la libprovost_pvt.la libprovost_recorder.la \
	libprovost_common.la $(JANSSON_LIBS) $(OATH_LIBS) $(CRYPTO_LIBS) \
	$(QRENCODE_LIBS) $(XCRYPT_LIBS) -ldl
LINT_C_FILES += $(filter ctl/%.c,$(provostctl_SOURCES))
LINT_H_FILES += ctl/ctl.h

CTL_INTEGRATION_TESTS = \
	tests/integration/t_ctl_init.sh \
	tests/integration/t_ctl_inventory.sh \
	tests/integration/t_ctl_grants.sh \
	tests/integration/t_ctl_audit.sh \
	tests/integration/t_ctl_token.sh \
	tests/integration/t_ctl_krl.sh \
	tests/integration/t_ctl_exposure.sh \
	tests/integration/t_ctl_exit.sh \
	tests/integration/t_ctl_exit_run.sh \
	tests/integration/t_ctl_exit_sweep.sh \
	tests/integration/t_ctl_exit_unixpw.sh \
	tests/integration/t_ctl_exit_hook_http.sh
TESTS += $(CTL_INTEGRATION_TESTS)
EXTRA_DIST += $(CTL_INTEGRATION_TESTS)

dist_man_MANS += docs/provostctl.8 docs/provost.conf.5
