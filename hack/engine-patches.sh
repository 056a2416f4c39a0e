#!/usr/bin/env bash
# hack/engine-patches.sh OUTDIR writes the patches that put capgen into
# go.podman.io/common v0.67.1, Podman v5.8.2 and Buildah v1.44.0:
# OUTDIR/common-v0.67.1.patch, podman-v5.8.2.patch, buildah-v1.44.0.patch.
# It downloads the released sources from the Go module proxy and runs
# hack/enginepatch, which edits them; apply each with patch -p1 from the
# module's root (docs/engine-patches.md).
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
cd "$(dirname "$0")/.."
. hack/lib.sh
mkdir -p "$out"

common=$(moddir go.podman.io/common@v0.67.1)
podman=$(moddir github.com/containers/podman/v5@v5.8.2)
buildah=$(moddir github.com/containers/buildah@v1.44.0)
go run ./hack/enginepatch -out "$out" -common "$common" -podman "$podman" -buildah "$buildah"
