# sbc/: portcullis-edge. Its modules live in sbc/libedge.a so that the unit
# tests link exactly the code the daemon runs.
noinst_LIBRARIES += sbc/libedge.a
sbc_libedge_a_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(OPENSSL_CFLAGS)
sbc_libedge_a_SOURCES = \
	sbc/rate.c sbc/rate.h \
	sbc/token.c sbc/token.h \
	sbc/acl.c sbc/acl.h \
	sbc/ban.c sbc/ban.h \
	sbc/hdrtext.c sbc/hdrtext.h \
	sbc/sanity.c sbc/sanity.h \
	sbc/nat.c sbc/nat.h \
	sbc/topo.c sbc/topo.h \
	sbc/callid.c sbc/callid.h \
	sbc/toprow.c sbc/toprow.h \
	sbc/statefile.c sbc/statefile.h \
	sbc/edge.c sbc/edge.h \
	sbc/listen.c sbc/listen.h \
	sbc/udp.c sbc/udp.h \
	sbc/stream.c sbc/stream.h \
	sbc/tls.c sbc/tls.h \
	sbc/inbound.c sbc/inbound.h \
	sbc/challenge.c sbc/challenge.h \
	sbc/sdp_rw.c sbc/sdp_rw.h \
	sbc/dispatch_core.c sbc/dispatch_core.h \
	sbc/dispatch_relay.c sbc/dispatch_relay.h \
	sbc/dispatch_ctl.c sbc/dispatch_ctl.h

pkglibexec_PROGRAMS += sbc/portcullis-edge
sbc_portcullis_edge_SOURCES = sbc/main.c
# core/libcore.a: the edge mints core's nonces (auth.o) for the domains
# core serves (route.o), with core's own code (sbc/challenge.c).
sbc_portcullis_edge_LDADD = sbc/libedge.a core/libcore.a $(PC_COMMON_LIBS)

EDGE_LIBS = sbc/libedge.a core/libcore.a $(PC_COMMON_LIBS)
EDGE_TEST_LDADD = tests/unit/libtap.a $(EDGE_LIBS)

edge_tests = tests/unit/test_rate tests/unit/test_token \
	tests/unit/test_edge_acl_ban tests/unit/test_topo tests/unit/test_nat \
	tests/unit/test_sanity tests/unit/test_sdp_rw tests/unit/test_toprow
check_PROGRAMS += $(edge_tests)
TESTS += $(edge_tests)
tests_unit_test_rate_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_unit_test_rate_LDADD = $(EDGE_TEST_LDADD)
tests_unit_test_token_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_unit_test_token_LDADD = $(EDGE_TEST_LDADD)
tests_unit_test_edge_acl_ban_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_unit_test_edge_acl_ban_LDADD = $(EDGE_TEST_LDADD)
tests_unit_test_topo_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_unit_test_topo_LDADD = $(EDGE_TEST_LDADD)
tests_unit_test_nat_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_unit_test_nat_LDADD = $(EDGE_TEST_LDADD)
tests_unit_test_sanity_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc \
	-DEDGE_GOLDEN='"$(abs_top_srcdir)/tests/golden/sip"'
tests_unit_test_sanity_LDADD = $(EDGE_TEST_LDADD)
tests_unit_test_sdp_rw_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_unit_test_sdp_rw_LDADD = $(EDGE_TEST_LDADD)
tests_unit_test_toprow_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_unit_test_toprow_LDADD = $(EDGE_TEST_LDADD)

noinst_PROGRAMS += tests/fuzz/fuzz_topo_token
tests_fuzz_fuzz_topo_token_SOURCES = tests/fuzz/fuzz_topo_token.c $(FUZZ_MAIN)
tests_fuzz_fuzz_topo_token_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_fuzz_fuzz_topo_token_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_topo_token_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_topo_token_LDADD = $(EDGE_LIBS)

noinst_PROGRAMS += tests/fuzz/fuzz_edge_stream
tests_fuzz_fuzz_edge_stream_SOURCES = tests/fuzz/fuzz_edge_stream.c $(FUZZ_MAIN)
tests_fuzz_fuzz_edge_stream_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_fuzz_fuzz_edge_stream_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_edge_stream_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_edge_stream_LDADD = $(EDGE_LIBS)

# sbc/tls.c: SNI lookup, outbound checks, handshakes over memory BIOs.
check_PROGRAMS += tests/unit/test_tls
TESTS += tests/unit/test_tls
tests_unit_test_tls_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_unit_test_tls_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_unit_test_tls_LDADD = $(EDGE_TEST_LDADD)

# Edge state files read back at start, behind their seal.
noinst_PROGRAMS += tests/fuzz/fuzz_toprow tests/fuzz/fuzz_callid
tests_fuzz_fuzz_toprow_SOURCES = tests/fuzz/fuzz_toprow.c \
	tests/fuzz/fuzz_statefile.h $(FUZZ_MAIN)
tests_fuzz_fuzz_toprow_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_fuzz_fuzz_toprow_CFLAGS = $(FUZZ_CF) $(OPENSSL_CFLAGS)
tests_fuzz_fuzz_toprow_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_toprow_LDADD = $(EDGE_LIBS)
tests_fuzz_fuzz_callid_SOURCES = tests/fuzz/fuzz_callid.c \
	tests/fuzz/fuzz_statefile.h $(FUZZ_MAIN)
tests_fuzz_fuzz_callid_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_fuzz_fuzz_callid_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_callid_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_callid_LDADD = $(EDGE_LIBS)

# RFC 5626 flow tokens: Path on REGISTER, Route decoding (sbc/nat.c).
noinst_PROGRAMS += tests/fuzz/fuzz_ob_route
tests_fuzz_fuzz_ob_route_SOURCES = tests/fuzz/fuzz_ob_route.c $(FUZZ_MAIN)
tests_fuzz_fuzz_ob_route_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/sbc
tests_fuzz_fuzz_ob_route_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_ob_route_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_ob_route_LDADD = $(EDGE_LIBS)
