# tests/integration/: shell tests against real OpenSSH programs.  Each
# t_*.sh sources lib.sh, works in its own temp dir on free 127.0.0.1 ports,
# and stops what it started by pid.
INTEGRATION_TESTS = \
	tests/integration/t_harness_sshd.sh \
	tests/integration/t_configure_missing.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh \
	tests/integration/README.md
