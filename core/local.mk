# core build fragment: portcullis-core, the registrar/proxy. Its modules
# live in core/libcore.a so the unit tests link them.
noinst_LIBRARIES += core/libcore.a
core_libcore_a_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(SQLITE_CFLAGS) $(OPENSSL_CFLAGS)
core_libcore_a_SOURCES = \
	core/loc.c core/loc.h \
	core/store.c core/store.h \
	core/auth.c core/auth.h \
	core/reg.c core/reg.h \
	core/tx.c core/tx.h \
	core/route.c core/route.h \
	core/dialog.c core/dialog.h \
	core/core.h core/core.c core/core_run.h \
	core/users.c core/dispatch_edge.c core/dispatch_ctl.c \
	core/proxy.c core/proxy.h core/proxy_int.h core/proxy_auth.c \
	core/proxy_reg.c core/proxy_bye.c core/proxy_trunk.c core/proxy_cseq.c \
	core/proxy_redirect.c core/dialog_store.c core/dialog_store.h \
	core/proxy_list.c core/proxy_edge.c \
	core/trunk.c core/trunk.h core/trunk_src.c core/trunk_src.h \
	core/dialplan.c core/dialplan.h \
	core/cdr.c core/cdr.h core/resolv.c core/resolv.h

pkglibexec_PROGRAMS += core/portcullis-core
core_portcullis_core_SOURCES = core/main.c
core_portcullis_core_LDADD = $(CORE_LIBS)

CORE_LIBS = core/libcore.a $(PC_COMMON_LIBS) $(SQLITE_LIBS)
CORE_TEST_LDADD = tests/unit/libtap.a $(CORE_LIBS)

core_tests = tests/unit/test_loc tests/unit/test_store tests/unit/test_auth tests/unit/test_reg tests/unit/test_tx \
	tests/unit/test_core_flow tests/unit/test_proxy tests/unit/test_dialplan \
	tests/unit/test_cdr tests/unit/test_trunk tests/unit/test_dialog \
	tests/unit/test_trunk_src
check_PROGRAMS += $(core_tests)
TESTS += $(core_tests)
tests_unit_test_loc_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_store_LDADD = $(CORE_TEST_LDADD)
# test_store changes rows behind the store through SQLite itself.
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_auth_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_reg_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_tx_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_core_flow_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_proxy_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_dialplan_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_cdr_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_trunk_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_dialog_LDADD = $(CORE_TEST_LDADD)
tests_unit_test_trunk_src_LDADD = $(CORE_TEST_LDADD)

# Fuzz target: what core does with any SIP message from edge.
noinst_PROGRAMS += tests/fuzz/fuzz_core_sip
tests_fuzz_fuzz_core_sip_SOURCES = tests/fuzz/fuzz_core_sip.c $(FUZZ_MAIN)
tests_fuzz_fuzz_core_sip_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_core_sip_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_core_sip_LDADD = $(CORE_LIBS)

# Fuzz target: dialog rows read back from SQLite (dlg_store_decode). The
# two modules are compiled in with the fuzzing flags so that libFuzzer
# sees their coverage (core/libcore.a is built without them).
noinst_PROGRAMS += tests/fuzz/fuzz_dialog_store
tests_fuzz_fuzz_dialog_store_SOURCES = tests/fuzz/fuzz_dialog_store.c \
	core/dialog_store.c core/dialog.c $(FUZZ_MAIN)
tests_fuzz_fuzz_dialog_store_CFLAGS = $(FUZZ_CF) $(SQLITE_CFLAGS)
tests_fuzz_fuzz_dialog_store_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_dialog_store_LDADD = $(CORE_LIBS)

# Fuzz target: 3xx Contacts from outside become targets (px_recurse);
# core/proxy_redirect.c compiled in with the fuzzing flags for coverage.
noinst_PROGRAMS += tests/fuzz/fuzz_core_redirect
tests_fuzz_fuzz_core_redirect_SOURCES = tests/fuzz/fuzz_core_redirect.c \
	core/proxy_redirect.c $(FUZZ_MAIN)
tests_fuzz_fuzz_core_redirect_CFLAGS = $(FUZZ_CF) $(SQLITE_CFLAGS)
tests_fuzz_fuzz_core_redirect_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_core_redirect_LDADD = $(CORE_LIBS)
