# common/: the library every process links (libpccommon.a).
# Infrastructure modules are listed here; the SIP/SDP toolkit in common/sip.mk.
noinst_LIBRARIES += common/libpccommon.a
common_libpccommon_a_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
common_libpccommon_a_SOURCES = \
	common/slice.c common/slice.h \
	common/cidr.c common/cidr.h \
	common/log.c common/log.h \
	common/arena.c common/arena.h \
	common/hash.c common/hash.h \
	common/lru.c common/lru.h \
	common/ev.c common/ev.h \
	common/ipc.c common/ipc.h \
	common/ipc_msgs.c common/ipc_msgs.h \
	common/ctl_rows.c common/ctl_rows.h common/ctl_cmds.h \
	common/conf.c common/conf.h \
	common/conf_pos.c common/conf_pos.h \
	common/pcconf.c common/pcconf.h \
	common/pcconf_edge.c common/pcconf_edge.h \
	common/pcconf_core.c common/pcconf_core.h \
	common/pcconf_relay.c common/pcconf_relay.h \
	common/pcconf_mgmt.c common/pcconf_mgmt.h \
	common/digest.c common/digest.h \
	common/hmac256.c common/hmac256.h \
	common/priv.c common/priv.h

# What every program links besides its own modules.
PC_COMMON_LIBS = common/libpccommon.a $(OPENSSL_LIBS) $(JANSSON_LIBS)

# Unit tests of the infrastructure modules.
COMMON_TEST_LDADD = tests/unit/libtap.a $(PC_COMMON_LIBS)
common_tests = tests/unit/test_slice tests/unit/test_arena tests/unit/test_hash \
	tests/unit/test_ev tests/unit/test_ipc tests/unit/test_ctl_rows \
	tests/unit/test_conf tests/unit/test_pcconf tests/unit/test_digest \
	tests/unit/test_log tests/unit/test_priv tests/unit/test_lru
check_PROGRAMS += $(common_tests)
TESTS += $(common_tests)
tests_unit_test_slice_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_arena_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_hash_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_ev_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_ipc_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_ctl_rows_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_conf_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_pcconf_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_digest_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_log_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_priv_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_lru_LDADD = $(COMMON_TEST_LDADD)

# HMAC-SHA-256 from saved pad states (RFC 4231 vectors, EVP agreement).
check_PROGRAMS += tests/unit/test_hmac256
TESTS += tests/unit/test_hmac256
tests_unit_test_hmac256_LDADD = $(COMMON_TEST_LDADD)

# Fuzz targets of the infrastructure decoders.
noinst_PROGRAMS += tests/fuzz/fuzz_ipc tests/fuzz/fuzz_conf tests/fuzz/fuzz_ctl_rows
tests_fuzz_fuzz_ipc_SOURCES = tests/fuzz/fuzz_ipc.c $(FUZZ_MAIN)
tests_fuzz_fuzz_ipc_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_ipc_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_ipc_LDADD = $(PC_COMMON_LIBS)
tests_fuzz_fuzz_conf_SOURCES = tests/fuzz/fuzz_conf.c $(FUZZ_MAIN)
tests_fuzz_fuzz_conf_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_conf_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_conf_LDADD = $(PC_COMMON_LIBS)
tests_fuzz_fuzz_ctl_rows_SOURCES = tests/fuzz/fuzz_ctl_rows.c $(FUZZ_MAIN)
tests_fuzz_fuzz_ctl_rows_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_ctl_rows_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_ctl_rows_LDADD = $(PC_COMMON_LIBS)


