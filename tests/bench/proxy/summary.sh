#!/usr/bin/env bash
# Summarises the steps run.sh appended to a TSV (one or several runs):
#   tests/bench/proxy/summary.sh FILE.tsv
# Per build/proxy, operation and offered rate: median proxy CPU µs per
# operation with its spread (min..max) over the rounds; per Portcullis
# build, the ratio to Kamailio of each round (same rate, same round: the
# two ran minutes apart) as median and min..max; per build and operation,
# the highest passing achieved rate of each round (step-load runs).
# TSV columns: date round label test target achieved us pass fail_pct
# [sched_us edge_us core_us]. The last three (run.sh since session 4) come
# from the run time of every thread of the proxy over the step's steady
# window (/proc/PID/task/*/schedstat, ns), not from measure.sh's whole
# percent: the "schedstat" blocks print them the same way, with the
# Portcullis edge and core apart and the ratio to Kamailio by them.
set -u
# Shared by both awk programs: med() sets M_MIN, M_MAX and M_N too;
# ratios(v, p, b) lists, per round, build p[1]'s figure in v over build b's
# at the same test p[2] and rate p[3] (rnd: the rounds seen).
lib='
function med(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	M_MIN = a[1]; M_MAX = a[n]; M_N = n
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function ratios(v, p, b,   r, x, y, l) {
	l = ""
	for (r in rnd) {
		x = r SUBSEP p[1] SUBSEP p[2] SUBSEP p[3]
		y = r SUBSEP b SUBSEP p[2] SUBSEP p[3]
		if ((x in v) && (y in v) && v[y] > 0) l = l " " sprintf("%.3f", v[x] / v[y])
	}
	return l
}
'
[ $# -eq 1 ] && [ -r "$1" ] || { echo "usage: summary.sh FILE.tsv" >&2; exit 2; }
awk -F'\t' "$lib"'
$7 != "na" && $7 != "" {
	k = $3 SUBSEP $4 SUBSEP $5
	if (!(k in us)) { order[++nk] = k }
	us[k] = us[k] " " $7; pass[k] += $8; cnt[k]++
	at[$2 SUBSEP $3 SUBSEP $4 SUBSEP $5] = $7
	lab[$3] = 1; rnd[$2] = 1
	if ($8 == 1 && $6 + 0 > best[$2 SUBSEP $3 SUBSEP $4] + 0) best[$2 SUBSEP $3 SUBSEP $4] = $6
	tests[$4] = 1
}
END {
	print "# µs of proxy CPU per operation: median [min..max] (n runs, passed)"
	for (i = 1; i <= nk; i++) {
		split(order[i], p, SUBSEP)
		m = med(us[order[i]])
		printf "%-8s %-9s rate=%-6s us=%.1f [%s..%s] n=%d pass=%d\n", p[1], p[2], p[3], m, M_MIN, M_MAX, M_N, pass[order[i]]
	}
	print "# ratio to kamailio, same round and rate: median [min..max] (n)"
	for (i = 1; i <= nk; i++) {
		split(order[i], p, SUBSEP)
		if (p[1] == "kam") continue
		l = ratios(at, p, "kam")
		if (l == "") continue
		m = med(l)
		printf "%-8s %-9s rate=%-6s ratio=%.2f [%.2f..%.2f] n=%d  (%s )\n", p[1], p[2], p[3], m, M_MIN, M_MAX, M_N, l
	}
	print "# highest passing achieved rate per round: median [min..max] (n)"
	for (x in lab) for (t in tests) {
		l = ""
		for (r in rnd) if ((r SUBSEP x SUBSEP t) in best) l = l " " best[r SUBSEP x SUBSEP t]
		if (l == "") continue
		m = med(l)
		printf "%-8s %-9s max_rate=%.0f [%s..%s] n=%d\n", x, t, m, M_MIN, M_MAX, M_N
	}
}' "$1"
awk -F'\t' "$lib"'
NF >= 10 && $10 != "na" && $10 != "" {
	k = $3 SUBSEP $4 SUBSEP $5
	if (!(k in us)) { order[++nk] = k }
	us[k] = us[k] " " $10; cnt[k]++
	if ($11 != "na" && $11 != "") { ed[k] = ed[k] " " $11; co[k] = co[k] " " $12 }
	at[$2 SUBSEP $3 SUBSEP $4 SUBSEP $5] = $10
	if ($11 != "na" && $11 != "") { ate[$2 SUBSEP $3 SUBSEP $4 SUBSEP $5] = $11; atc[$2 SUBSEP $3 SUBSEP $4 SUBSEP $5] = $12 }
	rnd[$2] = 1
}
END {
	if (nk == 0) exit
	print "# schedstat: µs of proxy CPU per operation, every thread, steady window: median [min..max] (n)"
	for (i = 1; i <= nk; i++) {
		split(order[i], p, SUBSEP)
		m = med(us[order[i]])
		l = sprintf("%-8s %-9s rate=%-6s sched_us=%.2f [%.2f..%.2f] n=%d", p[1], p[2], p[3], m, M_MIN, M_MAX, M_N)
		if (order[i] in ed) {
			m = med(ed[order[i]]); l = l sprintf("  edge=%.2f [%.2f..%.2f]", m, M_MIN, M_MAX)
			m = med(co[order[i]]); l = l sprintf("  core=%.2f [%.2f..%.2f]", m, M_MIN, M_MAX)
		}
		print l
	}
	print "# schedstat: ratio to kamailio, same round and rate: median [min..max] (n)"
	for (i = 1; i <= nk; i++) {
		split(order[i], p, SUBSEP)
		if (p[1] == "kam") continue
		l = ratios(at, p, "kam")
		if (l == "") continue
		m = med(l)
		printf "%-8s %-9s rate=%-6s sched_ratio=%.3f [%.3f..%.3f] n=%d  (%s )\n", p[1], p[2], p[3], m, M_MIN, M_MAX, M_N, l
	}
	# The first Portcullis build of the TSV is the reference of the others.
	ref = ""
	for (i = 1; i <= nk && ref == ""; i++) { split(order[i], p, SUBSEP); if (p[1] != "kam") ref = p[1] }
	hdr = 0
	for (i = 1; i <= nk; i++) {
		split(order[i], p, SUBSEP)
		if (p[1] == "kam" || p[1] == ref) continue
		l = ratios(at, p, ref)
		if (l == "") continue
		if (!hdr++) print "# schedstat: ratio to " ref ", same round and rate: median [min..max] (n), then edge and core apart"
		m = med(l)
		printf "%-8s %-9s rate=%-6s sched_ratio=%.3f [%.3f..%.3f] n=%d  (%s )\n", p[1], p[2], p[3], m, M_MIN, M_MAX, M_N, l
		le = ratios(ate, p, ref)
		lc = ratios(atc, p, ref)
		if (le != "") { m = med(le); printf "%-8s %-9s rate=%-6s edge_ratio=%.3f [%.3f..%.3f] n=%d  (%s )\n", p[1], p[2], p[3], m, M_MIN, M_MAX, M_N, le }
		if (lc != "") { m = med(lc); printf "%-8s %-9s rate=%-6s core_ratio=%.3f [%.3f..%.3f] n=%d  (%s )\n", p[1], p[2], p[3], m, M_MIN, M_MAX, M_N, lc }
	}
}' "$1"
