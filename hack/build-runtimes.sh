#!/usr/bin/env bash
# Build the runc and crun releases the end-to-end matrix runs against into
# DIR, as DIR/runc-<version> and DIR/crun-<version>, skipping those already
# there. The e2e suite finds
# them through CAPGEN_E2E_RUNTIMES=DIR; .ci/run keeps DIR outside the
# checkout so a later run on the same machine reuses the builds.
#
# They are Go modules: go install builds them from the module proxy, with
# libseccomp (Debian: libseccomp-dev pkg-config). v1.2.x has replace
# directives in its go.mod, which go install refuses, so it is built as the
# main module in a writable copy of its module directory; its one replace
# points at a nested module that the module zip leaves out
# (internal/third_party/selinux), so the build uses the selinux release it
# names from the module proxy instead. A runc built this
# way prints no release number in --version, hence the file names.
#
# crun is C: its releases 1.17 and 1.27.1 (the first with features that
# list capabilities, and a recent one) are built from the source tarballs
# in ../shared/peers/crun beside the checkout (CAPGEN_CRUN_SOURCES moves
# it), with autotools and the packages .ci/run installs (build-essential
# pkgconf autoconf automake libtool python3 go-md2man libsystemd-dev
# libprotobuf-c-dev libcap-dev libseccomp-dev libyajl-dev).
#
# crictl, which the CRI end-to-end test drives containerd's CRI with, is
# not packaged and go install refuses cri-tools (its version list is not
# served), but go mod download serves the v1.26.1 source: in a writable
# copy, without vendor/ and with the k8s.io/kubernetes/staging replaces
# pointed at the k8s.io v0.26.0 releases, it builds as DIR/crictl-v1.26.1.
#
# crio-v1.36.3 is CRI-O, which the module proxy serves: DIR/crio-v1.36.3/
# holds crio (without btrfs, ostree or gpgme) and pinns, its C helper, built
# statically from the same release's pinns/. CRI-O 1.36 needs a crictl that
# sends the CRI's user_specified_image: crictl-v1.34.0 (go install takes it).
#
# containerd-v2.4.2 is containerd 2.x for the containerd and CRI cases:
# DIR/containerd-v2.4.2/ holds containerd, containerd-shim-runc-v2 and ctr,
# built from the module proxy's release (no btrfs).
#
# kubelet-v1.34.2 is the kubelet of Kubernetes v1.34.2, which the e2e test
# runs standalone (static pods, no API server) on containerd.
#
# runc-v1.5.3-capgen is runc v1.5.3 with the patches of capgen's proposal
# for runtime-spec issue 1071 (hack/proposal-patches.sh, docs/proposal.md),
# built against runtime-spec v1.3.0 with its patch: it takes numerals and
# ALL_CAPS and advertises them in features' linux.capabilityExtensions and
# annotations. runc-v1.5.3-capgen-annotation has runc's patch only, built
# against the released spec: annotations only. Each is rebuilt when the
# patches change (DIR/NAME.key).
#
# Usage: hack/build-runtimes.sh DIR [VERSION...]   (crun-1.17 names a crun,
# crictl-v1.26.1 crictl, runc-v1.5.3-capgen a patched runc, containerd-v2.4.2
# containerd)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ $# -lt 1 ]; then
	echo "usage: $0 DIR [VERSION...]" >&2
	exit 2
fi
dir=$1
shift
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
	# The runc of the original "unknown capability CAP_PERFMON" reports
	# (rc91, rc92), the first to know the 5.8/5.9 names (rc93), the last
	# without a features command (1.0.2), and later releases with one.
	versions=(v1.0.0-rc91 v1.0.0-rc92 v1.0.0-rc93 v1.0.2 v1.2.8 v1.3.7 v1.4.4 v1.5.3 crun-1.17 crun-1.27.1 crictl-v1.26.1
		runc-v1.5.3-capgen runc-v1.5.3-capgen-annotation containerd-v2.4.2 crio-v1.36.3 crictl-v1.34.0 kubelet-v1.34.2)
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

