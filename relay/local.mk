# relay/: portcullis-relay. Its modules live in relay/librelay.a so that the
# unit tests link exactly the code the daemon runs. Only relay/ includes
# libnftnl, libmnl and libpcap.
noinst_LIBRARIES += relay/librelay.a
relay_librelay_a_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(NFTNL_CFLAGS) \
	$(MNL_CFLAGS) $(PCAP_CFLAGS)
relay_librelay_a_SOURCES = \
	relay/nft.c relay/nft.h \
	relay/ct.c relay/ct.h \
	relay/nlq.c relay/nlq.h \
	relay/port.c relay/port.h \
	relay/latch.c relay/latch.h \
	relay/stream.c relay/stream.h \
	relay/fwd_user.c relay/fwd_user.h \
	relay/uring.c relay/uring.h \
	relay/ban.c relay/ban.h \
	relay/state.c relay/state.h \
	relay/timeout.c relay/timeout.h \
	relay/capture.c relay/capture.h \
	relay/dispatch_edge.c relay/dispatch_edge.h \
	relay/dispatch_ctl.c relay/dispatch_ctl.h relay/app.h

RELAY_LIBS = relay/librelay.a $(PC_COMMON_LIBS) $(NFTNL_LIBS) $(MNL_LIBS) \
	$(PCAP_LIBS)
pkglibexec_PROGRAMS += relay/portcullis-relay
relay_portcullis_relay_SOURCES = relay/main.c
relay_portcullis_relay_CFLAGS = $(AM_CFLAGS) $(NFTNL_CFLAGS) $(MNL_CFLAGS) \
	$(PCAP_CFLAGS)
relay_portcullis_relay_LDADD = $(RELAY_LIBS)

RELAY_TEST_LDADD = tests/unit/libtap.a $(RELAY_LIBS)

relay_tests = tests/unit/test_relay_nft tests/unit/test_relay_latch \
	tests/unit/test_relay_state tests/unit/test_relay_stream
check_PROGRAMS += $(relay_tests)
TESTS += $(relay_tests)
tests_unit_test_relay_nft_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_unit_test_relay_nft_LDADD = $(RELAY_TEST_LDADD)
tests_unit_test_relay_latch_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_unit_test_relay_latch_LDADD = $(RELAY_TEST_LDADD)
tests_unit_test_relay_state_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_unit_test_relay_state_LDADD = $(RELAY_TEST_LDADD)
tests_unit_test_relay_stream_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_unit_test_relay_stream_LDADD = $(RELAY_TEST_LDADD)

# Test and operator tools.
noinst_PROGRAMS += tests/tools/relayctl tests/tools/rtpsend
tests_tools_relayctl_SOURCES = tests/tools/relayctl.c
tests_tools_relayctl_LDADD = $(PC_COMMON_LIBS)
tests_tools_rtpsend_SOURCES = tests/tools/rtpsend.c

# Fuzz targets of relay's decoders.
noinst_PROGRAMS += tests/fuzz/fuzz_relay_rtp tests/fuzz/fuzz_relay_state \
	tests/fuzz/fuzz_relay_req
tests_fuzz_fuzz_relay_rtp_SOURCES = tests/fuzz/fuzz_relay_rtp.c $(FUZZ_MAIN)
tests_fuzz_fuzz_relay_rtp_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_fuzz_fuzz_relay_rtp_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_relay_rtp_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_relay_rtp_LDADD = $(RELAY_LIBS)
tests_fuzz_fuzz_relay_state_SOURCES = tests/fuzz/fuzz_relay_state.c $(FUZZ_MAIN)
tests_fuzz_fuzz_relay_state_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_fuzz_fuzz_relay_state_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_relay_state_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_relay_state_LDADD = $(RELAY_LIBS)
tests_fuzz_fuzz_relay_req_SOURCES = tests/fuzz/fuzz_relay_req.c $(FUZZ_MAIN)
tests_fuzz_fuzz_relay_req_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_fuzz_fuzz_relay_req_CFLAGS = $(FUZZ_CF)
tests_fuzz_fuzz_relay_req_LDFLAGS = $(FUZZ_LF)
tests_fuzz_fuzz_relay_req_LDADD = $(RELAY_LIBS)

# The relay benchmark's load generator (tests/bench/relay/run.sh, by hand).
noinst_PROGRAMS += tests/bench/relay/loadgen
tests_bench_relay_loadgen_SOURCES = tests/bench/relay/loadgen.c
noinst_PROGRAMS += tests/bench/relay/setupbench
tests_bench_relay_setupbench_SOURCES = tests/bench/relay/setupbench.c
tests_bench_relay_setupbench_LDADD = $(PC_COMMON_LIBS)

# fwd_user and its io_uring helper (real sockets on 127.0.0.1).
check_PROGRAMS += tests/unit/test_fwd_user
TESTS += tests/unit/test_fwd_user
tests_unit_test_fwd_user_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_unit_test_fwd_user_LDADD = $(RELAY_TEST_LDADD)
