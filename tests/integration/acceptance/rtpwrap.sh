#!/usr/bin/env bash
# Runs its arguments (rtpsend and its options) without the descriptors of
# the sipp that started it: sipp's exec action forks with its SIP socket
# open, and its child waits for the command: both would keep the phone's
# SIP port bound as long as the RTP sender lives. So: close, detach, return.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
done
"$@" </dev/null >/dev/null 2>&1 &
