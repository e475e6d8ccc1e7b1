# tests/integration/: shell tests against real OpenSSH programs.  Each
# t_*.sh sources lib.sh, works in its own temp dir on free 127.0.0.1 ports,
# and stops what it started by pid.
INTEGRATION_TESTS = \
	tests/integration/t_harness_sshd.sh \
	tests/integration/t_configure_missing.sh \
	tests/integration/t_docs.sh \
	tests/integration/t_docs_examples.sh \
	tests/integration/t_store_pg.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh \
	tests/integration/pg-cluster.sh tests/integration/README.md

# Faults and load (issue 6): provostd and its session processes killed,
# the target gone, the recording disk full, 200 concurrent sessions.
FAULT_INTEGRATION_TESTS = \
	tests/integration/t_broker_fault_session.sh \
	tests/integration/t_broker_fault_daemon.sh \
	tests/integration/t_broker_stop.sh \
	tests/integration/t_broker_nofile.sh \
	tests/integration/t_broker_fault_target.sh \
	tests/integration/t_broker_fault_disk.sh \
	tests/integration/t_broker_load.sh
TESTS += $(FAULT_INTEGRATION_TESTS)
EXTRA_DIST += $(FAULT_INTEGRATION_TESTS)
