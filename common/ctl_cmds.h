/*
 * ctl_cmds: the commands portcullisd sends to its children over the ctl
 * socket (IPC_CTL_REQUEST, args and reply as ctl_rows), and who answers
 * them. The management socket's JSON commands map onto these.
 *
 * How the ctl socket reaches a child: portcullisd starts each child with
 * `--ctl-fd N` (one end of a SOCK_SEQPACKET socketpair). A child started
 * by hand without it has no ctl channel. The child sends HELLO on it once
 * it has bound its sockets: that is its readiness signal.
 *
 * Every child:
 *   "stats"          -> one row of counters (u64 fields, names like
 *                       "sip_in_invite", "drops_ratelimit")
 *   "log.level"      args: level (str)
 *   "reload"         args: path (str) -> row: applied (str),
 *                    restart_needed (str: comma-separated keys)
 *   "shutdown"       flush state and exit 0
 *   "status"         -> row: pid, uptime_s, version, and per child extras
 *                       (relay: kernel (bool), capacity_streams (u64))
 * core:
 *   "registrations.list"   args: aor (str, optional), limit (u64)
 *   "registrations.remove" args: aor (str), contact (str, optional)
 *   "users.list"           args: limit (u64)
 *   "users.add"            args: user, domain, password | ha1_md5 + ha1_sha256
 *   "users.remove"         args: user, domain
 *   "users.password"       args: user, domain, password
 *   "users.import"         fd passed with the request: lines
 *                          "user@domain,password"; one transaction
 *   "calls.list"           rows: call_id, from, to, state, start_s, ...
 *   "calls.hangup"         args: call_id
 *   "cdr.list"             args: limit (u64, default 100) -> rows newest
 *                          first: id, call_id, start_ms, answer_ms, end_ms,
 *                          duration_ms, caller, callee, trunk, direction,
 *                          status, reason
 *   "trunks.list"          rows per trunk and peer: name, peer, state
 *                          (up/down/unprobed), weight, registration
 *                          (off/registering/registered/failed), reg_code,
 *                          reg_expires_s, registrations, calls, max_calls,
 *                          rejected, probes_failed, live_added
 *   "trunks.add"           args: trunk (str: one "trunks" element as JSON)
 *   "trunks.remove"        args: name
 * edge:
 *   "bans.list"            the user-space ban list (when relay is absent)
 *   "flows.list"           connections and NAT flows
 * relay:
 *   "media.list"           rows: call_id, tags, ports, peers, packets, bytes,
 *                          kernel (bool)
 *   "bans.list" / "bans.add" (addr, timeout_s, reason) / "bans.remove" (addr)
 *   "capture.start"        args: call_id (optional), path, max_bytes,
 *                          max_seconds
 *   "capture.stop"         args: path
 */
#ifndef PC_CTL_CMDS_H
#define PC_CTL_CMDS_H

/* Error codes carried in ipc_ctl_reply.error_code (and in mgmt JSON). */
#define CTL_E_UNKNOWN_CMD "unknown_command"
#define CTL_E_BAD_ARGS "bad_arguments"
#define CTL_E_NOT_FOUND "not_found"
#define CTL_E_EXISTS "already_exists"
#define CTL_E_INTERNAL "internal_error"
#define CTL_E_UNAVAILABLE "unavailable"

#endif
