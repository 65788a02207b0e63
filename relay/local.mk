# relay/: portcullis-relay. Its modules live in relay/librelay.a so that the
# unit tests link exactly the code the daemon runs. Only relay/ includes
# libnftnl, libmnl and libpcap.
noinst_LIBRARIES += relay/librelay.a
relay_librelay_a_CFLAGS = $(AM_CFLAGS) $(FUZZ_CFLAGS) $(NFTNL_CFLAGS) \
	$(MNL_CFLAGS) $(PCAP_CFLAGS)
relay_librelay_a_SOURCES = \
	relay/nft.c relay/nft.h

RELAY_LIBS = relay/librelay.a $(PC_COMMON_LIBS) $(NFTNL_LIBS) $(MNL_LIBS) \
	$(PCAP_LIBS)
RELAY_TEST_LDADD = tests/unit/libtap.a $(RELAY_LIBS)

relay_tests = tests/unit/test_relay_nft
check_PROGRAMS += $(relay_tests)
TESTS += $(relay_tests)
tests_unit_test_relay_nft_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relay
tests_unit_test_relay_nft_LDADD = $(RELAY_TEST_LDADD)
