#!/usr/bin/env bash
# PENDING (not run by scripts/test.sh): media cases that fail because of
# product bugs listed in /work/acceptance-bugs.md. Run by hand:
#   PC_BUILD=build-x bash tests/integration/acceptance/pending/test_acceptance_pending_media.sh
#  - B2: forked call, the CANCEL to the losing branch deletes the media of
#    the answered call.
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/../net.sh"
it_begin
acc_need
net_up
net_start_appliance
tap "appliance starts" status_ok
tap "alice registers" ua_register alice alice $ALICE 5062
tap "bob registers device 1" ua_register bob bob $BOB 5062
tap "bob registers device 2" ua_register bob bob $BOB 5064
media_clear() { media_rows 'len(r) == 0'; }

# B2
uas_start bob bob $BOB 5064 7002 fork-bob2 0 1 uas_ring.xml
uas_start bob bob $BOB 5062 7000 fork-bob1 100 6
uac_start alice alice $ALICE 5062 7100 bob fork-alice 100 6 2000
tap "fork: alice's call is answered" wait_until 20 sipp_done_ok fork-alice
tap "fork: the losing device was cancelled" wait_until 10 sipp_done_ok fork-bob2
tap "fork: media flows to the device that answered (B2)" wait_until 8 rtp_got fork-bob1 80
tap "fork: media flows back to alice (B2)" wait_until 8 rtp_got fork-alice 80

it_end
