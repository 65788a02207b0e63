# mgmt build fragment: portcullisd (supervisor + management socket), pcctl,
# their unit tests and fuzz target, and the man pages.
noinst_LIBRARIES += mgmt/libpcmgmt.a
mgmt_libpcmgmt_a_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(JANSSON_CFLAGS)
mgmt_libpcmgmt_a_SOURCES = \
	mgmt/mgmt_req.c mgmt/mgmt_req.h \
	mgmt/rows_json.c mgmt/rows_json.h \
	mgmt/supervisor.c mgmt/supervisor.h \
	mgmt/commands.c mgmt/commands.h \
	mgmt/mgmt_sock.c mgmt/mgmt_sock.h \
	mgmt/prom.c mgmt/prom.h \
	mgmt/notify.c mgmt/notify.h \
	mgmt/table.c mgmt/table.h
PC_MGMT_LIBS = mgmt/libpcmgmt.a $(PC_COMMON_LIBS)

sbin_PROGRAMS += mgmt/portcullisd
mgmt_portcullisd_SOURCES = mgmt/portcullisd.c
mgmt_portcullisd_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
mgmt_portcullisd_LDADD = $(PC_MGMT_LIBS)

bin_PROGRAMS += mgmt/pcctl
mgmt_pcctl_SOURCES = mgmt/pcctl.c
mgmt_pcctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
mgmt_pcctl_LDADD = $(PC_MGMT_LIBS)

# Unit tests.
mgmt_tests = tests/unit/test_mgmt_req tests/unit/test_mgmt_rows \
	tests/unit/test_mgmt_sup tests/unit/test_mgmt_notify
check_PROGRAMS += $(mgmt_tests)
TESTS += $(mgmt_tests)
tests_unit_test_mgmt_req_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_mgmt_req_LDADD = tests/unit/libtap.a $(PC_MGMT_LIBS)
tests_unit_test_mgmt_rows_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_mgmt_rows_LDADD = tests/unit/libtap.a $(PC_MGMT_LIBS)
tests_unit_test_mgmt_sup_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_mgmt_sup_LDADD = tests/unit/libtap.a $(PC_MGMT_LIBS)
tests_unit_test_mgmt_notify_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_mgmt_notify_LDADD = tests/unit/libtap.a $(PC_MGMT_LIBS)

# Fuzz target of the management request decoder.
noinst_PROGRAMS += tests/fuzz/fuzz_mgmt_req
tests_fuzz_fuzz_mgmt_req_SOURCES = tests/fuzz/fuzz_mgmt_req.c $(FUZZ_MAIN)
tests_fuzz_fuzz_mgmt_req_CFLAGS = $(FUZZ_CF) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_mgmt_req_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_mgmt_req_LDADD = $(PC_MGMT_LIBS)

# Man pages: two hand-written, portcullis.json(5) generated from the
# configuration field tables so it never drifts from the code.
dist_man_MANS += mgmt/pcctl.1 mgmt/portcullisd.8
nodist_man_MANS = mgmt/portcullis.json.5
EXTRA_DIST += mgmt/portcullis.json.5.in
CLEANFILES += mgmt/portcullis.json.5
mgmt/portcullis.json.5: mgmt/portcullisd$(EXEEXT) $(srcdir)/mgmt/portcullis.json.5.in
	$(AM_V_GEN)mkdir -p mgmt && { cat $(srcdir)/mgmt/portcullis.json.5.in && \
	ASAN_OPTIONS=detect_leaks=0 ./mgmt/portcullisd$(EXEEXT) --config-doc --roff; } >$@.tmp && mv $@.tmp $@