build() { # version
	local v=$1 out=$dir/runc-$1
	if [ -x "$out" ] && "$out" --version >/dev/null 2>&1; then
		echo "runc $v: already built ($out)"
		return
	fi
	echo "runc $v: building"
	case $v in
	v1.2.*)
		modcopy "github.com/opencontainers/runc@$v" "$work/runc-$v"
		(cd "$work/runc-$v" && go mod edit -dropreplace=github.com/opencontainers/selinux)
		(cd "$work/runc-$v" && GOFLAGS=-mod=mod go build -trimpath -tags seccomp -o "$work/runc.new" .)
		;;
	*)
		GOBIN=$work go install -trimpath -tags seccomp "github.com/opencontainers/runc@$v"
		mv "$work/runc" "$work/runc.new"
		;;
	esac
	mv "$work/runc.new" "$out"
	echo "runc $v: $out"
}

crun_sources=${CAPGEN_CRUN_SOURCES:-$(dirname "$0")/../../shared/peers/crun}

build_crun() { # version
	local v=$1 out=$dir/crun-$1 tarball=$crun_sources/crun-$1.tar.xz
	if [ -x "$out" ] && "$out" --version 2>/dev/null | grep -qx "crun version $v"; then
		echo "crun $v: already built ($out)"
		return
	fi
	if [ ! -f "$tarball" ]; then
		echo "crun $v: no source tarball $tarball" >&2
		return 1
	fi
	echo "crun $v: building from $tarball"
	tar -C "$work" -xJf "$tarball"
	# autogen.sh's git submodule update fails outside a git checkout; the
	# tarball already holds the submodules.
	(cd "$work/crun-$v" && ./autogen.sh && ./configure --quiet && make -j"$(nproc)") >"$work/crun-$v.log" 2>&1 || {
		tail -40 "$work/crun-$v.log" >&2
		return 1
	}
	if ! "$work/crun-$v/crun" --version | grep -qx "crun version $v"; then
		echo "crun $v: the build prints $("$work/crun-$v/crun" --version | head -1)" >&2
		return 1
	fi
	mv "$work/crun-$v/crun" "$out"
	echo "crun $v: $out"
}

build_crictl() { # version
	local v=$1 out=$dir/crictl-$1
	if [ -x "$out" ] && "$out" --version >/dev/null 2>&1; then
		echo "crictl $v: already built ($out)"
		return
	fi
	echo "crictl $v: building"
	if [ "$v" != v1.26.1 ]; then
		GOBIN=$work go install -trimpath "sigs.k8s.io/cri-tools/cmd/crictl@$v"
		mv "$work/crictl" "$out"
		echo "crictl $v: $out"
		return
	fi
	modcopy "github.com/kubernetes-sigs/cri-tools@$v" "$work/cri-tools-$v"
	rm -rf "$work/cri-tools-$v/vendor"
	(
		cd "$work/cri-tools-$v"
		local m
		for m in $(sed -n 's/^\t\(k8s.io\/[^ ]*\) => k8s.io\/kubernetes\/staging\/src\/.*/\1/p' go.mod); do
			go mod edit -replace="$m=$m@v0.26.0"
		done
		GOFLAGS=-mod=mod go build -trimpath -o "$work/crictl.new" ./cmd/crictl
	)
	mv "$work/crictl.new" "$out"
	echo "crictl $v: $out"
}

