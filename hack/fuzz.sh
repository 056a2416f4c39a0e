#!/usr/bin/env bash
# Run every Go fuzz target of the module for FUZZTIME each (default 20s).
# go test -fuzz takes one target of one package at a time, so list them.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20s}

targets=$(grep -RHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/:func /:/' | sort -u)
if [ -z "$targets" ]; then
	echo "no fuzz targets found"; exit 1
fi
# fuzz PKG NAME runs one target. Go 1.26's fuzz coordinator can fail a
# target with a bare "context deadline exceeded" when -fuzztime ends while a
# worker is busy (golang/go#75804, fixed in Go 1.27): no input failed, and
# none is written to testdata. Such a run is said to be that race and run
# again once; a failure that writes an input, or the race twice, fails.
fuzz() {
	local pkg=$1 name=$2 out attempt corpus=$1/testdata/fuzz/$2 before
	for attempt in 1 2; do
		before=$(ls "$corpus" 2>/dev/null || true)
		if out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$pkg" 2>&1); then
			grep -v '^fuzz: elapsed' <<<"$out"
			return 0
		fi
		echo "$out"
		if [ "$(ls "$corpus" 2>/dev/null || true)" != "$before" ] || ! grep -q '^    context deadline exceeded$' <<<"$out"; then
			return 1
		fi
		echo "== $pkg $name: failed with no input, at the end of -fuzztime: Go's coordinator race (golang/go#75804); again"
	done
	return 1
}

for t in $targets; do
	file=${t%%:*}
	name=${t##*:}
	pkg=./$(dirname "${file#./}")
	echo "== $pkg $name ($fuzztime)"
	fuzz "$pkg" "$name"
done
