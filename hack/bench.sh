#!/usr/bin/env bash
# Run the benchmarks that compare capgen with its anchors in the same run —
# go.podman.io/common's MergeCapabilities and NormalizeCapabilities, and an
# exec of `runc features` — and print one Markdown table of ns/op, allocs/op
# and the ratio to the anchor. Each benchmark runs COUNT times (default 5,
# go test -count) and the table holds the median of its runs, so that one
# run disturbed by the machine moves no ratio. BENCHTIME (default 1s) is
# passed to -benchtime.
# With CAPGEN_E2E_RUNTIMES (hack/build-runtimes.sh) it adds the probe of
# runc v1.0.0-rc92, learned by trial: cold, and warm from the cache file.
# As root with runc, busybox and hyperfine it then times the hook and the
# shim as whole processes (hack/bench-processes.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${BENCHTIME:-1s}
count=${COUNT:-5}

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
go test -run '^$' -bench '^BenchmarkMerge(Floor)?$' -benchmem -benchtime "$benchtime" -count "$count" ./plugin >"$raw"
go test -run '^$' -bench '^BenchmarkProbe$' -benchmem -benchtime "$benchtime" -count "$count" ./plugin/ociruntime >>"$raw"
go test -run '^$' -bench '^(BenchmarkParse|BenchmarkCommonNormalizeCapabilities)$' -benchmem -benchtime "$benchtime" -count "$count" ./capnames >>"$raw"
go test -run '^$' -bench '^BenchmarkPodman$' -benchmem -benchtime "$benchtime" -count "$count" ./plugin/engine >>"$raw"

awk '
/^BenchmarkMergeFloor\// {
	# MergeCapabilities over its floor, timed in alternating blocks.
	name = $1; sub(/^BenchmarkMergeFloor\//, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 2; i <= NF; i++) if ($(i) == "x-floor") floor[name, ++floors[name]] = $(i-1)
	next
}
/^Benchmark/ && / ns\/op/ {
	name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
	if (!(name in runs)) order[++n] = name
	runs[name]++
	for (i = 2; i <= NF; i++) {
		if ($(i) == "ns/op") sample[name, runs[name]] = $(i-1)
		if ($(i) == "allocs/op") allocs[name] = $(i-1)
	}
}
# median returns the median of the runs of name; with floors set, of its
# x-floor runs.
function median(name, floors_,   k, m, j, v, t) {
	m = floors_ ? floors[name] : runs[name]
	for (k = 1; k <= m; k++) v[k] = (floors_ ? floor[name, k] : sample[name, k]) + 0
	for (k = 2; k <= m; k++) { t = v[k]; for (j = k - 1; j >= 1 && v[j] > t; j--) v[j+1] = v[j]; v[j+1] = t }
	return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}
function anchor(name,   parts) {
	split(name, parts, "/")
	if (parts[1] == "Merge") return "Merge/" parts[2] "/common"
	if (parts[1] == "Probe") return "Probe/exec"
	if (parts[1] == "Parse") return "CommonNormalizeCapabilities"
	return ""
}
END {
	for (i = 1; i <= n; i++) ns[order[i]] = median(order[i])
	printf "medians of %d runs\n\n", runs[order[1]]
	print "| benchmark | ns/op | allocs/op | anchor | speed-up |"
	print "| --- | ---: | ---: | --- | ---: |"
	for (i = 1; i <= n; i++) {
		name = order[i]; a = anchor(name); ratio = "-"
		if (a != "" && a != name && (a in ns) && ns[name] > 0) ratio = sprintf(ns[a] >= 10 * ns[name] ? "%.0f×" : "%.2f×", ns[a] / ns[name])
		else a = "-"
		printf "| %s | %s | %s | %s | %s |\n", name, ns[name], allocs[name], a, ratio
	}
	# The merge targets: MergeCapabilities within 1.5x of its floor, the
	# set-valued merge then allocating the result, timed against it in
	# alternating blocks (BenchmarkMergeFloor), with at most 1 alloc/op;
	# the set-valued merge at least 6x that of go.podman.io/common, with
	# none.
	print ""
	for (i = 1; i <= n; i++) {
		name = order[i]
		if (name !~ /^Merge\/.*\/capgen$/) continue
		base = substr(name, 1, length(name) - length("/capgen"))
		c = substr(base, length("Merge/") + 1)
		printf "%s: MergeCapabilities %.2fx its floor (set merge + result allocation, in alternating blocks; median of %d), target <= 1.5, allocs %s (<= 1); set merge %.1fx common, target >= 6, allocs %s (0)\n",
			base, median(c, 1), floors[c], allocs[name], ns[base "/common"] / ns[base "/capgen-set"], allocs[base "/capgen-set"]
	}
	if ("Podman" in ns) printf "engine.Podman per container: %.1f us, target <= 100 us\n", ns["Podman"] / 1000
}' "$raw"

# Whole processes (the hook, the shim), where they can run.
if [ "$(id -u)" = 0 ] && command -v hyperfine >/dev/null && command -v runc >/dev/null && command -v busybox >/dev/null; then
	echo
	hack/bench-processes.sh 2>/dev/null
else
	echo
	echo "(hack/bench-processes.sh needs root, runc, busybox and hyperfine: not run)"
fi