# build_proposal NAME builds runc v1.5.3 with the proposal's patches:
# NAME runc-v1.5.3-capgen (both runc patches, against the patched spec) or
# runc-v1.5.3-capgen-annotation (runc's first patch, the released spec).
build_proposal() {
	local name=$1 out=$dir/$1 patches=$work/proposal-patches key
	if [ ! -d "$patches" ]; then
		"$(dirname "$0")/proposal-patches.sh" "$patches" >/dev/null
	fi
	key=$({ go version; echo "$name"; cat "$patches"/*.patch; } | sha256sum | cut -c1-16)
	if [ -x "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ] && "$out" --version >/dev/null 2>&1; then
		echo "$name: already built ($out)"
		return
	fi
	echo "$name: building"
	rm -rf "$work/$name"
	modcopy github.com/opencontainers/runc@v1.5.3 "$work/$name"
	patch -d "$work/$name" -p1 --quiet <"$patches/runc-v1.5.3.patch"
	if [ "$name" = runc-v1.5.3-capgen ]; then
		rm -rf "$work/runtime-spec"
		modcopy github.com/opencontainers/runtime-spec@v1.3.0 "$work/runtime-spec"
		patch -d "$work/runtime-spec" -p1 --quiet <"$patches/runtime-spec-v1.3.0.patch"
		# The module zip has no go.mod (the module proxy makes one up).
		echo "module github.com/opencontainers/runtime-spec" >"$work/runtime-spec/go.mod"
		patch -d "$work/$name" -p1 --quiet <"$patches/runc-v1.5.3-features.patch"
		(cd "$work/$name" && go mod edit -replace=github.com/opencontainers/runtime-spec="$work/runtime-spec")
	fi
	(cd "$work/$name" && GOFLAGS=-mod=mod go build -trimpath -tags seccomp -o "$work/runc.new" .)
	mv "$work/runc.new" "$out"
	echo "$key" >"$out.key"
	echo "$name: $out"
}

build_crio() { # version
	local v=$1 out=$dir/crio-$1 src
	if [ -x "$out/crio" ] && [ -x "$out/pinns" ] && "$out/crio" --version >/dev/null 2>&1; then
		echo "crio $v: already built ($out)"
		return
	fi
	echo "crio $v: building"
	modcopy "github.com/cri-o/cri-o@$v" "$work/crio-$v"
	src=$work/crio-$v
	mkdir -p "$work/crio-bin"
	(cd "$src" && GOFLAGS=-mod=mod go build -trimpath \
		-tags "containers_image_ostree_stub exclude_graphdriver_btrfs btrfs_noversion containers_image_openpgp seccomp" \
		-o "$work/crio-bin/crio" ./cmd/crio)
	cc -std=c99 -Os -Wall -Werror -Wextra -static -o "$work/crio-bin/pinns" "$src"/pinns/src/*.c
	rm -rf "$out"
	mv "$work/crio-bin" "$out"
	echo "crio $v: $out"
}

build_containerd() { # version
	local v=$1 out=$dir/containerd-$1
	if [ -x "$out/containerd" ] && [ -x "$out/ctr" ] && [ -x "$out/containerd-shim-runc-v2" ] && "$out/containerd" --version >/dev/null 2>&1; then
		echo "containerd $v: already built ($out)"
		return
	fi
	echo "containerd $v: building"
	modcopy "github.com/containerd/containerd/v2@$v" "$work/containerd-$v"
	mkdir -p "$work/containerd-bin"
	(cd "$work/containerd-$v" && GOFLAGS=-mod=mod go build -trimpath -tags no_btrfs -o "$work/containerd-bin/" \
		./cmd/containerd ./cmd/containerd-shim-runc-v2 ./cmd/ctr)
	rm -rf "$out"
	mv "$work/containerd-bin" "$out"
	echo "containerd $v: $out"
}

# build_kubelet VERSION builds the kubelet of k8s.io/kubernetes@VERSION.
# The module zip omits staging/, which its go.mod replaces k8s.io/api and
# the other staging modules with: each points at the published k8s.io
# module of the matching v0 release instead (kubernetes v1.34.2: v0.34.2),
# and its go.work, which names staging/ too, is left out (GOWORK=off).
build_kubelet() {
	local v=$1 out=$dir/kubelet-$1 src staging
	if [ -x "$out" ] && "$out" --version >/dev/null 2>&1; then
		echo "kubelet $v: already built ($out)"
		return
	fi
	echo "kubelet $v: building"
	modcopy "k8s.io/kubernetes@$v" "$work/kubernetes-$v"
	src=$work/kubernetes-$v
	staging=v0.${v#v1.}
	(cd "$src" && go mod edit -json | jq -r '.Replace[] | select(.New.Path | startswith("./staging/")) | .Old.Path' |
		while read -r m; do go mod edit -replace="$m=$m@$staging"; done)
	(cd "$src" && GOWORK=off GOFLAGS=-mod=mod go build -trimpath -o "$work/kubelet.new" ./cmd/kubelet)
	mv "$work/kubelet.new" "$out"
	echo "kubelet $v: $out"
}

for v in "${versions[@]}"; do
	case $v in
	kubelet-*) build_kubelet "${v#kubelet-}" ;;
	containerd-*) build_containerd "${v#containerd-}" ;;
	crio-*) build_crio "${v#crio-}" ;;
	runc-v1.5.3-capgen*) build_proposal "$v" ;;
	crictl-*) build_crictl "${v#crictl-}" ;;
	crun-*) build_crun "${v#crun-}" ;;
	*) build "$v" ;;
	esac
done
