#!/usr/bin/env bash
# hack/proposal-patches.sh OUTDIR writes the patches of capgen's proposal
# for runtime-spec issue 1071 (docs/proposal.md): OUTDIR/runtime-spec-v1.2.1.patch,
# runtime-spec-v1.3.0.patch, runc-v1.5.3.patch and runc-v1.5.3-features.patch,
# from the released sources the Go module proxy serves (hack/proposalpatch).
# Apply each with patch -p1 from the module's root; the -features patch
# after runc-v1.5.3.patch, when runc builds against the patched spec.
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
cd "$(dirname "$0")/.."
. hack/lib.sh
mkdir -p "$out"
go run ./hack/proposalpatch -out "$out" \
	-runtime-spec "$(moddir github.com/opencontainers/runtime-spec@v1.2.1)" \
	-runtime-spec-newest "$(moddir github.com/opencontainers/runtime-spec@v1.3.0)" \
	-runc "$(moddir github.com/opencontainers/runc@v1.5.3)"
