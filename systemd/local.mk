# systemd/: units for provostd and the grant sweep, sysusers and tmpfiles.
systemdunitdir = $(prefix)/lib/systemd/system
sysusersdir = $(prefix)/lib/sysusers.d
tmpfilesdir = $(prefix)/lib/tmpfiles.d
systemdunit_DATA = systemd/provostd.service systemd/provost-sweep.service \
	systemd/provost-sweep.timer systemd/provost-exit.service \
	systemd/provost-exit.timer
sysusers_DATA = systemd/provost.conf
tmpfiles_DATA = systemd/provost-tmpfiles.conf
EXTRA_DIST += systemd/provostd.service.in systemd/provost-sweep.service.in \
	systemd/provost-sweep.timer systemd/provost-exit.service.in \
	systemd/provost-exit.timer systemd/provost.sysusers \
	systemd/provost.tmpfiles
CLEANFILES += systemd/provostd.service systemd/provost-sweep.service \
	systemd/provost-exit.service \
	systemd/provost.conf systemd/provost-tmpfiles.conf

# Paths are filled in at make time, as the GNU standards want.
systemd/%.service: systemd/%.service.in Makefile
	@mkdir -p systemd
	$(AM_V_GEN)sed -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' $< > $@
systemd/provost.conf: systemd/provost.sysusers
	@mkdir -p systemd
	$(AM_V_GEN)cp $< $@
systemd/provost-tmpfiles.conf: systemd/provost.tmpfiles
	@mkdir -p systemd
	$(AM_V_GEN)cp $< $@

TESTS += tests/integration/t_systemd_units.sh
EXTRA_DIST += tests/integration/t_systemd_units.sh
