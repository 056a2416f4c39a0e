#!/usr/bin/env bash
# capgen is vendored into container engines, so its go.mod must not raise
# anything the oldest engine it supports requires. For each dependency set
# — Podman v5.8.2's, Buildah v1.44.0's and the newest served — this builds
# a throwaway module that requires capgen (replaced by this checkout) and
# pins the engine's versions of every module capgen's go.mod names, runs go
# mod tidy, fails if that raised the go directive or any pin, then builds,
# vets and tests capgen's packages there. Then go mod tidy -diff on the repo
# and staticcheck, pinned.
#
# The engines' versions are read from their go.mod files, downloaded from
# the module proxy; change the releases here when the supported ones change.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
. hack/lib.sh
staticcheck=honnef.co/go/tools/cmd/staticcheck@v0.8.2
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

# engine MODULE@VERSION prints the engine's go directive, then its
# versions of the modules capgen's go.mod requires, read from the go.mod
# the module proxy serves for the release.
engine() {
	local gomod
	gomod=$(modgomod "$1")
	echo "go $(godirective "$gomod")"
	requirements "$gomod" | awk 'NR == FNR { ours[$1] = 1; next } ours[$1]' <(requirements go.mod) -
}

podman_v5_8_2() { engine github.com/containers/podman/v5@v5.8.2; }
buildah_v1_44_0() { engine github.com/containers/buildah@v1.44.0; }

# newest: the newest releases served. The proxy lists no go.podman.io
# versions, so those are named; the rest are asked for @latest.
newest() {
	echo "go $(go env GOVERSION | sed 's/^go//')"
	echo "go.podman.io/common v0.69.0"
	echo "go.podman.io/storage v1.65.1"
	# runtime-tools tags no releases since v0.9.0 (2019): the commit common v0.69.0 requires.
	echo "github.com/opencontainers/runtime-tools v0.9.1-0.20260316125833-8a4db579f5c8"
	local m
	for m in github.com/BurntSushi/toml github.com/dave/jennifer github.com/opencontainers/runtime-spec \
		github.com/spf13/cobra golang.org/x/sys; do
		echo "$m $(go list -m -f '{{.Version}}' "$m@latest")"
	done
}

check() { # name set-function
	local name=$1 set pins dir goline
	set=$($2)
	goline=$(head -n 1 <<<"$set")
	pins=$(tail -n +2 <<<"$set")
	echo "== $name: $goline"
	sed 's/^/   /' <<<"$pins"
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' RETURN
	{
		echo "module capgen.test/deps"
		echo
		echo "$goline"
		echo
		echo "require github.com/capgen-dev/capgen v0.0.0"
		echo "replace github.com/capgen-dev/capgen => $repo"
		echo "require ("
		sed 's/^/\t/' <<<"$pins"
		echo ")"
	} >"$dir/go.mod"
	cat >"$dir/deps.go" <<-EOF
	// Package deps imports every library package of capgen, as an engine
	// that vendors it would.
	package deps

	import (
		_ "github.com/capgen-dev/capgen/capnames"
		_ "github.com/capgen-dev/capgen/gen"
		_ "github.com/capgen-dev/capgen/plugin"
		_ "github.com/capgen-dev/capgen/plugin/engine"
		_ "github.com/capgen-dev/capgen/plugin/ociruntime"
	)
	EOF
	local pkgs=(github.com/capgen-dev/capgen/capnames github.com/capgen-dev/capgen/gen
		github.com/capgen-dev/capgen/plugin github.com/capgen-dev/capgen/plugin/engine
		github.com/capgen-dev/capgen/internal/ocihook github.com/capgen-dev/capgen/plugin/ociruntime
		github.com/capgen-dev/capgen/internal/shim github.com/capgen-dev/capgen/cmd/capgen)
	(
		cd "$dir"
		go mod tidy
		go build ./... "${pkgs[@]}"
		go vet "${pkgs[@]}"
		go test -count=1 "${pkgs[@]}"
		want=${goline#go }
		got=$(go mod edit -json | sed -n 's/^\t"Go": "\(.*\)",$/\1/p')
		if ! notAbove "$got" "$want"; then
			echo "FAIL: $name: capgen raises the go directive from $want to $got"
			exit 1
		fi
		raised=0
		while read -r m v; do
			got=$(go list -m -f '{{.Version}}' "$m" 2>/dev/null || true)
			if [ -n "$got" ] && ! notAbove "$got" "$v"; then
				echo "FAIL: $name: capgen raises $m from $v to $got"
				raised=1
			fi
		done <<<"$pins"
		exit $raised
	)
	echo "   ok: nothing raised; build, vet and tests pass"
}

check "Podman v5.8.2" podman_v5_8_2
check "Buildah v1.44.0" buildah_v1_44_0
check "newest served" newest

echo "== go mod tidy -diff"
go mod tidy -diff
echo "== staticcheck ($staticcheck)"
go run "$staticcheck" ./...
echo "verify-deps: ok"
