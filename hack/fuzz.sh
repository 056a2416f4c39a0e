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
for t in $targets; do
	file=${t%%:*}
	name=${t##*:}
	pkg=./$(dirname "${file#./}")
	echo "== $pkg $name ($fuzztime)"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$pkg"
done
