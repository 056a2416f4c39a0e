#!/usr/bin/env bash
# hack/apply-engine-patch.sh [-p PATCH] [-c COMMON] DIR applies a patch of
# hack/engine-patches.sh to the module source tree DIR (a checkout or a
# writable copy of the release) as docs/engine-patches.md
# says: patch -p1, require capgen (this checkout, through a replace) and,
# with -c, build against the patched go.podman.io/common in COMMON; then
# go mod tidy. hack/verify-engines.sh applies every patch with it.
set -euo pipefail
capgen=$(cd "$(dirname "$0")/.." && pwd)
patch= common=
while getopts p:c: opt; do
	case $opt in
	p) patch=$(realpath "$OPTARG") ;;
	c) common=$(realpath "$OPTARG") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -ne 1 ]; then
	echo "usage: $0 [-p PATCH] [-c COMMON] DIR" >&2
	exit 2
fi
cd "$1"
if [ -n "$patch" ]; then
	patch -p1 --quiet <"$patch"
fi
go mod edit -require=github.com/capgen-dev/capgen@v0.0.0 -replace=github.com/capgen-dev/capgen="$capgen"
if [ -n "$common" ]; then
	go mod edit -replace=go.podman.io/common="$common"
fi
GOFLAGS=-mod=mod go mod tidy
