# common/: the SIP, URI and SDP toolkit (part of libpccommon.a) and the
# portcullis-sipcheck tool.
common_libpccommon_a_SOURCES += \
	common/sip_err.h \
	common/sip_hdr.c common/sip_lex.h \
	common/sip_msg.c common/sip_msg.h \
	common/sip_uri.c common/sip_uri.h \
	common/sip_edit.c common/sip_edit.h \
	common/sdp.c common/sdp.h common/wbuf.h

bin_PROGRAMS += common/portcullis-sipcheck
common_portcullis_sipcheck_SOURCES = common/sipcheck.c
common_portcullis_sipcheck_LDADD = $(PC_COMMON_LIBS)

sip_tests = tests/unit/test_sip_msg tests/unit/test_sip_uri \
	tests/unit/test_sip_edit tests/unit/test_sip_torture tests/unit/test_sdp
check_PROGRAMS += $(sip_tests)
TESTS += $(sip_tests)
tests_unit_test_sip_msg_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_sip_uri_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_sip_edit_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_sip_torture_LDADD = $(COMMON_TEST_LDADD)
tests_unit_test_sdp_LDADD = $(COMMON_TEST_LDADD)

noinst_PROGRAMS += tests/fuzz/fuzz_sip_msg tests/fuzz/fuzz_sip_uri \
	tests/fuzz/fuzz_sdp tests/fuzz/fuzz_sip_frame
tests_fuzz_fuzz_sip_msg_SOURCES = tests/fuzz/fuzz_sip_msg.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sip_msg_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_sip_msg_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_sip_msg_LDADD = $(PC_COMMON_LIBS)
tests_fuzz_fuzz_sip_uri_SOURCES = tests/fuzz/fuzz_sip_uri.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sip_uri_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_sip_uri_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_sip_uri_LDADD = $(PC_COMMON_LIBS)
tests_fuzz_fuzz_sdp_SOURCES = tests/fuzz/fuzz_sdp.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sdp_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_sdp_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_sdp_LDADD = $(PC_COMMON_LIBS)
tests_fuzz_fuzz_sip_frame_SOURCES = tests/fuzz/fuzz_sip_frame.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sip_frame_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_sip_frame_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_sip_frame_LDADD = $(PC_COMMON_LIBS)

noinst_PROGRAMS += tests/bench/bench_parse
tests_bench_bench_parse_SOURCES = tests/bench/bench_parse.c
tests_bench_bench_parse_CFLAGS = $(AM_CFLAGS) -O2
tests_bench_bench_parse_LDADD = $(PC_COMMON_LIBS)
